/* softmax.c — row-wise softmax, log-softmax and per-token log-probabilities. */
#include "cpu.h"

#include <math.h>

static float row_max(const float *x, int cols)
{
    float m = x[0];
    for (int j = 1; j < cols; j++) if (x[j] > m) m = x[j];
    return m;
}

/* log Σ exp(x[j]) as m + rest, m the row maximum: taking m out first keeps
 * exp from overflowing, and keeping the two apart lets a caller form
 * (x - m) - rest, which stays exact where x - (m + rest) would lose the low
 * bits of rest to a large m. */
static float row_logsumexp(const float *x, int cols, float *m)
{
    *m = row_max(x, cols);
    double s = 0;
    for (int j = 0; j < cols; j++) s += expf(x[j] - *m);
    return (float)log(s);
}

void sr_cpu_softmax_fwd(const sr_ctx *ctx, float *y, const float *x, int n, int cols)
{
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * cols;
        float *yi = y + (size_t)i * cols;
        float m = row_max(xi, cols);
        double s = 0;
        for (int j = 0; j < cols; j++) { yi[j] = expf(xi[j] - m); s += yi[j]; }
        float inv = (float)(1.0 / s);
        for (int j = 0; j < cols; j++) yi[j] *= inv;
    }
}

void sr_cpu_logsoftmax_fwd(const sr_ctx *ctx, float *y, const float *x, int n, int cols)
{
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * cols;
        float *yi = y + (size_t)i * cols;
        float m, rest = row_logsumexp(xi, cols, &m);
        for (int j = 0; j < cols; j++) yi[j] = (xi[j] - m) - rest;
    }
}

void sr_cpu_token_logprob_fwd(const sr_ctx *ctx, float *lp, const float *logits,
                          const int32_t *targets, int n, int cols)
{
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *xi = logits + (size_t)i * cols;
        if (targets[i] < 0) { lp[i] = 0.0f; continue; }
        float m, rest = row_logsumexp(xi, cols, &m);
        lp[i] = (xi[targets[i]] - m) - rest;
    }
}

void sr_cpu_softmax_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *y, int n, int cols)
{
    /* dx = y ∘ (dy - Σ dy ∘ y) */
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *yi = y + (size_t)i * cols, *gi = dy + (size_t)i * cols;
        float *di = dx + (size_t)i * cols;
        double dot = 0;
        for (int j = 0; j < cols; j++) dot += (double)gi[j] * yi[j];
        for (int j = 0; j < cols; j++) di[j] = yi[j] * (gi[j] - (float)dot);
    }
}

void sr_cpu_logsoftmax_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *y, int n, int cols)
{
    /* dx = dy - softmax · Σ dy, with softmax = exp(y) */
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *yi = y + (size_t)i * cols, *gi = dy + (size_t)i * cols;
        float *di = dx + (size_t)i * cols;
        double sum = 0;
        for (int j = 0; j < cols; j++) sum += gi[j];
        for (int j = 0; j < cols; j++) di[j] = gi[j] - expf(yi[j]) * (float)sum;
    }
}

void sr_cpu_token_logprob_bwd(const sr_ctx *ctx, float *dlogits, const float *logits,
                          const int32_t *targets, const float *dlp, int n, int cols)
{
    /* d lp / d logit_j = [j = target] - softmax_j. The row's log-sum-exp is
     * taken before any of it is written, so dlogits may be logits itself. */
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *xi = logits + (size_t)i * cols;
        float *di = dlogits + (size_t)i * cols;
        if (targets[i] < 0 || dlp[i] == 0.0f) {
            for (int j = 0; j < cols; j++) di[j] = 0.0f;
            continue;
        }
        float m, rest = row_logsumexp(xi, cols, &m);
        const float g = dlp[i];
        for (int j = 0; j < cols; j++) di[j] = -g * expf((xi[j] - m) - rest);
        di[targets[i]] += g;
    }
}
