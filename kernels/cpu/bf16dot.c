/* bf16dot.c — bf16 weights against fp32 activations: the scalar reference of
 * the widening order (qdot.h), and the entry points choosing a path and
 * splitting rows among threads. */
#include "bf16dot_impl.h"

#include <math.h>
#include <stdlib.h>

/* 16 lanes of fused multiply-adds, the fixed tree, then the tail. */
static float dot_ref(const uint16_t *w, const float *x, int k)
{
    float lane[16] = { 0 };
    const int k16 = k & ~15;
    for (int p = 0; p < k16; p += 16)
        for (int l = 0; l < 16; l++) lane[l] = fmaf(quant_bf16_to_f32(w[p + l]), x[p + l], lane[l]);
    float t[8];
    for (int l = 0; l < 8; l++) t[l] = lane[l] + lane[l + 8];
    for (int l = 0; l < 4; l++) t[l] = t[l] + t[l + 4];
    for (int l = 0; l < 2; l++) t[l] = t[l] + t[l + 2];
    return sr_bf16_tail(t[0] + t[1], w, x, k16, k);
}

void sr_bf16rows_scalar(const uint16_t *w, int k, const float *x, int n, float *y, int ldy,
                        int r0, int r1)
{
    for (int r = r0; r < r1; r++)
        for (int i = 0; i < n; i++)
            y[(size_t)i * ldy + r] = dot_ref(w + (size_t)r * k, x + (size_t)i * k, k);
}

/* The activations rounded to bf16, for the vdpbf16ps path; NULL when out of memory. */
static uint16_t *to_bf16(const float *x, size_t nk)
{
    uint16_t *xb = malloc(nk * sizeof *xb + 1);
    if (xb) quant_f32_to_bf16_row(x, xb, nk);
    return xb;
}

static void rows_on(sr_isa isa, const uint16_t *w, int k, const float *x, const uint16_t *xb, int n,
                    float *y, int ldy, int r0, int r1)
{
    if (isa == SR_ISA_AVX512BF16) sr_bf16rows_dpbf16(w, k, xb, n, y, ldy, r0, r1);
    else if (isa == SR_ISA_AVX512) sr_bf16rows_avx512(w, k, x, n, y, ldy, r0, r1);
    else if (isa == SR_ISA_AVX2) sr_bf16rows_avx2(w, k, x, n, y, ldy, r0, r1);
    else sr_bf16rows_scalar(w, k, x, n, y, ldy, r0, r1);
}

int sr_bf16_matmul_range(sr_isa isa, const uint16_t *w, int k, const float *x, int n,
                         float *y, int ldy, int r0, int r1)
{
    if (!sr_isa_available(isa)) isa = sr_isa_default();
    uint16_t *xb = NULL;
    if (isa == SR_ISA_AVX512BF16 && !(xb = to_bf16(x, (size_t)n * k))) return -1;
    rows_on(isa, w, k, x, xb, n, y, ldy, r0, r1);
    free(xb);
    return 0;
}

int sr_bf16_matmul_on(sr_isa isa, const uint16_t *w, int rows, int k, const float *x, int n,
                      float *y, int ldy, int threads)
{
    if (!sr_isa_available(isa)) isa = sr_isa_default();
    uint16_t *xb = NULL;
    if (isa == SR_ISA_AVX512BF16 && !(xb = to_bf16(x, (size_t)n * k))) return -1;
    const int blk = 32, n_blk = (rows + blk - 1) / blk;
    #pragma omp parallel for num_threads(threads > 1 ? threads : 1) schedule(dynamic, 1) if (threads > 1 && n_blk > 1)
    for (int b = 0; b < n_blk; b++) {
        int r0 = b * blk, r1 = r0 + blk < rows ? r0 + blk : rows;
        rows_on(isa, w, k, x, xb, n, y, ldy, r0, r1);
    }
    free(xb);
    return 0;
}

int sr_bf16_matmul(const uint16_t *w, int rows, int k, const float *x, int n,
                   float *y, int ldy, int threads)
{
    return sr_bf16_matmul_on(sr_isa_default(), w, rows, k, x, n, y, ldy, threads);
}
