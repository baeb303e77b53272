/* activation.c — the feed-forward nonlinearities (SwiGLU for llama and qwen,
 * GeGLU for Gemma) and the element-wise scale and soft-cap Gemma adds. */
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

void sr_cpu_geglu_fwd(const sr_ctx *ctx, float *h, const float *gu, int n, int f)
{
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *g = gu + (size_t)i * 2 * f, *u = g + f;
        float *hi = h + (size_t)i * f;
        for (int j = 0; j < f; j++) hi[j] = sr_geglu(g[j], u[j]);
    }
}

void sr_cpu_geglu_bwd(const sr_ctx *ctx, float *dgu, const float *dh, const float *gu, int n, int f)
{
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *g = gu + (size_t)i * 2 * f, *u = g + f, *d = dh + (size_t)i * f;
        float *dg = dgu + (size_t)i * 2 * f, *du = dg + f;
        for (int j = 0; j < f; j++) sr_geglu_grad(d[j], g[j], u[j], &dg[j], &du[j]);
    }
}

void sr_cpu_scale_fwd(const sr_ctx *ctx, float *x, size_t n, float s)
{
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (size_t i = 0; i < n; i++) x[i] = sr_fmul(x[i], s);
}

void sr_cpu_add_fwd(const sr_ctx *ctx, float *y, const float *x, size_t n)
{
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (size_t i = 0; i < n; i++) y[i] = sr_fadd(y[i], x[i]);
}

void sr_cpu_dropout_fwd(const sr_ctx *ctx, float *x, size_t n, float p, uint64_t seed)
{
    const uint32_t th = sr_dropout_threshold(p);
    const float s = sr_dropout_scale(p);
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (size_t i = 0; i < n; i++) x[i] = sr_dropout_keep(seed, i, th) ? sr_fmul(x[i], s) : 0.0f;
}

void sr_cpu_softcap_fwd(const sr_ctx *ctx, float *y, const float *x, size_t n, float cap)
{
    const float inv = 1.0f / cap;
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (size_t i = 0; i < n; i++) y[i] = sr_softcap(x[i], cap, inv);
}

void sr_cpu_softcap_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *x, size_t n, float cap)
{
    const float inv = 1.0f / cap;
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (size_t i = 0; i < n; i++) dx[i] = sr_softcap_grad(dy[i], x[i], inv);
}
