/* qdot_avx2.c — the quantized dot products with AVX2 (qdot_simd.inc):
 * u8 x s8 products by vpmaddubsw, pairs of int16 by vpmaddwd. */
#include "qdot_impl.h"

#include <stddef.h>
#include <string.h>

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

#define QFN(name) name##_avx2
#define DOT_S16(acc, a, b) _mm256_add_epi32((acc), _mm256_madd_epi16((a), (b)))
#define DOT_U8S8(acc, u, s) DOT_S16((acc), _mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1))
#include "qdot_simd.inc"
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

void sr_qrows_avx2(const qtype *T, const void *w, int k, const void *xq, int n,
                   float *y, int ldy, int r0, int r1)
{
    rows_avx2(T, w, k, xq, n, y, ldy, r0, r1);
}
#else
void sr_qrows_avx2(const qtype *T, const void *w, int k, const void *xq, int n,
                   float *y, int ldy, int r0, int r1)
{
    sr_qrows_scalar(T, w, k, xq, n, y, ldy, r0, r1);
}
#endif
