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
static_assert(sizeof(block_q5_0) == 22, "block_q5_0 size");
static_assert(sizeof(block_q5_1) == 24, "block_q5_1 size");
static_assert(sizeof(block_q2_K) == 84, "block_q2_K size");
static_assert(sizeof(block_q3_K) == 110, "block_q3_K size");
static_assert(sizeof(block_q5_K) == 176, "block_q5_K size");
static_assert(sizeof(block_q8_K) == 292, "block_q8_K size");
static_assert(sizeof(block_iq4_nl) == 18, "block_iq4_nl size");
static_assert(sizeof(block_iq4_xs) == 136, "block_iq4_xs size");

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

/* The fifth bit of element j of a Q5_0/Q5_1 block, as 0 or 16. */
static int q5_high(uint32_t qh, int j) { return (int)((qh >> j) & 1) << 4; }

void quant_dequant_q5_0(const void *src, float *dst, size_t n) {
    const block_q5_0 *b = src;
    for (size_t i = 0; i < n / QK5_0; i++, dst += QK5_0) {
        float d = quant_fp16_to_f32(b[i].d);
        uint32_t qh;
        memcpy(&qh, b[i].qh, 4);
        for (int j = 0; j < QK5_0 / 2; j++) {
            dst[j] = (float)(((b[i].qs[j] & 0x0f) | q5_high(qh, j)) - 16) * d;
            dst[j + QK5_0 / 2] = (float)(((b[i].qs[j] >> 4) | q5_high(qh, j + 16)) - 16) * d;
        }
    }
}

void quant_dequant_q5_1(const void *src, float *dst, size_t n) {
    const block_q5_1 *b = src;
    for (size_t i = 0; i < n / QK5_1; i++, dst += QK5_1) {
        float d = quant_fp16_to_f32(b[i].d), m = quant_fp16_to_f32(b[i].m);
        uint32_t qh;
        memcpy(&qh, b[i].qh, 4);
        for (int j = 0; j < QK5_1 / 2; j++) {
            dst[j] = (float)((b[i].qs[j] & 0x0f) | q5_high(qh, j)) * d + m;
            dst[j + QK5_1 / 2] = (float)((b[i].qs[j] >> 4) | q5_high(qh, j + 16)) * d + m;
        }
    }
}

void quant_dequant_q2_K(const void *src, float *dst, size_t n) {
    const block_q2_K *b = src;
    for (size_t i = 0; i < n / QK_K; i++) {
        float d = quant_fp16_to_f32(b[i].d), dmin = quant_fp16_to_f32(b[i].dmin);
        const uint8_t *sc = b[i].scales;
        /* Each 32 bytes of qs serve 128 elements: 4 shifts x 2 sub-blocks of 16. */
        for (int half = 0; half < 2; half++) {
            const uint8_t *q = b[i].qs + 32 * half;
            for (int shift = 0; shift < 8; shift += 2) {
                for (int h = 0; h < 2; h++, sc++) {
                    float dl = d * (float)(*sc & 0x0f), ml = dmin * (float)(*sc >> 4);
                    for (int l = 0; l < 16; l++)
                        *dst++ = dl * (float)((q[l + 16 * h] >> shift) & 3) - ml;
                }
            }
        }
    }
}

/* Q3_K's 16 scales: low 4 bits from bytes 0..7 (low nibbles first, then
 * high), high 2 bits from bytes 8..11, two bits per sub-block in turn. */
static void k3_scales(const uint8_t *p, int *sc) {
    for (int k = 0; k < 16; k++) {
        int lo = k < 8 ? p[k] & 0x0f : p[k - 8] >> 4;
        int hi = (p[8 + (k & 3)] >> (2 * (k >> 2))) & 3;
        sc[k] = (lo | hi << 4) - 32;
    }
}

void quant_dequant_q3_K(const void *src, float *dst, size_t n) {
    const block_q3_K *b = src;
    for (size_t i = 0; i < n / QK_K; i++) {
        float d = quant_fp16_to_f32(b[i].d);
        int sc[16], is = 0;
        k3_scales(b[i].scales, sc);
        const uint8_t *hm = b[i].hmask;
        int bit = 0;   /* hmask bit: one per (half, shift) step */
        for (int half = 0; half < 2; half++) {
            const uint8_t *q = b[i].qs + 32 * half;
            for (int shift = 0; shift < 8; shift += 2, bit++) {
                for (int h = 0; h < 2; h++, is++) {
                    float dl = d * (float)sc[is];
                    for (int l = 0; l < 16; l++) {
                        int v = (q[l + 16 * h] >> shift) & 3;
                        if (!(hm[l + 16 * h] >> bit & 1)) v -= 4;
                        *dst++ = dl * (float)v;
                    }
                }
            }
        }
    }
}

