/* blocks.c — ggml's types (names and block sizes) and the fp16 / bf16
 * conversions (see blocks.h). */
#include "blocks.h"

#include <string.h>

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

const char *sr_block_type_name(enum gguf_ttype t) { return known(t) ? type_info[t].name : "unknown"; }

uint64_t sr_block_elems(enum gguf_ttype t) { return known(t) ? type_info[t].blck : 0; }

uint64_t sr_block_bytes(enum gguf_ttype t) { return known(t) ? type_info[t].size : 0; }

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
