/* test_gguf_fuzz.c — seeded mutations of the real model's header.
 *
 * The model's header (metadata and tensor table) is copied into a buffer the
 * size of the whole file (the tensor data itself is never read by the parser,
 * so it stays zero), then mutated in place: truncations, flipped bytes and
 * bits, huge counts and dimensions, string lengths past the end, bad
 * alignments, bad types, offsets past the end, duplicate names. Every
 * gguf_open_mem must return 0 or -1 with a message; under AddressSanitizer
 * the bytes just past each truncation are poisoned so an over-read is caught.
 * Each mutation is undone before the next, so no buffer is copied per case.
 *
 * SR_FUZZ_SEED and SR_FUZZ_N change the seed and the count for longer runs;
 * SR_FUZZ_SHOW=K prints the first K rejection messages of each kind. */
#include "test.h"
#include "lm/gguf.h"

#include <stdint.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

static uint64_t rng_state;
static uint64_t rnd(void) {   /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static uint64_t below(uint64_t n) { return n ? rnd() % n : 0; }
static uint64_t pick(const uint64_t *v, size_t n) { return v[below(n)]; }
#define PICK(arr) pick(arr, sizeof arr / sizeof arr[0])

/* Positions of the fields the mutations aim at, found by parsing the file. */
typedef struct { size_t pos; uint64_t val; } field;
typedef struct {
    size_t hdr_len, tt_start, data_start, file_size;
    field *counts;   size_t n_counts;     /* array counts */
    field *strlens;  size_t n_strlens;    /* string and name length fields */
    size_t *vtypes;  size_t n_vtypes;     /* value / array element type fields */
    struct tpos { size_t name, ndims, type, off; uint32_t n_dims; uint64_t ne[4], offset; gguf_str nm; } *t;
    size_t n_t;
    struct kpos { size_t key; gguf_str k; } *k;
    size_t n_k;
} layout;

static void add_field(field **a, size_t *n, size_t pos, uint64_t val) {
    *a = realloc(*a, (*n + 1) * sizeof **a);
    (*a)[(*n)++] = (field){pos, val};
}

static void scan_value(layout *L, const uint8_t *base, const gguf_value *v, size_t type_pos, int top) {
    L->vtypes = realloc(L->vtypes, (L->n_vtypes + 1) * sizeof *L->vtypes);
    L->vtypes[L->n_vtypes++] = type_pos;
    if (v->type == GGUF_STRING) add_field(&L->strlens, &L->n_strlens, (size_t)((const uint8_t *)v->v.s.p - base) - 8, v->v.s.n);
    if (v->type != GGUF_ARRAY) return;
    add_field(&L->counts, &L->n_counts, type_pos + 8, v->v.arr.n);
    L->vtypes = realloc(L->vtypes, (L->n_vtypes + 1) * sizeof *L->vtypes);
    L->vtypes[L->n_vtypes++] = type_pos + 4;
    /* a sample of string items: all of them would be 100k fields */
    for (uint64_t i = 0; i < v->v.arr.n && v->v.arr.type == GGUF_STRING; i += top ? 997 : 1)
        add_field(&L->strlens, &L->n_strlens, (size_t)((const uint8_t *)v->v.arr.items[i].v.s.p - base) - 8,
                  v->v.arr.items[i].v.s.n);
}

static int find_layout(const gguf_file *g, const uint8_t *base, size_t size, layout *L) {
    memset(L, 0, sizeof *L);
    L->file_size = size;
    L->k = calloc(g->n_kv, sizeof *L->k);
    L->n_k = g->n_kv;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const gguf_kv *kv = &g->kv[i];
        size_t kpos = (size_t)((const uint8_t *)kv->key.p - base) - 8;
        L->k[i] = (struct kpos){kpos, kv->key};
        add_field(&L->strlens, &L->n_strlens, kpos, kv->key.n);
        scan_value(L, base, &kv->val, kpos + 8 + kv->key.n, 1);   /* its type field follows the key */
    }
    L->t = calloc(g->n_tensors, sizeof *L->t);
    L->n_t = g->n_tensors;
    size_t data_start = SIZE_MAX;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        struct tpos *p = &L->t[i];
        p->name = (size_t)((const uint8_t *)t->name.p - base) - 8;
        p->ndims = p->name + 8 + t->name.n;
        p->type = p->ndims + 4 + 8 * t->n_dims;
        p->off = p->type + 4;
        p->n_dims = t->n_dims;
        memcpy(p->ne, t->ne, sizeof p->ne);
        p->offset = t->offset;
        p->nm = t->name;
        add_field(&L->strlens, &L->n_strlens, p->name, t->name.n);
        size_t ds = (size_t)((const uint8_t *)t->data - base) - t->offset;
        if (ds < data_start) data_start = ds;
    }
    L->tt_start = g->n_tensors ? L->t[0].name : 24;
    L->hdr_len = g->n_tensors ? L->t[g->n_tensors - 1].off + 8 : 24;
    L->data_start = data_start;
    return g->n_tensors > 0 && g->n_kv > 0 ? 0 : -1;
}

