/* blocks.h — ggml's tensor types and block formats, beside the kernels that
 * read them: the type ids, each type's block size and bytes, the block
 * layouts, their dequantization to fp32, and the fp32 <-> fp16 / bf16
 * conversions (round to nearest, ties to even) that the GGUF writer and the
 * trainer use. Plain host memory; kernels/cpu/blocks.c and dequant.c.
 *
 * Blocks are little-endian and byte-packed exactly as ggml lays them out;
 * every struct below has the size ggml gives it (checked by static asserts). */
#ifndef SR_BLOCKS_H
#define SR_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Tensor data types, numbered as in ggml; GGUF files store these ids, and
 * lib/lm/gguf.h uses this enum for its tensors' types. */
enum gguf_ttype {
    GGUF_T_F32 = 0, GGUF_T_F16 = 1, GGUF_T_Q4_0 = 2, GGUF_T_Q4_1 = 3,
    GGUF_T_Q8_0 = 8, GGUF_T_Q4_K = 12, GGUF_T_Q6_K = 14, GGUF_T_BF16 = 30,
    GGUF_T_Q5_0 = 6, GGUF_T_Q5_1 = 7, GGUF_T_Q2_K = 10, GGUF_T_Q3_K = 11,
    GGUF_T_Q5_K = 13, GGUF_T_Q8_K = 15, GGUF_T_IQ4_NL = 20, GGUF_T_IQ4_XS = 23,
    /* Known to ggml, so a file holding them opens and they can be named,
     * but quant_dequantize does not handle them. */
    GGUF_T_IQ2_XXS = 16, GGUF_T_IQ2_XS = 17,
    GGUF_T_IQ3_XXS = 18, GGUF_T_IQ1_S = 19, GGUF_T_IQ3_S = 21,
    GGUF_T_IQ2_S = 22, GGUF_T_I8 = 24, GGUF_T_I16 = 25,
    GGUF_T_I32 = 26, GGUF_T_I64 = 27, GGUF_T_F64 = 28, GGUF_T_IQ1_M = 29,
    GGUF_T_TQ1_0 = 34, GGUF_T_TQ2_0 = 35, GGUF_T_MXFP4 = 39,
};

/* Every type above, as ggml defines it: its name ("unknown" for another
 * id), elements per block and bytes per block (0 for another id). */
const char *sr_block_type_name(enum gguf_ttype t);
uint64_t    sr_block_elems(enum gguf_ttype t);
uint64_t    sr_block_bytes(enum gguf_ttype t);

#define QK4_0 32
#define QK4_1 32
#define QK8_0 32
#define QK5_0 32
#define QK5_1 32
#define QK4_NL 32
#define QK_K  256
#define K_SCALE_SIZE 12

/* In Q4_0 / Q4_1, byte j of qs holds element j (low nibble) and j+16 (high). */
typedef struct { uint16_t d; uint8_t qs[QK4_0 / 2]; } block_q4_0;           /* 18 bytes */
typedef struct { uint16_t d, m; uint8_t qs[QK4_1 / 2]; } block_q4_1;        /* 20 bytes */
typedef struct { uint16_t d; int8_t qs[QK8_0]; } block_q8_0;                /* 34 bytes */
/* Q4_K: 8 sub-blocks of 32, each with a 6-bit scale and min packed in scales. */
typedef struct {
    uint16_t d, dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[QK_K / 2];
} block_q4_K;                                                               /* 144 bytes */
/* Q6_K: low 4 bits in ql, high 2 bits in qh, 16 int8 scales of 16 elements. */
typedef struct {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    uint16_t d;
} block_q6_K;                                                               /* 210 bytes */
/* Q5_0 / Q5_1: as Q4_0 / Q4_1, with bit j of qh the fifth bit of element j. */
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]; } block_q5_0;     /* 22 bytes */
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]; } block_q5_1;  /* 24 bytes */
/* Q2_K: 16 sub-blocks of 16; scales[k] holds sub-block k's 4-bit scale (low)
 * and 4-bit min (high); qs holds 2-bit values, four fields per byte. */
