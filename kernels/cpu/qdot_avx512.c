/* qdot_avx512.c — the quantized dot products with AVX-512 VNNI on 256-bit
 * vectors (qdot_simd.inc): u8 x s8 products by vpdpbusd, int16 pairs by
 * vpdpwssd, each a multiply and add in one instruction. */
#include "qdot_impl.h"

#include <stddef.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* Every function below is compiled for these extensions (and called only
 * where cpuid has them). */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")
#endif

#define QFN(name) name##_avx512
#define DOT_S16(acc, a, b) _mm256_dpwssd_epi32((acc), (a), (b))
#define DOT_U8S8(acc, u, s) _mm256_dpbusd_epi32((acc), (u), (s))
#include "qdot_simd.inc"
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

void sr_qrows_avx512(const qtype *T, const void *w, int k, const void *xq, int n,
                     float *y, int ldy, int r0, int r1)
{
    rows_avx512(T, w, k, xq, n, y, ldy, r0, r1);
}
#else
void sr_qrows_avx512(const qtype *T, const void *w, int k, const void *xq, int n,
                     float *y, int ldy, int r0, int r1)
{
    sr_qrows_scalar(T, w, k, xq, n, y, ldy, r0, r1);
}
#endif
