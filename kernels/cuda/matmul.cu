/* matmul.cu — linear layers through cuBLAS, the batch-invariant decoding
 * matmul (a kernel of its own), and the embedding lookup.
 *
 * Row-major onto column-major. cuBLAS is column-major: a row-major [R][C]
 * buffer with row stride C is, to cuBLAS, the C×R matrix (its transpose)
 * with leading dimension C. So, writing M_cm for how cuBLAS sees buffer M:
 *   x[n][in]   → x_cm  = xᵀ   (in × n,   ld in)
 *   w[out][in] → w_cm  = wᵀ   (in × out, ld in)
 *   y[n][out]  → y_cm  = yᵀ   (out × n,  ld out),  likewise dy_cm = dyᵀ
 * and each product, transposed, becomes a gemm C = op(A)·op(B) on those:
 *   y  = x·wᵀ    ⇔ yᵀ  = w·xᵀ    = (w_cm)ᵀ·x_cm   : gemm(T, N, m=out, n=n,   k=in)
 *   dx = dy·w    ⇔ dxᵀ = wᵀ·dyᵀ  = w_cm·dy_cm     : gemm(N, N, m=in,  n=n,   k=out)
 *   dw += dyᵀ·x  ⇔ dwᵀ += xᵀ·dy  = x_cm·(dy_cm)ᵀ  : gemm(N, T, m=in,  n=out, k=n)
 *
 * Precision (ctx->precision): FP32 is true fp32 (CUBLAS_COMPUTE_32F with the
 * handle's default math mode; note that the environment variable
 * NVIDIA_TF32_OVERRIDE=1 would still let cuBLAS use TF32); TF32 lets the
 * tensor cores round inputs to TF32 (CUBLAS_COMPUTE_32F_FAST_TF32); BF16
 * rounds both inputs to bf16 here, into scratch, and multiplies them on the
 * tensor cores with fp32 accumulation and fp32 output. Outputs and every
 * stored buffer stay fp32 in all three. */
#include "cuda.h"
#include "elementwise.h"

/* ---- cuBLAS gemm in the context's precision ------------------------------ */

/* Rounds n floats to bf16 bit patterns (elementwise.h's rounding rule). */
__global__ static void to_bf16_kernel(uint16_t *dst, const float *src, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        dst[i] = sr_bf16_bits(src[i]);
}

static void to_bf16(const sr_ctx *ctx, uint16_t *dst, const float *src, size_t n)
{
    /* A grid-stride loop over at most 65536 blocks: n may exceed 2^31. */
    unsigned blocks = sr_cuda_blocks(n, SR_CUDA_THREADS);
    if (blocks > 65536) blocks = 65536;
    to_bf16_kernel<<<blocks, SR_CUDA_THREADS, 0, sr_cuda_stream(ctx)>>>(dst, src, n);
    SR_CUDA_LAUNCHED();
}

/* Bytes of scratch for n bf16 values, rounded up to 256 so that each
 * sub-buffer carved from one scratch block stays aligned for the tensor cores. */
static size_t bf16_bytes(size_t n) { return (n * sizeof(uint16_t) + 255) & ~(size_t)255; }

/* C (m×n, ldc) = alpha·op(A)·op(B) + beta·C, all fp32 buffers. In BF16
 * precision the callers pass A and B already converted (a_bf16 / b_bf16
 * non-NULL) and those are used instead. */