typedef struct {
    uint8_t scales[QK_K / 16];
    uint8_t qs[QK_K / 4];
    uint16_t d, dmin;
} block_q2_K;                                                               /* 84 bytes */
/* Q3_K: 2 low bits in qs, the third in hmask, 16 6-bit scales packed in 12 bytes. */
typedef struct {
    uint8_t hmask[QK_K / 8];
    uint8_t qs[QK_K / 4];
    uint8_t scales[12];
    uint16_t d;
} block_q3_K;                                                               /* 110 bytes */
/* Q5_K: Q4_K plus a fifth bit per element in qh. */
typedef struct {
    uint16_t d, dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
} block_q5_K;                                                               /* 176 bytes */
/* Q8_K: an fp32 scale; bsums (sums of 16 values) only serve ggml's dot products. */
typedef struct { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; } block_q8_K;  /* 292 bytes */
/* IQ4_NL: 4-bit indices into a fixed non-linear table, nibbles as in Q4_0. */
typedef struct { uint16_t d; uint8_t qs[QK4_NL / 2]; } block_iq4_nl;               /* 18 bytes */
/* IQ4_XS: IQ4_NL's table in super-blocks of 256, a 6-bit scale per 32
 * (low 4 bits in scales_l, high 2 in scales_h). */
typedef struct {
    uint16_t d, scales_h;
    uint8_t scales_l[QK_K / 64];
    uint8_t qs[QK_K / 2];
} block_iq4_xs;                                                             /* 136 bytes */

/* Scalar conversions. fp16/bf16 are raw IEEE bit patterns. */
float    quant_fp16_to_f32(uint16_t h);
uint16_t quant_f32_to_fp16(float f);   /* RNE; overflow gives inf, NaN stays NaN */
float    quant_bf16_to_f32(uint16_t h);
uint16_t quant_f32_to_bf16(float f);   /* RNE; NaN stays (quiet) NaN */

/* Row conversions of n values. */
void quant_fp16_to_f32_row(const uint16_t *src, float *dst, size_t n);
void quant_f32_to_fp16_row(const float *src, uint16_t *dst, size_t n);
void quant_bf16_to_f32_row(const uint16_t *src, float *dst, size_t n);
void quant_f32_to_bf16_row(const float *src, uint16_t *dst, size_t n);

/* Dequantize n elements (a whole number of blocks) of one type. */
void quant_dequant_q4_0(const void *src, float *dst, size_t n);
void quant_dequant_q4_1(const void *src, float *dst, size_t n);
void quant_dequant_q8_0(const void *src, float *dst, size_t n);
void quant_dequant_q4_K(const void *src, float *dst, size_t n);
void quant_dequant_q6_K(const void *src, float *dst, size_t n);
void quant_dequant_q5_0(const void *src, float *dst, size_t n);
void quant_dequant_q5_1(const void *src, float *dst, size_t n);
void quant_dequant_q2_K(const void *src, float *dst, size_t n);
void quant_dequant_q3_K(const void *src, float *dst, size_t n);
void quant_dequant_q5_K(const void *src, float *dst, size_t n);
void quant_dequant_q8_K(const void *src, float *dst, size_t n);
void quant_dequant_iq4_nl(const void *src, float *dst, size_t n);
void quant_dequant_iq4_xs(const void *src, float *dst, size_t n);

/* Any supported type: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K,
 * Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_NL, IQ4_XS.
 * Returns 0, or -1 when the type is unsupported or n is not a whole number
 * of blocks. */
int  quant_dequantize(enum gguf_ttype t, const void *src, float *dst, uint64_t n);
/* Whether quant_dequantize handles the type. */
int  quant_supported(enum gguf_ttype t);

#ifdef __cplusplus
}
#endif

#endif
