/* gguf_write.c — write a GGUF v3 file atomically.
 *
 * Everything is validated before a byte is written, so a bad argument leaves
 * no file behind; the file is written atomically (base/atomic.h), so a
 * reader never sees a half-written checkpoint. The layout is the one llama.cpp writes: header,
 * metadata, tensor infos, zero padding to the alignment, then each tensor's
 * data padded to the alignment. */
#include "lm/gguf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/atomic.h"

#define MAX_DEPTH 8
#define MAX_KEY_LEN 65535
#define MAX_NAME_LEN 63

static int str_cmp(gguf_str a, gguf_str b) {
    int c = a.n && b.n ? memcmp(a.p, b.p, a.n < b.n ? a.n : b.n) : 0;
    return c ? c : (a.n > b.n) - (a.n < b.n);
}
static int cmp_key(const void *a, const void *b) {
    return str_cmp(**(const gguf_str *const *)a, **(const gguf_str *const *)b);
}

/* Sort pointers to the names and report the first repeated one. */
static int find_duplicate(const gguf_str **names, uint64_t n, gguf_str *dup) {
    if (n < 2) return 0;
    qsort(names, n, sizeof *names, cmp_key);
    for (uint64_t i = 1; i < n; i++)
        if (str_cmp(*names[i - 1], *names[i]) == 0) { *dup = *names[i]; return 1; }
    return 0;
}

static void show(char *dst, size_t cap, gguf_str s) {
    size_t n = 0;
    for (uint64_t i = 0; i < s.n && n + 4 < cap && n < 64; i++) {
        unsigned char c = (unsigned char)s.p[i];
        dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n < s.n && n + 3 < cap) { memcpy(dst + n, "...", 3); n += 3; }
    dst[n] = 0;
}

/* Whether an integer value fits the width its type names. */
static int int_fits(const gguf_value *v) {
    switch (v->type) {
    case GGUF_U8: return v->v.u <= UINT8_MAX;
    case GGUF_U16: return v->v.u <= UINT16_MAX;
    case GGUF_U32: return v->v.u <= UINT32_MAX;
    case GGUF_I8: return v->v.i >= INT8_MIN && v->v.i <= INT8_MAX;
    case GGUF_I16: return v->v.i >= INT16_MIN && v->v.i <= INT16_MAX;
    case GGUF_I32: return v->v.i >= INT32_MIN && v->v.i <= INT32_MAX;
    default: return 1;
    }
}

static int check_value(const gguf_value *v, int depth, char *why, size_t cap) {
    if ((unsigned)v->type > GGUF_F64) { snprintf(why, cap, "unknown value type %d", (int)v->type); return -1; }
    if (!int_fits(v)) { snprintf(why, cap, "integer does not fit its type %d", (int)v->type); return -1; }
    if (v->type == GGUF_STRING && v->v.s.n && !v->v.s.p) { snprintf(why, cap, "string without data"); return -1; }
    if (v->type != GGUF_ARRAY) return 0;
    if (depth + 1 >= MAX_DEPTH) { snprintf(why, cap, "arrays nested more than %d deep", MAX_DEPTH); return -1; }
    if ((unsigned)v->v.arr.type > GGUF_F64) {
        snprintf(why, cap, "unknown array element type %d", (int)v->v.arr.type);
        return -1;
    }
    if (v->v.arr.n && !v->v.arr.items) { snprintf(why, cap, "array without items"); return -1; }
    for (uint64_t i = 0; i < v->v.arr.n; i++) {
        if (v->v.arr.items[i].type != v->v.arr.type) {
            snprintf(why, cap, "array item %llu has type %d, the array's is %d", (unsigned long long)i,
                     (int)v->v.arr.items[i].type, (int)v->v.arr.type);
            return -1;
        }
        if (check_value(&v->v.arr.items[i], depth + 1, why, cap)) return -1;
    }
    return 0;
}

/* --- output --------------------------------------------------------------- */

