/* kernels.h — the operations a llama model needs, over fp32 buffers on one device.
 *
 * Every op is a plain function over (pointer, sizes, strides); nothing is kept
 * between calls. The first argument, an sr_ctx, says where the buffers live
 * (host memory for the CPU backend, device memory for CUDA) and how to run:
 * each op dispatches through the context's backend table (backend.h) to
 * kernels/cpu or kernels/cuda, which implement it with the same signature. Ops are named sr_<op>_fwd; the backward of an op, where
 * training needs it, is sr_<op>_bwd beside it, with gradients accumulated (+=)
 * into the parameter gradients, as is usual for gradient accumulation.
 *
 * Layouts: a batch of N tokens is row-major [N][width]; "stride" is the
 * distance in floats between consecutive rows, so an op can read a column
 * block of a wider buffer (q, k and v are column blocks of one qkv buffer).
 * Linear weights are [out][in] (in fastest), as GGUF stores them (ne[0] = in).
 *
 * Preconditions (sizes positive, token ids in range, buffers large enough)
 * are the caller's to check: the model checks untrusted input before any op
 * runs, so the ops do not return errors. */
#ifndef SR_KERNELS_H
#define SR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sr_device { SR_DEV_CPU = 0, SR_DEV_CUDA = 1 } sr_device;

/* How the CUDA backend runs matmuls. The CPU always computes in fp32.
 * BF16: inputs rounded to bf16, products accumulated in fp32 (weights and
 * every other buffer stay fp32: the master copy training updates). */
typedef enum sr_precision { SR_PREC_FP32 = 0, SR_PREC_TF32 = 1, SR_PREC_BF16 = 2 } sr_precision;

typedef struct sr_ops sr_ops;     /* a backend's table of entry points (backend.h) */
typedef struct sr_cuda sr_cuda;   /* the CUDA backend's state (kernels/cuda/cuda.h) */

/* Where the buffers live and how to run there. Passed by pointer to every op. */
typedef struct sr_ctx {
    sr_device device;
    int threads;             /* OpenMP threads for the CPU ops (1 on CUDA) */
    sr_precision precision;  /* CUDA matmuls */
    const sr_ops *ops;       /* the backend every op below dispatches to */
    sr_cuda *cuda;           /* CUDA: device, stream, cuBLAS handle, scratch; NULL on the CPU */
} sr_ctx;

/* A CPU context with `threads` threads (<= 0: every online core). OpenBLAS's
 * thread count is a process-wide setting of that library; this sets it too.
 * The threads are started here (OpenMP's team), so a process that cannot
 * have that many gets -1 and a message in err, not libgomp's exit later. */
int sr_ctx_init_cpu(sr_ctx *ctx, int threads, char *err, size_t errlen);

/* CUDA devices usable by this process: 0 when there is no NVIDIA driver, no
 * CUDA plug-in or none that loads, or no GPU. The CUDA backend is a plug-in
 * loaded here at the first call (kernels/plugin.c), so any binary runs
 * anywhere. */
int  sr_cuda_device_count(void);

/* A context on CUDA device `device` (0-based): its own stream and cuBLAS
 * handle. Returns 0, or -1 with err set (no plug-in, or one that does not
 * load, no such device). */
int  sr_ctx_init_cuda(sr_ctx *ctx, int device, sr_precision precision, char *err, size_t errlen);

/* "cpu" or "cuda", for messages. */
const char *sr_device_name(const sr_ctx *ctx);

/* Releases what sr_ctx_init_cuda made (nothing for a CPU context). */
void sr_ctx_free(sr_ctx *ctx);

/* ---- device memory -------------------------------------------------------
 * Every buffer an op reads or writes lives on its context's device; these
 * move bytes between it and the host. On the CPU they are malloc, free and
 * memcpy. On CUDA the ops run in order on the context's stream: uploads,
 * copies and zeroing are queued with them, and a download waits for the
 * queue to drain, so a host buffer filled by a download is ready when the
 * call returns. A failed CUDA call exits, naming the file and line. */
void *sr_dev_alloc(const sr_ctx *ctx, size_t bytes);           /* NULL when out of memory */
void  sr_dev_free(const sr_ctx *ctx, void *p);                  /* NULL is fine */
void  sr_dev_upload(const sr_ctx *ctx, void *dst, const void *host, size_t bytes);
void  sr_dev_download(const sr_ctx *ctx, void *host, const void *src, size_t bytes);
void  sr_dev_copy(const sr_ctx *ctx, void *dst, const void *src, size_t bytes);  /* may not overlap */
void  sr_dev_zero(const sr_ctx *ctx, void *dst, size_t bytes);
void  sr_dev_sync(const sr_ctx *ctx);                           /* wait for queued work */

