/* qdot_impl.h — internal to the quantized dot products (qdot_ref.c, the
 * SIMD paths qdot_avx2.c / qdot_avx512.c and the dispatch in qmatmul.c).
 *
 * Every weight type is read the same way: a block is first decoded into the
 * integers its dot product multiplies (qout), and the
 * integer dot products are then turned into floats by one of three fixed
 * expressions (qform). Decoding is exact, so a SIMD decoder and the scalar
 * one give the same integers; see qdot.h for why the float order is fixed. */
#ifndef SR_QDOT_IMPL_H
#define SR_QDOT_IMPL_H

#include "qdot.h"

/* How a block's integer sums become its float contribution, with A the
 * activation block's scale (and S its fp16 s, Q8_1 only):
 *   QF_PLAIN  (A * d) * isum
 *   QF_MIN1   (A * d) * isum + m * S            Q4_1, Q5_1 (m: the block's min)
 *   QF_KMIN   (A * d) * isum - (A * m) * msum   Q2_K, Q4_K, Q5_K (m: dmin)
 * isum = sum over 16-element groups g of sc[g] * (sum of q * a over g) (sc
 * all 1 for the 32-element types), msum = sum over g of mn[g] * bsums[g]. */
enum qform { QF_PLAIN, QF_MIN1, QF_KMIN };

/* Where a decoder writes one block: q[0..bs) the weight integers in element
 * order, in -128..127; sc[g] and mn[g] the integer scale and min of
 * 16-element group g (K types only); *d, *m the float scales. */
typedef struct { int8_t *q; int16_t *sc, *mn; float *d, *m; } qout;

typedef void (*qdec_fn)(const void *blk, qout o);

typedef struct {
    enum gguf_ttype t;
    int bs;              /* elements per block: 32 or 256 */
    int bytes;           /* bytes per block */
    enum qform form;
    int act;             /* GGUF_T_Q8_0, GGUF_T_Q8_1 or GGUF_T_Q8_K */
    int act_bytes;       /* bytes per activation block */
    qdec_fn dec;         /* the scalar decoder */
} qtype;

/* The table entry for t, or NULL. */
const qtype *sr_qtype(enum gguf_ttype t);

/* An activation block's scale A, its S (Q8_1; else 0), its 8-bit values and
 * its 16-element sums (Q8_K; else NULL). */
void sr_qact_block(int act, const void *blk, float *A, float *S, const int8_t **qs,
                   const int16_t **bsums);

/* The K types' packed scales, unpacked per 16-element group. */
void sr_q4k_scales(const uint8_t *packed, int16_t *sc, int16_t *mn);
void sr_q3k_scales(const uint8_t *packed, int16_t *sc);

/* The AVX2 activation quantizers (the same bytes as the scalar ones); act is
 * GGUF_T_Q8_0, _Q8_1 or _Q8_K. Returns -1 where not built. */
int sr_qact_quantize_avx2(int act, const float *x, void *xq, int k);

/* Rows [r0, r1) of y on each path; the SIMD ones compute groups of 8 rows
 * and hand the rest to the scalar one. */
void sr_qrows_scalar(const qtype *T, const void *w, int k, const void *xq, int n,
                     float *y, int ldy, int r0, int r1);
void sr_qrows_avx2(const qtype *T, const void *w, int k, const void *xq, int n,
                   float *y, int ldy, int r0, int r1);
void sr_qrows_avx512(const qtype *T, const void *w, int k, const void *xq, int n,
                     float *y, int ldy, int r0, int r1);

#endif