void quant_dequant_q5_K(const void *src, float *dst, size_t n) {
    const block_q5_K *b = src;
    for (size_t i = 0; i < n / QK_K; i++) {
        float d = quant_fp16_to_f32(b[i].d), dmin = quant_fp16_to_f32(b[i].dmin);
        const uint8_t *q = b[i].qs, *qh = b[i].qh;
        /* As Q4_K; step is/2 takes its fifth bits from qh bits is and is+1. */
        for (int is = 0; is < 8; is += 2, q += 32) {
            uint8_t sc, m;
            k4_scale_min(is, b[i].scales, &sc, &m);
            float d1 = d * sc, m1 = dmin * m;
            k4_scale_min(is + 1, b[i].scales, &sc, &m);
            float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; l++)
                *dst++ = d1 * (float)((q[l] & 0x0f) | ((qh[l] >> is & 1) << 4)) - m1;
            for (int l = 0; l < 32; l++)
                *dst++ = d2 * (float)((q[l] >> 4) | ((qh[l] >> (is + 1) & 1) << 4)) - m2;
        }
    }
}

void quant_dequant_q8_K(const void *src, float *dst, size_t n) {
    const block_q8_K *b = src;
    for (size_t i = 0; i < n / QK_K; i++, dst += QK_K)
        for (int j = 0; j < QK_K; j++) dst[j] = b[i].d * (float)b[i].qs[j];
}

/* The 16 levels IQ4_NL and IQ4_XS index: ggml's kvalues_iq4nl. */
static const int8_t iq4_levels[16] = {
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
};

void quant_dequant_iq4_nl(const void *src, float *dst, size_t n) {
    const block_iq4_nl *b = src;
    for (size_t i = 0; i < n / QK4_NL; i++, dst += QK4_NL) {
        float d = quant_fp16_to_f32(b[i].d);
        for (int j = 0; j < QK4_NL / 2; j++) {
            dst[j] = d * (float)iq4_levels[b[i].qs[j] & 0x0f];
            dst[j + QK4_NL / 2] = d * (float)iq4_levels[b[i].qs[j] >> 4];
        }
    }
}

void quant_dequant_iq4_xs(const void *src, float *dst, size_t n) {
    const block_iq4_xs *b = src;
    for (size_t i = 0; i < n / QK_K; i++) {
        float d = quant_fp16_to_f32(b[i].d);
        const uint8_t *q = b[i].qs;
        for (int ib = 0; ib < QK_K / 32; ib++, q += 16, dst += 32) {
            int ls = ((b[i].scales_l[ib / 2] >> 4 * (ib % 2)) & 0x0f) | ((b[i].scales_h >> 2 * ib) & 3) << 4;
            float dl = d * (float)(ls - 32);
            for (int j = 0; j < 16; j++) {
                dst[j] = dl * (float)iq4_levels[q[j] & 0x0f];
                dst[j + 16] = dl * (float)iq4_levels[q[j] >> 4];
            }
        }
    }
}

int quant_supported(enum gguf_ttype t) {
    switch (t) {
    case GGUF_T_F32: case GGUF_T_F16: case GGUF_T_BF16: case GGUF_T_Q8_0:
    case GGUF_T_Q4_0: case GGUF_T_Q4_1: case GGUF_T_Q4_K: case GGUF_T_Q6_K:
    case GGUF_T_Q5_0: case GGUF_T_Q5_1: case GGUF_T_Q2_K: case GGUF_T_Q3_K:
    case GGUF_T_Q5_K: case GGUF_T_Q8_K: case GGUF_T_IQ4_NL: case GGUF_T_IQ4_XS:
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
    case GGUF_T_Q5_0: quant_dequant_q5_0(src, dst, n); break;
    case GGUF_T_Q5_1: quant_dequant_q5_1(src, dst, n); break;
    case GGUF_T_Q2_K: quant_dequant_q2_K(src, dst, n); break;
    case GGUF_T_Q3_K: quant_dequant_q3_K(src, dst, n); break;
    case GGUF_T_Q5_K: quant_dequant_q5_K(src, dst, n); break;
    case GGUF_T_Q8_K: quant_dequant_q8_K(src, dst, n); break;
    case GGUF_T_IQ4_NL: quant_dequant_iq4_nl(src, dst, n); break;
    case GGUF_T_IQ4_XS: quant_dequant_iq4_xs(src, dst, n); break;
    default: return -1;
    }
    return 0;
}