/* Host-readable bytes of a device buffer: on the CPU the buffer itself; on
 * CUDA a malloc'd copy, returned in *owned as well for the caller to free.
 * NULL when out of host memory. Saves a copy of a large block on the CPU. */
const void *sr_dev_view(const sr_ctx *ctx, const void *src, size_t bytes, void **owned);

/* dst[i][0, width) = src[i][0, width) for i < n: rows moved to wherever they
 * belong (the keys and values a forward appends to each sequence's cache).
 * dst and src are host arrays of n device pointers; no destination may
 * overlap any source (the rows are copied in no particular order). */
void sr_copy_rows(const sr_ctx *ctx, float *const *dst, const float *const *src, int n, int width);

/* ---- linear layers ------------------------------------------------------ */

/* y[n][out] (=, or += when accumulate) x[n][in] · w[out][in]ᵀ. */
void sr_matmul_fwd(const sr_ctx *ctx, float *y, const float *x, const float *w,
                   int n, int in, int out, int accumulate);
/* Backward of sr_matmul_fwd: dx[n][in] (=, or += when accumulate_dx) dy · w,
 * and dw[out][in] += dyᵀ · x. Either of dx, dw may be NULL (not wanted). */
void sr_matmul_bwd(const sr_ctx *ctx, float *dx, float *dw, const float *dy, const float *x,
                   const float *w, int n, int in, int out, int accumulate_dx);

/* out[i][:] = table[tokens[i]][:] for i < n; table is [vocab][dim], tokens in [0, vocab). */
void sr_embedding_fwd(const sr_ctx *ctx, float *out, const int32_t *tokens, int n,
                      const float *table, int dim);
/* Backward: dtable[tokens[i]][:] += dout[i][:] (rows sharing a token add up
 * in token order). */
void sr_embedding_bwd(const sr_ctx *ctx, float *dtable, const float *dout, const int32_t *tokens,
                      int n, int dim);

/* ---- normalisation and activations -------------------------------------- */

/* RMSNorm over rows: y = x / sqrt(mean(x²) + eps) * w, with w[dim].
 * rstd[n] (may be NULL) receives 1/sqrt(mean(x²) + eps), which the backward needs. */
void sr_rmsnorm_fwd(const sr_ctx *ctx, float *y, float *rstd, const float *x,
                    const float *w, int n, int dim, float eps);
/* Backward, from the forward's input x and rstd: dx[n][dim] += and
 * dw[dim] += (either may be NULL). dx accumulates because in a residual
 * network the norm's input gradient joins the residual stream's. */
void sr_rmsnorm_bwd(const sr_ctx *ctx, float *dx, float *dw, const float *dy, const float *x,
                    const float *w, const float *rstd, int n, int dim);

/* SwiGLU: h[n][f] = silu(gate) * up, where each row of gu is [gate (f) | up (f)]
 * (the gate and up projections made by one matmul). */
void sr_swiglu_fwd(const sr_ctx *ctx, float *h, const float *gu, int n, int f);
/* Backward: dgu[n][2f] (=) from dh[n][f] and the forward's input gu. */
void sr_swiglu_bwd(const sr_ctx *ctx, float *dgu, const float *dh, const float *gu, int n, int f);

/* GeGLU (Gemma): h[n][f] = gelu_tanh(gate) * up, gu's rows [gate (f) | up (f)]
 * as for SwiGLU; GELU with the tanh approximation. */
void sr_geglu_fwd(const sr_ctx *ctx, float *h, const float *gu, int n, int f);
/* Backward: dgu[n][2f] (=) from dh[n][f] and the forward's input gu. */
void sr_geglu_bwd(const sr_ctx *ctx, float *dgu, const float *dh, const float *gu, int n, int f);

/* x[i] *= s for i < n, in place (Gemma's embeddings, scaled by √dim; the
 * backward is the same op on the gradient). */
void sr_scale_fwd(const sr_ctx *ctx, float *x, size_t n, float s);

/* y[i] += x[i] for i < n: a residual connection outside a matmul (Gemma's
 * post-norms come between a projection and the residual stream). */
void sr_add_fwd(const sr_ctx *ctx, float *y, const float *x, size_t n);

