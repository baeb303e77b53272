/* ops.c — the public ops of kernels.h: each hands its arguments to the
 * context's backend (backend.h). One indirect call per op is nothing beside
 * the work of any op. */
#include "backend.h"

#include <stdlib.h>

void sr_matmul_fwd(const sr_ctx *ctx, float *y, const float *x, const float *w,
                   int n, int in, int out, int accumulate)
{
    ctx->ops->matmul_fwd(ctx, y, x, w, n, in, out, accumulate);
}

void sr_matmul_bwd(const sr_ctx *ctx, float *dx, float *dw, const float *dy, const float *x,
                   const float *w, int n, int in, int out, int accumulate_dx)
{
    ctx->ops->matmul_bwd(ctx, dx, dw, dy, x, w, n, in, out, accumulate_dx);
}

void sr_matmul_rows_fwd(const sr_ctx *ctx, float *y, const float *x, const float *w,
                        int n, int in, int out, int accumulate)
{
    ctx->ops->matmul_rows_fwd(ctx, y, x, w, n, in, out, accumulate);
}

void sr_embedding_fwd(const sr_ctx *ctx, float *out, const int32_t *tokens, int n,
                      const float *table, int dim)
{
    ctx->ops->embedding_fwd(ctx, out, tokens, n, table, dim);
}

void sr_embedding_bwd(const sr_ctx *ctx, float *dtable, const float *dout, const int32_t *tokens,
                      int n, int dim)
{
    ctx->ops->embedding_bwd(ctx, dtable, dout, tokens, n, dim);
}

void sr_rmsnorm_fwd(const sr_ctx *ctx, float *y, float *rstd, const float *x,
                    const float *w, int n, int dim, float eps)
{
    ctx->ops->rmsnorm_fwd(ctx, y, rstd, x, w, n, dim, eps);
}

void sr_rmsnorm_bwd(const sr_ctx *ctx, float *dx, float *dw, const float *dy, const float *x,
                    const float *w, const float *rstd, int n, int dim)
{
    ctx->ops->rmsnorm_bwd(ctx, dx, dw, dy, x, w, rstd, n, dim);
}

void sr_swiglu_fwd(const sr_ctx *ctx, float *h, const float *gu, int n, int f)
{
    ctx->ops->swiglu_fwd(ctx, h, gu, n, f);
}

void sr_swiglu_bwd(const sr_ctx *ctx, float *dgu, const float *dh, const float *gu, int n, int f)
{
    ctx->ops->swiglu_bwd(ctx, dgu, dh, gu, n, f);
}

void sr_geglu_fwd(const sr_ctx *ctx, float *h, const float *gu, int n, int f)
{
    ctx->ops->geglu_fwd(ctx, h, gu, n, f);
}

void sr_geglu_bwd(const sr_ctx *ctx, float *dgu, const float *dh, const float *gu, int n, int f)
{
    ctx->ops->geglu_bwd(ctx, dgu, dh, gu, n, f);
}

void sr_scale_fwd(const sr_ctx *ctx, float *x, size_t n, float s)
{
    ctx->ops->scale_fwd(ctx, x, n, s);
}

void sr_add_fwd(const sr_ctx *ctx, float *y, const float *x, size_t n)
{
    ctx->ops->add_fwd(ctx, y, x, n);
}

void sr_dropout_fwd(const sr_ctx *ctx, float *x, size_t n, float p, uint64_t seed)
{
    if (p > 0) ctx->ops->dropout_fwd(ctx, x, n, p, seed);
}

void sr_softcap_fwd(const sr_ctx *ctx, float *y, const float *x, size_t n, float cap)
{
    ctx->ops->softcap_fwd(ctx, y, x, n, cap);
}

void sr_softcap_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *x, size_t n, float cap)
{
    ctx->ops->softcap_bwd(ctx, dx, dy, x, n, cap);
}

void sr_rope_fwd(const sr_ctx *ctx, float *x, int n, int stride, int n_heads,
                 int head_dim, int n_rot, const int32_t *pos, float theta, const float *freq_factors, int neox)
{
    ctx->ops->rope_fwd(ctx, x, n, stride, n_heads, head_dim, n_rot, pos, theta, freq_factors, neox);
}

void sr_rope_bwd(const sr_ctx *ctx, float *dx, int n, int stride, int n_heads,
                 int head_dim, int n_rot, const int32_t *pos, float theta, const float *freq_factors, int neox)
{
    ctx->ops->rope_bwd(ctx, dx, n, stride, n_heads, head_dim, n_rot, pos, theta, freq_factors, neox);
}

size_t sr_attention_workspace(const sr_ctx *ctx, const sr_attn_shape *s, int max_len)
{
    return ctx->ops->attention_workspace(ctx, s, max_len);
}

