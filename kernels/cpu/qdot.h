/* qdot.h — dot products on weights kept in their stored format: ggml's
 * quantized blocks against 8-bit quantized activations, and bf16 weights
 * against fp32 activations. Kernels only: nothing in lib/ calls them yet.
 *
 * The plan (issue 16). The model will hold each linear weight as a handle
 * {type, rows, k, blocks} — the GGUF bytes as read — instead of fp32. A
 * forward step then, per weight and per batch of n token rows x[n][k]:
 *   1. quantizes each row of x once with sr_qact_quantize(type, ...) into the
 *      8-bit activation type that the weight type pairs with (as llama.cpp's
 *      vec_dot_type: Q8_0, Q8_1 or Q8_K), bit for bit as ggml's reference
 *      quantize_row_q8_*_ref does;
 *   2. calls sr_qmatmul(type, w, rows, k, xq, n, y, ldy, threads), which fills
 *      y[i*ldy + r] = dot(weight row r, activation row i), splitting the
 *      weight rows among threads (sr_qmatmul_range for one slice).
 * bf16 weights skip step 1: sr_bf16_matmul takes the fp32 rows.
 *
 * Order of the float operations, fixed (batch invariance, DESIGN §4). Each
 * output has one float accumulator, starting at +0, to which the blocks'
 * contributions are added in block order. A block's integer dot product is
 * exact, whichever way a path sums it; its contribution is then one fixed
 * float expression of the integer sums and the scales (qdot_impl.h's
 * qform; qdot_ref.c's dot_row). So every path (scalar, AVX2, AVX-512) gives the same bits, and
 * an output does not depend on how many rows or activation columns are
 * computed with it, nor on threads. This needs the compiler not to fuse
 * multiplies into adds on its own: GCC does not under the Makefile's
 * -std=c11 (-ffp-contract=off), clang does only within an expression, and
 * the scalar path has one operation per statement; a build with
 * -ffp-contract=fast would break the equality (test_qdot would say so).
 *
 * Paths, chosen once at run time (cpuid) and overridable for tests and
 * benchmarks with the environment variable SR_CPU_ISA=scalar|avx2|avx512|
 * avx512bf16 (a path the CPU lacks falls back to the best one it has):
 *   scalar      portable C; the reference the others are tested against
 *   avx2        AVX2 + FMA + F16C
 *   avx512      AVX-512 F/BW/VL + VNNI (vpdpbusd, vpdpwssd)
 *   avx512bf16  avx512, plus AVX512_BF16 (vdpbf16ps) for bf16 weights
 * For the quantized types avx512bf16 is avx512. */
#ifndef SR_QDOT_H
#define SR_QDOT_H

#include "blocks.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sr_isa {
    SR_ISA_SCALAR = 0, SR_ISA_AVX2 = 1, SR_ISA_AVX512 = 2, SR_ISA_AVX512BF16 = 3,
} sr_isa;
#define SR_ISA_COUNT 4

/* Whether this CPU can run the path (scalar always). */
int sr_isa_available(sr_isa isa);
/* The path every call without an explicit isa takes: the best available,
 * or SR_CPU_ISA's when the CPU has it. Decided at the first call. */
sr_isa sr_isa_default(void);
/* "scalar", "avx2", "avx512", "avx512bf16". */
const char *sr_isa_name(sr_isa isa);

/* ggml's Q8_1 (type 9): Q8_0 plus s = d * (sum of qs), both fp16. */
#define GGUF_T_Q8_1 9
typedef struct { uint16_t d, s; int8_t qs[32]; } block_q8_1;   /* 36 bytes */

/* ---- activations ----------------------------------------------------------
 * The 8-bit quantizations of llama.cpp's reference (ggml-quants.c's
 * quantize_row_q8_0_ref, _q8_1_ref, _q8_K_ref), bit for bit: Q8_0 and Q8_1
 * round with roundf (ties away from zero) and store d = amax/127 as fp16;
 * Q8_K rounds ties to even and stores d = max/-127 as fp32. (ggml's AVX2
 * quantize_row_q8_0/_q8_1, which llama.cpp's CPU backend runs, compute
 * 127/amax and round ties to even, so they can differ from its own
 * reference by one unit now and then; sr follows the reference.)
 * k is a multiple of the block (32, or 256 for Q8_K). Inputs are finite
 * with max |x| of a block either 0 or >= 1e-36 (below that ggml's reference
 * divides into inf; sr then gives zeros). */
