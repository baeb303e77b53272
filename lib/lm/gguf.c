/* gguf.c — read and validate GGUF v2/v3 files.
 *
 * The whole header (metadata and tensor table) is parsed up front into plain
 * structs whose strings and tensor data point into the caller's buffer or the
 * read-only mapping. Every length, count and offset comes from an untrusted
 * file, so each is checked against the bytes actually left before it is used
 * or allocated for; nothing is read past the end of the buffer. */
#include "lm/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 8                     /* arrays nested deeper than this are refused */
#define MAX_KEY_LEN 65535               /* the spec's limit on key length */
#define MAX_NAME_LEN 63                 /* ggml's GGML_MAX_NAME - 1 */
#define MAX_META_BYTES (1ull << 30)     /* memory the parsed metadata may take */

/* Allocations of one parsed file, freed together by gguf_close. */
struct chunk { struct chunk *next; max_align_t data[]; };
struct gguf_priv {
    struct chunk *chunks;
    uint64_t bytes;                     /* allocated so far, against MAX_META_BYTES */
    const gguf_kv **kv_by_key;          /* sorted, for lookup and duplicate checks */
    const gguf_tensor **t_by_name;
};

struct reader {
    const uint8_t *b;
    size_t len, pos;
    struct gguf_priv *priv;
    char *err; size_t errlen;
    char where[160];                    /* "key 'x'" / "tensor 'y'", for messages */
};

/* Printable copy of an untrusted name for a message. */
static void show(char *dst, size_t cap, gguf_str s) {
    size_t n = 0, lim = cap > 4 ? cap - 4 : 0;
    for (uint64_t i = 0; i < s.n && n < lim && n < 64; i++) {
        unsigned char c = (unsigned char)s.p[i];
        dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n < s.n && n + 3 < cap) { memcpy(dst + n, "...", 3); n += 3; }
    if (cap) dst[n < cap ? n : cap - 1] = 0;
}

static int fail(struct reader *r, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->errlen)
        snprintf(r->err, r->errlen, "at byte %zu%s%s: %s", r->pos,
                 r->where[0] ? ", " : "", r->where, msg);
    return -1;
}

static void *arena_alloc(struct reader *r, uint64_t n, uint64_t size) {
    uint64_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes) || bytes > MAX_META_BYTES - r->priv->bytes) {
        fail(r, "metadata would need more than %llu MiB of memory", MAX_META_BYTES >> 20);
        return NULL;
    }
    struct chunk *c = malloc(sizeof *c + (size_t)bytes);   /* every field is set by the parser */
    if (!c) { fail(r, "out of memory (%llu bytes)", (unsigned long long)bytes); return NULL; }
    c->next = r->priv->chunks;
    r->priv->chunks = c;
    r->priv->bytes += bytes;
    return c->data;
}

static int need(struct reader *r, uint64_t n, const char *what) {
    if (n > r->len - r->pos)
        return fail(r, "%s needs %llu bytes but the file has %zu left", what,
                    (unsigned long long)n, r->len - r->pos);
    return 0;
}

static int rd_u32(struct reader *r, uint32_t *v, const char *what) {
    if (need(r, 4, what)) return -1;
    memcpy(v, r->b + r->pos, 4);
    r->pos += 4;
    return 0;
}

static int rd_u64(struct reader *r, uint64_t *v, const char *what) {
    if (need(r, 8, what)) return -1;
    memcpy(v, r->b + r->pos, 8);
    r->pos += 8;
    return 0;
}

static int rd_str(struct reader *r, gguf_str *s, const char *what) {
    uint64_t n;
    if (rd_u64(r, &n, what)) return -1;
    if (n > r->len - r->pos) {
        r->pos -= 8;   /* report where the length field is */
        return fail(r, "%s length %llu runs past the end of the file (%zu bytes left)", what,
                    (unsigned long long)n, r->len - r->pos - 8);
    }
    s->p = (const char *)r->b + r->pos;
    s->n = n;
    r->pos += n;
    return 0;
}

