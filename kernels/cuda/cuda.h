/* cuda.h — internal to kernels/cuda: the CUDA backend's state, its error
 * checks, and its entry points (each with the signature of the kernels.h op
 * it implements; context.cu puts them in the backend table).
 *
 * Every buffer argument is device memory, except the arrays of structs that
 * describe attention's sequences (sr_attn_seq, sr_attn_seq_grad), which are
 * host arrays holding device pointers: the ops upload them with
 * sr_cuda_meta. All work is queued on the context's one stream, in order. */
#ifndef SR_CUDA_H
#define SR_CUDA_H

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "backend.h"

struct sr_cuda {
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;
    void *meta;            /* device scratch for per-call metadata (sr_cuda_meta) */
    size_t meta_bytes;
    void *scratch;         /* device scratch for the matmuls' bf16 copies (sr_cuda_scratch) */
    size_t scratch_bytes;
    double *reduce;        /* device scratch for sum_squares' partial sums */
    size_t reduce_count;
};

/* Checks a CUDA runtime or cuBLAS status; on failure prints the call, the
 * file and the line, and exits 1. Kernel launches are checked with
 * SR_CUDA_LAUNCHED() right after the <<<>>>. */
void sr_cuda_fail(const char *what, const char *msg, const char *file, int line);
#define SR_CUDA(call)                                                                   \
    do {                                                                                \
        cudaError_t sr_e_ = (call);                                                     \
        if (sr_e_ != cudaSuccess) sr_cuda_fail(#call, cudaGetErrorString(sr_e_),        \
                                               __FILE__, __LINE__);                     \
    } while (0)
#define SR_CUBLAS(call)                                                                 \
    do {                                                                                \
        cublasStatus_t sr_s_ = (call);                                                  \
        if (sr_s_ != CUBLAS_STATUS_SUCCESS) sr_cuda_fail(#call, cublasGetStatusString(sr_s_), \
                                                         __FILE__, __LINE__);           \
    } while (0)
#define SR_CUDA_LAUNCHED() SR_CUDA(cudaGetLastError())

/* The context's stream. */
static inline cudaStream_t sr_cuda_stream(const sr_ctx *ctx) { return ctx->cuda->stream; }

/* Uploads `bytes` of host memory into the context's metadata scratch (grown
 * as needed) and returns its device address, valid for work queued on the
 * stream until the next sr_cuda_meta call. */
void *sr_cuda_meta(const sr_ctx *ctx, const void *host, size_t bytes);

/* At least `bytes` of device scratch (grown as needed; its contents are not
 * kept), for work queued on the stream until the next call. */
void *sr_cuda_scratch(const sr_ctx *ctx, size_t bytes);

/* Threads per block for element-wise kernels, and the grid that covers n. */
enum { SR_CUDA_THREADS = 256 };

/* sum_squares' most blocks: ctx->cuda->reduce holds one partial sum per
 * block and, after them, the total (context.cu allocates that many + 1). */
enum { SR_CUDA_REDUCE_BLOCKS = 1024 };
static inline unsigned sr_cuda_blocks(size_t n, unsigned per_block)
{
    size_t b = (n + per_block - 1) / per_block;
    return (unsigned)(b ? b : 1);
}

/* Fixed-order reductions (core helper). A warp's 32 values are combined by a
 * butterfly of shuffles (xor 16, 8, 4, 2, 1), a fixed tree that leaves the
 * same value in every lane (a + b == b + a exactly); a block's by the same
 * tree over its warps' results. The order depends on blockDim alone, so a
 * reduction is repeatable run to run. blockDim.x must be a multiple of 32,
 * and every thread of the block must call (they contain __syncthreads). */
template <typename T> __device__ inline T sr_warp_sum(T v)
{
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}
template <typename T> __device__ inline T sr_warp_max(T v)
{
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}
/* The block's total, in every thread; sh: __shared__ T[32]. The leading
 * barrier lets two reductions in a row share sh (no warp overwrites it while
 * another still reads the previous result). */
template <typename T> __device__ inline T sr_block_sum(T v, T *sh)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = blockDim.x >> 5;
    v = sr_warp_sum(v);
    __syncthreads();
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    return sr_warp_sum(lane < n_warps ? sh[lane] : (T)0);
}
/* The block's maximum, in every thread (a maximum has no rounding, so any
 * order gives the same value); `lowest` is the identity, e.g. -INFINITY. */
template <typename T> __device__ inline T sr_block_max(T v, T *sh, T lowest)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = blockDim.x >> 5;
    v = sr_warp_max(v);
    __syncthreads();
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    return sr_warp_max(lane < n_warps ? sh[lane] : lowest);
}

