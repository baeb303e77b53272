/* adamw.cu — the AdamW update and the sum of squares that gradient clipping
 * needs. */
#include "cuda.h"
#include "elementwise.h"

/* One thread per parameter (grid-stride): elementwise.h's step, unfused, so
 * the result is the CPU's bit for bit. */
__global__ static void adamw_kernel(float *p, const float *g, float *m, float *v, size_t n,
                                    sr_adamw_k k)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        sr_adamw_step(&p[i], &m[i], &v[i], g[i], &k);
}

extern "C" void sr_cuda_adamw_update(const sr_ctx *ctx, float *p, const float *g, float *m, float *v,
                                     size_t n, float gscale, float decay, const sr_adamw_hp *hp)
{
    if (!n) return;
    /* The constants on the host, in double where the CPU uses double. */
    const sr_adamw_k k = sr_adamw_consts(hp, gscale, decay);
    unsigned blocks = sr_cuda_blocks(n, SR_CUDA_THREADS);
    if (blocks > 65536) blocks = 65536;
    adamw_kernel<<<blocks, SR_CUDA_THREADS, 0, sr_cuda_stream(ctx)>>>(p, g, m, v, n, k);
    SR_CUDA_LAUNCHED();
}

/* Σ x² in double, in an order fixed by n alone: the grid is
 * min(SR_CUDA_REDUCE_BLOCKS, n / SUMSQ_THREADS rounded up) blocks whatever
 * the GPU; thread t of block b sums x[b·T + t + k·G·T] for k = 0, 1, ... in
 * order (T threads per block, G blocks); each block's total (sr_block_sum,
 * a fixed tree) goes to reduce[b]; one block then adds the G partials by
 * the same tree into reduce[SR_CUDA_REDUCE_BLOCKS]. The order differs from
 * the CPU's, so the two agree to double rounding (~1e-15 relative), not bit
 * for bit; the GPU agrees with itself exactly. */
enum { SUMSQ_THREADS = 256, FINAL_THREADS = 1024 };
static_assert((int)SR_CUDA_REDUCE_BLOCKS <= (int)FINAL_THREADS, "one final block adds every partial");

__global__ static void __launch_bounds__(SUMSQ_THREADS)
sumsq_part_kernel(double *part, const float *x, size_t n)
{
    __shared__ double sh[32];
    double s = 0;
    const size_t step = (size_t)gridDim.x * blockDim.x;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += step)
        s += (double)x[i] * x[i];
    s = sr_block_sum(s, sh);
    if (threadIdx.x == 0) part[blockIdx.x] = s;
}

__global__ static void __launch_bounds__(FINAL_THREADS)
sumsq_final_kernel(double *part, int n_part)
{
    __shared__ double sh[32];
    const double s = sr_block_sum(threadIdx.x < (unsigned)n_part ? part[threadIdx.x] : 0.0, sh);
    if (threadIdx.x == 0) part[SR_CUDA_REDUCE_BLOCKS] = s;
}

extern "C" double sr_cuda_sum_squares(const sr_ctx *ctx, const float *x, size_t n)
{
    if (!n) return 0.0;
    sr_cuda *c = ctx->cuda;
    if (c->reduce_count < (size_t)SR_CUDA_REDUCE_BLOCKS + 1)
        sr_cuda_fail("sr_cuda_sum_squares", "reduction buffer too small", __FILE__, __LINE__);
    unsigned blocks = sr_cuda_blocks(n, SUMSQ_THREADS);
    if (blocks > SR_CUDA_REDUCE_BLOCKS) blocks = SR_CUDA_REDUCE_BLOCKS;
    cudaStream_t st = sr_cuda_stream(ctx);
    sumsq_part_kernel<<<blocks, SUMSQ_THREADS, 0, st>>>(c->reduce, x, n);
    SR_CUDA_LAUNCHED();
    sumsq_final_kernel<<<1, FINAL_THREADS, 0, st>>>(c->reduce, (int)blocks);
    SR_CUDA_LAUNCHED();
    double total = 0;
    SR_CUDA(cudaMemcpyAsync(&total, c->reduce + SR_CUDA_REDUCE_BLOCKS, sizeof total,
                            cudaMemcpyDeviceToHost, st));
    SR_CUDA(cudaStreamSynchronize(st));
    return total;
}
