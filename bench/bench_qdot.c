/* bench_qdot.c — the quantized and bf16 dot-product kernels (kernels/cpu/
 * qdot.h) alone: matrix x activations for 1 activation row (GEMV, as one
 * decoding sequence), 8 and 32 (small GEMMs, as batched decoding), per path,
 * in GB/s of weight bytes read, beside this machine's read bandwidth (a sum
 * over a buffer as large as the weights, same threads). Both per wall second
 * and per CPU second of the process (divided by the threads): on a shared
 * machine the second says what the code does while it runs.
 *
 *   bench_qdot [--threads N] [--mb MB] [--rows R] [--k K] [--types LIST] [--paths LIST]
 *
 * The weights are copies of one layer of R x K (default 5632 x 2048,
 * TinyLlama-1.1B's ffn_up) filling MB megabytes (default 1024), each copy
 * read in turn so that they come from memory, not cache. Activations are
 * quantized once beforehand (not timed). Each figure is the best of 3 timed
 * passes over every copy, after one warm-up. */
#include "cpu/qdot.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
/* CPU seconds of the whole process (every thread): on a shared machine the
 * figures per CPU second say what the code does when it runs. */
static double cpu_now(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return (uint32_t)(rs >> 32); }

/* Sum of n bytes (a multiple of 128) with four independent AVX2 adds, so
 * that the loads, not the adds, set the pace; plain C without AVX2. */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2")))
static uint64_t sum_avx2(const uint64_t *p, size_t n)
{
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    for (size_t i = 0; i < n / 8; i += 16) {
        a = _mm256_add_epi64(a, _mm256_loadu_si256((const __m256i *)(p + i)));
        b = _mm256_add_epi64(b, _mm256_loadu_si256((const __m256i *)(p + i + 4)));
        c = _mm256_add_epi64(c, _mm256_loadu_si256((const __m256i *)(p + i + 8)));
        d = _mm256_add_epi64(d, _mm256_loadu_si256((const __m256i *)(p + i + 12)));
    }
    uint64_t t[4];
    _mm256_storeu_si256((__m256i *)t, _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d)));
    return t[0] + t[1] + t[2] + t[3];
}
#endif

static uint64_t sum_bytes(const uint64_t *p, size_t n)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx2")) return sum_avx2(p, n);
#endif
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i < n / 8; i += 4) { s0 += p[i]; s1 += p[i + 1]; s2 += p[i + 2]; s3 += p[i + 3]; }
    return s0 + s1 + s2 + s3;
}

/* The read bandwidth: a sum over n bytes, each thread its slice, best of 3;
 * *cpu_gbs: the same per CPU second (times threads). */
static double read_gbs(const uint64_t *p, size_t n, int threads, double *cpu_gbs)
{
    double best = 1e30, best_cpu = 1e30;
    volatile uint64_t sink = 0;
    const size_t slice = n / threads / 128 * 128;
    for (int it = 0; it < 4; it++) {
        double t0 = now(), c0 = cpu_now();
        uint64_t s = 0;
        #pragma omp parallel for num_threads(threads) reduction(+:s) schedule(static, 1)
        for (int th = 0; th < threads; th++) s += sum_bytes(p + th * slice / 8, slice);
        sink += s;
        double t = now() - t0, c = (cpu_now() - c0) / threads;
        if (it && t < best) best = t;
        if (it && c < best_cpu) best_cpu = c;
    }
    (void)sink;
    *cpu_gbs = (double)slice * threads / best_cpu / 1e9;
    return (double)slice * threads / best / 1e9;
}

typedef struct { int t; const char *name; } btype;   /* t: a gguf_ttype, or GGUF_T_BF16 */

/* Weight bytes of one layer. */
static size_t layer_bytes(int t, int rows, int k)
{
    return (size_t)rows * k / sr_block_elems(t) * sr_block_bytes(t);
}

/* Random blocks with small finite fp16 scales wherever a block has any (the
 * timing does not depend on the values; NaN scales only must be avoided). */
static void fill(uint8_t *w, size_t bytes, int t)
{
    for (size_t i = 0; i < bytes; i++) w[i] = (uint8_t)rnd();
    size_t bb = sr_block_bytes(t);
    for (size_t b = 0; t != GGUF_T_BF16 && b < bytes / bb; b++) {
        uint16_t d = quant_f32_to_fp16(0.01f);
        size_t at = t == GGUF_T_Q6_K ? 208 : t == GGUF_T_Q2_K ? 80 : t == GGUF_T_Q3_K ? 108 : 0;
        memcpy(w + b * bb + at, &d, 2);
        if (t == GGUF_T_Q4_1 || t == GGUF_T_Q4_K || t == GGUF_T_Q5_1 || t == GGUF_T_Q5_K)
            memcpy(w + b * bb + at + 2, &d, 2);
    }
    if (t == GGUF_T_BF16)   /* weights of a trained layer's size: random bits would make
                               denormal products, which cost Intel's FMA units microcode assists */
        for (size_t i = 0; i < bytes / 2; i++)
            ((uint16_t *)w)[i] = quant_f32_to_bf16(((float)rnd() / 4294967296.0f - 0.5f) * 0.1f);
}