/* Inverted dropout in place, p in [0, 1): x[i] = 0 where element i is
 * dropped, else x[i] / (1 - p); which elements are dropped is a function of
 * (seed, i) alone (elementwise.h). The backward is the same call, with the
 * same seed, on the gradient: it drops and scales the same elements. */
void sr_dropout_fwd(const sr_ctx *ctx, float *x, size_t n, float p, uint64_t seed);

/* Soft-capping: y[i] = cap · tanh(x[i] / cap) for i < n (y == x allowed);
 * Gemma's final_logit_softcapping. */
void sr_softcap_fwd(const sr_ctx *ctx, float *y, const float *x, size_t n, float cap);
/* Backward from the forward's input x: dx[i] (=) dy[i] · (1 − tanh²(x[i] / cap));
 * dx may be dy or x (in place). */
void sr_softcap_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *x, size_t n, float cap);

/* Rotary position embedding, in place: pair i of each head rotates by the
 * angle pos * theta^(-2i/n_rot), for i < n_rot/2; dimensions from n_rot on
 * are left as they are. The pair is (2i, 2i+1) with neox 0 (GGUF llama
 * tensors' layout) and (i, i + n_rot/2) with neox 1 (qwen2's, ggml's NEOX). x: n tokens, token j's row at x + j*stride, holding n_heads
 * heads of head_dim floats each; pos[n] are the tokens' positions.
 * freq_factors: NULL, or n_rot/2 floats on the context's device that divide
 * the pairs' angles (Llama 3.1's rope_freqs.weight, ggml's freq_factors). */
void sr_rope_fwd(const sr_ctx *ctx, float *x, int n, int stride, int n_heads,
                 int head_dim, int n_rot, const int32_t *pos, float theta, const float *freq_factors, int neox);
/* Backward, in place on the gradient dx (same layout): the inverse rotation. */
void sr_rope_bwd(const sr_ctx *ctx, float *dx, int n, int stride, int n_heads,
                 int head_dim, int n_rot, const int32_t *pos, float theta, const float *freq_factors, int neox);

/* ---- attention --------------------------------------------------------- */

/* Shapes shared by every sequence of one attention call. Query head h reads
 * key/value head h / (n_head / n_head_kv) (grouped-query attention). */
typedef struct sr_attn_shape {
    int n_head, n_head_kv, head_dim;
    int q_stride, kv_stride, out_stride;   /* row strides in floats */
    int window;    /* > 0: a sliding window, the query at position p sees keys
                      (p − window, p] only (Gemma's local layers); 0: all of [0, p] */
    float scale;   /* the scores' scale; 0: 1/sqrt(head_dim) */
} sr_attn_shape;

/* One sequence's part of an attention call: queries for the positions
 * [p0, p0 + T), over keys and values for positions [0, p0 + T). A whole
 * prompt is p0 = 0 with k, v from the same batch; a decoding step with a KV
 * cache is T = 1, p0 = tokens already cached, k, v the cache. */
typedef struct sr_attn_seq {
    const float *q;       /* [T] rows of q_stride; head h at column h*head_dim */
    const float *k, *v;   /* [p0 + T] rows of kv_stride; head g at column g*head_dim */
    float *out;           /* [T] rows of out_stride; head h at column h*head_dim */
    float *lse;           /* [T][n_head] or NULL: log-sum-exp of each softmax row,
                             enough for a backward to recompute the probabilities */
    int T, p0;
} sr_attn_seq;

/* Floats of workspace sr_attention_fwd needs for sequences of at most
 * max_len = p0 + T positions, with ctx's thread count. */
size_t sr_attention_workspace(const sr_ctx *ctx, const sr_attn_shape *s, int max_len);

/* Causal attention for n_seq sequences: out = softmax(q·kᵀ · scale, masked
 * to keys at positions <= the query's, and within its window) · v, per head.
 * Keys outside a window are skipped, not only masked: a KV cache keeps every
 * position, and a windowed layer reads the last `window` of them. */
void sr_attention_fwd(const sr_ctx *ctx, const sr_attn_shape *s,
                      const sr_attn_seq *seqs, int n_seq, float *work);

/* The gradients of one sequence, in the layouts of its sr_attn_seq: dout as
 * out (out_stride), dq as q (q_stride), dk and dv as k and v (kv_stride). */
typedef struct sr_attn_seq_grad {
    const float *dout;    /* [T] the output's gradient */
    float *dq;            /* [T] (=) */
    float *dk, *dv;       /* [p0 + T] (=) */
} sr_attn_seq_grad;

