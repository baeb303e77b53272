/* quant.c — ggml block formats: sizes, names, dequantization, fp16/bf16. */
#include "lm/quant.h"

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

/* Every type ggml stores in files, so that a file with a type sr cannot
 * dequantize still opens (its metadata is readable) and the loader can name
 * the type it refuses. Sizes as ggml defines them. */
static const struct { const char *name; uint32_t blck, size; } type_info[] = {
    [GGUF_T_F32] = {"F32", 1, 4},        [GGUF_T_F16] = {"F16", 1, 2},
    [GGUF_T_Q4_0] = {"Q4_0", 32, 18},    [GGUF_T_Q4_1] = {"Q4_1", 32, 20},
    [GGUF_T_Q5_0] = {"Q5_0", 32, 22},    [GGUF_T_Q5_1] = {"Q5_1", 32, 24},
    [GGUF_T_Q8_0] = {"Q8_0", 32, 34},
    [GGUF_T_Q2_K] = {"Q2_K", 256, 84},   [GGUF_T_Q3_K] = {"Q3_K", 256, 110},
    [GGUF_T_Q4_K] = {"Q4_K", 256, 144},  [GGUF_T_Q5_K] = {"Q5_K", 256, 176},
    [GGUF_T_Q6_K] = {"Q6_K", 256, 210},  [GGUF_T_Q8_K] = {"Q8_K", 256, 292},
    [GGUF_T_IQ2_XXS] = {"IQ2_XXS", 256, 66}, [GGUF_T_IQ2_XS] = {"IQ2_XS", 256, 74},
    [GGUF_T_IQ3_XXS] = {"IQ3_XXS", 256, 98}, [GGUF_T_IQ1_S] = {"IQ1_S", 256, 50},
    [GGUF_T_IQ4_NL] = {"IQ4_NL", 32, 18},    [GGUF_T_IQ3_S] = {"IQ3_S", 256, 110},
    [GGUF_T_IQ2_S] = {"IQ2_S", 256, 82},     [GGUF_T_IQ4_XS] = {"IQ4_XS", 256, 136},
    [GGUF_T_I8] = {"I8", 1, 1},    [GGUF_T_I16] = {"I16", 1, 2},
    [GGUF_T_I32] = {"I32", 1, 4},  [GGUF_T_I64] = {"I64", 1, 8},
    [GGUF_T_F64] = {"F64", 1, 8},  [GGUF_T_IQ1_M] = {"IQ1_M", 256, 56},
    [GGUF_T_BF16] = {"BF16", 1, 2},
    [GGUF_T_TQ1_0] = {"TQ1_0", 256, 54}, [GGUF_T_TQ2_0] = {"TQ2_0", 256, 66},
    [GGUF_T_MXFP4] = {"MXFP4", 32, 17},
};
#define N_TYPES (sizeof type_info / sizeof type_info[0])

/* The enum is unsigned or signed at the compiler's choice; compare as unsigned. */
static int known(enum gguf_ttype t) {
    return (unsigned)t < N_TYPES && type_info[(unsigned)t].blck != 0;
}

uint64_t gguf_block_elems(enum gguf_ttype t) { return known(t) ? type_info[t].blck : 0; }

const char *gguf_type_name(enum gguf_ttype t) { return known(t) ? type_info[t].name : "unknown"; }

uint64_t gguf_type_size(enum gguf_ttype t, uint64_t n) {
    if (!known(t) || n % type_info[t].blck != 0) return 0;
    uint64_t nb = n / type_info[t].blck, bytes;
    if (__builtin_mul_overflow(nb, (uint64_t)type_info[t].size, &bytes)) return 0;
    return bytes;
}

/* --- fp16 / bf16 ----------------------------------------------------------- */

static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float quant_fp16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (man << 13));   /* inf, NaN */
    if (exp == 0) {
        /* zero or subnormal: man * 2^-24, exact in fp32 */
        float v = (float)man * 0x1p-24f;
        return sign ? -v : v;
    }
    return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t quant_f32_to_fp16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return sign | 0x7e00 | (uint16_t)((ax >> 13) & 0x3ff);  /* NaN, quiet */
    if (ax >= 0x477ff000u) return sign | 0x7c00;      /* rounds to >= 65520: inf */
    if (ax < 0x38800000u) {
        /* below the smallest normal (2^-14): subnormal result, units of 2^-24.
         * Adding 0.5 (as 2^-1 in the same fixed point) with RNE is done by hand. */
        if (ax < 0x33000000u) return sign;             /* < 2^-25: rounds to 0 */
        uint32_t e = ax >> 23, m = (ax & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e;                      /* value = m * 2^(e-150); want units 2^-24 */
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return sign | (uint16_t)q;
    }
    /* normal: rebias exponent, round the 13 dropped mantissa bits to even;
     * a carry out of the mantissa correctly bumps the exponent. */
    uint32_t r = ax - ((uint32_t)112 << 23);
    uint32_t q = r >> 13, rem = r & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) q++;
    return sign | (uint16_t)q;
}

float quant_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t quant_f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);  /* quiet NaN */
    x += 0x7fff + ((x >> 16) & 1);   /* RNE; overflow of the largest finite gives inf */
    return (uint16_t)(x >> 16);
}

void quant_fp16_to_f32_row(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = quant_fp16_to_f32(src[i]);
}
void quant_f32_to_fp16_row(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = quant_f32_to_fp16(src[i]);
}
void quant_bf16_to_f32_row(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = quant_bf16_to_f32(src[i]);
}
void quant_f32_to_bf16_row(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = quant_f32_to_bf16(src[i]);
}

/* --- block dequantization (as ggml's dequantize_row_*) --------------------- */

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
    if (!quant_supported(t) || n % gguf_block_elems(t) != 0) return -1;
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

int gguf_dequantize(const gguf_tensor *t, float *out) {
    if (!t || !t->data) return -1;
    return quant_dequantize(t->type, t->data, out, t->n_elems);
}
