/* norm.c — RMSNorm. */
#include "kernels.h"

#include <math.h>

void sr_rmsnorm_fwd(const sr_ctx *ctx, float *y, float *rstd, const float *x,
                    const float *w, int n, int dim, float eps)
{
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * dim;
        float *yi = y + (size_t)i * dim;
        double ss = 0;               /* double: the mean of squares is exact enough for any dim */
        for (int j = 0; j < dim; j++) ss += (double)xi[j] * xi[j];
        float r = (float)(1.0 / sqrt(ss / dim + eps));
        for (int j = 0; j < dim; j++) yi[j] = xi[j] * r * w[j];
        if (rstd) rstd[i] = r;
    }
}
