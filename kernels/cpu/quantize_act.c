/* quantize_act.c — fp32 activation rows to the 8-bit block types the
 * quantized dot products take (see qdot.h): bit for bit ggml's reference
 * quantizers, checked against libggml by tests/golden/qact_ref.c. */
#include "qdot_impl.h"

#include <math.h>
#include <string.h>

_Static_assert(sizeof(block_q8_1) == 36, "block_q8_1 size");

/* A scaled value (|v| <= 127 up to rounding) to int8 with roundf's ties away
 * from zero; a non-finite v (ggml's undefined case, see qdot.h) gives 0. */
static int8_t round_away(float v)
{
    if (!(fabsf(v) <= 127.5f)) return 0;
    float r = roundf(v);
    return (int8_t)(r > 127.0f ? 127 : r);
}

/* Round to nearest, ties to even, as ggml's nearest_int: adding 1.5 * 2^23
 * leaves the integer in the low mantissa bits. Defined for any float (a
 * non-finite or huge v gives a garbage but fixed value, as in ggml). */
static int nearest_even(float v)
{
    float t = v + 12582912.0f;
    int32_t i;
    memcpy(&i, &t, 4);
    return (i & 0x007fffff) - 0x00400000;
}

/* One block of 32: the scale d = amax/127 and the rounded values. */
static float q8_block(const float *x, int8_t *qs)
{
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) {
        float a = fabsf(x[j]);
        amax = amax > a ? amax : a;   /* ggml's MAX(amax, a): keeps amax on ties */
    }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < 32; j++) qs[j] = round_away(x[j] * id);
    return d;
}

void sr_quantize_q8_0(const float *x, block_q8_0 *y, int k)
{
    for (int i = 0; i < k / 32; i++, x += 32)
        y[i].d = quant_f32_to_fp16(q8_block(x, y[i].qs));
}

void sr_quantize_q8_1(const float *x, block_q8_1 *y, int k)
{
    for (int i = 0; i < k / 32; i++, x += 32) {
        float d = q8_block(x, y[i].qs);
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += y[i].qs[j];
        y[i].d = quant_f32_to_fp16(d);
        y[i].s = quant_f32_to_fp16((float)sum * d);
    }
}

void sr_quantize_q8_K(const float *x, block_q8_K *y, int k)
{
    for (int i = 0; i < k / QK_K; i++, x += QK_K) {
        /* The value of largest magnitude, the first of equals. */
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK_K; j++)
            if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) {
            int v = nearest_even(iscale * x[j]);
            y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < QK_K / 16; g++) {
            int s = 0;
            for (int j = 0; j < 16; j++) s += y[i].qs[16 * g + j];
            y[i].bsums[g] = (int16_t)s;
        }
        y[i].d = 1.0f / iscale;
    }
}

int sr_qact_type(enum gguf_ttype t)
{
    switch (t) {
    case GGUF_T_Q4_0: case GGUF_T_Q5_0: case GGUF_T_Q8_0: case GGUF_T_IQ4_NL:
        return GGUF_T_Q8_0;
    case GGUF_T_Q4_1: case GGUF_T_Q5_1:
        return GGUF_T_Q8_1;
    case GGUF_T_Q2_K: case GGUF_T_Q3_K: case GGUF_T_Q4_K: case GGUF_T_Q5_K:
    case GGUF_T_Q6_K: case GGUF_T_IQ4_XS:
        return GGUF_T_Q8_K;
    default:
        return -1;
    }
}

size_t sr_qact_row_bytes(enum gguf_ttype t, int k)
{
    switch (sr_qact_type(t)) {
    case GGUF_T_Q8_0: return (size_t)(k / 32) * sizeof(block_q8_0);
    case GGUF_T_Q8_1: return (size_t)(k / 32) * sizeof(block_q8_1);
    case GGUF_T_Q8_K: return (size_t)(k / QK_K) * sizeof(block_q8_K);
    default: return 0;
    }
}

int sr_qact_quantize_on(sr_isa isa, enum gguf_ttype t, const float *x, void *xq, int k)
{
    int a = sr_qact_type(t);
    if (a < 0 || k <= 0 || k % (int)sr_block_elems(t) != 0) return -1;
    if (!sr_isa_available(isa)) isa = sr_isa_default();
    if (isa >= SR_ISA_AVX2 && sr_qact_quantize_avx2(a, x, xq, k) == 0) return 0;
    if (a == GGUF_T_Q8_0) sr_quantize_q8_0(x, xq, k);
    else if (a == GGUF_T_Q8_1) sr_quantize_q8_1(x, xq, k);
    else sr_quantize_q8_K(x, xq, k);
    return 0;
}

int sr_qact_quantize(enum gguf_ttype t, const float *x, void *xq, int k)
{
    return sr_qact_quantize_on(sr_isa_default(), t, x, xq, k);
}
