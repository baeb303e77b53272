/* bf16dot_impl.h — internal to the bf16 dot products (bf16dot.c, the paths
 * in bf16dot_avx2.c and bf16dot_avx512.c). Each fills y[i*ldy + r] for rows
 * [r0, r1) of w (rows of k bf16) and the n rows of x (fp32; xb: the same
 * rows rounded to bf16, for the vdpbf16ps path only). See qdot.h for the
 * order of the operations every widening path follows. */
#ifndef SR_BF16DOT_IMPL_H
#define SR_BF16DOT_IMPL_H

#include "qdot.h"

void sr_bf16rows_scalar(const uint16_t *w, int k, const float *x, int n, float *y, int ldy,
                        int r0, int r1);
void sr_bf16rows_avx2(const uint16_t *w, int k, const float *x, int n, float *y, int ldy,
                      int r0, int r1);
void sr_bf16rows_avx512(const uint16_t *w, int k, const float *x, int n, float *y, int ldy,
                        int r0, int r1);
void sr_bf16rows_dpbf16(const uint16_t *w, int k, const uint16_t *xb, int n, float *y, int ldy,
                        int r0, int r1);

/* The scalar tail both orders end with: terms [p0, k) added in order. */
static inline float sr_bf16_tail(float s, const uint16_t *w, const float *x, int p0, int k)
{
    for (int p = p0; p < k; p++) s = __builtin_fmaf(quant_bf16_to_f32(w[p]), x[p], s);
    return s;
}

#endif
