/* model_backward.c — the llama model's backward pass, layer by layer, in
 * the manner of llm.c: the forward (model.c, keep_acts) keeps every
 * activation a backward needs under a name; this walks the layers in
 * reverse, from the logits' gradient to every parameter's. */
#include "lm/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sr_grads_init(sr_grads *g, const sr_model *m, char *err, size_t errlen)
{
    memset(g, 0, sizeof *g);
    const sr_hparams *hp = &m->hp;
    const sr_acts *a = &m->act;
    if (!a->keep) {
        snprintf(err, errlen, "gradients: the model was set up without keep_acts, "
                 "so a backward pass has no activations to read");
        return -1;
    }
    const size_t N = (size_t)a->max_batch * a->max_seq, d = hp->dim, f = hp->ffn_dim;
    const size_t qd = (size_t)hp->n_head * hp->head_dim, kvd = (size_t)hp->n_head_kv * hp->head_dim;
    const sr_attn_shape shape = { .n_head = hp->n_head, .n_head_kv = hp->n_head_kv, .head_dim = hp->head_dim };
    const size_t work = sr_attention_bwd_workspace(&m->ctx, &shape, a->max_seq, a->max_batch);
    const size_t qkn = hp->qk_norm ? 2 * N * qd : 0;
    const size_t scratch = N * (3 * d + qd + 2 * kvd + qd + 2 * f + f) + qkn + work;
    g->ctx = &m->ctx;
    g->n = m->n_params;
    g->mem = sr_dev_alloc(g->ctx, g->n * sizeof(float));
    g->scratch = sr_dev_alloc(g->ctx, scratch * sizeof(float));
    g->seqs = calloc((size_t)a->max_batch, sizeof *g->seqs);
    g->g.layer = calloc((size_t)hp->n_layer, sizeof *g->g.layer);
    if (!g->mem || !g->scratch || !g->seqs || !g->g.layer) {
        sr_grads_free(g);
        snprintf(err, errlen, "out of %s memory for gradients (%zu MiB) and backward scratch (%zu MiB)",
                 sr_device_name(&m->ctx), m->n_params * sizeof(float) >> 20, scratch * sizeof(float) >> 20);
        return -1;
    }
    sr_params_map(hp, g->mem, &g->g, g->g.layer);
    sr_grads_zero(g);
    float *at = g->scratch;
#define TAKE(n) (at += (n), at - (n))
    g->dres = TAKE(N * d);
    g->dln = TAKE(N * d);
    g->ddrop = TAKE(N * d);
    g->dqkv = TAKE(N * (qd + 2 * kvd));
    g->datt = TAKE(N * qd);
    g->dgu = TAKE(N * 2 * f);
    g->dh = TAKE(N * f);
    g->dqk_y = hp->qk_norm ? TAKE(N * qd) : NULL;
    g->dqk_x = hp->qk_norm ? TAKE(N * qd) : NULL;
    g->att_work = TAKE(work);
#undef TAKE
    return 0;
}

void sr_grads_zero(sr_grads *g)
{
    sr_dev_zero(g->ctx, g->mem, g->n * sizeof(float));
}

void sr_grads_free(sr_grads *g)
{
    if (g->ctx) {
        sr_dev_free(g->ctx, g->mem);
        sr_dev_free(g->ctx, g->scratch);
    }
    free(g->g.layer);
    free(g->seqs);
    memset(g, 0, sizeof *g);
}

/* One head norm's backward (qk_norm_fwd in model.c): the gradient of the
 * normed rows (width wd in the q|k|v rows at off) leaves for contiguous
 * head rows, goes back through the RMSNorm (the weight's gradient summed
 * over every token's heads) and returns in place. */
static void head_norm_bwd(const sr_model *m, sr_grads *gr, int N, int off, int wd, const float *raw,
                          const float *w, float *dw, const float *rstd)
{
    const int qkvd = (m->hp.n_head + 2 * m->hp.n_head_kv) * m->hp.head_dim, hd = m->hp.head_dim;
    sr_model_copy_strided(m, gr->dqk_y, wd, gr->dqkv + off, qkvd, N, wd);
    sr_dev_zero(gr->ctx, gr->dqk_x, (size_t)N * wd * sizeof(float));
    sr_rmsnorm_bwd(gr->ctx, gr->dqk_x, dw, gr->dqk_y, raw, w, rstd, N * (wd / hd), hd);
    sr_model_copy_strided(m, gr->dqkv + off, qkvd, gr->dqk_x, wd, N, wd);
}