/* One pass: every copy, rows split among threads on path isa. */
static void pass(sr_isa isa, int t, const uint8_t *w, int copies, size_t lb, int rows, int k,
                 const void *xq, const float *x, int n, float *y, int threads)
{
    for (int c = 0; c < copies; c++) {
        const uint8_t *wc = w + (size_t)c * lb;
        if (t == GGUF_T_BF16) sr_bf16_matmul_on(isa, (const uint16_t *)wc, rows, k, x, n, y, rows, threads);
        else sr_qmatmul_on(isa, t, wc, rows, k, xq, n, y, rows, threads);
    }
}

/* The best wall time of reps passes after a warm-up; *cpu: the best CPU
 * time per thread. */
static double time_pass(sr_isa isa, int t, const uint8_t *w, int copies, size_t lb, int rows, int k,
                        const void *xq, const float *x, int n, float *y, int threads, int reps, double *cpu)
{
    double best = 1e30;
    *cpu = 1e30;
    for (int it = 0; it <= reps; it++) {
        double t0 = now(), c0 = cpu_now();
        pass(isa, t, w, copies, lb, rows, k, xq, x, n, y, threads);
        double dt = now() - t0, dc = (cpu_now() - c0) / threads;
        if (it && dt < best) best = dt;   /* the first pass warms up */
        if (it && dc < *cpu) *cpu = dc;
    }
    return best;
}

static const btype all_types[] = {
    { GGUF_T_Q4_1, "Q4_1" }, { GGUF_T_Q8_0, "Q8_0" }, { GGUF_T_Q4_K, "Q4_K" }, { GGUF_T_BF16, "BF16" },
    { GGUF_T_Q4_0, "Q4_0" }, { GGUF_T_Q5_0, "Q5_0" }, { GGUF_T_Q5_1, "Q5_1" }, { GGUF_T_Q5_K, "Q5_K" },
    { GGUF_T_Q6_K, "Q6_K" }, { GGUF_T_Q2_K, "Q2_K" }, { GGUF_T_Q3_K, "Q3_K" },
    { GGUF_T_IQ4_NL, "IQ4_NL" }, { GGUF_T_IQ4_XS, "IQ4_XS" },
};
#define N_ALL (int)(sizeof all_types / sizeof all_types[0])

static const char *paths;   /* --paths: the paths to run (NULL: every one the CPU has) */

static int wanted(const char *list, const char *name)
{
    if (!list) return !strcmp(name, "Q4_1") || !strcmp(name, "Q8_0") || !strcmp(name, "Q4_K") || !strcmp(name, "BF16");
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return 1;
    return 0;
}

/* One type: its layer copies, then every path at 1, 8 and 32 activation rows. */
static void bench_type(const btype *bt, int rows, int k, size_t mb, int threads, double bw)
{
    size_t lb = layer_bytes(bt->t, rows, k);
    int copies = (int)(mb * 1000000 / lb);
    if (copies < 1) copies = 1;
    uint8_t *w = malloc(lb * copies);
    if (!w) { fprintf(stderr, "bench_qdot: out of memory\n"); exit(1); }
    for (int c = 0; c < copies; c++) fill(w + (size_t)c * lb, lb, bt->t);
    static const int cols[] = { 1, 8, 32 };
    float *x = malloc(sizeof(float) * 32 * k), *y = malloc(sizeof(float) * 32 * rows);
    for (int i = 0; i < 32 * k; i++) x[i] = (float)((int)(rnd() % 2001) - 1000) / 1000.0f;
    void *xq = NULL;
    if (bt->t != GGUF_T_BF16) {
        size_t rb = sr_qact_row_bytes(bt->t, k);
        xq = malloc(rb * 32);
        for (int i = 0; i < 32; i++) sr_qact_quantize(bt->t, x + (size_t)i * k, (uint8_t *)xq + rb * i, k);
    }
    for (int isa = 0; isa < SR_ISA_COUNT; isa++) {
        if (!sr_isa_available((sr_isa)isa)) continue;
        if (bt->t != GGUF_T_BF16 && isa == SR_ISA_AVX512BF16) continue;   /* = avx512 */
        if (paths && !wanted(paths, sr_isa_name((sr_isa)isa))) continue;
        printf("| %s | %s |", bt->name, sr_isa_name((sr_isa)isa));
        for (int ci = 0; ci < 3; ci++) {
            int reps = isa == SR_ISA_SCALAR ? 1 : 3, cp = isa == SR_ISA_SCALAR ? (copies + 15) / 16 : copies;
            double c, t = time_pass((sr_isa)isa, bt->t, w, cp, lb, rows, k, xq, x, cols[ci], y, threads, reps, &c);
            double gbs = (double)lb * cp / t / 1e9, cgbs = (double)lb * cp / c / 1e9;
            printf(" %.1f / %.1f (%.0f%%) |", gbs, cgbs, 100.0 * cgbs / bw);
            fflush(stdout);
        }
        printf("\n");
    }
    free(w); free(x); free(y); free(xq);
}

