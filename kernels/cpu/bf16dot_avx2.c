/* bf16dot_avx2.c — bf16 weights widened to fp32 in registers, AVX2 + FMA:
 * the 16 lanes of qdot.h's order as two 8-float accumulators per output,
 * tiles of up to 2 weight rows x 2 activation rows. */
#include "bf16dot_impl.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* Every function below is compiled for these extensions (and called only
 * where cpuid has them). */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

static inline __m256 widen8(const uint16_t *p)
{
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

/* Lanes 0-7 in a, 8-15 in b: (l, l+8), (l, l+4), (l, l+2), (l, l+1). */
static inline float hsum16(__m256 a, __m256 b)
{
    __m256 t = _mm256_add_ps(a, b);
    __m128 u = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    __m128 v = _mm_add_ps(u, _mm_movehl_ps(u, u));
    return _mm_cvtss_f32(_mm_add_ss(v, _mm_shuffle_ps(v, v, 1)));
}

/* R weight rows (from w) x C activation rows (from x); constants at each call. */
static inline __attribute__((always_inline))
void tile(const uint16_t *w, int k, const float *x, float *y, int ldy, int R, int C)
{
    __m256 acc[2][2][2];
    #pragma GCC unroll 4
    for (int r = 0; r < 2; r++)
        #pragma GCC unroll 4
        for (int c = 0; c < 2; c++) acc[r][c][0] = acc[r][c][1] = _mm256_setzero_ps();
    const int k16 = k & ~15;
    for (int p = 0; p < k16; p += 16) {
        __m256 w0[2], w1[2];
        #pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            w0[r] = widen8(w + (size_t)r * k + p);
            w1[r] = widen8(w + (size_t)r * k + p + 8);
        }
        #pragma GCC unroll 4
        for (int c = 0; c < C; c++) {
            __m256 x0 = _mm256_loadu_ps(x + (size_t)c * k + p), x1 = _mm256_loadu_ps(x + (size_t)c * k + p + 8);
            #pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                acc[r][c][0] = _mm256_fmadd_ps(w0[r], x0, acc[r][c][0]);
                acc[r][c][1] = _mm256_fmadd_ps(w1[r], x1, acc[r][c][1]);
            }
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        #pragma GCC unroll 4
        for (int c = 0; c < C; c++)
            y[(size_t)c * ldy + r] = sr_bf16_tail(hsum16(acc[r][c][0], acc[r][c][1]),
                                                  w + (size_t)r * k, x + (size_t)c * k, k16, k);
}

void sr_bf16rows_avx2(const uint16_t *w, int k, const float *x, int n, float *y, int ldy,
                      int r0, int r1)
{
    for (int r = r0; r < r1; r += 2) {
        const uint16_t *wr = w + (size_t)r * k;
        int i = 0;
        for (; i + 2 <= n; i += 2) {
            if (r + 2 <= r1) tile(wr, k, x + (size_t)i * k, y + (size_t)i * ldy + r, ldy, 2, 2);
            else tile(wr, k, x + (size_t)i * k, y + (size_t)i * ldy + r, ldy, 1, 2);
        }
        for (; i < n; i++) {
            if (r + 2 <= r1) tile(wr, k, x + (size_t)i * k, y + (size_t)i * ldy + r, ldy, 2, 1);
            else tile(wr, k, x + (size_t)i * k, y + (size_t)i * ldy + r, ldy, 1, 1);
        }
    }
}
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#else
void sr_bf16rows_avx2(const uint16_t *w, int k, const float *x, int n, float *y, int ldy,
                      int r0, int r1)
{
    sr_bf16rows_scalar(w, k, x, n, y, ldy, r0, r1);
}
#endif
