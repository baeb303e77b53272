/* activation.c — SwiGLU, the llama feed-forward nonlinearity. */
#include "kernels.h"

#include <math.h>

void sr_swiglu_fwd(const sr_ctx *ctx, float *h, const float *gu, int n, int f)
{
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *g = gu + (size_t)i * 2 * f, *u = g + f;
        float *hi = h + (size_t)i * f;
        for (int j = 0; j < f; j++) hi[j] = g[j] / (1.0f + expf(-g[j])) * u[j];
    }
}

void sr_swiglu_bwd(const sr_ctx *ctx, float *dgu, const float *dh, const float *gu, int n, int f)
{
    /* h = silu(g) u with silu(g) = g σ(g), silu'(g) = σ(g) (1 + g (1 - σ(g))). */
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *g = gu + (size_t)i * 2 * f, *u = g + f, *d = dh + (size_t)i * f;
        float *dg = dgu + (size_t)i * 2 * f, *du = dg + f;
        for (int j = 0; j < f; j++) {
            float s = 1.0f / (1.0f + expf(-g[j]));
            du[j] = d[j] * g[j] * s;
            dg[j] = d[j] * u[j] * s * (1.0f + g[j] * (1.0f - s));
        }
    }
}
