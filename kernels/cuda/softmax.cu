/* softmax.cu — row-wise softmax, log-softmax and per-token log-probabilities.
 *
 * One block per row (rows are up to a vocabulary, 49152, wide). A row's
 * maximum and sums are block reductions (cuda.h): the maximum is exact in
 * any order; the sums are in double, as the CPU's, in a fixed order, so a
 * result is repeatable and differs from the CPU's only by the rounding of
 * expf (CUDA's is within 2 ulp, glibc's within 1) and, rarely, by one
 * float rounding of a double sum.
 *
 * Every thread reads and writes only the columns j ≡ threadIdx.x (mod
 * blockDim), and its writes come after the reductions' barriers, so an
 * output may be its input (y == x, dlogits == logits). */
#include <math.h>

#include "cuda.h"
#include "elementwise.h"

enum { SM_THREADS = 512 };

/* The row's maximum and log Σ exp(x − max) (the CPU's row_logsumexp): the
 * two are kept apart so that callers form (x − m) − rest, which keeps the
 * low bits of rest where x − (m + rest) would lose them to a large m. */
__device__ static float row_logsumexp(const float *x, int cols, float *m_out, double *sh_d,
                                      float *sh_f)
{
    float m = -INFINITY;
    for (int j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, x[j]);
    m = sr_block_max(m, sh_f, -INFINITY);
    double s = 0;
    for (int j = threadIdx.x; j < cols; j += blockDim.x) s += (double)expf(x[j] - m);
    s = sr_block_sum(s, sh_d);
    *m_out = m;
    return (float)log(s);
}

__global__ static void __launch_bounds__(SM_THREADS)
softmax_fwd_kernel(float *y, const float *x, int cols)
{
    __shared__ double sh_d[32];
    __shared__ float sh_f[32];
    const float *xi = x + (size_t)blockIdx.x * cols;
    float *yi = y + (size_t)blockIdx.x * cols;
    float m = -INFINITY;
    for (int j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, xi[j]);
    m = sr_block_max(m, sh_f, -INFINITY);
    double s = 0;
    for (int j = threadIdx.x; j < cols; j += blockDim.x) {
        const float e = expf(xi[j] - m);
        yi[j] = e;   /* this thread's own column: safe when y == x */
        s += e;
    }
    s = sr_block_sum(s, sh_d);
    const float inv = (float)(1.0 / s);
    for (int j = threadIdx.x; j < cols; j += blockDim.x) yi[j] *= inv;
}

__global__ static void __launch_bounds__(SM_THREADS)
logsoftmax_fwd_kernel(float *y, const float *x, int cols)
{
    __shared__ double sh_d[32];
    __shared__ float sh_f[32];
    const float *xi = x + (size_t)blockIdx.x * cols;
    float *yi = y + (size_t)blockIdx.x * cols;
    float m;
    const float rest = row_logsumexp(xi, cols, &m, sh_d, sh_f);
    for (int j = threadIdx.x; j < cols; j += blockDim.x) yi[j] = (xi[j] - m) - rest;
}

__global__ static void __launch_bounds__(SM_THREADS)
token_logprob_fwd_kernel(float *lp, const float *logits, const int32_t *targets, int cols)
{
    __shared__ double sh_d[32];
    __shared__ float sh_f[32];
    const int32_t t = targets[blockIdx.x];
    if (t < 0) {   /* the same for the whole block: no thread is left at a barrier */
        if (threadIdx.x == 0) lp[blockIdx.x] = 0.0f;
        return;
    }
    const float *xi = logits + (size_t)blockIdx.x * cols;
    float m;
    const float rest = row_logsumexp(xi, cols, &m, sh_d, sh_f);
    if (threadIdx.x == 0) lp[blockIdx.x] = (xi[t] - m) - rest;
}

/* dx = y ∘ (dy − Σ dy ∘ y) */
__global__ static void __launch_bounds__(SM_THREADS)
softmax_bwd_kernel(float *dx, const float *dy, const float *y, int cols)
{
    __shared__ double sh_d[32];
    const size_t off = (size_t)blockIdx.x * cols;
    const float *yi = y + off, *gi = dy + off;
    float *di = dx + off;
    double dot = 0;
    for (int j = threadIdx.x; j < cols; j += blockDim.x) dot += (double)gi[j] * yi[j];
    const float d = (float)sr_block_sum(dot, sh_d);
    for (int j = threadIdx.x; j < cols; j += blockDim.x) di[j] = yi[j] * (gi[j] - d);
}