static int scalar_size(uint32_t t) {
    switch (t) {
    case GGUF_U8: case GGUF_I8: case GGUF_BOOL: return 1;
    case GGUF_U16: case GGUF_I16: return 2;
    case GGUF_U32: case GGUF_I32: case GGUF_F32: return 4;
    case GGUF_U64: case GGUF_I64: case GGUF_F64: return 8;
    default: return 0;
    }
}

/* The fewest bytes one value of the type occupies, to bound array counts. */
static uint64_t min_size(uint32_t t) {
    if (t == GGUF_STRING) return 8;
    if (t == GGUF_ARRAY) return 12;
    return (uint64_t)scalar_size(t);
}

static int valid_vtype(uint32_t t) { return t <= GGUF_F64; }

static int rd_value(struct reader *r, uint32_t type, gguf_value *v, int depth);

static int rd_array(struct reader *r, gguf_value *v, int depth) {
    uint32_t et;
    uint64_t n;
    if (rd_u32(r, &et, "array element type")) return -1;
    if (!valid_vtype(et)) { r->pos -= 4; return fail(r, "unknown array element type %u", et); }
    if (et == GGUF_ARRAY && depth + 1 >= MAX_DEPTH)
        return fail(r, "arrays nested more than %d deep", MAX_DEPTH);
    if (rd_u64(r, &n, "array count")) return -1;
    uint64_t left = r->len - r->pos;
    if (n > left / min_size(et)) {
        r->pos -= 8;
        return fail(r, "array count %llu cannot fit in the %llu bytes left",
                    (unsigned long long)n, (unsigned long long)left);
    }
    v->v.arr.type = (enum gguf_vtype)et;
    v->v.arr.n = n;
    v->v.arr.items = NULL;
    if (n == 0) return 0;
    gguf_value *items = arena_alloc(r, n, sizeof *items);
    if (!items) return -1;
    v->v.arr.items = items;
    for (uint64_t i = 0; i < n; i++)
        if (rd_value(r, et, &items[i], depth + 1)) {
            if (depth == 0 && r->errlen) {   /* name the top-level item in the message */
                size_t l = strlen(r->err);
                if (l < r->errlen) snprintf(r->err + l, r->errlen - l, " (array item %llu)",
                                            (unsigned long long)i);
            }
            return -1;
        }
    return 0;
}

static int rd_value(struct reader *r, uint32_t type, gguf_value *v, int depth) {
    v->type = (enum gguf_vtype)type;
    if (type == GGUF_STRING) return rd_str(r, &v->v.s, "string");
    if (type == GGUF_ARRAY) return rd_array(r, v, depth);
    int sz = scalar_size(type);
    if (!sz) return fail(r, "unknown value type %u", type);
    if (need(r, (uint64_t)sz, "value")) return -1;
    const uint8_t *p = r->b + r->pos;
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
            uint64_t u64; int64_t i64; float f32; double f64; } x;
    memcpy(&x, p, (size_t)sz);
    switch (type) {
    case GGUF_U8: v->v.u = x.u8; break;
    case GGUF_I8: v->v.i = x.i8; break;
    case GGUF_U16: v->v.u = x.u16; break;
    case GGUF_I16: v->v.i = x.i16; break;
    case GGUF_U32: v->v.u = x.u32; break;
    case GGUF_I32: v->v.i = x.i32; break;
    case GGUF_U64: v->v.u = x.u64; break;
    case GGUF_I64: v->v.i = x.i64; break;
    case GGUF_F32: v->v.f = x.f32; break;
    case GGUF_F64: v->v.f = x.f64; break;
    case GGUF_BOOL:
        if (x.u8 > 1) return fail(r, "bool value %u is neither 0 nor 1", x.u8);
        v->v.b = x.u8 == 1;
        break;
    }
    r->pos += (size_t)sz;
    return 0;
}

static int str_cmp(gguf_str a, gguf_str b) {
    int c = memcmp(a.p, b.p, a.n < b.n ? a.n : b.n);
    return c ? c : (a.n > b.n) - (a.n < b.n);
}
static int cmp_kv(const void *a, const void *b) {
    return str_cmp((*(const gguf_kv *const *)a)->key, (*(const gguf_kv *const *)b)->key);
}
static int cmp_tname(const void *a, const void *b) {
    return str_cmp((*(const gguf_tensor *const *)a)->name, (*(const gguf_tensor *const *)b)->name);
}
static int cmp_toff(const void *a, const void *b) {
    uint64_t x = (*(const gguf_tensor *const *)a)->offset, y = (*(const gguf_tensor *const *)b)->offset;
    return (x > y) - (x < y);
}