/* The activation quantizers: millions of floats per CPU second, per path. */
static void bench_qact(int k)
{
    static const struct { int t; const char *name; } acts[] = {
        { GGUF_T_Q4_0, "Q8_0" }, { GGUF_T_Q4_1, "Q8_1" }, { GGUF_T_Q4_K, "Q8_K" },
    };
    const int n = 64;
    float *x = malloc(sizeof(float) * n * k);
    uint8_t *q = malloc((sr_qact_row_bytes(GGUF_T_Q4_1, k) + sr_qact_row_bytes(GGUF_T_Q4_K, k)) * n);
    for (int i = 0; i < n * k; i++) x[i] = (float)((int)(rnd() % 2001) - 1000) / 100.0f;
    printf("activation quantization, M floats per CPU second:");
    for (int a = 0; a < 3; a++)
        for (int isa = 0; isa <= SR_ISA_AVX2; isa++) {
            if (!sr_isa_available((sr_isa)isa)) continue;
            double c0 = cpu_now();
            int reps = 0;
            do {
                for (int i = 0; i < n; i++)
                    sr_qact_quantize_on((sr_isa)isa, acts[a].t, x + (size_t)i * k, q + sr_qact_row_bytes(acts[a].t, k) * i, k);
                reps++;
            } while (cpu_now() - c0 < 0.2);
            printf(" %s %s %.0f,", acts[a].name, sr_isa_name((sr_isa)isa), (double)reps * n * k / (cpu_now() - c0) / 1e6);
        }
    printf("\n\n");
    free(x); free(q);
}

int main(int argc, char **argv)
{
    int threads = 1, rows = 5632, k = 2048;
    size_t mb = 1024;
    const char *types = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mb") && i + 1 < argc) mb = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--rows") && i + 1 < argc) rows = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--k") && i + 1 < argc) k = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--types") && i + 1 < argc) types = argv[++i];
        else if (!strcmp(argv[i], "--paths") && i + 1 < argc) paths = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--threads N] [--mb MB] [--rows R] [--k K] [--types Q4_1,Q8_0,...]\n"
                    "       [--paths scalar,avx2,avx512,avx512bf16]\n", argv[0]);
            return 2;
        }
    }
    if (threads < 1 || rows < 1 || k < 256 || k % 256 || mb < 1) {
        fprintf(stderr, "%s: --threads, --rows, --mb >= 1 and --k a multiple of 256\n", argv[0]);
        return 2;
    }
    uint64_t *buf = malloc(mb * 1000000);
    if (!buf) { fprintf(stderr, "bench_qdot: out of memory\n"); return 1; }
    memset(buf, 1, mb * 1000000);
    double cbw, wbw = read_gbs(buf, mb * 1000000, threads, &cbw), bw = cbw;
    free(buf);
    printf("bench_qdot: %d x %d weights, %zu MB of copies, %d thread(s); default path %s\n",
           rows, k, mb, threads, sr_isa_name(sr_isa_default()));
    printf("read bandwidth (sum over %zu MB): %.1f GB/s wall, %.1f GB/s per CPU second\n\n", mb, wbw, cbw);
    bench_qact(k);
    printf("GB/s of weight bytes read: per wall second / per CPU second (the latter as %% of the\n"
           "read bandwidth per CPU second); scalar over 1/16 of the copies\n\n");
    printf("| weights | path | 1 row (GEMV) | 8 rows | 32 rows |\n| --- | --- | --- | --- | --- |\n");
    for (int i = 0; i < N_ALL; i++)
        if (wanted(types, all_types[i].name)) bench_type(&all_types[i], rows, k, mb, threads, bw);
    return 0;
}
