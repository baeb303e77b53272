/* bf16dot_avx512.c — bf16 weights on AVX-512: widened to fp32 (one 16-float
 * accumulator per output: qdot.h's order, the scalar path's bits), or with
 * AVX512_BF16's vdpbf16ps on activations rounded to bf16 (within qdot.h's
 * tolerance). Tiles of up to 4 weight rows x 4 activation rows. */
#include "bf16dot_impl.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* Every function below is compiled for these extensions (and called only
 * where cpuid has them). */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512bf16"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512bf16")
#endif

/* (l, l+8), (l, l+4), (l, l+2), (l, l+1). */
static inline float hsum16(__m512 a)
{
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1));
    __m256 t = _mm256_add_ps(_mm512_castps512_ps256(a), hi);
    __m128 u = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    __m128 v = _mm_add_ps(u, _mm_movehl_ps(u, u));
    return _mm_cvtss_f32(_mm_add_ss(v, _mm_shuffle_ps(v, v, 1)));
}

static inline __m512 widen16(const uint16_t *p)
{
    __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

/* R x C outputs, widening. */
static inline __attribute__((always_inline))
void tile_wide(const uint16_t *w, int k, const float *x, float *y, int ldy, int R, int C)
{
    __m512 acc[4][4];
    #pragma GCC unroll 4
    for (int r = 0; r < 4; r++)
        #pragma GCC unroll 4
        for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
    const int k16 = k & ~15;
    for (int p = 0; p < k16; p += 16) {
        __m512 wv[4];
        #pragma GCC unroll 4
        for (int r = 0; r < R; r++) wv[r] = widen16(w + (size_t)r * k + p);
        #pragma GCC unroll 4
        for (int c = 0; c < C; c++) {
            __m512 xv = _mm512_loadu_ps(x + (size_t)c * k + p);
            #pragma GCC unroll 4
            for (int r = 0; r < R; r++) acc[r][c] = _mm512_fmadd_ps(wv[r], xv, acc[r][c]);
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        #pragma GCC unroll 4
        for (int c = 0; c < C; c++)
            y[(size_t)c * ldy + r] = sr_bf16_tail(hsum16(acc[r][c]), w + (size_t)r * k, x + (size_t)c * k, k16, k);
}

/* The k%32 tail of the vdpbf16ps path: bf16 products, in order. */
static float tail_bf16(float s, const uint16_t *w, const uint16_t *xb, int p0, int k)
{
    for (int p = p0; p < k; p++) s = __builtin_fmaf(quant_bf16_to_f32(w[p]), quant_bf16_to_f32(xb[p]), s);
    return s;
}

/* R x C outputs with vdpbf16ps: lane l sums the pairs 2l, 2l+1 of each 32. */
static inline __attribute__((always_inline))
void tile_dp(const uint16_t *w, int k, const uint16_t *xb, float *y, int ldy, int R, int C)
{
    __m512 acc[4][4];
    #pragma GCC unroll 4
    for (int r = 0; r < 4; r++)
        #pragma GCC unroll 4
        for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
    const int k32 = k & ~31;
    for (int p = 0; p < k32; p += 32) {
        __m512bh wv[4];
        #pragma GCC unroll 4
        for (int r = 0; r < R; r++) wv[r] = (__m512bh)_mm512_loadu_si512(w + (size_t)r * k + p);
        #pragma GCC unroll 4
        for (int c = 0; c < C; c++) {
            __m512bh xv = (__m512bh)_mm512_loadu_si512(xb + (size_t)c * k + p);
            #pragma GCC unroll 4
            for (int r = 0; r < R; r++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], wv[r], xv);
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        #pragma GCC unroll 4
        for (int c = 0; c < C; c++)
            y[(size_t)c * ldy + r] = tail_bf16(hsum16(acc[r][c]), w + (size_t)r * k, xb + (size_t)c * k, k32, k);
}

/* Rows in fours, activation rows in fours; the rest one at a time. TILE(R, C)
 * is the includer's tile call at constant R and C. */
#define ROWS_LOOP(TILE)                                                                  \
    for (int r = r0; r < r1;) {                                                          \
        const int four = r + 4 <= r1;                                                    \
        int i = 0;                                                                       \
        for (; i + 4 <= n; i += 4) { if (four) TILE(4, 4); else TILE(1, 4); }            \
        for (; i < n; i++) { if (four) TILE(4, 1); else TILE(1, 1); }                    \
        r += four ? 4 : 1;                                                               \
    }

void sr_bf16rows_avx512(const uint16_t *w, int k, const float *x, int n, float *y, int ldy,
                        int r0, int r1)
{
#define TILE(R, C) tile_wide(w + (size_t)r * k, k, x + (size_t)i * k, y + (size_t)i * ldy + r, ldy, R, C)
    ROWS_LOOP(TILE)
#undef TILE
}

void sr_bf16rows_dpbf16(const uint16_t *w, int k, const uint16_t *xb, int n, float *y, int ldy,
                        int r0, int r1)
{
#define TILE(R, C) tile_dp(w + (size_t)r * k, k, xb + (size_t)i * k, y + (size_t)i * ldy + r, ldy, R, C)
    ROWS_LOOP(TILE)
#undef TILE
}
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#else
void sr_bf16rows_avx512(const uint16_t *w, int k, const float *x, int n, float *y, int ldy,
                        int r0, int r1)
{
    sr_bf16rows_scalar(w, k, x, n, y, ldy, r0, r1);
}
void sr_bf16rows_dpbf16(const uint16_t *w, int k, const uint16_t *xb, int n, float *y, int ldy,
                        int r0, int r1)
{
    (void)xb;
    (void)w; (void)k; (void)n; (void)y; (void)ldy; (void)r0; (void)r1;
}
#endif