/* The first failed write's errno (ENOSPC, EIO), kept for the message: by
 * the commit, later calls may have changed errno. Per thread, as two
 * threads may each write a file. */
static _Thread_local int put_errno;

static void put(FILE *f, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, f) != n && !put_errno) put_errno = errno ? errno : EIO;
}
static void put_u32(FILE *f, uint32_t v) { put(f, &v, 4); }
static void put_u64(FILE *f, uint64_t v) { put(f, &v, 8); }
static void put_str(FILE *f, gguf_str s) { put_u64(f, s.n); put(f, s.p, s.n); }

static void put_value(FILE *f, const gguf_value *v) {
    switch (v->type) {
    case GGUF_U8: { uint8_t x = (uint8_t)v->v.u; put(f, &x, 1); break; }
    case GGUF_I8: { int8_t x = (int8_t)v->v.i; put(f, &x, 1); break; }
    case GGUF_U16: { uint16_t x = (uint16_t)v->v.u; put(f, &x, 2); break; }
    case GGUF_I16: { int16_t x = (int16_t)v->v.i; put(f, &x, 2); break; }
    case GGUF_U32: { uint32_t x = (uint32_t)v->v.u; put(f, &x, 4); break; }
    case GGUF_I32: { int32_t x = (int32_t)v->v.i; put(f, &x, 4); break; }
    case GGUF_U64: put(f, &v->v.u, 8); break;
    case GGUF_I64: put(f, &v->v.i, 8); break;
    case GGUF_F32: { float x = (float)v->v.f; put(f, &x, 4); break; }
    case GGUF_F64: put(f, &v->v.f, 8); break;
    case GGUF_BOOL: { uint8_t x = v->v.b ? 1 : 0; put(f, &x, 1); break; }
    case GGUF_STRING: put_str(f, v->v.s); break;
    case GGUF_ARRAY:
        put_u32(f, (uint32_t)v->v.arr.type);
        put_u64(f, v->v.arr.n);
        for (uint64_t i = 0; i < v->v.arr.n; i++) put_value(f, &v->v.arr.items[i]);
        break;
    }
}

static void put_zeros(FILE *f, uint64_t n) {
    static const uint8_t zeros[64];
    while (n) { size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros; put(f, zeros, k); n -= k; }
}

static uint64_t pad_to(uint64_t x, uint64_t align) { return (align - x % align) % align; }

/* Sizes of each tensor, checked; offsets follow from them. */
static int plan_tensors(const gguf_tensor *ts, uint64_t n, uint64_t align, uint64_t *bytes,
                        char *err, size_t errlen) {
    char name[80];
    for (uint64_t i = 0; i < n; i++) {
        const gguf_tensor *t = &ts[i];
        show(name, sizeof name, t->name);
        if (t->name.n == 0 || t->name.n > MAX_NAME_LEN || !t->name.p) {
            snprintf(err, errlen, "tensor %llu ('%s'): name length %llu is not in 1..%d",
                     (unsigned long long)i, name, (unsigned long long)t->name.n, MAX_NAME_LEN);
            return -1;
        }
        if (t->n_dims > GGUF_MAX_DIMS) {
            snprintf(err, errlen, "tensor '%s': n_dims %u exceeds %d", name, t->n_dims, GGUF_MAX_DIMS);
            return -1;
        }
        uint64_t ne = 1, blck = gguf_block_elems(t->type);
        if (!blck) {
            snprintf(err, errlen, "tensor '%s': unknown type %d", name, (int)t->type);
            return -1;
        }
        for (uint32_t d = 0; d < t->n_dims; d++)
            if (__builtin_mul_overflow(ne, t->ne[d], &ne) || ne > (uint64_t)INT64_MAX) {
                snprintf(err, errlen, "tensor '%s': element count overflows", name);
                return -1;
            }
        uint64_t row = t->n_dims ? t->ne[0] : 1, b = gguf_type_size(t->type, ne);
        if (row % blck != 0 || (ne && !b)) {
            snprintf(err, errlen, "tensor '%s': %llu elements per row do not make whole %s blocks",
                     name, (unsigned long long)row, gguf_type_name(t->type));
            return -1;
        }
        if (b && !t->data) {
            snprintf(err, errlen, "tensor '%s': no data", name);
            return -1;
        }
        if (b + pad_to(b, align) < b) {
            snprintf(err, errlen, "tensor '%s': size overflows", name);
            return -1;
        }
        bytes[i] = b;
    }
    return 0;
}

