/* adamw.c — the AdamW update and the sum of squares that gradient clipping
 * needs, over fp32 buffers. */
#include "kernels.h"

#include <math.h>

void sr_adamw_update(const sr_ctx *ctx, float *p, const float *g, float *m, float *v, size_t n,
                     float gscale, float decay, const sr_adamw_hp *hp)
{
    /* Bias corrections in double: beta2^t is close to 1 for many steps. */
    const double c1 = 1.0 - pow(hp->beta1, hp->step), c2 = 1.0 - pow(hp->beta2, hp->step);
    const float b1 = hp->beta1, b2 = hp->beta2, eps = hp->eps, lr = hp->lr;
    const float step1 = (float)(lr / c1), rc2 = (float)(1.0 / sqrt(c2));
    /* Decoupled weight decay (Loshchilov & Hutter), applied as PyTorch's
     * AdamW does: p ← p (1 − lr·wd), then the Adam step. */
    const float shrink = 1.0f - lr * decay;
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * gscale;
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * shrink - step1 * mi / (sqrtf(vi) * rc2 + eps);
    }
}

double sr_sum_squares(const sr_ctx *ctx, const float *x, size_t n)
{
    /* Fixed chunks (not one per thread) summed in chunk order: the result is
     * the same for any thread count and any scheduling. */
    enum { CHUNK = 1 << 14, GROUP = 256 };
    const size_t n_chunks = (n + CHUNK - 1) / CHUNK;
    double total = 0, part[GROUP];
    for (size_t base = 0; base < n_chunks; base += GROUP) {
        const int cnt = (int)(n_chunks - base < GROUP ? n_chunks - base : GROUP);
        #pragma omp parallel for num_threads(ctx->threads) schedule(static)
        for (int c = 0; c < cnt; c++) {
            size_t a = (base + c) * CHUNK, b = a + CHUNK < n ? a + CHUNK : n;
            double s = 0;
            for (size_t i = a; i < b; i++) s += (double)x[i] * x[i];
            part[c] = s;
        }
        for (int c = 0; c < cnt; c++) total += part[c];
    }
    return total;
}