/* In-place edits, undone after each case. */
typedef struct { size_t pos, n; uint8_t old[8]; } undo;
static undo undos[64];
static int n_undo;
static void poke(uint8_t *b, size_t pos, const void *v, size_t n) {
    if (n_undo < 64) {
        undos[n_undo] = (undo){pos, n, {0}};
        memcpy(undos[n_undo].old, b + pos, n);
        n_undo++;
        memcpy(b + pos, v, n);
    }
}
static void poke64(uint8_t *b, size_t pos, uint64_t v) { poke(b, pos, &v, 8); }
static void poke32(uint8_t *b, size_t pos, uint32_t v) { poke(b, pos, &v, 4); }
static void restore(uint8_t *b) {
    while (n_undo > 0) { n_undo--; memcpy(b + undos[n_undo].pos, undos[n_undo].old, undos[n_undo].n); }
}

/* A position biased toward the bytes that matter: the first 4 KiB (header,
 * scalar metadata, the start of the vocabulary) and the tensor table. */
static size_t hot_pos(const layout *L) {
    uint64_t r = below(10);
    if (r < 4) return (size_t)below(4096);
    if (r < 7) return L->tt_start + (size_t)below(L->hdr_len - L->tt_start);
    return (size_t)below(L->hdr_len);
}

enum { TRUNC, BYTES, BITS, COUNTS, DIMS, STRLEN, ALIGN, TYPES, OFFSETS, NDIMS, VERSION, DUPS, N_CAT };
static const char *cat_name[N_CAT] = {"truncate", "bytes", "bits", "counts", "dims", "strlen",
                                      "alignment", "types", "offsets", "n_dims", "version", "duplicates"};

/* Build, in alt, the file with a general.alignment kv of the given encoding
 * inserted first; returns its length. */
static size_t with_alignment(const uint8_t *orig, const layout *L, uint8_t *alt, size_t cap,
                             uint32_t type, const void *val, size_t vlen, uint64_t align_for_layout) {
    size_t n = 0;
    memcpy(alt, orig, 24);
    uint64_t nkv;
    memcpy(&nkv, orig + 16, 8);
    nkv++;
    memcpy(alt + 16, &nkv, 8);
    n = 24;
    uint64_t klen = 17;
    memcpy(alt + n, &klen, 8); n += 8;
    memcpy(alt + n, "general.alignment", 17); n += 17;
    memcpy(alt + n, &type, 4); n += 4;
    memcpy(alt + n, val, vlen); n += vlen;
    memcpy(alt + n, orig + 24, L->hdr_len - 24);
    n += L->hdr_len - 24;
    /* data where a reader using align_for_layout would look for it */
    uint64_t a = align_for_layout && align_for_layout <= 4096 ? align_for_layout : 32;
    size_t start = (n + a - 1) / a * a;
    size_t total = start + (L->file_size - L->data_start);
    if (total > cap) total = cap;
    memset(alt + n, 0, start - n);
    return total;
}

static void free_layout(layout *L) {
    free(L->counts); free(L->strlens); free(L->vtypes); free(L->t); free(L->k);
    memset(L, 0, sizeof *L);
}

static size_t scalar_bytes(enum gguf_vtype t) {
    switch (t) {
    case GGUF_U8: case GGUF_I8: case GGUF_BOOL: return 1;
    case GGUF_U16: case GGUF_I16: return 2;
    case GGUF_U32: case GGUF_I32: case GGUF_F32: return 4;
    case GGUF_U64: case GGUF_I64: case GGUF_F64: return 8;
    default: return 0;
    }
}

/* The real header with every long array cut to its first K items (so the
 * vocabulary no longer dominates each parse); returns its length. */
