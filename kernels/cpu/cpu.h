/* cpu.h — internal to kernels/: the CPU backend's entry points, each with the
 * signature of the kernels.h op it implements (ops_table.c lists them). */
#ifndef SR_CPU_H
#define SR_CPU_H

#include "backend.h"

void sr_cpu_matmul_fwd(const sr_ctx *ctx, float *y, const float *x, const float *w,
                   int n, int in, int out, int accumulate);
void sr_cpu_matmul_bwd(const sr_ctx *ctx, float *dx, float *dw, const float *dy, const float *x,
                   const float *w, int n, int in, int out, int accumulate_dx);
void sr_cpu_matmul_rows_fwd(const sr_ctx *ctx, float *y, const float *x, const float *w,
                        int n, int in, int out, int accumulate);
void sr_cpu_embedding_fwd(const sr_ctx *ctx, float *out, const int32_t *tokens, int n,
                      const float *table, int dim);
void sr_cpu_embedding_bwd(const sr_ctx *ctx, float *dtable, const float *dout, const int32_t *tokens,
                      int n, int dim);
void sr_cpu_rmsnorm_fwd(const sr_ctx *ctx, float *y, float *rstd, const float *x,
                    const float *w, int n, int dim, float eps);
void sr_cpu_rmsnorm_bwd(const sr_ctx *ctx, float *dx, float *dw, const float *dy, const float *x,
                    const float *w, const float *rstd, int n, int dim);
void sr_cpu_swiglu_fwd(const sr_ctx *ctx, float *h, const float *gu, int n, int f);
void sr_cpu_swiglu_bwd(const sr_ctx *ctx, float *dgu, const float *dh, const float *gu, int n, int f);
void sr_cpu_geglu_fwd(const sr_ctx *ctx, float *h, const float *gu, int n, int f);
void sr_cpu_geglu_bwd(const sr_ctx *ctx, float *dgu, const float *dh, const float *gu, int n, int f);
void sr_cpu_scale_fwd(const sr_ctx *ctx, float *x, size_t n, float s);
void sr_cpu_add_fwd(const sr_ctx *ctx, float *y, const float *x, size_t n);
void sr_cpu_dropout_fwd(const sr_ctx *ctx, float *x, size_t n, float p, uint64_t seed);
void sr_cpu_softcap_fwd(const sr_ctx *ctx, float *y, const float *x, size_t n, float cap);
void sr_cpu_softcap_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *x, size_t n, float cap);
void sr_cpu_rope_fwd(const sr_ctx *ctx, float *x, int n, int stride, int n_heads,
                 int head_dim, int n_rot, const int32_t *pos, float theta, const float *freq_factors, int neox);
void sr_cpu_rope_bwd(const sr_ctx *ctx, float *dx, int n, int stride, int n_heads,
                 int head_dim, int n_rot, const int32_t *pos, float theta, const float *freq_factors, int neox);
size_t sr_cpu_attention_workspace(const sr_ctx *ctx, const sr_attn_shape *s, int max_len);
void sr_cpu_attention_fwd(const sr_ctx *ctx, const sr_attn_shape *s,
                      const sr_attn_seq *seqs, int n_seq, float *work);
size_t sr_cpu_attention_bwd_workspace(const sr_ctx *ctx, const sr_attn_shape *s, int max_len, int n_seq);
void sr_cpu_attention_bwd(const sr_ctx *ctx, const sr_attn_shape *s, const sr_attn_seq *seqs,
                      const sr_attn_seq_grad *grads, int n_seq, float *work);
void sr_cpu_attention_decode_fwd(const sr_ctx *ctx, const sr_attn_shape *s,
                             const sr_attn_seq *seqs, int n_seq, float *work);
void sr_cpu_softmax_fwd(const sr_ctx *ctx, float *y, const float *x, int n, int cols);
void sr_cpu_logsoftmax_fwd(const sr_ctx *ctx, float *y, const float *x, int n, int cols);
void sr_cpu_softmax_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *y, int n, int cols);
void sr_cpu_logsoftmax_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *y, int n, int cols);
void sr_cpu_token_logprob_fwd(const sr_ctx *ctx, float *lp, const float *logits,
                          const int32_t *targets, int n, int cols);
void sr_cpu_token_logprob_bwd(const sr_ctx *ctx, float *dlogits, const float *logits,
                          const int32_t *targets, const float *dlp, int n, int cols);
void sr_cpu_adamw_update(const sr_ctx *ctx, float *p, const float *g, float *m, float *v, size_t n,
                     float gscale, float decay, const sr_adamw_hp *hp);
double sr_cpu_sum_squares(const sr_ctx *ctx, const float *x, size_t n);

void sr_cpu_copy_rows(const sr_ctx *ctx, float *const *dst, const float *const *src, int n, int width);

#endif
