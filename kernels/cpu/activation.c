/* activation.c — SwiGLU, the llama feed-forward nonlinearity. */
#include "cpu.h"
#include "elementwise.h"

#include <math.h>

void sr_cpu_swiglu_fwd(const sr_ctx *ctx, float *h, const float *gu, int n, int f)
{
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *g = gu + (size_t)i * 2 * f, *u = g + f;
        float *hi = h + (size_t)i * f;
        for (int j = 0; j < f; j++) hi[j] = sr_swiglu(g[j], u[j]);
    }
}

void sr_cpu_swiglu_bwd(const sr_ctx *ctx, float *dgu, const float *dh, const float *gu, int n, int f)
{
    /* The formula is sr_swiglu_grad's (elementwise.h), shared with CUDA. */
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *g = gu + (size_t)i * 2 * f, *u = g + f, *d = dh + (size_t)i * f;
        float *dg = dgu + (size_t)i * 2 * f, *du = dg + f;
        for (int j = 0; j < f; j++) sr_swiglu_grad(d[j], g[j], u[j], &dg[j], &du[j]);
    }
}
