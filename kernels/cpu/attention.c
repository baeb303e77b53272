/* attention.c — causal grouped-query attention.
 *
 * The work is split into items (sequence, query head, block of up to QBLOCK
 * queries) spread over OpenMP threads. An item scores its queries against the
 * keys they may see with one sgemm (q·kᵀ), turns the rows into probabilities
 * in place, and weighs the values with a second sgemm. Blocks bound the
 * workspace (QBLOCK × the longest sequence, per thread) and skip most of the
 * masked upper triangle: block [t0, t1) only scores keys [0, p0 + t1). */
#include "kernels.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>

enum { QBLOCK = 128 };

size_t sr_attention_workspace(const sr_ctx *ctx, const sr_attn_shape *s, int max_len)
{
    (void)s;
    return (size_t)ctx->threads * QBLOCK * (size_t)(max_len > 0 ? max_len : 1);
}

/* Row i of the block has its query at position first + i and may see keys
 * [0, first + i]; the rest of the row (up to n_keys) is zeroed so the value
 * sgemm can run over the whole block. */
static void masked_softmax_rows(float *sc, int rows, int n_keys, int first,
                                float *lse, int lse_stride)
{
    for (int i = 0; i < rows; i++) {
        float *r = sc + (size_t)i * n_keys;
        int valid = first + i + 1;
        float m = r[0];
        for (int j = 1; j < valid; j++) if (r[j] > m) m = r[j];
        double sum = 0;
        for (int j = 0; j < valid; j++) { r[j] = expf(r[j] - m); sum += r[j]; }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < valid; j++) r[j] *= inv;
        for (int j = valid; j < n_keys; j++) r[j] = 0.0f;
        if (lse) lse[(size_t)i * lse_stride] = m + (float)log(sum);
    }
}

static void attend_block(const sr_attn_shape *s, const sr_attn_seq *q, int h, int t0, float *work)
{
    const int hd = s->head_dim, g = h / (s->n_head / s->n_head_kv);
    const int rows = q->T - t0 < QBLOCK ? q->T - t0 : QBLOCK;
    const int first = q->p0 + t0, n_keys = first + rows;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n_keys, hd,
                1.0f / sqrtf((float)hd), q->q + (size_t)t0 * s->q_stride + (size_t)h * hd, s->q_stride,
                q->k + (size_t)g * hd, s->kv_stride, 0.0f, work, n_keys);
    masked_softmax_rows(work, rows, n_keys, first,
                        q->lse ? q->lse + (size_t)t0 * s->n_head + h : NULL, s->n_head);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, n_keys,
                1.0f, work, n_keys, q->v + (size_t)g * hd, s->kv_stride,
                0.0f, q->out + (size_t)t0 * s->out_stride + (size_t)h * hd, s->out_stride);
}

void sr_attention_fwd(const sr_ctx *ctx, const sr_attn_shape *s,
                      const sr_attn_seq *seqs, int n_seq, float *work)
{
    int max_len = 1, max_blocks = 0;
    for (int b = 0; b < n_seq; b++) {
        int len = seqs[b].p0 + seqs[b].T, nb = (seqs[b].T + QBLOCK - 1) / QBLOCK;
        if (len > max_len) max_len = len;
        if (nb > max_blocks) max_blocks = nb;
    }
    /* Items run last block first: those see the most keys, and starting them
     * early balances the threads. Items past a sequence's end do nothing. */
    const long per_block = (long)n_seq * s->n_head, n_items = per_block * max_blocks;
    #pragma omp parallel num_threads(ctx->threads)
    {
        float *my = work + (size_t)omp_get_thread_num() * QBLOCK * max_len;
        #pragma omp for schedule(dynamic)
        for (long i = 0; i < n_items; i++) {
            int blk = max_blocks - 1 - (int)(i / per_block);
            int b = (int)(i % per_block / s->n_head), h = (int)(i % s->n_head);
            if (blk * QBLOCK < seqs[b].T) attend_block(s, &seqs[b], h, blk * QBLOCK, my);
        }
    }
}
