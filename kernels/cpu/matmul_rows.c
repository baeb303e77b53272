/* matmul_rows.c — a linear layer whose every output row depends only on its
 * own input row: y[i][:] is the same bits whether row i is computed alone or
 * among any number of others.
 *
 * Why not sgemm: OpenBLAS picks its kernel by shape (gemv for one row, the
 * "small matrix" kernels for small M·N·K, the blocked kernel otherwise), and
 * the kernels add the K terms in different orders. A decoding step forwards
 * one token per active sequence, so a sequence's logits — and its sampled
 * text — would depend on how many others shared its step. Here every element
 * y[i][j] is one dot product computed the same way always: lane l of an
 * 8-wide accumulator sums the terms k ≡ l (mod 8) in order, the lanes are
 * reduced by a fixed tree, and the K % 8 tail is added last in order.
 *
 * Decoding is bound by reading the weights, so the kernel is blocked to read
 * each weight row once per call however many rows x has: a tile of 2 weight
 * rows meets 4 rows of x at a time, all 8 dot products in registers. */
#include "cpu.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_X86 1
#include <immintrin.h>
#else
#define HAVE_X86 0
#endif

/* ---- portable path (machines without AVX2): the same lane structure ---- */

/* mul-then-add, as the lanes of the AVX2 path are not: the portable path
 * only has to agree with itself, so no fma() call (slow without hardware). */
static inline float fmaf_like(float acc, float a, float b) { return acc + a * b; }

static float dot_generic(const float *a, const float *b, int k)
{
    float lane[8] = { 0 };
    int k8 = k & ~7;
    for (int p = 0; p < k8; p += 8)
        for (int l = 0; l < 8; l++) lane[l] = fmaf_like(lane[l], a[p + l], b[p + l]);
    float s = ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
    for (int p = k8; p < k; p++) s += a[p] * b[p];
    return s;
}

static void rows_generic(float *y, const float *x, const float *w, int n, int in, int out,
                         int j0, int j1, int accumulate)
{
    for (int j = j0; j < j1; j++)
        for (int i = 0; i < n; i++) {
            float v = dot_generic(x + (size_t)i * in, w + (size_t)j * in, in);
            float *yy = y + (size_t)i * out + j;
            *yy = accumulate ? *yy + v : v;
        }
}

/* ---- AVX2 + FMA path ---------------------------------------------------- */

#if HAVE_X86
#define TGT __attribute__((target("avx2,fma")))

/* The lane reduction of dot_generic, in the same order. */
static inline TGT float hsum(__m256 v)
{
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    __m128 s = _mm_add_ps(lo, hi);                    /* (l0+l4, l1+l5, l2+l6, l3+l7) */
    __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));    /* (l0+l4)+(l2+l6), (l1+l5)+(l3+l7) */
    __m128 u = _mm_add_ss(t, _mm_shuffle_ps(t, t, 1));
    return _mm_cvtss_f32(u);
}

static inline TGT void store(float *y, float v, const float *x, const float *w, int k8, int in,
                             int accumulate)
{
    for (int p = k8; p < in; p++) v += x[p] * w[p];
    *y = accumulate ? *y + v : v;
}

/* R rows of x (R <= 4) against C rows of w (C <= 2). R and C are constants
 * at every call, so the loops unroll and the accumulators stay in registers. */
static inline TGT __attribute__((always_inline))
void tile(float *y, const float *x, const float *w, int in, int out, int R, int C, int accumulate)
{
    __m256 acc[4][2];
    #pragma GCC unroll 4
    for (int r = 0; r < 4; r++) { acc[r][0] = _mm256_setzero_ps(); acc[r][1] = _mm256_setzero_ps(); }
    const int k8 = in & ~7;
    for (int p = 0; p < k8; p += 8) {
        __m256 wv0 = _mm256_loadu_ps(w + p);
        __m256 wv1 = C > 1 ? _mm256_loadu_ps(w + in + p) : wv0;
        #pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m256 xv = _mm256_loadu_ps(x + (size_t)r * in + p);
            acc[r][0] = _mm256_fmadd_ps(xv, wv0, acc[r][0]);
            if (C > 1) acc[r][1] = _mm256_fmadd_ps(xv, wv1, acc[r][1]);
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            store(y + (size_t)r * out + c, hsum(acc[r][c]), x + (size_t)r * in, w + (size_t)c * in,
                  k8, in, accumulate);
}

static TGT void rows_avx2(float *y, const float *x, const float *w, int n, int in, int out,
                          int j0, int j1, int accumulate)
{
    for (int j = j0; j < j1; j += 2) {
        const int C = j + 1 < j1 ? 2 : 1;
        const float *wj = w + (size_t)j * in;
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            float *yi = y + (size_t)i * out + j;
            const float *xi = x + (size_t)i * in;
            if (C == 2) tile(yi, xi, wj, in, out, 4, 2, accumulate);
            else        tile(yi, xi, wj, in, out, 4, 1, accumulate);
        }
        for (; i < n; i++) {
            float *yi = y + (size_t)i * out + j;
            const float *xi = x + (size_t)i * in;
            if (C == 2) tile(yi, xi, wj, in, out, 1, 2, accumulate);
            else        tile(yi, xi, wj, in, out, 1, 1, accumulate);
        }
    }
}
#endif

void sr_cpu_matmul_rows_fwd(const sr_ctx *ctx, float *y, const float *x, const float *w,
                        int n, int in, int out, int accumulate)
{
#if HAVE_X86
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    const int avx2 = 0;
#endif
    /* Threads split the weight rows; a block of 32 rows (74 KB at in = 576)
     * stays in L2 while it meets every row of x. */
    const int blk = 32, n_blk = (out + blk - 1) / blk;
    #pragma omp parallel for num_threads(ctx->threads) schedule(dynamic, 1) if (n_blk > 1)
    for (int b = 0; b < n_blk; b++) {
        int j0 = b * blk, j1 = j0 + blk < out ? j0 + blk : out;
#if HAVE_X86
        if (avx2) { rows_avx2(y, x, w, n, in, out, j0, j1, accumulate); continue; }
#endif
        rows_generic(y, x, w, n, in, out, j0, j1, accumulate);
    }
}
