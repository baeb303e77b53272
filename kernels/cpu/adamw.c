/* adamw.c — the AdamW update and the sum of squares that gradient clipping
 * needs, over fp32 buffers. */
#include "cpu.h"
#include "elementwise.h"

#include <math.h>

void sr_cpu_adamw_update(const sr_ctx *ctx, float *p, const float *g, float *m, float *v, size_t n,
                     float gscale, float decay, const sr_adamw_hp *hp)
{
    /* The constants (bias corrections in double) and the per-element step
     * are elementwise.h's, shared with CUDA, which gives the same bits.
     * Decoupled weight decay (Loshchilov & Hutter), applied as PyTorch's
     * AdamW does: p ← p (1 − lr·wd), then the Adam step. */
    const sr_adamw_k k = sr_adamw_consts(hp, gscale, decay);
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (size_t i = 0; i < n; i++) sr_adamw_step(&p[i], &m[i], &v[i], g[i], &k);
}

double sr_cpu_sum_squares(const sr_ctx *ctx, const float *x, size_t n)
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