static void gemm(const sr_ctx *ctx, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                 const float *a, const void *a_bf16, int lda, const float *b, const void *b_bf16,
                 int ldb, float beta, float *c, int ldc)
{
    const float alpha = 1.0f;
    cublasHandle_t h = ctx->cuda->blas;
    switch (ctx->precision) {
    case SR_PREC_BF16:
        SR_CUBLAS(cublasGemmEx(h, ta, tb, m, n, k, &alpha, a_bf16, CUDA_R_16BF, lda, b_bf16,
                               CUDA_R_16BF, ldb, &beta, c, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F,
                               CUBLAS_GEMM_DEFAULT));
        break;
    case SR_PREC_TF32:
        SR_CUBLAS(cublasGemmEx(h, ta, tb, m, n, k, &alpha, a, CUDA_R_32F, lda, b, CUDA_R_32F, ldb,
                               &beta, c, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F_FAST_TF32,
                               CUBLAS_GEMM_DEFAULT));
        break;
    default:
        SR_CUBLAS(cublasGemmEx(h, ta, tb, m, n, k, &alpha, a, CUDA_R_32F, lda, b, CUDA_R_32F, ldb,
                               &beta, c, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
        break;
    }
}

extern "C" void sr_cuda_matmul_fwd(const sr_ctx *ctx, float *y, const float *x, const float *w,
                                   int n, int in, int out, int accumulate)
{
    const void *xb = NULL, *wb = NULL;
    if (ctx->precision == SR_PREC_BF16) {
        const size_t nx = (size_t)n * in, nw = (size_t)out * in;
        char *s = (char *)sr_cuda_scratch(ctx, bf16_bytes(nx) + bf16_bytes(nw));
        to_bf16(ctx, (uint16_t *)s, x, nx);
        to_bf16(ctx, (uint16_t *)(s + bf16_bytes(nx)), w, nw);
        xb = s;
        wb = s + bf16_bytes(nx);
    }
    /* yᵀ = (w_cm)ᵀ · x_cm (see the top of the file). */
    gemm(ctx, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, w, wb, in, x, xb, in,
         accumulate ? 1.0f : 0.0f, y, out);
}

extern "C" void sr_cuda_matmul_bwd(const sr_ctx *ctx, float *dx, float *dw, const float *dy,
                                   const float *x, const float *w, int n, int in, int out,
                                   int accumulate_dx)
{
    if (!dx && !dw) return;
    const void *dyb = NULL, *wb = NULL, *xb = NULL;
    if (ctx->precision == SR_PREC_BF16) {
        /* One scratch block for dy and whichever of w, x the wanted
         * gradients need (sr_cuda_scratch keeps one block at a time). */
        const size_t ndy = (size_t)n * out, nw = dx ? (size_t)out * in : 0,
                     nx = dw ? (size_t)n * in : 0;
        char *s = (char *)sr_cuda_scratch(ctx, bf16_bytes(ndy) + bf16_bytes(nw) + bf16_bytes(nx));
        to_bf16(ctx, (uint16_t *)s, dy, ndy);
        dyb = s;
        if (dx) {
            to_bf16(ctx, (uint16_t *)(s + bf16_bytes(ndy)), w, nw);
            wb = s + bf16_bytes(ndy);
        }
        if (dw) {
            to_bf16(ctx, (uint16_t *)(s + bf16_bytes(ndy) + bf16_bytes(nw)), x, nx);
            xb = s + bf16_bytes(ndy) + bf16_bytes(nw);
        }
    }
    /* dxᵀ = w_cm · dy_cm */
    if (dx)
        gemm(ctx, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, w, wb, in, dy, dyb, out,
             accumulate_dx ? 1.0f : 0.0f, dx, in);
    /* dwᵀ += x_cm · (dy_cm)ᵀ: always accumulated (gradient accumulation). */
    if (dw)
        gemm(ctx, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, x, xb, in, dy, dyb, out, 1.0f, dw, in);
}

/* ---- batch-invariant matmul (decoding) ------------------------------------
 *
 * y[r][c] = x[r]·w[c] as one fp32 dot product whose order of operations
 * depends on `in` alone: never on n, on r, on the other rows, or on the
 * launch shape. One warp computes output column c for every row:
 *   - lane l owns the elements k = 128 t + 4 l + j (j = 0..3), for t = 0, 1,
 *     ... in order, and accumulates them with fmaf in that order into one
 *     float per row (so each lane reads float4s: 512 contiguous bytes per
 *     warp and step, coalesced);
 *   - the 32 lane sums are added by a butterfly of shuffles (xor 16, 8, 4,
 *     2, 1), a fixed tree (every lane ends with the same value, since
 *     a + b == b + a in IEEE arithmetic).
 * Rows go through in tiles of ROWS; a tile only decides which accumulators
 * share registers, not any arithmetic, so a row's result is the same bits in
 * any tile, alone or among 63 others. The warp re-reads its weight row once
 * per tile; it is 2–8 KB and comes from L1, so each weight row is read from
 * memory about once per call — decoding is bound by reading the weights.
 *
 * When `in` is not a multiple of 4 or a base pointer is not 16-byte aligned,
 * the same elements are read one float at a time, in the same order (the
 * scalar path), so both paths give the same bits. */

enum { ROWS = 8, WARPS_PER_BLOCK = 8 };

template <bool VEC>
__global__ static void __launch_bounds__(WARPS_PER_BLOCK * 32)
rows_kernel(float *y, const float *x, const float *w, int n, int in, int out, int accumulate)
{
    const int lane = threadIdx.x & 31;
    const int c = blockIdx.x * WARPS_PER_BLOCK + (threadIdx.x >> 5);
    if (c >= out) return;   /* whole warps leave together: c is per warp */
    const float *wc = w + (size_t)c * in;

    for (int r0 = 0; r0 < n; r0 += ROWS) {
        const int R = n - r0 < ROWS ? n - r0 : ROWS;
        float acc[ROWS];
#pragma unroll
        for (int r = 0; r < ROWS; r++) acc[r] = 0.0f;

        for (int base = 4 * lane; base < in; base += 128) {
            if (VEC) {
                /* in % 4 == 0 here, so base + 3 < in. */
                const float4 wv = *(const float4 *)(wc + base);
#pragma unroll
                for (int r = 0; r < ROWS; r++) {
                    if (r < R) {
                        const float4 xv = *(const float4 *)(x + (size_t)(r0 + r) * in + base);
                        acc[r] = fmaf(xv.x, wv.x, acc[r]);
                        acc[r] = fmaf(xv.y, wv.y, acc[r]);
                        acc[r] = fmaf(xv.z, wv.z, acc[r]);
                        acc[r] = fmaf(xv.w, wv.w, acc[r]);
                    }
                }
            } else {
                const int m = in - base < 4 ? in - base : 4;
#pragma unroll
                for (int r = 0; r < ROWS; r++) {
                    if (r < R) {
                        const float *xr = x + (size_t)(r0 + r) * in;
                        for (int j = 0; j < m; j++) acc[r] = fmaf(xr[base + j], wc[base + j], acc[r]);
                    }
                }
            }
        }

#pragma unroll
        for (int r = 0; r < ROWS; r++) {
            float v = acc[r];
#pragma unroll
            for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
            if (lane == 0 && r < R) {
                float *yy = y + (size_t)(r0 + r) * out + c;
                *yy = accumulate ? *yy + v : v;
            }
        }
    }
}

extern "C" void sr_cuda_matmul_rows_fwd(const sr_ctx *ctx, float *y, const float *x, const float *w,
                                        int n, int in, int out, int accumulate)
{
    const unsigned blocks = sr_cuda_blocks((size_t)out, WARPS_PER_BLOCK);
    const bool vec = in % 4 == 0 && ((uintptr_t)x & 15) == 0 && ((uintptr_t)w & 15) == 0;
    if (vec)
        rows_kernel<true><<<blocks, WARPS_PER_BLOCK * 32, 0, sr_cuda_stream(ctx)>>>(
            y, x, w, n, in, out, accumulate);
    else
        rows_kernel<false><<<blocks, WARPS_PER_BLOCK * 32, 0, sr_cuda_stream(ctx)>>>(
            y, x, w, n, in, out, accumulate);
    SR_CUDA_LAUNCHED();
}

/* ---- embedding ------------------------------------------------------------ */

/* out[i][j] = table[tokens[i]][j], one thread per output element. */
__global__ static void embedding_fwd_kernel(float *out, const int32_t *tokens, size_t total,
                                            const float *table, int dim)
{
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total;
         e += (size_t)gridDim.x * blockDim.x) {
        const size_t i = e / dim, j = e % dim;
        out[e] = table[(size_t)tokens[i] * dim + j];
    }
}

extern "C" void sr_cuda_embedding_fwd(const sr_ctx *ctx, float *out, const int32_t *tokens, int n,
                                      const float *table, int dim)
{
    const size_t total = (size_t)n * dim;
    unsigned blocks = sr_cuda_blocks(total, SR_CUDA_THREADS);
    if (blocks > 65536) blocks = 65536;
    embedding_fwd_kernel<<<blocks, SR_CUDA_THREADS, 0, sr_cuda_stream(ctx)>>>(out, tokens, total,
                                                                              table, dim);
    SR_CUDA_LAUNCHED();
}

/* dtable[tokens[i]][j] += dout[i][j]. Deterministic without atomics: the
 * thread for (column j, bucket b) owns column j of every token t with
 * t % BUCKETS == b and walks the tokens in order, so each element of dtable
 * is written by exactly one thread, adding the rows that share its token in
 * token order (as the CPU does). The buckets only spread the work: every
 * thread reads all n token ids (cached), but does 1/BUCKETS of the adds. The
 * bucket is blockIdx.y, so a warp's branch is uniform. */
enum { EMB_BUCKETS = 64 };

__global__ static void embedding_bwd_kernel(float *dtable, const float *dout,
                                            const int32_t *tokens, int n, int dim)
{
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    const unsigned b = blockIdx.y;
    if (j >= dim) return;
    for (int i = 0; i < n; i++) {
        const int32_t t = tokens[i];
        if ((unsigned)t % EMB_BUCKETS != b) continue;
        dtable[(size_t)t * dim + j] += dout[(size_t)i * dim + j];
    }
}

extern "C" void sr_cuda_embedding_bwd(const sr_ctx *ctx, float *dtable, const float *dout,
                                      const int32_t *tokens, int n, int dim)
{
    const dim3 grid(sr_cuda_blocks((size_t)dim, SR_CUDA_THREADS), EMB_BUCKETS);
    embedding_bwd_kernel<<<grid, SR_CUDA_THREADS, 0, sr_cuda_stream(ctx)>>>(dtable, dout, tokens, n,
                                                                            dim);
    SR_CUDA_LAUNCHED();
}
