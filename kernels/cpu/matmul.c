/* matmul.c — linear layers through OpenBLAS sgemm, and the embedding lookup. */
#include "cpu.h"

#include <cblas.h>
#include <string.h>

void sr_cpu_matmul_fwd(const sr_ctx *ctx, float *y, const float *x, const float *w,
                   int n, int in, int out, int accumulate)
{
    const float beta = accumulate ? 1.0f : 0.0f;
    /* Row-major y = x · wᵀ, w read transposed in place. The OpenMP threads
     * compute slabs of y with single-threaded sgemms: blocks of rows (tokens)
     * when there are more tokens than outputs, else blocks of columns (of
     * w's rows), so that one token's matmul splits too. */
    const int by_rows = n >= out;
    const int len = by_rows ? n : out;
    /* A few slabs per thread, handed out dynamically: when another process
     * takes a core from one thread, the others pick up its share instead of
     * waiting for it at the end. Slabs of 64+ rows keep sgemm efficient. */
    int chunk = (len + 4 * ctx->threads - 1) / (4 * ctx->threads);
    chunk = chunk < 64 ? 64 : (chunk + 15) & ~15;
    const int n_chunks = (len + chunk - 1) / chunk;
    #pragma omp parallel for num_threads(ctx->threads) schedule(dynamic, 1) if (n_chunks > 1)
    for (int c = 0; c < n_chunks; c++) {
        int a = c * chunk, b = a + chunk < len ? a + chunk : len;
        if (by_rows)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b - a, out, in, 1.0f,
                        x + (size_t)a * in, in, w, in, beta, y + (size_t)a * out, out);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, b - a, in, 1.0f,
                        x, in, w + (size_t)a * in, in, beta, y + a, out);
    }
}

void sr_cpu_embedding_fwd(const sr_ctx *ctx, float *out, const int32_t *tokens, int n,
                      const float *table, int dim)
{
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < n; i++)
        memcpy(out + (size_t)i * dim, table + (size_t)tokens[i] * dim, (size_t)dim * sizeof(float));
}

/* Slabs of a dimension of length len for the OpenMP threads: a few per
 * thread, at least 64 long. The split depends only on len and the thread
 * count, and each slab is one single-threaded sgemm, so a result does not
 * depend on which thread ran which slab (training resumes bit-identically). */
static int slab_size(const sr_ctx *ctx, int len)
{
    int chunk = (len + 4 * ctx->threads - 1) / (4 * ctx->threads);
    return chunk < 64 ? 64 : (chunk + 15) & ~15;
}

void sr_cpu_matmul_bwd(const sr_ctx *ctx, float *dx, float *dw, const float *dy, const float *x,
                   const float *w, int n, int in, int out, int accumulate_dx)
{
    if (dx) {
        /* dx = dy · w: slabs of tokens when there are many, else of input columns. */
        const float beta = accumulate_dx ? 1.0f : 0.0f;
        const int by_rows = n >= in, len = by_rows ? n : in, chunk = slab_size(ctx, len);
        const int n_chunks = (len + chunk - 1) / chunk;
        #pragma omp parallel for num_threads(ctx->threads) schedule(dynamic, 1) if (n_chunks > 1)
        for (int c = 0; c < n_chunks; c++) {
            int a = c * chunk, b = a + chunk < len ? a + chunk : len;
            if (by_rows)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b - a, in, out, 1.0f,
                            dy + (size_t)a * out, out, w, in, beta, dx + (size_t)a * in, in);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, b - a, out, 1.0f,
                            dy, out, w + a, in, beta, dx + a, in);
        }
    }
    if (dw) {
        /* dw += dyᵀ · x, in slabs of w's rows: every element of dw sums over
         * all n tokens inside one sgemm, in one fixed order. */
        const int chunk = slab_size(ctx, out), n_chunks = (out + chunk - 1) / chunk;
        #pragma omp parallel for num_threads(ctx->threads) schedule(dynamic, 1) if (n_chunks > 1)
        for (int c = 0; c < n_chunks; c++) {
            int a = c * chunk, b = a + chunk < out ? a + chunk : out;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, b - a, in, n, 1.0f,
                        dy + a, out, x, in, 1.0f, dw + (size_t)a * in, in);
        }
    }
}

void sr_cpu_embedding_bwd(const sr_ctx *ctx, float *dtable, const float *dout, const int32_t *tokens,
                      int n, int dim)
{
    /* Threads own blocks of columns, so rows that share a token add up in
     * token order whatever the thread count: no atomics, no races. */
    const int blk = 64, n_blk = (dim + blk - 1) / blk;
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int c = 0; c < n_blk; c++) {
        int a = c * blk, b = a + blk < dim ? a + blk : dim;
        for (int i = 0; i < n; i++) {
            float *row = dtable + (size_t)tokens[i] * dim;
            const float *g = dout + (size_t)i * dim;
            for (int j = a; j < b; j++) row[j] += g[j];
        }
    }
}