/* general.alignment may be any integer type; it must be a power of two. */
static int rd_alignment(struct reader *r, const gguf_value *v, uint64_t *align) {
    uint64_t a;
    switch (v->type) {
    case GGUF_U8: case GGUF_U16: case GGUF_U32: case GGUF_U64: a = v->v.u; break;
    case GGUF_I8: case GGUF_I16: case GGUF_I32: case GGUF_I64:
        if (v->v.i < 0) return fail(r, "general.alignment is negative (%lld)", (long long)v->v.i);
        a = (uint64_t)v->v.i;
        break;
    default: return fail(r, "general.alignment has type %d, not an integer", (int)v->type);
    }
    if (a == 0 || (a & (a - 1)))
        return fail(r, "general.alignment %llu is not a non-zero power of two", (unsigned long long)a);
    *align = a;
    return 0;
}

static int rd_kvs(struct reader *r, gguf_file *g) {
    g->kv = g->n_kv ? arena_alloc(r, g->n_kv, sizeof *g->kv) : NULL;
    if (g->n_kv && !g->kv) return -1;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        gguf_kv *kv = &g->kv[i];
        uint32_t type;
        snprintf(r->where, sizeof r->where, "key %llu", (unsigned long long)i);
        if (rd_str(r, &kv->key, "key")) return -1;
        if (kv->key.n == 0 || kv->key.n > MAX_KEY_LEN) {
            r->pos -= kv->key.n + 8;
            return fail(r, "key length %llu is not in 1..%d", (unsigned long long)kv->key.n, MAX_KEY_LEN);
        }
        char name[80];
        show(name, sizeof name, kv->key);
        snprintf(r->where, sizeof r->where, "key '%s'", name);
        if (rd_u32(r, &type, "value type")) return -1;
        if (!valid_vtype(type)) { r->pos -= 4; return fail(r, "unknown value type %u", type); }
        if (rd_value(r, type, &kv->val, 0)) return -1;
    }
    r->where[0] = 0;

    const gguf_kv **by = g->n_kv ? arena_alloc(r, g->n_kv, sizeof *by) : NULL;
    if (g->n_kv && !by) return -1;
    for (uint64_t i = 0; i < g->n_kv; i++) by[i] = &g->kv[i];
    if (g->n_kv) qsort(by, g->n_kv, sizeof *by, cmp_kv);
    for (uint64_t i = 1; i < g->n_kv; i++)
        if (str_cmp(by[i - 1]->key, by[i]->key) == 0) {
            char name[80];
            show(name, sizeof name, by[i]->key);
            const gguf_kv *later = by[i] > by[i - 1] ? by[i] : by[i - 1];
            r->pos = (size_t)((const uint8_t *)later->key.p - r->b) - 8;
            return fail(r, "duplicate key '%s'", name);
        }
    r->priv->kv_by_key = by;

    g->alignment = 32;
    const gguf_kv *al = gguf_find_kv(g, "general.alignment");
    if (al) {
        size_t end = r->pos;
        r->pos = (size_t)((const uint8_t *)al->key.p - r->b) + al->key.n + 4;   /* for messages */
        if (rd_alignment(r, &al->val, &g->alignment)) return -1;
        r->pos = end;
    }
    return 0;
}

