/* elementwise.cu — RMSNorm, SwiGLU, GeGLU, scale, soft-cap and rotary embedding on the device.
 *
 * The per-element formulas are elementwise.h's, shared with kernels/cpu; the
 * reductions (RMSNorm's sums over a row and over rows) have a fixed order,
 * so every result is repeatable run to run. */
#include "cuda.h"
#include "elementwise.h"

/* Threads per block for row kernels (one block per row): 8 warps keep a
 * 576-wide row at ~2 elements per thread and a 49152-wide one busy enough. */
enum { ROW_THREADS = 256 };

/* Grid for an element-wise kernel that loops grid-stride over n elements. */
static unsigned flat_blocks(size_t n)
{
    unsigned b = sr_cuda_blocks(n, SR_CUDA_THREADS);
    return b > 65536 ? 65536 : b;
}

/* ---- RMSNorm ----------------------------------------------------------- */

/* Block i normalises row i. The sum of squares is in double, as the CPU's
 * (thread t sums j ≡ t mod blockDim in order, then sr_block_sum), so the
 * float rstd nearly always matches the CPU's bit for bit. */
__global__ static void __launch_bounds__(ROW_THREADS)
rmsnorm_fwd_kernel(float *y, float *rstd, const float *x, const float *w, int dim, float eps)
{
    __shared__ double sh[32];
    const float *xi = x + (size_t)blockIdx.x * dim;
    float *yi = y + (size_t)blockIdx.x * dim;
    double ss = 0;
    for (int j = threadIdx.x; j < dim; j += blockDim.x) ss = sr_dadd(ss, sr_dmul(xi[j], xi[j]));
    const float r = sr_rmsnorm_rstd(sr_block_sum(ss, sh), dim, eps);
    /* Each thread rewrites only the elements it read, after the reduction's
     * barriers: y == x would be safe too. */
    for (int j = threadIdx.x; j < dim; j += blockDim.x) yi[j] = xi[j] * r * w[j];
    if (rstd && threadIdx.x == 0) rstd[blockIdx.x] = r;
}

extern "C" void sr_cuda_rmsnorm_fwd(const sr_ctx *ctx, float *y, float *rstd, const float *x,
                                    const float *w, int n, int dim, float eps)
{
    if (n <= 0) return;
    rmsnorm_fwd_kernel<<<n, ROW_THREADS, 0, sr_cuda_stream(ctx)>>>(y, rstd, x, w, dim, eps);
    SR_CUDA_LAUNCHED();
}

/* dx[i][j] += r w_j dy_j − c x_j, c = r³/dim · Σ_k dy_k w_k x_k (in double). */
__global__ static void __launch_bounds__(ROW_THREADS)
rmsnorm_dx_kernel(float *dx, const float *dy, const float *x, const float *w, const float *rstd,
                  int dim)
{
    __shared__ double sh[32];
    const size_t off = (size_t)blockIdx.x * dim;
    const float *xi = x + off, *gi = dy + off;
    float *di = dx + off;
    const float r = rstd[blockIdx.x];
    double dot = 0;
    for (int j = threadIdx.x; j < dim; j += blockDim.x)
        dot = sr_dadd(dot, sr_dmul(sr_dmul(gi[j], w[j]), xi[j]));
    dot = sr_block_sum(dot, sh);
    const float c = (float)(dot * r * r * r / dim);
    for (int j = threadIdx.x; j < dim; j += blockDim.x)
        di[j] = sr_fadd(di[j], sr_rmsnorm_dx(r, w[j], gi[j], c, xi[j]));
}

/* dw_j = Σ_i dy_ij x_ij r_i, over rows in two fixed-order passes, so that it
 * is parallel over rows without atomics: pass 1 sums each chunk of
 * DW_CHUNK rows (in row order, in double) into part[chunk][j]; pass 2 adds
 * the chunks in chunk order. With n <= DW_CHUNK that is exactly the CPU's
 * order and result. */
enum { DW_CHUNK = 32 };

__global__ static void rmsnorm_dw_part_kernel(double *part, const float *dy, const float *x,
                                              const float *rstd, int n, int dim)
{
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= dim) return;
    const int a = blockIdx.y * DW_CHUNK, b = a + DW_CHUNK < n ? a + DW_CHUNK : n;
    double acc = 0;
    for (int i = a; i < b; i++) {
        const size_t e = (size_t)i * dim + j;
        acc = sr_dadd(acc, sr_dmul(sr_dmul(dy[e], x[e]), rstd[i]));
    }
    part[(size_t)blockIdx.y * dim + j] = acc;
}

__global__ static void rmsnorm_dw_sum_kernel(float *dw, const double *part, int n_chunks, int dim)
{
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= dim) return;
    double acc = 0;
    for (int c = 0; c < n_chunks; c++) acc = sr_dadd(acc, part[(size_t)c * dim + j]);
    dw[j] += (float)acc;
}