/* Metadata: well-formed values, keys of a sane length, and an alignment
 * that agrees with general.alignment when the keys have one. *alignment
 * becomes the one to use; *add_align says general.alignment must be added. */
static int check_metadata(const char *path, const gguf_kv *kv, uint64_t n_kv, uint64_t *alignment,
                          int *add_align, char *err, size_t errlen) {
    char why[160], name[80];
    const gguf_kv *align_kv = NULL;
    for (uint64_t i = 0; i < n_kv; i++) {
        show(name, sizeof name, kv[i].key);
        if (kv[i].key.n == 0 || kv[i].key.n > MAX_KEY_LEN || !kv[i].key.p) {
            snprintf(err, errlen, "%s: key %llu ('%s'): length is not in 1..%d", path,
                     (unsigned long long)i, name, MAX_KEY_LEN);
            return -1;
        }
        if (check_value(&kv[i].val, 0, why, sizeof why)) {
            snprintf(err, errlen, "%s: key '%s': %s", path, name, why);
            return -1;
        }
        if (kv[i].key.n == 17 && memcmp(kv[i].key.p, "general.alignment", 17) == 0) align_kv = &kv[i];
    }
    if (align_kv) {
        const gguf_value *v = &align_kv->val;
        uint64_t a = 0;
        if (v->type == GGUF_U8 || v->type == GGUF_U16 || v->type == GGUF_U32 || v->type == GGUF_U64) a = v->v.u;
        else if ((v->type == GGUF_I8 || v->type == GGUF_I16 || v->type == GGUF_I32 ||
                  v->type == GGUF_I64) && v->v.i > 0) a = (uint64_t)v->v.i;
        if (*alignment == 0) *alignment = a;
        if (a != *alignment) {
            snprintf(err, errlen, "%s: general.alignment (%llu) disagrees with the alignment %llu",
                     path, (unsigned long long)a, (unsigned long long)*alignment);
            return -1;
        }
    }
    if (*alignment == 0) *alignment = 32;
    if (*alignment & (*alignment - 1)) {
        snprintf(err, errlen, "%s: alignment %llu is not a power of two", path, (unsigned long long)*alignment);
        return -1;
    }
    /* A non-default alignment must be recorded in the file for readers to find the data. */
    *add_align = !align_kv && *alignment != 32;
    if (*add_align && *alignment > UINT32_MAX) {
        snprintf(err, errlen, "%s: alignment %llu does not fit general.alignment (u32)", path,
                 (unsigned long long)*alignment);
        return -1;
    }
    return 0;
}

/* Unique keys, tensors that make sense and unique tensor names; bytes[]
 * gets each tensor's size. */