static size_t compact_header(const gguf_file *g, const uint8_t *base, const layout *L,
                             uint8_t *out, uint64_t K) {
    size_t n = 0;
    memcpy(out, base, 24);
    n = 24;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        size_t from = L->k[i].key, to = i + 1 < g->n_kv ? L->k[i + 1].key : L->tt_start;
        const gguf_value *v = &g->kv[i].val;
        size_t vpos = from + 8 + g->kv[i].key.n + 4;   /* after the key and its type */
        size_t sz = v->type == GGUF_ARRAY ? scalar_bytes(v->v.arr.type) : 0;
        if (v->type != GGUF_ARRAY || v->v.arr.n <= K || (v->v.arr.type != GGUF_STRING && !sz)) {
            memcpy(out + n, base + from, to - from);
            n += to - from;
            continue;
        }
        memcpy(out + n, base + from, vpos + 12 - from);
        memcpy(out + n + (vpos + 4 - from), &K, 8);
        n += vpos + 12 - from;
        size_t a = vpos + 12, b = a + K * sz;
        if (v->v.arr.type == GGUF_STRING) b = (size_t)((const uint8_t *)v->v.arr.items[K].v.s.p - base) - 8;
        memcpy(out + n, base + a, b - a);
        n += b - a;
    }
    memcpy(out + n, base + L->tt_start, L->hdr_len - L->tt_start);
    return n + (L->hdr_len - L->tt_start);
}

typedef struct {
    long accepted[N_CAT], rejected[N_CAT], bad, show;
} tally;

/* Run n cases over buf (cap bytes, a valid file of L.file_size bytes whose
 * header is orig) and, for insertions, alt (altcap bytes). */