extern "C" void sr_cuda_rmsnorm_bwd(const sr_ctx *ctx, float *dx, float *dw, const float *dy,
                                    const float *x, const float *w, const float *rstd, int n, int dim)
{
    if (n <= 0) return;
    cudaStream_t st = sr_cuda_stream(ctx);
    if (dx) {
        rmsnorm_dx_kernel<<<n, ROW_THREADS, 0, st>>>(dx, dy, x, w, rstd, dim);
        SR_CUDA_LAUNCHED();
    }
    if (dw) {
        const int n_chunks = (n + DW_CHUNK - 1) / DW_CHUNK;
        double *part = (double *)sr_cuda_scratch(ctx, (size_t)n_chunks * dim * sizeof(double));
        const unsigned cols = sr_cuda_blocks((size_t)dim, SR_CUDA_THREADS);
        rmsnorm_dw_part_kernel<<<dim3(cols, n_chunks), SR_CUDA_THREADS, 0, st>>>(part, dy, x, rstd,
                                                                                n, dim);
        SR_CUDA_LAUNCHED();
        rmsnorm_dw_sum_kernel<<<cols, SR_CUDA_THREADS, 0, st>>>(dw, part, n_chunks, dim);
        SR_CUDA_LAUNCHED();
    }
}

/* ---- SwiGLU --------------------------------------------------------------- */

__global__ static void swiglu_fwd_kernel(float *h, const float *gu, size_t total, int f)
{
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total;
         e += (size_t)gridDim.x * blockDim.x) {
        const size_t i = e / f, j = e % f;
        const float *g = gu + i * 2 * f;
        h[e] = sr_swiglu(g[j], g[f + j]);
    }
}

__global__ static void swiglu_bwd_kernel(float *dgu, const float *dh, const float *gu, size_t total,
                                         int f)
{
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total;
         e += (size_t)gridDim.x * blockDim.x) {
        const size_t i = e / f, j = e % f;
        const float *g = gu + i * 2 * f;
        float *dg = dgu + i * 2 * f;
        sr_swiglu_grad(dh[e], g[j], g[f + j], &dg[j], &dg[f + j]);
    }
}

extern "C" void sr_cuda_swiglu_fwd(const sr_ctx *ctx, float *h, const float *gu, int n, int f)
{
    const size_t total = (size_t)n * f;
    if (!total) return;
    swiglu_fwd_kernel<<<flat_blocks(total), SR_CUDA_THREADS, 0, sr_cuda_stream(ctx)>>>(h, gu, total, f);
    SR_CUDA_LAUNCHED();
}

extern "C" void sr_cuda_swiglu_bwd(const sr_ctx *ctx, float *dgu, const float *dh, const float *gu,
                                   int n, int f)
{
    const size_t total = (size_t)n * f;
    if (!total) return;
    swiglu_bwd_kernel<<<flat_blocks(total), SR_CUDA_THREADS, 0, sr_cuda_stream(ctx)>>>(dgu, dh, gu,
                                                                                       total, f);
    SR_CUDA_LAUNCHED();
}

/* ---- GeGLU, scale, soft-cap (Gemma) ---------------------------------------- */

__global__ static void geglu_fwd_kernel(float *h, const float *gu, size_t total, int f)
{
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total;
         e += (size_t)gridDim.x * blockDim.x) {
        const size_t i = e / f, j = e % f;
        const float *g = gu + i * 2 * f;
        h[e] = sr_geglu(g[j], g[f + j]);
    }
}

__global__ static void geglu_bwd_kernel(float *dgu, const float *dh, const float *gu, size_t total, int f)
{
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total;
         e += (size_t)gridDim.x * blockDim.x) {
        const size_t i = e / f, j = e % f;
        const float *g = gu + i * 2 * f;
        float *dg = dgu + i * 2 * f;
        sr_geglu_grad(dh[e], g[j], g[f + j], &dg[j], &dg[f + j]);
    }
}

extern "C" void sr_cuda_geglu_fwd(const sr_ctx *ctx, float *h, const float *gu, int n, int f)
{
    const size_t total = (size_t)n * f;
    if (!total) return;
    geglu_fwd_kernel<<<flat_blocks(total), SR_CUDA_THREADS, 0, sr_cuda_stream(ctx)>>>(h, gu, total, f);
    SR_CUDA_LAUNCHED();
}

extern "C" void sr_cuda_geglu_bwd(const sr_ctx *ctx, float *dgu, const float *dh, const float *gu,
                                  int n, int f)
{
    const size_t total = (size_t)n * f;
    if (!total) return;
    geglu_bwd_kernel<<<flat_blocks(total), SR_CUDA_THREADS, 0, sr_cuda_stream(ctx)>>>(dgu, dh, gu, total, f);
    SR_CUDA_LAUNCHED();
}

__global__ static void scale_kernel(float *x, size_t n, float s)
{
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n; e += (size_t)gridDim.x * blockDim.x)
        x[e] = sr_fmul(x[e], s);
}

extern "C" void sr_cuda_scale_fwd(const sr_ctx *ctx, float *x, size_t n, float s)
{
    if (!n) return;
    scale_kernel<<<flat_blocks(n), SR_CUDA_THREADS, 0, sr_cuda_stream(ctx)>>>(x, n, s);
    SR_CUDA_LAUNCHED();
}