static int rd_tensor_info(struct reader *r, const gguf_file *g, gguf_tensor *t, uint64_t i) {
    snprintf(r->where, sizeof r->where, "tensor %llu", (unsigned long long)i);
    if (rd_str(r, &t->name, "tensor name")) return -1;
    if (t->name.n == 0 || t->name.n > MAX_NAME_LEN) {
        r->pos -= t->name.n + 8;
        return fail(r, "tensor name length %llu is not in 1..%d", (unsigned long long)t->name.n,
                    MAX_NAME_LEN);
    }
    char name[80];
    show(name, sizeof name, t->name);
    snprintf(r->where, sizeof r->where, "tensor '%s'", name);

    if (rd_u32(r, &t->n_dims, "n_dims")) return -1;
    if (t->n_dims > GGUF_MAX_DIMS) {
        r->pos -= 4;
        return fail(r, "n_dims %u exceeds %d", t->n_dims, GGUF_MAX_DIMS);
    }
    uint64_t n = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if (rd_u64(r, &t->ne[d], "dimension")) return -1;
        /* ggml keeps sizes in int64_t, so the count must fit one */
        if (t->ne[d] > (uint64_t)INT64_MAX || __builtin_mul_overflow(n, t->ne[d], &n) ||
            n > (uint64_t)INT64_MAX) {
            r->pos -= 8;
            return fail(r, "dimension %u (%llu) makes the element count overflow", d,
                        (unsigned long long)t->ne[d]);
        }
    }
    t->n_elems = n;
    uint32_t type;
    if (rd_u32(r, &type, "tensor type")) return -1;
    t->type = (enum gguf_ttype)type;
    if (gguf_block_elems(t->type) == 0) {
        r->pos -= 4;
        return fail(r, "unknown tensor type %u", type);
    }
    if (t->ne[0] % gguf_block_elems(t->type) != 0) {
        r->pos -= 4;
        return fail(r, "row length %llu is not a multiple of the %s block size %llu",
                    (unsigned long long)t->ne[0], gguf_type_name(t->type),
                    (unsigned long long)gguf_block_elems(t->type));
    }
    t->n_bytes = gguf_type_size(t->type, n);
    if (n && !t->n_bytes) return fail(r, "size of %llu %s elements overflows",
                                      (unsigned long long)n, gguf_type_name(t->type));
    if (rd_u64(r, &t->offset, "tensor offset")) return -1;
    if (t->offset % g->alignment != 0) {
        r->pos -= 8;
        return fail(r, "offset %llu is not a multiple of the alignment %llu",
                    (unsigned long long)t->offset, (unsigned long long)g->alignment);
    }
    return 0;
}

static int rd_tensors(struct reader *r, gguf_file *g) {
    g->tensors = g->n_tensors ? arena_alloc(r, g->n_tensors, sizeof *g->tensors) : NULL;
    if (g->n_tensors && !g->tensors) return -1;
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (rd_tensor_info(r, g, &g->tensors[i], i)) return -1;
    r->where[0] = 0;

    /* The data section starts at the next multiple of the alignment. */
    uint64_t start = r->pos, pad = (g->alignment - start % g->alignment) % g->alignment;
    if (g->n_tensors == 0) return 0;
    if (pad > r->len - start)
        return fail(r, "the file ends before the tensor data section (aligned to %llu)",
                    (unsigned long long)g->alignment);
    start += pad;
    uint64_t avail = r->len - start;
    char name[80];
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        if (t->offset > avail || t->n_bytes > avail - t->offset) {
            r->pos = (size_t)((const uint8_t *)t->name.p - r->b) + t->name.n + 4 + 8 * t->n_dims + 4;
            show(name, sizeof name, t->name);
            snprintf(r->where, sizeof r->where, "tensor '%s'", name);
            /* the common cause is a download cut short: say so, with the size it needs */
            uint64_t end;
            if (__builtin_add_overflow(start, t->offset, &end) || __builtin_add_overflow(end, t->n_bytes, &end))
                end = UINT64_MAX;
            return fail(r, "data at offset %llu + %llu bytes lies outside the %llu-byte data section: "
                        "the file is truncated (it has %zu bytes, this tensor ends at byte %llu) "
                        "or its header is wrong", (unsigned long long)t->offset,
                        (unsigned long long)t->n_bytes, (unsigned long long)avail, r->len,
                        (unsigned long long)end);
        }
        t->data = r->b + start + t->offset;
    }

    const gguf_tensor **by = arena_alloc(r, g->n_tensors, sizeof *by);
    if (!by) return -1;
    for (uint64_t i = 0; i < g->n_tensors; i++) by[i] = &g->tensors[i];
    qsort(by, g->n_tensors, sizeof *by, cmp_toff);
    for (uint64_t i = 1; i < g->n_tensors; i++)
        if (by[i - 1]->offset + by[i - 1]->n_bytes > by[i]->offset) {   /* both in range: no overflow */
            char other[80];
            r->pos = (size_t)((const uint8_t *)by[i]->name.p - r->b) - 8;
            show(name, sizeof name, by[i]->name);
            show(other, sizeof other, by[i - 1]->name);
            return fail(r, "tensor '%s' overlaps tensor '%s' in the data section", name, other);
        }
    qsort(by, g->n_tensors, sizeof *by, cmp_tname);
    for (uint64_t i = 1; i < g->n_tensors; i++)
        if (str_cmp(by[i - 1]->name, by[i]->name) == 0) {
            const gguf_tensor *later = by[i] > by[i - 1] ? by[i] : by[i - 1];
            r->pos = (size_t)((const uint8_t *)later->name.p - r->b) - 8;
            show(name, sizeof name, by[i]->name);
            return fail(r, "duplicate tensor name '%s'", name);
        }
    r->priv->t_by_name = by;
    return 0;
}