static void run_cases(uint8_t *buf, size_t cap, uint8_t *alt, size_t altcap, const uint8_t *orig,
                      const layout *Lp, long n_cases, tally *T) {
    const layout L = *Lp;
    size_t full = L.file_size, data_size = L.file_size - L.data_start;
    char err[512];
    for (long c = 0; c < n_cases; c++) {
        int cat = (int)(c % N_CAT);
        uint8_t *b = buf;
        size_t len = full, pos;
        switch (cat) {
        case TRUNC: {
            uint64_t r = below(10);
            len = r < 6 ? below(4096) : r < 8 ? L.tt_start + below(L.hdr_len + 64 - L.tt_start) : below(full);
            break;
        }
        case BYTES:
            for (int k = 1 + (int)below(8); k > 0; k--) {
                uint8_t v = (uint8_t)rnd();
                poke(b, hot_pos(&L), &v, 1);
            }
            break;
        case BITS:
            for (int k = 1 + (int)below(4); k > 0; k--) {
                pos = hot_pos(&L);
                uint8_t v = b[pos] ^ (uint8_t)(1u << below(8));
                poke(b, pos, &v, 1);
            }
            break;
        case COUNTS: {
            static const uint64_t huge[] = {1ull << 60, UINT64_MAX, 1ull << 63, 1ull << 32, 0};
            uint64_t r = below(4);
            field f = r == 0 ? (field){8, L.n_t} : r == 1 ? (field){16, L.n_k} : L.counts[below(L.n_counts)];
            uint64_t v = below(2) ? PICK(huge) : f.val + (below(2) ? 1 : (uint64_t)-1);
            poke64(b, f.pos, v);
            break;
        }
        case DIMS: {
            static const uint64_t huge[] = {1ull << 62, 1ull << 63, UINT64_MAX, 1ull << 32, 0, 1ull << 31};
            const struct tpos *t = &L.t[below(L.n_t)];
            uint32_t d = (uint32_t)below(t->n_dims);
            uint64_t v = below(3) ? PICK(huge) : t->ne[d] * (below(2) ? 2 : (1ull << 20));
            poke64(b, t->ndims + 4 + 8 * d, v);
            if (below(4) == 0 && t->n_dims > 1) poke64(b, t->ndims + 4 + 8 * ((d + 1) % t->n_dims), v);
            break;
        }
        case STRLEN: {
            field f = L.strlens[below(L.n_strlens)];
            uint64_t left = full - f.pos - 8;
            uint64_t opts[] = {UINT64_MAX, left, left + 1, left - 7, 1ull << 63, f.val + 1, f.val + 1000, 0};
            poke64(b, f.pos, PICK(opts));
            break;
        }
        case ALIGN: {
            /* Insert general.alignment with a bad value or type (or, now and
             * then, a good one, so both outcomes are exercised). */
            uint64_t r = below(12);
            uint32_t u32v[] = {0, 3, 48, 0x80000001u, 1u << 31, 64, 1, 16};
            uint32_t v32 = u32v[below(8)];
            if (r < 6) {
                len = with_alignment(orig, &L, alt, altcap, GGUF_U32, &v32, 4, v32 && !(v32 & (v32 - 1)) ? v32 : 32);
            } else if (r == 6) {
                uint64_t v = below(2) ? 1ull << 63 : 0x100000000ull;
                len = with_alignment(orig, &L, alt, altcap, GGUF_U64, &v, 8, 32);
            } else if (r == 7) {
                int32_t v = below(2) ? -32 : 16;
                len = with_alignment(orig, &L, alt, altcap, GGUF_I32, &v, 4, v > 0 ? 16 : 32);
            } else if (r == 8) {
                float v = 32.0f;
                len = with_alignment(orig, &L, alt, altcap, GGUF_F32, &v, 4, 32);
            } else if (r == 9) {
                uint8_t v[10] = {2, 0, 0, 0, 0, 0, 0, 0, '3', '2'};
                len = with_alignment(orig, &L, alt, altcap, GGUF_STRING, v, 10, 32);
            } else if (r == 10) {
                uint8_t v = 1;
                len = with_alignment(orig, &L, alt, altcap, GGUF_BOOL, &v, 1, 32);
            } else {
                uint16_t v = 64;
                len = with_alignment(orig, &L, alt, altcap, GGUF_U16, &v, 2, 64);
            }
            b = alt;
            break;
        }
        case TYPES: {
            static const uint64_t tbad[] = {4, 5, 31, 32, 33, 36, 37, 38, 40, 41, 1000, 0xffffffff,
                                            GGUF_T_Q4_K, GGUF_T_Q6_K, GGUF_T_F16, GGUF_T_Q5_0};
            static const uint64_t vbad[] = {13, 14, 255, 0xffffffff, GGUF_ARRAY, GGUF_STRING, GGUF_U64, GGUF_U8};
            if (below(2)) poke32(b, L.t[below(L.n_t)].type, (uint32_t)PICK(tbad));
            else poke32(b, L.vtypes[below(L.n_vtypes)], (uint32_t)PICK(vbad));
            break;
        }
        case OFFSETS: {
            const struct tpos *t = &L.t[below(L.n_t)], *o = &L.t[below(L.n_t)];
            uint64_t opts[] = {data_size, data_size + 32, (uint64_t)-32, t->offset + 32, t->offset + 1,
                               o->offset, 0, data_size - 32, 1ull << 62};
            poke64(b, t->off, PICK(opts));
            break;
        }
        case NDIMS: {
            static const uint64_t nd[] = {0, 5, 0xffffffff, 3, 1, 2, 4, 64};
            poke32(b, L.t[below(L.n_t)].ndims, (uint32_t)PICK(nd));
            break;
        }
        case VERSION: {
            static const uint64_t ver[] = {1, 2, 4, 0x03000000, 0, 0xffffffff};
            if (below(4)) poke32(b, 4, (uint32_t)PICK(ver));
            else { uint8_t v = (uint8_t)rnd(); poke(b, below(4), &v, 1); }
            break;
        }
        case DUPS: {
            /* copy one name over another of the same length */
            int tensors = (int)below(2);
            size_t n = tensors ? L.n_t : L.n_k;
            for (int tries = 0; tries < 200; tries++) {
                size_t i = below(n), j = below(n);
                uint64_t na = tensors ? L.t[i].nm.n : L.k[i].k.n, nb = tensors ? L.t[j].nm.n : L.k[j].k.n;
                size_t pa = tensors ? L.t[i].name : L.k[i].key, pb = tensors ? L.t[j].name : L.k[j].key;
                if (i == j || na != nb || na > 64) continue;
                for (size_t q = 0; q < na; q += 8)
                    poke(b, pb + 8 + q, orig + pa + 8 + q, na - q < 8 ? na - q : 8);
                break;
            }
            break;
        }
        }

        size_t tail = (b == alt ? altcap : cap) - len;
        if (tail > 4096) tail = 4096;
        POISON(b + len, tail);
        gguf_file f;
        err[0] = 0;
        int rc = gguf_open_mem(&f, b, len, err, sizeof err);
        UNPOISON(b + len, tail);
        if (rc == 0) {
            T->accepted[cat]++;
            /* what was accepted is consistent */
            for (uint64_t i = 0; i < f.n_tensors; i++) {
                const gguf_tensor *t = &f.tensors[i];
                const uint8_t *d = t->data;
                if (d < b || d > b + len || t->n_bytes > (size_t)(b + len - d) ||
                    t->n_bytes != gguf_type_size(t->type, t->n_elems)) T->bad++;
            }
            gguf_close(&f);
        } else if (rc == -1 && err[0]) {
            T->rejected[cat]++;
            if (T->show && T->rejected[cat] <= T->show) printf("#   %s: %s\n", cat_name[cat], err);
        } else {
            T->bad++;
            printf("#   case %ld (%s): rc %d, message '%s'\n", c, cat_name[cat], rc, err);
        }
        restore(buf);
    }
}