/* A branch's gradient before its dropout and post-norm: with dropout the
 * residual's dres goes back through the forward's mask of block l's branch
 * (regenerated from its seed) into ddrop; then (Gemma) through rmsnorm(proj) · w into dln
 * (free until the branch's own norm writes it), the weight's gradient added
 * to dw. Without either the branch's output is the residual's: dres itself. */
static const float *post_norm_bwd(const sr_model *m, sr_grads *gr, int N, const float *proj,
                                  const float *w, float *dw, const float *rstd, int l, int branch)
{
    const uint64_t seed = sr_model_dropout_seed(m->dropout_seed, l, branch);
    const float *dy = gr->dres;
    const size_t n = (size_t)N * m->hp.dim;
    if (m->dropout > 0) {
        sr_dev_copy(gr->ctx, gr->ddrop, gr->dres, n * sizeof(float));
        sr_dropout_fwd(gr->ctx, gr->ddrop, n, m->dropout, seed);
        dy = gr->ddrop;
    }
    if (!w) return dy;
    sr_dev_zero(gr->ctx, gr->dln, n * sizeof(float));
    sr_rmsnorm_bwd(gr->ctx, gr->dln, dw, dy, proj, w, rstd, N, m->hp.dim);
    return gr->dln;
}

int sr_model_backward(sr_model *m, sr_grads *gr, const float *dlogits, char *err, size_t errlen)
{
    const sr_hparams *hp = &m->hp;
    const sr_ctx *ctx = &m->ctx;
    const sr_acts *a = &m->act;
    if (!a->keep || a->B <= 0) {
        snprintf(err, errlen, "backward: %s", !a->keep ? "the model keeps no activations (keep_acts)"
                                                        : "no forward pass to go back through");
        return -1;
    }
    const int B = a->B, T = a->T, N = B * T, d = hp->dim, f = hp->ffn_dim;
    const int qd = hp->n_head * hp->head_dim, kvd = hp->n_head_kv * hp->head_dim, qkvd = qd + 2 * kvd;
    sr_attn_shape shape = { hp->n_head, hp->n_head_kv, hp->head_dim, qkvd, qkvd, qd, 0, hp->attn_scale };
    const sr_params *W = &m->w, *G = &gr->g;
    float *dres = gr->dres, *dln = gr->dln;

    /* the head: logits = output_norm(x_final) · outputᵀ, soft-capped where
     * the model has a cap (the raw logits give way to their gradient) */
    if (hp->softcap > 0) {
        sr_softcap_bwd(ctx, a->logits_raw, dlogits, a->logits_raw, (size_t)N * hp->vocab, hp->softcap);
        dlogits = a->logits_raw;
    }
    sr_matmul_bwd(ctx, dln, G->output, dlogits, a->lnf, W->output, N, d, hp->vocab, 0);
    sr_dev_zero(ctx, dres, (size_t)N * d * sizeof(float));
    sr_rmsnorm_bwd(ctx, dres, G->output_norm, dln, a->x_final, W->output_norm, a->lnf_rstd, N, d);

    /* dres is now the gradient of the residual stream leaving block l; each
     * block adds its branches' input gradients to it (the residual path
     * passes it through unchanged). */
    for (int l = hp->n_layer - 1; l >= 0; l--) {
        const sr_layer_params *Wl = &W->layer[l], *Gl = &G->layer[l];
        const sr_layer_acts *A = &a->layer[l];

        /* feed-forward: x_out = x_mid + post(swiglu(ln2 · [gate | up]ᵀ) · downᵀ) */
        const float *dffn = post_norm_bwd(m, gr, N, A->ffn_out, Wl->post_ffn_norm, Gl->post_ffn_norm,
                                          A->post_rstd ? A->post_rstd + N : NULL, l, 1);
        sr_matmul_bwd(ctx, gr->dh, Gl->w_down, dffn, A->h, Wl->w_down, N, f, d, 0);
        if (hp->geglu) sr_geglu_bwd(ctx, gr->dgu, gr->dh, A->gu, N, f);
        else           sr_swiglu_bwd(ctx, gr->dgu, gr->dh, A->gu, N, f);
        sr_matmul_bwd(ctx, dln, Gl->w_gate, gr->dgu, A->ln2, Wl->w_gate, N, d, 2 * f, 0);
        sr_rmsnorm_bwd(ctx, dres, Gl->ffn_norm, dln, A->x_mid, Wl->ffn_norm, A->ln2_rstd, N, d);

        /* attention: x_mid = x_in + post(attention(rope(ln1 · [q | k | v]ᵀ)) · woᵀ) */
        const float *dproj = post_norm_bwd(m, gr, N, A->att_proj, Wl->post_attn_norm, Gl->post_attn_norm,
                                           A->post_rstd, l, 0);
        sr_matmul_bwd(ctx, gr->datt, Gl->wo, dproj, A->att_out, Wl->wo, N, qd, d, 0);
        /* a bias's gradient is its output's summed over tokens: dyᵀ · ones (inside the dropout) */
        if (Gl->bo) sr_matmul_bwd(ctx, NULL, Gl->bo, Wl->post_attn_norm ? dres : dproj, a->ones, NULL, N, 1, d, 0);
        sr_attn_seq *seqs = a->seqs;
        for (int b = 0; b < B; b++) {
            const size_t row = (size_t)b * T;
            const float *q = A->qkv + row * qkvd;
            float *dq = gr->dqkv + row * qkvd;
            const int len = a->lens[b];
            seqs[b] = (sr_attn_seq){ q, q + qd, q + qd + kvd, A->att_out + row * qd,
                                     A->att_lse + row * hp->n_head, len, 0 };
            gr->seqs[b] = (sr_attn_seq_grad){ gr->datt + row * qd, dq, dq + qd, dq + qd + kvd };
            /* padding rows take no part in attention: their gradient is zero */
            sr_dev_zero(ctx, dq + (size_t)len * qkvd, (size_t)(T - len) * qkvd * sizeof(float));
        }
        shape.window = sr_layer_window(hp, l);
        sr_attention_bwd(ctx, &shape, seqs, gr->seqs, B, gr->att_work);
        const float theta = sr_layer_rope_theta(hp, l), *ff = sr_model_rope_factors(m, l);
        sr_rope_bwd(ctx, gr->dqkv, N, qkvd, hp->n_head, hp->head_dim, hp->n_rot, a->d_pos,
                    theta, ff, hp->neox);
        sr_rope_bwd(ctx, gr->dqkv + qd, N, qkvd, hp->n_head_kv, hp->head_dim, hp->n_rot, a->d_pos,
                    theta, ff, hp->neox);
        if (Gl->q_norm) {
            head_norm_bwd(m, gr, N, 0, qd, A->qk_raw, Wl->q_norm, Gl->q_norm, A->qk_rstd);
            head_norm_bwd(m, gr, N, qd, kvd, A->qk_raw + (size_t)N * qd, Wl->k_norm, Gl->k_norm,
                          A->qk_rstd + (size_t)N * hp->n_head);
        }
        if (Gl->bqkv) sr_matmul_bwd(ctx, NULL, Gl->bqkv, gr->dqkv, a->ones, NULL, N, 1, qkvd, 0);
        sr_matmul_bwd(ctx, dln, Gl->wq, gr->dqkv, A->ln1, Wl->wq, N, d, qkvd, 0);
        sr_rmsnorm_bwd(ctx, dres, Gl->attn_norm, dln, A->x_in, Wl->attn_norm, A->ln1_rstd, N, d);
    }
    if (hp->embd_scale) sr_scale_fwd(ctx, dres, (size_t)N * d, sqrtf((float)d));
    sr_embedding_bwd(ctx, G->token_embd, dres, a->d_tokens, N, d);
    return 0;
}
