/* quantize_act_avx2.c — the 8-bit activation quantizers with AVX2, the same
 * bytes as quantize_act.c's (ggml's reference): the largest magnitude is a
 * max (exact in any order), the scaled values the same single multiply, and
 * the roundings done exactly as roundf (ties away from zero) and ggml's
 * nearest_int (ties to even, by adding 1.5 * 2^23). tests/unit/test_qact.c
 * checks both against ggml. */
#include "qdot_impl.h"

#include <math.h>
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

static inline float hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline __m256 absv(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

/* roundf of v*id for 8 values as int32: trunc, then one away from zero
 * where the dropped part is >= 1/2 (v - trunc(v) is exact); 0 where
 * |v*id| > 127.5 or NaN, as the scalar round_away. */
static inline __m256i round_away8(__m256 v)
{
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 half = _mm256_cmp_ps(absv(_mm256_sub_ps(v, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    __m256 one = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(v, _mm256_set1_ps(-0.0f)));
    t = _mm256_add_ps(t, _mm256_and_ps(half, one));
    t = _mm256_min_ps(t, _mm256_set1_ps(127.0f));
    __m256 ok = _mm256_cmp_ps(absv(v), _mm256_set1_ps(127.5f), _CMP_LE_OQ);
    return _mm256_cvttps_epi32(_mm256_and_ps(ok, t));
}

/* 32 int32 (4 vectors, in order) to their low bytes, in order: the scalar
 * paths' (int8_t) conversion, which truncates. */
static inline void pack32(__m256i a, __m256i b, __m256i c, __m256i d, int8_t *out)
{
    const __m256i lo = _mm256_set1_epi32(0xff);
    __m256i ab = _mm256_packus_epi32(_mm256_and_si256(a, lo), _mm256_and_si256(b, lo));
    __m256i cd = _mm256_packus_epi32(_mm256_and_si256(c, lo), _mm256_and_si256(d, lo));
    __m256i v = _mm256_packus_epi16(ab, cd);
    /* the packs work per 128-bit lane: dwords come out as 0 2 4 6 1 3 5 7 */
    v = _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)out, v);
}

/* One block of 32 (Q8_0 / Q8_1): d = amax/127 and the rounded values. */
static float q8_block32(const float *x, int8_t *qs)
{
    __m256 v[4], m = _mm256_setzero_ps();
    for (int j = 0; j < 4; j++) {
        v[j] = _mm256_loadu_ps(x + 8 * j);
        m = _mm256_max_ps(m, absv(v[j]));
    }
    const float amax = hmax8(m), d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    const __m256 idv = _mm256_set1_ps(id);
    pack32(round_away8(_mm256_mul_ps(v[0], idv)), round_away8(_mm256_mul_ps(v[1], idv)),
           round_away8(_mm256_mul_ps(v[2], idv)), round_away8(_mm256_mul_ps(v[3], idv)), qs);
    return d;
}

static void q8_0_avx2(const float *x, block_q8_0 *y, int k)
{
    for (int i = 0; i < k / 32; i++, x += 32) y[i].d = quant_f32_to_fp16(q8_block32(x, y[i].qs));
}

/* The sum of 32 int8. */
static int sum32(const int8_t *q)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)q);
    __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), v), _mm256_set1_epi16(1));
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
    return _mm_cvtsi128_si32(t);
}

static void q8_1_avx2(const float *x, block_q8_1 *y, int k)
{
    for (int i = 0; i < k / 32; i++, x += 32) {
        float d = q8_block32(x, y[i].qs);
        y[i].d = quant_f32_to_fp16(d);
        y[i].s = quant_f32_to_fp16((float)sum32(y[i].qs) * d);
    }
}

/* ggml's nearest_int on 8 values, then min(v, 127). */
static inline __m256i nearest_even8(__m256 v)
{
    __m256i i = _mm256_castps_si256(_mm256_add_ps(v, _mm256_set1_ps(12582912.0f)));
    i = _mm256_sub_epi32(_mm256_and_si256(i, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x00400000));
    return _mm256_min_epi32(i, _mm256_set1_epi32(127));
}

static void q8_K_avx2(const float *x, block_q8_K *y, int k)
{
    for (int i = 0; i < k / QK_K; i++, x += QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < QK_K; j += 8) m = _mm256_max_ps(m, absv(_mm256_loadu_ps(x + j)));
        const float amax = hmax8(m);
        if (amax == 0.0f) { memset(&y[i], 0, sizeof y[i]); continue; }
        int at = 0;
        while (fabsf(x[at]) != amax) at++;   /* the first of the largest magnitude */
        const float iscale = -127.0f / x[at];
        const __m256 s = _mm256_set1_ps(iscale);
        for (int j = 0; j < QK_K; j += 32)
            pack32(nearest_even8(_mm256_mul_ps(s, _mm256_loadu_ps(x + j))),
                   nearest_even8(_mm256_mul_ps(s, _mm256_loadu_ps(x + j + 8))),
                   nearest_even8(_mm256_mul_ps(s, _mm256_loadu_ps(x + j + 16))),
                   nearest_even8(_mm256_mul_ps(s, _mm256_loadu_ps(x + j + 24))), y[i].qs + j);
        for (int g = 0; g < QK_K / 16; g++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(y[i].qs + 16 * g));
            __m128i t = _mm_madd_epi16(_mm_maddubs_epi16(_mm_set1_epi8(1), v), _mm_set1_epi16(1));
            t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
            t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
            y[i].bsums[g] = (int16_t)_mm_cvtsi128_si32(t);
        }
        y[i].d = 1.0f / iscale;
    }
}
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

int sr_qact_quantize_avx2(int act, const float *x, void *xq, int k)
{
    if (act == GGUF_T_Q8_0) q8_0_avx2(x, xq, k);
    else if (act == GGUF_T_Q8_1) q8_1_avx2(x, xq, k);
    else q8_K_avx2(x, xq, k);
    return 0;
}
#else
int sr_qact_quantize_avx2(int act, const float *x, void *xq, int k)
{
    (void)act; (void)x; (void)xq; (void)k;
    return -1;
}
#endif