static int check_names(const char *path, const gguf_kv *kv, uint64_t n_kv, const gguf_tensor *tensors,
                       uint64_t n_tensors, uint64_t alignment, uint64_t *bytes, char *err, size_t errlen) {
    char why[160], name[80];
    uint64_t n_names = n_kv > n_tensors ? n_kv : n_tensors;
    const gguf_str **names = malloc((n_names ? n_names : 1) * sizeof *names);
    if (!names) { snprintf(err, errlen, "%s: out of memory", path); return -1; }
    int rc = -1;
    gguf_str dup;
    for (uint64_t i = 0; i < n_kv; i++) names[i] = &kv[i].key;
    if (find_duplicate(names, n_kv, &dup)) {
        show(name, sizeof name, dup);
        snprintf(err, errlen, "%s: duplicate key '%s'", path, name);
        goto out;
    }
    for (uint64_t i = 0; i < n_tensors; i++) names[i] = &tensors[i].name;
    if (plan_tensors(tensors, n_tensors, alignment, bytes, why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", path, why);
        goto out;
    }
    if (find_duplicate(names, n_tensors, &dup)) {
        show(name, sizeof name, dup);
        snprintf(err, errlen, "%s: duplicate tensor name '%s'", path, name);
        goto out;
    }
    rc = 0;
out:
    free(names);
    return rc;
}

/* Header, metadata, tensor infos, padding, then the tensors' data. Returns
 * -1 when the position could not be read (the padding would be wrong). */
static int put_file(FILE *f, const gguf_kv *kv, uint64_t n_kv, int add_align, uint64_t alignment,
                    const gguf_tensor *tensors, uint64_t n_tensors, const uint64_t *bytes) {
    put(f, "GGUF", 4);
    put_u32(f, 3);
    put_u64(f, n_tensors);
    put_u64(f, n_kv + (uint64_t)add_align);
    for (uint64_t i = 0; i < n_kv; i++) {
        put_str(f, kv[i].key);
        put_u32(f, (uint32_t)kv[i].val.type);
        put_value(f, &kv[i].val);
    }
    if (add_align) {
        const gguf_value v = { .type = GGUF_U32, .v.u = alignment };
        put_str(f, (gguf_str){ "general.alignment", 17 });
        put_u32(f, GGUF_U32);
        put_value(f, &v);
    }
    uint64_t off = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        const gguf_tensor *t = &tensors[i];
        put_str(f, t->name);
        put_u32(f, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) put_u64(f, t->ne[d]);
        put_u32(f, (uint32_t)t->type);
        put_u64(f, off);
        off += bytes[i] + pad_to(bytes[i], alignment);
    }
    long pos = ftell(f);
    if (pos >= 0) put_zeros(f, pad_to((uint64_t)pos, alignment));
    for (uint64_t i = 0; i < n_tensors; i++) {
        put(f, tensors[i].data, bytes[i]);
        put_zeros(f, pad_to(bytes[i], alignment));
    }
    return pos < 0 ? -1 : 0;
}

int gguf_write(const char *path, const gguf_kv *kv, uint64_t n_kv,
               const gguf_tensor *tensors, uint64_t n_tensors, uint64_t alignment,
               char *err, size_t errlen) {
    if (errlen) err[0] = 0;
    if ((n_kv && !kv) || (n_tensors && !tensors)) {
        snprintf(err, errlen, "%s: metadata or tensor array missing", path);
        return -1;
    }
    int add_align;
    if (check_metadata(path, kv, n_kv, &alignment, &add_align, err, errlen) < 0) return -1;
    uint64_t *bytes = malloc((n_tensors ? n_tensors : 1) * sizeof *bytes);
    if (!bytes) { snprintf(err, errlen, "%s: out of memory", path); return -1; }
    if (check_names(path, kv, n_kv, tensors, n_tensors, alignment, bytes, err, errlen) < 0) {
        free(bytes);
        return -1;
    }
    sr_atomic a;
    /* the atomic writer's messages name path already */
    if (sr_atomic_open(&a, path, err, errlen) < 0) {
        free(bytes);
        return -1;
    }
    setvbuf(a.f, NULL, _IOFBF, 1 << 20);
    put_errno = 0;
    int bad = put_file(a.f, kv, n_kv, add_align, alignment, tensors, n_tensors, bytes);
    free(bytes);
    if (bad || put_errno) {
        if (put_errno) snprintf(err, errlen, "write %s: %s", path, strerror(put_errno));
        else snprintf(err, errlen, "%s: write failed: cannot tell the file position", path);
        sr_atomic_abort(&a);
        return -1;
    }
    return sr_atomic_commit(&a, err, errlen) < 0 ? -1 : 0;
}