/* Floats of workspace sr_attention_bwd needs for n_seq sequences of at most
 * max_len positions. */
size_t sr_attention_bwd_workspace(const sr_ctx *ctx, const sr_attn_shape *s, int max_len, int n_seq);

/* Backward of sr_attention_fwd. seqs are the forward's (q, k, v after RoPE,
 * out, and lse, which must not be NULL: the probabilities are recomputed from
 * it). Writes dq, dk, dv of every sequence; deterministic for a thread count. */
void sr_attention_bwd(const sr_ctx *ctx, const sr_attn_shape *s, const sr_attn_seq *seqs,
                      const sr_attn_seq_grad *grads, int n_seq, float *work);

/* ---- softmax and log-probabilities -------------------------------------- */

/* Row-wise softmax / log-softmax of x[n][cols] into y (y == x allowed),
 * stable for any finite inputs (the row maximum is subtracted first). */
void sr_softmax_fwd(const sr_ctx *ctx, float *y, const float *x, int n, int cols);
void sr_logsoftmax_fwd(const sr_ctx *ctx, float *y, const float *x, int n, int cols);
/* Backwards, from the forward's output y: dx[n][cols] (=) from dy. */
void sr_softmax_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *y, int n, int cols);
void sr_logsoftmax_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *y, int n, int cols);

/* lp[i] = log softmax(logits[i])[targets[i]]: the per-token log-probability
 * that the cross-entropy loss and DPO use. Rows whose target is < 0 get 0. */
void sr_token_logprob_fwd(const sr_ctx *ctx, float *lp, const float *logits,
                          const int32_t *targets, int n, int cols);
/* Backward: dlogits[i] (=) dlp[i] · (onehot(targets[i]) − softmax(logits[i])),
 * zero for rows whose target is < 0. The cross-entropy loss is −Σ lp, so its
 * backward is this with dlp = −1 (over the count). dlogits may be logits
 * (in place), which saves a [n][vocab] buffer. */
void sr_token_logprob_bwd(const sr_ctx *ctx, float *dlogits, const float *logits,
                          const int32_t *targets, const float *dlp, int n, int cols);

/* ---- optimizer ---------------------------------------------------------- */

typedef struct sr_adamw_hp {
    float lr, beta1, beta2, eps;
    int step;                    /* 1 for the first update (bias correction) */
} sr_adamw_hp;

/* One AdamW update of n parameters p with gradients g·gscale (gscale folds
 * in averaging and clipping), moments m and v, and decoupled weight decay
 * `decay` (0 for none): p ← p(1 − lr·decay) − lr·m̂/(√v̂ + eps). */
void sr_adamw_update(const sr_ctx *ctx, float *p, const float *g, float *m, float *v, size_t n,
                     float gscale, float decay, const sr_adamw_hp *hp);

/* Σ x[i]² in double, summed in an order fixed by n alone (not by threads). */
double sr_sum_squares(const sr_ctx *ctx, const float *x, size_t n);

/* ---- host-side helpers (plain host memory, any backend) ----------------- */

/* Index of the largest of x[n] (the first one on ties). */
int  sr_argmax(const float *x, int n);
/* The k largest of x[n], largest first (ties: lower index first), into
 * idx[k] and (when val is not NULL) val[k]. k <= n. */
void sr_topk(const float *x, int n, int k, int *idx, float *val);

/* ---- batch-independent linear layer (decoding) -------------------------- */

/* y[n][out] (=, or += when accumulate) x[n][in] · w[out][in]ᵀ, like
 * sr_matmul_fwd, except that each row of y is the same bits whatever n is
 * and whichever rows share the call: a decoding step's logits for one
 * sequence do not depend on the others in its batch. Reads each weight row
 * once per call. */
void sr_matmul_rows_fwd(const sr_ctx *ctx, float *y, const float *x, const float *w,
                        int n, int in, int out, int accumulate);

/* Causal attention for decoding steps: every sequence has T = 1 (one new
 * query at position p0 over keys [0, p0]). The same result as
 * sr_attention_fwd up to rounding, without its sgemm packing, and each
 * sequence's numbers independent of the others. work: ctx->threads × the
 * longest p0 + 1 floats (sr_attention_workspace's size is enough). */
void sr_attention_decode_fwd(const sr_ctx *ctx, const sr_attn_shape *s,
                             const sr_attn_seq *seqs, int n_seq, float *work);

#ifdef __cplusplus
}
#endif

#endif
