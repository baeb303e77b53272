/* norm.c — RMSNorm. */
#include "cpu.h"
#include "elementwise.h"

#include <math.h>

void sr_cpu_rmsnorm_fwd(const sr_ctx *ctx, float *y, float *rstd, const float *x,
                    const float *w, int n, int dim, float eps)
{
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * dim;
        float *yi = y + (size_t)i * dim;
        double ss = 0;               /* double: the mean of squares is exact enough for any dim */
        for (int j = 0; j < dim; j++) ss += (double)xi[j] * xi[j];
        float r = sr_rmsnorm_rstd(ss, dim, eps);
        for (int j = 0; j < dim; j++) yi[j] = xi[j] * r * w[j];
        if (rstd) rstd[i] = r;
    }
}

void sr_cpu_rmsnorm_bwd(const sr_ctx *ctx, float *dx, float *dw, const float *dy, const float *x,
                    const float *w, const float *rstd, int n, int dim)
{
    /* y_j = x_j r w_j with r = (mean(x²) + eps)^(-1/2), so
     * dx_j = r w_j dy_j - x_j r³/dim · Σ_k dy_k w_k x_k. */
    if (dx) {
        #pragma omp parallel for num_threads(ctx->threads) schedule(static)
        for (int i = 0; i < n; i++) {
            const float *xi = x + (size_t)i * dim, *gi = dy + (size_t)i * dim;
            float *di = dx + (size_t)i * dim;
            const float r = rstd[i];
            double dot = 0;
            for (int j = 0; j < dim; j++) dot += (double)gi[j] * w[j] * xi[j];
            const float c = (float)(dot * r * r * r / dim);
            for (int j = 0; j < dim; j++) di[j] += sr_rmsnorm_dx(r, w[j], gi[j], c, xi[j]);
        }
    }
    if (dw) {
        /* Column blocks per thread: each dw_j sums its rows in row order. */
        const int blk = 64, n_blk = (dim + blk - 1) / blk;
        #pragma omp parallel for num_threads(ctx->threads) schedule(static)
        for (int c = 0; c < n_blk; c++) {
            int a = c * blk, b = a + blk < dim ? a + blk : dim;
            double acc[64] = {0};
            for (int i = 0; i < n; i++) {
                const float *xi = x + (size_t)i * dim, *gi = dy + (size_t)i * dim;
                const float r = rstd[i];
                for (int j = a; j < b; j++) acc[j - a] += (double)gi[j] * xi[j] * r;
            }
            for (int j = a; j < b; j++) dw[j] += (float)acc[j - a];
        }
    }
}
