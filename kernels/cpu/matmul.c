/* matmul.c — linear layers through OpenBLAS sgemm, and the embedding lookup. */
#include "kernels.h"

#include <cblas.h>
#include <string.h>

void sr_matmul_fwd(const sr_ctx *ctx, float *y, const float *x, const float *w,
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

void sr_embedding_fwd(const sr_ctx *ctx, float *out, const int32_t *tokens, int n,
                      const float *table, int dim)
{
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int i = 0; i < n; i++)
        memcpy(out + (size_t)i * dim, table + (size_t)tokens[i] * dim, (size_t)dim * sizeof(float));
}