static int parse(gguf_file *g, const uint8_t *b, size_t len, char *err, size_t errlen) {
    struct reader r = {.b = b, .len = len, .err = err, .errlen = errlen};
    r.priv = calloc(1, sizeof *r.priv);
    if (!r.priv) return fail(&r, "out of memory");
    g->arena = r.priv;

    uint32_t magic;
    if (rd_u32(&r, &magic, "magic")) return -1;
    if (memcmp(b, "GGUF", 4) != 0) { r.pos = 0; return fail(&r, "not a GGUF file (bad magic)"); }
    if (rd_u32(&r, &g->version, "version")) return -1;
    if (g->version != 2 && g->version != 3) {
        r.pos -= 4;
        if (__builtin_bswap32(g->version) == 2 || __builtin_bswap32(g->version) == 3)
            return fail(&r, "big-endian GGUF files are not supported");
        return fail(&r, "GGUF version %u is not supported (only 2 and 3)", g->version);
    }
    if (rd_u64(&r, &g->n_tensors, "tensor count")) return -1;
    if (rd_u64(&r, &g->n_kv, "metadata count")) return -1;
    /* A key-value pair takes at least 14 bytes, a tensor info at least 25. */
    if (g->n_tensors > (len - r.pos) / 25) {
        r.pos = 8;
        return fail(&r, "tensor count %llu cannot fit in the file", (unsigned long long)g->n_tensors);
    }
    if (g->n_kv > (len - r.pos) / 14) {
        r.pos = 16;
        return fail(&r, "metadata count %llu cannot fit in the file", (unsigned long long)g->n_kv);
    }
    if (rd_kvs(&r, g)) return -1;
    if (rd_tensors(&r, g)) return -1;
    return 0;
}

int gguf_open_mem(gguf_file *g, const void *buf, size_t len, char *err, size_t errlen) {
    memset(g, 0, sizeof *g);
    if (errlen) err[0] = 0;
    if (!buf) len = 0;
    if (parse(g, buf, len, err, errlen)) {
        gguf_close(g);
        return -1;
    }
    return 0;
}

int gguf_open(gguf_file *g, const char *path, char *err, size_t errlen) {
    memset(g, 0, sizeof *g);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    void *map = NULL;
    size_t size = (size_t)st.st_size;
    if (size > 0) {
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int saved = errno;
            /* ENOMEM here is an address space too small (ulimit -v), not a bad file */
            if (saved == ENOMEM)
                snprintf(err, errlen, "%s: out of memory mapping the file (%zu MB)", path, size >> 20);
            else
                snprintf(err, errlen, "%s: mmap: %s", path, strerror(saved));
            close(fd);
            errno = saved;
            return -1;
        }
    }
    close(fd);
    char msg[768];
    if (gguf_open_mem(g, map, size, msg, sizeof msg)) {
        snprintf(err, errlen, "%s: %s", path, msg);
        if (map) munmap(map, size);
        return -1;
    }
    g->map = map;
    g->map_size = size;
    return 0;
}

void gguf_close(gguf_file *g) {
    struct gguf_priv *p = g->arena;
    if (p) {
        for (struct chunk *c = p->chunks, *next; c; c = next) { next = c->next; free(c); }
        free(p);
    }
    if (g->map) munmap(g->map, g->map_size);
    memset(g, 0, sizeof *g);
}

