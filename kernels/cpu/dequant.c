/* dequant.c — ggml blocks to fp32, as ggml's dequantize_row_* (see blocks.h). */
#include "blocks.h"

#include <assert.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sr reads GGUF blocks in place and needs a little-endian host"
#endif

static_assert(sizeof(block_q4_0) == 18, "block_q4_0 size");
static_assert(sizeof(block_q4_1) == 20, "block_q4_1 size");
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 size");
static_assert(sizeof(block_q4_K) == 144, "block_q4_K size");
static_assert(sizeof(block_q6_K) == 210, "block_q6_K size");

void quant_dequant_q4_0(const void *src, float *dst, size_t n) {
    const block_q4_0 *b = src;
    for (size_t i = 0; i < n / QK4_0; i++, dst += QK4_0) {
        float d = quant_fp16_to_f32(b[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            dst[j] = (float)((b[i].qs[j] & 0x0f) - 8) * d;
            dst[j + QK4_0 / 2] = (float)((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void quant_dequant_q4_1(const void *src, float *dst, size_t n) {
    const block_q4_1 *b = src;
    for (size_t i = 0; i < n / QK4_1; i++, dst += QK4_1) {
        float d = quant_fp16_to_f32(b[i].d), m = quant_fp16_to_f32(b[i].m);
        for (int j = 0; j < QK4_1 / 2; j++) {
            dst[j] = (float)(b[i].qs[j] & 0x0f) * d + m;
            dst[j + QK4_1 / 2] = (float)(b[i].qs[j] >> 4) * d + m;
        }
    }
}

void quant_dequant_q8_0(const void *src, float *dst, size_t n) {
    const block_q8_0 *b = src;
    for (size_t i = 0; i < n / QK8_0; i++, dst += QK8_0) {
        float d = quant_fp16_to_f32(b[i].d);
        for (int j = 0; j < QK8_0; j++) dst[j] = (float)b[i].qs[j] * d;
    }
}

/* Sub-block j's 6-bit scale and min: j < 4 sit in the low 6 bits of bytes
 * j and j+4; j >= 4 take 4 bits from byte j+4 and their top 2 bits from the
 * spare high bits of bytes j-4 (scale) and j (min). */
static void k4_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

void quant_dequant_q4_K(const void *src, float *dst, size_t n) {
    const block_q4_K *b = src;
    for (size_t i = 0; i < n / QK_K; i++) {
        float d = quant_fp16_to_f32(b[i].d), dmin = quant_fp16_to_f32(b[i].dmin);
        const uint8_t *q = b[i].qs;
        /* 64 elements per step: 32 low nibbles (sub-block is), 32 high (is+1). */
        for (int is = 0; is < 8; is += 2, q += 32) {
            uint8_t sc, m;
            k4_scale_min(is, b[i].scales, &sc, &m);
            float d1 = d * sc, m1 = dmin * m;
            k4_scale_min(is + 1, b[i].scales, &sc, &m);
            float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; l++) *dst++ = d1 * (float)(q[l] & 0x0f) - m1;
            for (int l = 0; l < 32; l++) *dst++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

void quant_dequant_q6_K(const void *src, float *dst, size_t n) {
    const block_q6_K *b = src;
    for (size_t i = 0; i < n / QK_K; i++) {
        float d = quant_fp16_to_f32(b[i].d);
        const uint8_t *ql = b[i].ql, *qh = b[i].qh;
        const int8_t *sc = b[i].scales;
        /* Two halves of 128: ql holds 64 bytes of low nibbles for 4 runs of 32,
         * qh 32 bytes whose 2-bit fields complete each run. */
        for (int half = 0; half < 2; half++, dst += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = (int)((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = (int)((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                dst[l] = d * (float)sc[is + 0] * (float)q1;
                dst[l + 32] = d * (float)sc[is + 2] * (float)q2;
                dst[l + 64] = d * (float)sc[is + 4] * (float)q3;
                dst[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
        }
    }
}

int quant_supported(enum gguf_ttype t) {
    switch (t) {
    case GGUF_T_F32: case GGUF_T_F16: case GGUF_T_BF16: case GGUF_T_Q8_0:
    case GGUF_T_Q4_0: case GGUF_T_Q4_1: case GGUF_T_Q4_K: case GGUF_T_Q6_K:
        return 1;
    default:
        return 0;
    }
}

int quant_dequantize(enum gguf_ttype t, const void *src, float *dst, uint64_t n) {
    if (!quant_supported(t) || n % sr_block_elems(t) != 0) return -1;
    switch (t) {
    case GGUF_T_F32: memcpy(dst, src, n * sizeof(float)); break;
    case GGUF_T_F16: quant_fp16_to_f32_row(src, dst, n); break;
    case GGUF_T_BF16: quant_bf16_to_f32_row(src, dst, n); break;
    case GGUF_T_Q8_0: quant_dequant_q8_0(src, dst, n); break;
    case GGUF_T_Q4_0: quant_dequant_q4_0(src, dst, n); break;
    case GGUF_T_Q4_1: quant_dequant_q4_1(src, dst, n); break;
    case GGUF_T_Q4_K: quant_dequant_q4_K(src, dst, n); break;
    case GGUF_T_Q6_K: quant_dequant_q6_K(src, dst, n); break;
    default: return -1;
    }
    return 0;
}