#ifdef __cplusplus
extern "C" {
#endif

/* context.cu: memory */
void *sr_cuda_dev_alloc(const sr_ctx *ctx, size_t bytes);
void  sr_cuda_dev_free(const sr_ctx *ctx, void *p);
void  sr_cuda_dev_upload(const sr_ctx *ctx, void *dst, const void *host, size_t bytes);
void  sr_cuda_dev_download(const sr_ctx *ctx, void *host, const void *src, size_t bytes);
void  sr_cuda_dev_copy(const sr_ctx *ctx, void *dst, const void *src, size_t bytes);
void  sr_cuda_dev_zero(const sr_ctx *ctx, void *dst, size_t bytes);
void  sr_cuda_dev_sync(const sr_ctx *ctx);
void  sr_cuda_ctx_free(sr_ctx *ctx);

/* matmul.cu */
void sr_cuda_matmul_fwd(const sr_ctx *ctx, float *y, const float *x, const float *w,
                        int n, int in, int out, int accumulate);
void sr_cuda_matmul_bwd(const sr_ctx *ctx, float *dx, float *dw, const float *dy, const float *x,
                        const float *w, int n, int in, int out, int accumulate_dx);
void sr_cuda_matmul_rows_fwd(const sr_ctx *ctx, float *y, const float *x, const float *w,
                             int n, int in, int out, int accumulate);
void sr_cuda_embedding_fwd(const sr_ctx *ctx, float *out, const int32_t *tokens, int n,
                           const float *table, int dim);
void sr_cuda_embedding_bwd(const sr_ctx *ctx, float *dtable, const float *dout,
                           const int32_t *tokens, int n, int dim);

/* elementwise.cu */
void sr_cuda_rmsnorm_fwd(const sr_ctx *ctx, float *y, float *rstd, const float *x,
                         const float *w, int n, int dim, float eps);
void sr_cuda_rmsnorm_bwd(const sr_ctx *ctx, float *dx, float *dw, const float *dy, const float *x,
                         const float *w, const float *rstd, int n, int dim);
void sr_cuda_swiglu_fwd(const sr_ctx *ctx, float *h, const float *gu, int n, int f);
void sr_cuda_swiglu_bwd(const sr_ctx *ctx, float *dgu, const float *dh, const float *gu, int n, int f);
void sr_cuda_geglu_fwd(const sr_ctx *ctx, float *h, const float *gu, int n, int f);
void sr_cuda_geglu_bwd(const sr_ctx *ctx, float *dgu, const float *dh, const float *gu, int n, int f);
void sr_cuda_scale_fwd(const sr_ctx *ctx, float *x, size_t n, float s);
void sr_cuda_add_fwd(const sr_ctx *ctx, float *y, const float *x, size_t n);
void sr_cuda_dropout_fwd(const sr_ctx *ctx, float *x, size_t n, float p, uint64_t seed);
void sr_cuda_softcap_fwd(const sr_ctx *ctx, float *y, const float *x, size_t n, float cap);
void sr_cuda_softcap_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *x, size_t n, float cap);
void sr_cuda_rope_fwd(const sr_ctx *ctx, float *x, int n, int stride, int n_heads,
                      int head_dim, int n_rot, const int32_t *pos, float theta, const float *freq_factors, int neox);
void sr_cuda_rope_bwd(const sr_ctx *ctx, float *dx, int n, int stride, int n_heads,
                      int head_dim, int n_rot, const int32_t *pos, float theta, const float *freq_factors, int neox);

/* softmax.cu */
void sr_cuda_softmax_fwd(const sr_ctx *ctx, float *y, const float *x, int n, int cols);
void sr_cuda_logsoftmax_fwd(const sr_ctx *ctx, float *y, const float *x, int n, int cols);
void sr_cuda_softmax_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *y, int n, int cols);
void sr_cuda_logsoftmax_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *y, int n, int cols);
void sr_cuda_token_logprob_fwd(const sr_ctx *ctx, float *lp, const float *logits,
                               const int32_t *targets, int n, int cols);
void sr_cuda_token_logprob_bwd(const sr_ctx *ctx, float *dlogits, const float *logits,
                               const int32_t *targets, const float *dlp, int n, int cols);

/* adamw.cu */
void   sr_cuda_adamw_update(const sr_ctx *ctx, float *p, const float *g, float *m, float *v, size_t n,
                            float gscale, float decay, const sr_adamw_hp *hp);
double sr_cuda_sum_squares(const sr_ctx *ctx, const float *x, size_t n);

/* attention.cu */
size_t sr_cuda_attention_workspace(const sr_ctx *ctx, const sr_attn_shape *s, int max_len);
void   sr_cuda_attention_fwd(const sr_ctx *ctx, const sr_attn_shape *s,
                             const sr_attn_seq *seqs, int n_seq, float *work);
size_t sr_cuda_attention_bwd_workspace(const sr_ctx *ctx, const sr_attn_shape *s, int max_len,
                                       int n_seq);
void   sr_cuda_attention_bwd(const sr_ctx *ctx, const sr_attn_shape *s, const sr_attn_seq *seqs,
                             const sr_attn_seq_grad *grads, int n_seq, float *work);
void   sr_cuda_attention_decode_fwd(const sr_ctx *ctx, const sr_attn_shape *s,
                                    const sr_attn_seq *seqs, int n_seq, float *work);

/* copy.cu */
void sr_cuda_copy_rows(const sr_ctx *ctx, float *const *dst, const float *const *src, int n, int width);

#ifdef __cplusplus
}
#endif

#endif