/* --- lookups --------------------------------------------------------------- */

/* Binary search of n entries sorted by the string key(entry): the entry
 * whose key is s, or NULL. One search serves metadata keys and tensor names. */
static const void *find_sorted(const void *const *sorted, uint64_t n, const char *s,
                               gguf_str (*key)(const void *))
{
    if (!sorted || !s) return NULL;
    gguf_str k = {s, strlen(s)};
    uint64_t lo = 0, hi = n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        int c = str_cmp(key(sorted[mid]), k);
        if (c == 0) return sorted[mid];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

static gguf_str kv_key(const void *e) { return ((const gguf_kv *)e)->key; }
static gguf_str tensor_name(const void *e) { return ((const gguf_tensor *)e)->name; }

const gguf_kv *gguf_find_kv(const gguf_file *g, const char *key) {
    const struct gguf_priv *p = g->arena;
    return p ? find_sorted((const void *const *)p->kv_by_key, g->n_kv, key, kv_key) : NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name) {
    const struct gguf_priv *p = g->arena;
    return p ? find_sorted((const void *const *)p->t_by_name, g->n_tensors, name, tensor_name) : NULL;
}

static int is_unsigned(enum gguf_vtype t) {
    return t == GGUF_U8 || t == GGUF_U16 || t == GGUF_U32 || t == GGUF_U64;
}
static int is_signed(enum gguf_vtype t) {
    return t == GGUF_I8 || t == GGUF_I16 || t == GGUF_I32 || t == GGUF_I64;
}

int gguf_get_u64(const gguf_file *g, const char *key, uint64_t *out) {
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv) return -1;
    const gguf_value *v = &kv->val;
    if (is_unsigned(v->type)) { *out = v->v.u; return 0; }
    if (is_signed(v->type) && v->v.i >= 0) { *out = (uint64_t)v->v.i; return 0; }
    if (v->type == GGUF_BOOL) { *out = v->v.b; return 0; }
    return -1;
}

int gguf_get_i64(const gguf_file *g, const char *key, int64_t *out) {
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv) return -1;
    const gguf_value *v = &kv->val;
    if (is_signed(v->type)) { *out = v->v.i; return 0; }
    if (is_unsigned(v->type) && v->v.u <= (uint64_t)INT64_MAX) { *out = (int64_t)v->v.u; return 0; }
    if (v->type == GGUF_BOOL) { *out = v->v.b; return 0; }
    return -1;
}

int gguf_get_f64(const gguf_file *g, const char *key, double *out) {
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv) return -1;
    const gguf_value *v = &kv->val;
    if (v->type == GGUF_F32 || v->type == GGUF_F64) { *out = v->v.f; return 0; }
    if (is_signed(v->type)) { *out = (double)v->v.i; return 0; }
    if (is_unsigned(v->type)) { *out = (double)v->v.u; return 0; }
    return -1;
}

int gguf_get_str(const gguf_file *g, const char *key, gguf_str *out) {
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv || kv->val.type != GGUF_STRING) return -1;
    *out = kv->val.v.s;
    return 0;
}

const gguf_value *gguf_get_arr(const gguf_file *g, const char *key) {
    const gguf_kv *kv = gguf_find_kv(g, key);
    return kv && kv->val.type == GGUF_ARRAY ? &kv->val : NULL;
}

/* ---- types: the block formats' sizes (kernels/blocks.h) ---------------- */

uint64_t gguf_block_elems(enum gguf_ttype t) { return sr_block_elems(t); }

const char *gguf_type_name(enum gguf_ttype t) { return sr_block_type_name(t); }

uint64_t gguf_type_size(enum gguf_ttype t, uint64_t n) {
    uint64_t blck = sr_block_elems(t), bytes;
    if (!blck || n % blck != 0) return 0;
    if (__builtin_mul_overflow(n / blck, sr_block_bytes(t), &bytes)) return 0;
    return bytes;
}

int gguf_dequantize(const gguf_tensor *t, float *out) {
    if (!t || !t->data) return -1;
    return quant_dequantize(t->type, t->data, out, t->n_elems);
}
