/* quant.h — ggml tensor block formats, their dequantization to fp32, and the
 * fp32 <-> fp16 / bf16 conversions (round to nearest, ties to even) that the
 * GGUF writer and the trainer use.
 *
 * Blocks are little-endian and byte-packed exactly as ggml lays them out;
 * every struct below has the size ggml gives it (checked by static asserts). */
#ifndef SR_QUANT_H
#define SR_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "lm/gguf.h"

#define QK4_0 32
#define QK4_1 32
#define QK8_0 32
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

/* Any supported type: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K.
 * Returns 0, or -1 when the type is unsupported or n is not a whole number
 * of blocks. */
int  quant_dequantize(enum gguf_ttype t, const void *src, float *dst, uint64_t n);
/* Whether quant_dequantize handles the type. */
int  quant_supported(enum gguf_ttype t);

#endif
