/* softmax.c — row-wise softmax, log-softmax and per-token log-probabilities. */
#include "kernels.h"

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

void sr_softmax_fwd(const sr_ctx *ctx, float *y, const float *x, int n, int cols)
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

void sr_logsoftmax_fwd(const sr_ctx *ctx, float *y, const float *x, int n, int cols)
{
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * cols;
        float *yi = y + (size_t)i * cols;
        float m, rest = row_logsumexp(xi, cols, &m);
        for (int j = 0; j < cols; j++) yi[j] = (xi[j] - m) - rest;
    }
}

void sr_token_logprob_fwd(const sr_ctx *ctx, float *lp, const float *logits,
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