TEST(fuzz_header) {
    const char *path = test_model_path();
    if (!path) return;
    gguf_file g;
    char err[512];
    if (gguf_open(&g, path, err, sizeof err)) { CHECK(!"open the model"); printf("#   %s\n", err); return; }
    layout L;
    int lrc = find_layout(&g, g.map, g.map_size, &L);
    CHECK(lrc == 0);
    if (lrc) { gguf_close(&g); free_layout(&L); return; }

    /* Buffers the size of the file: a header, then the data section, whose
     * bytes are never read by the parser and so are left as they are. */
    size_t cap = L.file_size, altcap = cap + 4096, data_size = L.file_size - L.data_start;
    uint8_t *buf = calloc(1, cap), *alt = calloc(1, altcap);
    uint8_t *orig = malloc(L.hdr_len), *small = malloc(L.hdr_len);
    memcpy(orig, g.map, L.hdr_len);
    memcpy(buf, g.map, L.data_start);
    size_t small_len = compact_header(&g, g.map, &L, small, 300);
    gguf_close(&g);

    const char *s = getenv("SR_FUZZ_SEED"), *nstr = getenv("SR_FUZZ_N");
    uint64_t seed = s ? strtoull(s, NULL, 0) : 20240601;
    long n_cases = nstr ? atol(nstr) : 2400;
    tally T = {.show = getenv("SR_FUZZ_SHOW") ? atol(getenv("SR_FUZZ_SHOW")) : 0};
    rng_state = seed;

    /* One case in five on the whole real header (each parse walks the 100k
     * vocabulary strings), the rest on the same header with its arrays cut
     * to 300 items, where a tensor-table mutation costs little to reach. */
    long n_full = n_cases / 5;
    run_cases(buf, cap, alt, altcap, orig, &L, n_full, &T);

    layout S;
    size_t small_start = (small_len + 31) / 32 * 32;
    memcpy(buf, small, small_len);
    memset(buf + small_len, 0, small_start - small_len);
    gguf_file h;
    int hrc = gguf_open_mem(&h, buf, small_start + data_size, err, sizeof err);
    CHECK(hrc == 0);
    if (hrc) printf("#   compacted header: %s\n", err);
    else {
        CHECK(find_layout(&h, buf, small_start + data_size, &S) == 0);
        gguf_close(&h);
        printf("# header %zu bytes, compacted %zu bytes\n", L.hdr_len, small_len);
        run_cases(buf, cap, alt, altcap, small, &S, n_cases - n_full, &T);
        free_layout(&S);
    }

    long acc = 0, rej = 0;
    int every_cat = 1;
    for (int k = 0; k < N_CAT; k++) {
        acc += T.accepted[k];
        rej += T.rejected[k];
        if (T.accepted[k] + T.rejected[k] == 0) every_cat = 0;
        printf("#   %-10s %4ld accepted %4ld rejected\n", cat_name[k], T.accepted[k], T.rejected[k]);
    }
    printf("# seed %llu: %ld mutations, %ld accepted, %ld rejected\n", (unsigned long long)seed,
           n_cases, acc, rej);
    CHECK(T.bad == 0);
    CHECK(every_cat);
    CHECK(acc + rej == n_cases && n_cases >= 2000);
    CHECK(rej > acc);   /* most mutations must be caught */
    free(buf); free(alt); free(orig); free(small);
    free_layout(&L);
}

int main(void) {
    RUN(fuzz_header);
    return test_done();
}