/* dx = dy − exp(y) · Σ dy (y is the log-softmax; exp(y) the softmax) */
__global__ static void __launch_bounds__(SM_THREADS)
logsoftmax_bwd_kernel(float *dx, const float *dy, const float *y, int cols)
{
    __shared__ double sh_d[32];
    const size_t off = (size_t)blockIdx.x * cols;
    const float *yi = y + off, *gi = dy + off;
    float *di = dx + off;
    double sum = 0;
    for (int j = threadIdx.x; j < cols; j += blockDim.x) sum += gi[j];
    const float s = (float)sr_block_sum(sum, sh_d);
    for (int j = threadIdx.x; j < cols; j += blockDim.x) di[j] = sr_fsub(gi[j], sr_fmul(expf(yi[j]), s));
}

/* dlogits = dlp · (onehot(target) − softmax(logits)); zero rows where the
 * target is < 0 or dlp is 0. In place is safe: the row's log-sum-exp is
 * complete (barriers) before any thread writes, and each thread then reads
 * and writes only its own columns. */
__global__ static void __launch_bounds__(SM_THREADS)
token_logprob_bwd_kernel(float *dlogits, const float *logits, const int32_t *targets,
                         const float *dlp, int cols)
{
    __shared__ double sh_d[32];
    __shared__ float sh_f[32];
    const size_t off = (size_t)blockIdx.x * cols;
    const float *xi = logits + off;
    float *di = dlogits + off;
    const int32_t t = targets[blockIdx.x];
    const float g = dlp[blockIdx.x];
    if (t < 0 || g == 0.0f) {   /* uniform over the block */
        for (int j = threadIdx.x; j < cols; j += blockDim.x) di[j] = 0.0f;
        return;
    }
    float m;
    const float rest = row_logsumexp(xi, cols, &m, sh_d, sh_f);
    for (int j = threadIdx.x; j < cols; j += blockDim.x) {
        /* −g·p_j, then + g at the target: the CPU's two roundings, unfused. */
        float v = sr_fmul(-g, expf((xi[j] - m) - rest));
        if (j == t) v = sr_fadd(v, g);
        di[j] = v;
    }
}

extern "C" void sr_cuda_softmax_fwd(const sr_ctx *ctx, float *y, const float *x, int n, int cols)
{
    if (n <= 0) return;
    softmax_fwd_kernel<<<n, SM_THREADS, 0, sr_cuda_stream(ctx)>>>(y, x, cols);
    SR_CUDA_LAUNCHED();
}

extern "C" void sr_cuda_logsoftmax_fwd(const sr_ctx *ctx, float *y, const float *x, int n, int cols)
{
    if (n <= 0) return;
    logsoftmax_fwd_kernel<<<n, SM_THREADS, 0, sr_cuda_stream(ctx)>>>(y, x, cols);
    SR_CUDA_LAUNCHED();
}

extern "C" void sr_cuda_softmax_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *y,
                                    int n, int cols)
{
    if (n <= 0) return;
    softmax_bwd_kernel<<<n, SM_THREADS, 0, sr_cuda_stream(ctx)>>>(dx, dy, y, cols);
    SR_CUDA_LAUNCHED();
}

extern "C" void sr_cuda_logsoftmax_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *y,
                                       int n, int cols)
{
    if (n <= 0) return;
    logsoftmax_bwd_kernel<<<n, SM_THREADS, 0, sr_cuda_stream(ctx)>>>(dx, dy, y, cols);
    SR_CUDA_LAUNCHED();
}

extern "C" void sr_cuda_token_logprob_fwd(const sr_ctx *ctx, float *lp, const float *logits,
                                          const int32_t *targets, int n, int cols)
{
    if (n <= 0) return;
    token_logprob_fwd_kernel<<<n, SM_THREADS, 0, sr_cuda_stream(ctx)>>>(lp, logits, targets, cols);
    SR_CUDA_LAUNCHED();
}

extern "C" void sr_cuda_token_logprob_bwd(const sr_ctx *ctx, float *dlogits, const float *logits,
                                          const int32_t *targets, const float *dlp, int n, int cols)
{
    if (n <= 0) return;
    token_logprob_bwd_kernel<<<n, SM_THREADS, 0, sr_cuda_stream(ctx)>>>(dlogits, logits, targets,
                                                                        dlp, cols);
    SR_CUDA_LAUNCHED();
}