void sr_quantize_q8_0(const float *x, block_q8_0 *y, int k);
void sr_quantize_q8_1(const float *x, block_q8_1 *y, int k);
void sr_quantize_q8_K(const float *x, block_q8_K *y, int k);

/* The activation type weight type t multiplies with (GGUF_T_Q8_0,
 * GGUF_T_Q8_1 or GGUF_T_Q8_K), or -1 when sr has no kernel for t. */
int    sr_qact_type(enum gguf_ttype t);
/* Bytes of one quantized activation row of k values for weight type t. */
size_t sr_qact_row_bytes(enum gguf_ttype t, int k);
/* Quantize one row of k floats for weight type t, on the default path
 * (avx2 and up: AVX2 code with the same bytes) or on isa. Returns 0, or -1
 * when t has no kernel or k is not a multiple of its block. */
int    sr_qact_quantize(enum gguf_ttype t, const float *x, void *xq, int k);
int    sr_qact_quantize_on(sr_isa isa, enum gguf_ttype t, const float *x, void *xq, int k);

/* ---- quantized weights × quantized activations -----------------------------
 * Types: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL (blocks of 32) and Q2_K Q3_K Q4_K
 * Q5_K Q6_K IQ4_XS (256). w is rows × k elements, row-major, each row
 * k/block blocks; xq holds n activation rows of sr_qact_row_bytes(t, k)
 * bytes each. y[i*ldy + r] = dot(w row r, xq row i) for r in [r0, r1).
 * Returns 0, or -1 for a type without a kernel or k not a whole number of
 * blocks. */
int  sr_qmatmul_supported(enum gguf_ttype t);
int  sr_qmatmul_range(sr_isa isa, enum gguf_ttype t, const void *w, int k, const void *xq, int n,
                      float *y, int ldy, int r0, int r1);
/* All rows, split among `threads` OpenMP threads (<= 1: this one), on the
 * default path (sr_qmatmul) or on isa (sr_qmatmul_on). */
int  sr_qmatmul(enum gguf_ttype t, const void *w, int rows, int k, const void *xq, int n,
                float *y, int ldy, int threads);
int  sr_qmatmul_on(sr_isa isa, enum gguf_ttype t, const void *w, int rows, int k, const void *xq,
                   int n, float *y, int ldy, int threads);

/* ---- bf16 weights × fp32 activations ---------------------------------------
 * y[i*ldy + r] = dot(w row r, x row i), w rows × k bf16, x n × k fp32.
 * scalar, avx2, avx512: w widened to fp32 exactly; 16 lanes, lane l summing
 * the terms p ≡ l (mod 16) of p < k - k%16 with fused multiply-adds in order,
 * then the lanes reduced by the fixed tree (l, l+8), then (l, l+4), (l, l+2),
 * (l, l+1), then the k%16 tail added in order with fused multiply-adds: the
 * three paths give the same bits.
 * avx512bf16: each x row rounded to bf16 (ties to even), then vdpbf16ps
 * (pairs of bf16 products summed into fp32 lanes, its own rounding). Its
 * results are within 2^-8 * sum_p |w_p x_p| (+ 1e-30) of the scalar path:
 * the bound for rounding x to bf16 (relative error 2^-9 each) with room for
 * the fp32 sums. Returns 0, or -1 when out of memory. */
int  sr_bf16_matmul_range(sr_isa isa, const uint16_t *w, int k, const float *x, int n,
                          float *y, int ldy, int r0, int r1);
int  sr_bf16_matmul(const uint16_t *w, int rows, int k, const float *x, int n,
                    float *y, int ldy, int threads);
int  sr_bf16_matmul_on(sr_isa isa, const uint16_t *w, int rows, int k, const float *x, int n,
                       float *y, int ldy, int threads);

#ifdef __cplusplus
}
#endif

#endif