void sr_attention_fwd(const sr_ctx *ctx, const sr_attn_shape *s,
                      const sr_attn_seq *seqs, int n_seq, float *work)
{
    ctx->ops->attention_fwd(ctx, s, seqs, n_seq, work);
}

size_t sr_attention_bwd_workspace(const sr_ctx *ctx, const sr_attn_shape *s, int max_len, int n_seq)
{
    return ctx->ops->attention_bwd_workspace(ctx, s, max_len, n_seq);
}

void sr_attention_bwd(const sr_ctx *ctx, const sr_attn_shape *s, const sr_attn_seq *seqs,
                      const sr_attn_seq_grad *grads, int n_seq, float *work)
{
    ctx->ops->attention_bwd(ctx, s, seqs, grads, n_seq, work);
}

void sr_attention_decode_fwd(const sr_ctx *ctx, const sr_attn_shape *s,
                             const sr_attn_seq *seqs, int n_seq, float *work)
{
    ctx->ops->attention_decode_fwd(ctx, s, seqs, n_seq, work);
}

void sr_softmax_fwd(const sr_ctx *ctx, float *y, const float *x, int n, int cols)
{
    ctx->ops->softmax_fwd(ctx, y, x, n, cols);
}

void sr_logsoftmax_fwd(const sr_ctx *ctx, float *y, const float *x, int n, int cols)
{
    ctx->ops->logsoftmax_fwd(ctx, y, x, n, cols);
}

void sr_softmax_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *y, int n, int cols)
{
    ctx->ops->softmax_bwd(ctx, dx, dy, y, n, cols);
}

void sr_logsoftmax_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *y, int n, int cols)
{
    ctx->ops->logsoftmax_bwd(ctx, dx, dy, y, n, cols);
}

void sr_token_logprob_fwd(const sr_ctx *ctx, float *lp, const float *logits,
                          const int32_t *targets, int n, int cols)
{
    ctx->ops->token_logprob_fwd(ctx, lp, logits, targets, n, cols);
}

void sr_token_logprob_bwd(const sr_ctx *ctx, float *dlogits, const float *logits,
                          const int32_t *targets, const float *dlp, int n, int cols)
{
    ctx->ops->token_logprob_bwd(ctx, dlogits, logits, targets, dlp, n, cols);
}

void sr_adamw_update(const sr_ctx *ctx, float *p, const float *g, float *m, float *v, size_t n,
                     float gscale, float decay, const sr_adamw_hp *hp)
{
    ctx->ops->adamw_update(ctx, p, g, m, v, n, gscale, decay, hp);
}

double sr_sum_squares(const sr_ctx *ctx, const float *x, size_t n)
{
    return ctx->ops->sum_squares(ctx, x, n);
}

void *sr_dev_alloc(const sr_ctx *ctx, size_t bytes) { return ctx->ops->dev_alloc(ctx, bytes); }
void sr_dev_free(const sr_ctx *ctx, void *p) { if (p) ctx->ops->dev_free(ctx, p); }
void sr_dev_upload(const sr_ctx *ctx, void *dst, const void *host, size_t bytes)
{
    if (bytes) ctx->ops->dev_upload(ctx, dst, host, bytes);
}
void sr_dev_download(const sr_ctx *ctx, void *host, const void *src, size_t bytes)
{
    if (bytes) ctx->ops->dev_download(ctx, host, src, bytes);
}
void sr_dev_copy(const sr_ctx *ctx, void *dst, const void *src, size_t bytes)
{
    if (bytes && dst != src) ctx->ops->dev_copy(ctx, dst, src, bytes);
}
void sr_dev_zero(const sr_ctx *ctx, void *dst, size_t bytes) { if (bytes) ctx->ops->dev_zero(ctx, dst, bytes); }
void sr_dev_sync(const sr_ctx *ctx) { ctx->ops->dev_sync(ctx); }
void sr_ctx_free(sr_ctx *ctx) { if (ctx->ops) ctx->ops->ctx_free(ctx); }

void sr_copy_rows(const sr_ctx *ctx, float *const *dst, const float *const *src, int n, int width)
{
    if (n > 0 && width > 0) ctx->ops->copy_rows(ctx, dst, src, n, width);
}

const void *sr_dev_view(const sr_ctx *ctx, const void *src, size_t bytes, void **owned)
{
    *owned = NULL;
    if (ctx->device == SR_DEV_CPU) return src;
    void *host = malloc(bytes ? bytes : 1);
    if (!host) return NULL;
    sr_dev_download(ctx, host, src, bytes);
    *owned = host;
    return host;
}

const char *sr_device_name(const sr_ctx *ctx) { return ctx->ops->name; }