__global__ static void add_kernel(float *y, const float *x, size_t n)
{
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n; e += (size_t)gridDim.x * blockDim.x)
        y[e] = sr_fadd(y[e], x[e]);
}

extern "C" void sr_cuda_add_fwd(const sr_ctx *ctx, float *y, const float *x, size_t n)
{
    if (!n) return;
    add_kernel<<<flat_blocks(n), SR_CUDA_THREADS, 0, sr_cuda_stream(ctx)>>>(y, x, n);
    SR_CUDA_LAUNCHED();
}

__global__ static void dropout_kernel(float *x, size_t n, uint32_t th, float s, uint64_t seed)
{
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n; e += (size_t)gridDim.x * blockDim.x)
        x[e] = sr_dropout_keep(seed, e, th) ? sr_fmul(x[e], s) : 0.0f;
}

extern "C" void sr_cuda_dropout_fwd(const sr_ctx *ctx, float *x, size_t n, float p, uint64_t seed)
{
    if (!n) return;
    dropout_kernel<<<flat_blocks(n), SR_CUDA_THREADS, 0, sr_cuda_stream(ctx)>>>(x, n, sr_dropout_threshold(p),
                                                                               sr_dropout_scale(p), seed);
    SR_CUDA_LAUNCHED();
}

__global__ static void softcap_fwd_kernel(float *y, const float *x, size_t n, float cap, float inv)
{
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n; e += (size_t)gridDim.x * blockDim.x)
        y[e] = sr_softcap(x[e], cap, inv);
}

__global__ static void softcap_bwd_kernel(float *dx, const float *dy, const float *x, size_t n, float inv)
{
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n; e += (size_t)gridDim.x * blockDim.x)
        dx[e] = sr_softcap_grad(dy[e], x[e], inv);
}

/* The reciprocal on the host, as the CPU backend takes it: the same bits. */
extern "C" void sr_cuda_softcap_fwd(const sr_ctx *ctx, float *y, const float *x, size_t n, float cap)
{
    if (!n) return;
    softcap_fwd_kernel<<<flat_blocks(n), SR_CUDA_THREADS, 0, sr_cuda_stream(ctx)>>>(y, x, n, cap, 1.0f / cap);
    SR_CUDA_LAUNCHED();
}

extern "C" void sr_cuda_softcap_bwd(const sr_ctx *ctx, float *dx, const float *dy, const float *x, size_t n,
                                    float cap)
{
    if (!n) return;
    softcap_bwd_kernel<<<flat_blocks(n), SR_CUDA_THREADS, 0, sr_cuda_stream(ctx)>>>(dx, dy, x, n, 1.0f / cap);
    SR_CUDA_LAUNCHED();
}

/* ---- rotary embedding ----------------------------------------------------- */

/* One thread per (token, pair): it computes the pair's angle once, in double
 * (sr_rope_angle, as the CPU), and rotates that pair in every head.
 * Neighbouring threads take neighbouring pairs of one token, so a warp's
 * accesses are contiguous. sign is +1 (forward) or -1 (the inverse rotation,
 * which is the backward). */
__global__ static void rope_kernel(float *x, size_t total, int half, int stride, int n_heads,
                                   int head_dim, int n_rot, const int32_t *pos, float theta,
                                   const float *ff, int neox, float sign)
{
    const int gap = sr_rope_gap(n_rot, neox);
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total;
         e += (size_t)gridDim.x * blockDim.x) {
        const size_t j = e / half;
        const int i = (int)(e % half);
        const double a = sr_rope_angle(pos[j], i, n_rot, theta, ff);
        const float c = (float)cos(a), s = sign * (float)sin(a);
        float *row = x + j * stride;
        for (int h = 0; h < n_heads; h++) sr_rope_rotate(row + (size_t)h * head_dim + sr_rope_first(i, neox), gap, c, s);
    }
}

static void rope(const sr_ctx *ctx, float *x, int n, int stride, int n_heads, int head_dim,
                 int n_rot, const int32_t *pos, float theta, const float *ff, int neox, float sign)
{
    const int half = n_rot / 2;
    const size_t total = (size_t)n * half;
    if (!total) return;
    rope_kernel<<<flat_blocks(total), SR_CUDA_THREADS, 0, sr_cuda_stream(ctx)>>>(
        x, total, half, stride, n_heads, head_dim, n_rot, pos, theta, ff, neox, sign);
    SR_CUDA_LAUNCHED();
}

extern "C" void sr_cuda_rope_fwd(const sr_ctx *ctx, float *x, int n, int stride, int n_heads,
                                 int head_dim, int n_rot, const int32_t *pos, float theta, const float *freq_factors, int neox)
{
    rope(ctx, x, n, stride, n_heads, head_dim, n_rot, pos, theta, freq_factors, neox, 1.0f);
}

extern "C" void sr_cuda_rope_bwd(const sr_ctx *ctx, float *dx, int n, int stride, int n_heads,
                                 int head_dim, int n_rot, const int32_t *pos, float theta, const float *freq_factors, int neox)
{
    rope(ctx, dx, n, stride, n_heads, head_dim, n_rot, pos, theta, freq_factors, neox, -1.0f);
}
