/* attention.c — causal grouped-query attention.
 *
 * The work is split into items (sequence, query head, block of up to QBLOCK
 * queries) spread over OpenMP threads. An item scores its queries against the
 * keys they may see with one sgemm (q·kᵀ), turns the rows into probabilities
 * in place, and weighs the values with a second sgemm. Blocks bound the
 * workspace (QBLOCK × the longest sequence, per thread) and skip most of the
 * masked upper triangle: block [t0, t1) only scores keys [0, p0 + t1), and
 * with a sliding window only from the first key its first query sees. */
#include "cpu.h"
#include "elementwise.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

enum { QBLOCK = 128 };

size_t sr_cpu_attention_workspace(const sr_ctx *ctx, const sr_attn_shape *s, int max_len)
{
    (void)s;
    return (size_t)ctx->threads * QBLOCK * (size_t)(max_len > 0 ? max_len : 1);
}

/* Row i of the block has its query at position first + i and may see keys
 * [lo_i, first + i] (lo_i = sr_attn_first_key: 0 without a window). The
 * scores of the block start at key k0 (the first any row sees) and run to
 * n_keys; the rest of a row is zeroed so the value sgemm can run over the
 * whole block. */
static void masked_softmax_rows(float *sc, int rows, int k0, int n_keys, int first, int window,
                                float *lse, int lse_stride)
{
    const int width = n_keys - k0;
    for (int i = 0; i < rows; i++) {
        float *r = sc + (size_t)i * width;
        const int lo = sr_attn_first_key(first + i, window) - k0, valid = first + i + 1 - k0;
        for (int j = 0; j < lo; j++) r[j] = 0.0f;
        float m = r[lo];
        for (int j = lo + 1; j < valid; j++) if (r[j] > m) m = r[j];
        double sum = 0;
        for (int j = lo; j < valid; j++) { r[j] = expf(r[j] - m); sum += r[j]; }
        float inv = (float)(1.0 / sum);
        for (int j = lo; j < valid; j++) r[j] *= inv;
        for (int j = valid; j < width; j++) r[j] = 0.0f;
        if (lse) lse[(size_t)i * lse_stride] = m + (float)log(sum);
    }
}

static void attend_block(const sr_attn_shape *s, const sr_attn_seq *q, int h, int t0, float *work)
{
    const int hd = s->head_dim, g = h / (s->n_head / s->n_head_kv);
    const int rows = q->T - t0 < QBLOCK ? q->T - t0 : QBLOCK;
    const int first = q->p0 + t0, n_keys = first + rows;
    const int k0 = sr_attn_first_key(first, s->window), width = n_keys - k0;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, width, hd,
                sr_attn_scale(s), q->q + (size_t)t0 * s->q_stride + (size_t)h * hd, s->q_stride,
                q->k + (size_t)k0 * s->kv_stride + (size_t)g * hd, s->kv_stride, 0.0f, work, width);
    masked_softmax_rows(work, rows, k0, n_keys, first, s->window,
                        q->lse ? q->lse + (size_t)t0 * s->n_head + h : NULL, s->n_head);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, width,
                1.0f, work, width, q->v + (size_t)k0 * s->kv_stride + (size_t)g * hd, s->kv_stride,
                0.0f, q->out + (size_t)t0 * s->out_stride + (size_t)h * hd, s->out_stride);
}

void sr_cpu_attention_fwd(const sr_ctx *ctx, const sr_attn_shape *s,
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

/* ---- backward ------------------------------------------------------------
 *
 * Flash-attention style: the probabilities are not kept but recomputed from
 * q, k and the forward's log-sum-exp, P = exp(q·kᵀ/√d − lse), a block of
 * queries at a time. With dO the output's gradient and D_i = dO_i · O_i:
 *   dV = Pᵀ dO,  dS = P ∘ (dO Vᵀ − D),  dQ = dS K / √d,  dK = dSᵀ Q / √d.
 * An item is (sequence, query head); it walks its query blocks in order.
 * Query heads that share a key/value head would race on dK and dV, so each
 * item adds into a private copy, and a second pass sums the copies of a
 * group in head order — a fixed order, so the result does not depend on
 * thread timing. */

static size_t bwd_item_floats(const sr_attn_shape *s, int max_len)
{
    return 2 * (size_t)max_len * s->head_dim;   /* the item's dK and dV */
}

size_t sr_cpu_attention_bwd_workspace(const sr_ctx *ctx, const sr_attn_shape *s, int max_len, int n_seq)
{
    if (max_len < 1) max_len = 1;
    return (size_t)ctx->threads * 2 * QBLOCK * max_len +
           (size_t)n_seq * s->n_head * bwd_item_floats(s, max_len);
}

static void attend_block_bwd(const sr_attn_shape *s, const sr_attn_seq *q, const sr_attn_seq_grad *gq,
                             int h, int t0, float *P, float *dS, float *dk, float *dv)
{
    const int hd = s->head_dim, g = h / (s->n_head / s->n_head_kv);
    const int rows = q->T - t0 < QBLOCK ? q->T - t0 : QBLOCK;
    const int first = q->p0 + t0, n_keys = first + rows;
    const int k0 = sr_attn_first_key(first, s->window), width = n_keys - k0;
    const float scale = sr_attn_scale(s);
    const float *Q = q->q + (size_t)t0 * s->q_stride + (size_t)h * hd;
    const float *O = q->out + (size_t)t0 * s->out_stride + (size_t)h * hd;
    const float *dO = gq->dout + (size_t)t0 * s->out_stride + (size_t)h * hd;
    const float *K = q->k + (size_t)k0 * s->kv_stride + (size_t)g * hd;
    const float *V = q->v + (size_t)k0 * s->kv_stride + (size_t)g * hd;

    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, width, hd, scale,
                Q, s->q_stride, K, s->kv_stride, 0.0f, P, width);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, width, hd, 1.0f,
                dO, s->out_stride, V, s->kv_stride, 0.0f, dS, width);
    for (int i = 0; i < rows; i++) {
        float *p = P + (size_t)i * width, *ds = dS + (size_t)i * width;
        const float lse = q->lse[(size_t)(t0 + i) * s->n_head + h];
        const float *o = O + (size_t)i * s->out_stride, *d_o = dO + (size_t)i * s->out_stride;
        double D = 0;
        for (int c = 0; c < hd; c++) D += (double)d_o[c] * o[c];
        const int lo = sr_attn_first_key(first + i, s->window) - k0, valid = first + i + 1 - k0;
        for (int j = 0; j < lo; j++) p[j] = ds[j] = 0.0f;
        for (int j = lo; j < valid; j++) {
            p[j] = expf(p[j] - lse);
            ds[j] = p[j] * (ds[j] - (float)D);
        }
        for (int j = valid; j < width; j++) p[j] = ds[j] = 0.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, width, scale,
                dS, width, K, s->kv_stride, 0.0f,
                gq->dq + (size_t)t0 * s->q_stride + (size_t)h * hd, s->q_stride);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, width, hd, rows, scale,
                dS, width, Q, s->q_stride, 1.0f, dk + (size_t)k0 * hd, hd);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, width, hd, rows, 1.0f,
                P, width, dO, s->out_stride, 1.0f, dv + (size_t)k0 * hd, hd);
}

void sr_cpu_attention_bwd(const sr_ctx *ctx, const sr_attn_shape *s, const sr_attn_seq *seqs,
                      const sr_attn_seq_grad *grads, int n_seq, float *work)
{
    int max_len = 1;
    for (int b = 0; b < n_seq; b++)
        if (seqs[b].p0 + seqs[b].T > max_len) max_len = seqs[b].p0 + seqs[b].T;
    const int hd = s->head_dim, group = s->n_head / s->n_head_kv;
    const size_t per_thread = 2 * (size_t)QBLOCK * max_len, per_item = bwd_item_floats(s, max_len);
    float *items = work + (size_t)ctx->threads * per_thread;
    const long n_items = (long)n_seq * s->n_head;
    #pragma omp parallel num_threads(ctx->threads)
    {
        float *P = work + (size_t)omp_get_thread_num() * per_thread, *dS = P + (size_t)QBLOCK * max_len;
        #pragma omp for schedule(dynamic)
        for (long it = 0; it < n_items; it++) {
            int b = (int)(it / s->n_head), h = (int)(it % s->n_head);
            const int len = seqs[b].p0 + seqs[b].T;
            float *dk = items + (size_t)it * per_item, *dv = dk + (size_t)max_len * hd;
            memset(dk, 0, (size_t)len * hd * sizeof(float));
            memset(dv, 0, (size_t)len * hd * sizeof(float));
            for (int t0 = 0; t0 < seqs[b].T; t0 += QBLOCK)
                attend_block_bwd(s, &seqs[b], &grads[b], h, t0, P, dS, dk, dv);
        }
        /* dK, dV of each (sequence, kv head): the group's copies summed in head order. */
        const long n_out = (long)n_seq * s->n_head_kv;
        #pragma omp for schedule(dynamic)
        for (long o = 0; o < n_out; o++) {
            int b = (int)(o / s->n_head_kv), g = (int)(o % s->n_head_kv);
            const int len = seqs[b].p0 + seqs[b].T;
            for (int t = 0; t < len; t++) {
                float *dk = grads[b].dk + (size_t)t * s->kv_stride + (size_t)g * hd;
                float *dv = grads[b].dv + (size_t)t * s->kv_stride + (size_t)g * hd;
                for (int c = 0; c < hd; c++) dk[c] = dv[c] = 0.0f;
                for (int h = g * group; h < (g + 1) * group; h++) {
                    const float *pk = items + ((size_t)b * s->n_head + h) * per_item + (size_t)t * hd;
                    const float *pv = pk + (size_t)max_len * hd;
                    for (int c = 0; c < hd; c++) { dk[c] += pk[c]; dv[c] += pv[c]; }
                }
            }
        }
    }
}
