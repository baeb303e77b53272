/* model.c — the llama model: its memory layout, loading from GGUF, random
 * init, and the forward pass. */
#include "lm/model.h"

#include "base/ids.h"
#include "lm/checkpoint.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t q_dim(const sr_hparams *hp)  { return (size_t)hp->n_head * hp->head_dim; }
static size_t kv_dim(const sr_hparams *hp) { return (size_t)hp->n_head_kv * hp->head_dim; }

/* ---- parameters --------------------------------------------------------- */

static size_t layer_params(const sr_hparams *hp)
{
    size_t d = hp->dim, f = hp->ffn_dim, qkv = q_dim(hp) + 2 * kv_dim(hp);
    return d + qkv * d + d * q_dim(hp) + d + 2 * f * d + d * f + (hp->qkv_bias ? qkv : 0) +
           (hp->out_bias ? d : 0) + (hp->qk_norm ? 2 * (size_t)hp->head_dim : 0) + (hp->post_norm ? 2 * d : 0);
}

int sr_layer_window(const sr_hparams *hp, int l)
{
    if (hp->swa_window <= 0) return 0;
    const int p = hp->swa_pattern;
    return p == 0 || l % p < p - 1 ? hp->swa_window : 0;
}

float sr_layer_rope_theta(const sr_hparams *hp, int l)
{
    return sr_layer_window(hp, l) ? hp->rope_theta_swa : hp->rope_theta;
}

/* The local blocks are never scaled (llama.cpp's freq_scale_swa is 1). */
const float *sr_model_rope_factors(const sr_model *m, int l)
{
    if (m->act.rope_linear && !sr_layer_window(&m->hp, l)) return m->act.rope_linear;
    return m->w.rope_freqs;
}

size_t sr_params_count(const sr_hparams *hp)
{
    size_t embd = (size_t)hp->vocab * hp->dim;
    return embd + (size_t)hp->n_layer * layer_params(hp) + hp->dim + (hp->tied ? 0 : embd) +
           (hp->rope_freqs ? (size_t)hp->n_rot / 2 : 0);
}

void sr_params_map(const sr_hparams *hp, float *base, sr_params *p, sr_layer_params *layer)
{
    size_t d = hp->dim, f = hp->ffn_dim, qd = q_dim(hp), kvd = kv_dim(hp);
    float *at = base;
#define TAKE(n) (at += (n), at - (n))
    p->token_embd = TAKE((size_t)hp->vocab * d);
    p->layer = layer;
    for (int l = 0; l < hp->n_layer; l++) {
        sr_layer_params *L = &layer[l];
        L->attn_norm = TAKE(d);
        L->wq = TAKE(qd * d);        /* wq, wk, wv back to back: one matmul */
        L->wk = TAKE(kvd * d);
        L->wv = TAKE(kvd * d);
        L->bqkv = hp->qkv_bias ? TAKE(qd + 2 * kvd) : NULL;   /* bq, bk, bv: one add */
        L->q_norm = hp->qk_norm ? TAKE(hp->head_dim) : NULL;
        L->k_norm = hp->qk_norm ? TAKE(hp->head_dim) : NULL;
        L->wo = TAKE(d * qd);
        L->bo = hp->out_bias ? TAKE(d) : NULL;
        L->post_attn_norm = hp->post_norm ? TAKE(d) : NULL;
        L->ffn_norm = TAKE(d);
        L->w_gate = TAKE(f * d);     /* w_gate, w_up back to back: one matmul */
        L->w_up = TAKE(f * d);
        L->w_down = TAKE(d * f);
        L->post_ffn_norm = hp->post_norm ? TAKE(d) : NULL;
    }
    p->output_norm = TAKE(d);
    p->output = hp->tied ? p->token_embd : TAKE((size_t)hp->vocab * d);
    p->rope_freqs = hp->rope_freqs ? TAKE((size_t)hp->n_rot / 2) : NULL;
#undef TAKE
}

/* The context the options ask for: CUDA, or the CPU with their threads. */
static int init_ctx(sr_model *m, const sr_model_opts *o, char *err, size_t errlen)
{
    if (o && o->device == SR_DEV_CUDA) return sr_ctx_init_cuda(&m->ctx, o->gpu, o->precision, err, errlen);
    return sr_ctx_init_cpu(&m->ctx, o ? o->threads : 0, err, errlen);
}

/* Validates the shape, makes the context and allocates the parameter block
 * on its device (contents unset). */
static int alloc_params(sr_model *m, const sr_model_opts *o, char *err, size_t errlen)
{
    const sr_hparams *hp = &m->hp;
    if (sr_hparams_check(hp, err, errlen) < 0) return -1;
    if (init_ctx(m, o, err, errlen) < 0) return -1;
    m->n_params = sr_params_count(hp);
    m->params_mem = sr_dev_alloc(&m->ctx, m->n_params * sizeof(float));
    m->w.layer = calloc((size_t)hp->n_layer, sizeof *m->w.layer);
    if (!m->params_mem || !m->w.layer) {
        snprintf(err, errlen, "out of %s memory for %zu MiB of weights", sr_device_name(&m->ctx),
                 m->n_params * sizeof(float) >> 20);
        return -1;
    }
    sr_params_map(hp, m->params_mem, &m->w, m->w.layer);
    return 0;
}

/* Where the weights are written before they reach the device: the block
 * itself on the CPU, else a host block (params_host) that upload_params
 * sends over and frees. NULL when out of memory. */
static float *params_staging(sr_model *m)
{
    if (m->ctx.device == SR_DEV_CPU) return m->params_mem;
    if (!m->params_host) m->params_host = malloc(m->n_params * sizeof(float));
    return m->params_host;
}

static void upload_params(sr_model *m)
{
    if (m->ctx.device == SR_DEV_CPU) return;
    sr_dev_upload(&m->ctx, m->params_mem, m->params_host, m->n_params * sizeof(float));
    sr_dev_sync(&m->ctx);
    free(m->params_host);
    m->params_host = NULL;
}

float *sr_model_params_host(sr_model *m)
{
    if (m->ctx.device == SR_DEV_CPU) return m->params_mem;
    if (!m->params_host && !(m->params_host = malloc(m->n_params * sizeof(float)))) return NULL;
    sr_dev_download(&m->ctx, m->params_host, m->params_mem, m->n_params * sizeof(float));
    return m->params_host;
}

void sr_model_params_set(sr_model *m, const float *host)
{
    if (host != m->params_mem) sr_dev_upload(&m->ctx, m->params_mem, host, m->n_params * sizeof(float));
}

const float *sr_model_logits(sr_model *m, int rows)
{
    sr_acts *a = &m->act;
    if (m->ctx.device == SR_DEV_CPU) return a->logits;
    if ((size_t)rows > a->logits_host_rows) {
        float *p = realloc(a->logits_host, (size_t)rows * m->hp.vocab * sizeof(float));
        if (!p) return NULL;
        a->logits_host = p;
        a->logits_host_rows = (size_t)rows;
    }
    sr_dev_download(&m->ctx, a->logits_host, a->logits, (size_t)rows * m->hp.vocab * sizeof(float));
    return a->logits_host;
}

/* ---- activations -------------------------------------------------------- */

/* Lays the activations out from base (NULL: only counts). Returns the floats used. */
static size_t map_acts(const sr_hparams *hp, sr_acts *a, float *base)
{
    size_t N = (size_t)a->max_batch * a->max_seq, d = hp->dim, f = hp->ffn_dim;
    size_t qkv = q_dim(hp) + 2 * kv_dim(hp);
    size_t used = 0;
#define TAKE(n) (used += (n), base ? base + used - (n) : NULL)
    int distinct = a->keep ? hp->n_layer : 1;
    for (int l = 0; l < hp->n_layer; l++) {
        sr_layer_acts *L = &a->layer[l];
        if (l >= distinct) { *L = a->layer[0]; continue; }   /* inference: one set, reused */
        L->x_in = TAKE(N * d);
        L->ln1 = TAKE(N * d);
        L->ln1_rstd = TAKE(N);
        L->qkv = TAKE(N * qkv);
        L->qk_raw = hp->qk_norm ? TAKE(N * (q_dim(hp) + kv_dim(hp))) : NULL;
        L->qk_rstd = hp->qk_norm ? TAKE(N * (hp->n_head + hp->n_head_kv)) : NULL;
        L->att_lse = TAKE(N * hp->n_head);
        L->att_out = TAKE(N * q_dim(hp));
        L->x_mid = TAKE(N * d);
        L->ln2 = TAKE(N * d);
        L->ln2_rstd = TAKE(N);
        L->gu = TAKE(N * 2 * f);
        L->h = TAKE(N * f);
        L->att_proj = hp->post_norm ? TAKE(N * d) : NULL;
        L->ffn_out = hp->post_norm ? TAKE(N * d) : NULL;
        L->post_rstd = hp->post_norm ? TAKE(2 * N) : NULL;
    }
    a->x_final = TAKE(N * d);
    a->lnf = TAKE(N * d);
    a->lnf_rstd = TAKE(N);
    a->logits = TAKE(N * hp->vocab);
    a->logits_raw = hp->softcap > 0 && a->keep ? TAKE(N * hp->vocab) : NULL;
    a->ones = TAKE(N);
    a->rope_linear = hp->rope_linear > 0 ? TAKE((size_t)hp->n_rot / 2) : NULL;
#undef TAKE
    return used;
}

void sr_model_mem_estimate(const sr_hparams *hp, const sr_model_opts *o, int kv_caches, int kv_cap,
                           sr_model_mem *out)
{
    out->params = sr_params_count(hp) * sizeof(float);
    out->kv = (size_t)(kv_caches > 0 ? kv_caches : 0) * (size_t)hp->n_layer * 2 *
              (size_t)(kv_cap > 0 ? kv_cap : 0) * kv_dim(hp) * sizeof(float);
    out->arena = 0;
    /* map_acts counts what it would lay out; it needs the layer table */
    sr_acts a = { .max_batch = o->max_batch, .max_seq = o->max_seq, .keep = o->keep_acts != 0 };
    a.layer = calloc((size_t)hp->n_layer, sizeof *a.layer);
    if (a.layer) out->arena = map_acts(hp, &a, NULL) * sizeof(float);
    free(a.layer);
}

/* The linear RoPE scaling's divisors: n_rot/2 copies of the factor. */
static int fill_rope_linear(sr_model *m, char *err, size_t errlen)
{
    float *dst = m->act.rope_linear;
    if (!dst) return 0;
    const int half = m->hp.n_rot / 2;
    float *f = malloc((size_t)(half ? half : 1) * sizeof *f);
    if (!f) { snprintf(err, errlen, "out of memory"); return -1; }
    for (int i = 0; i < half; i++) f[i] = m->hp.rope_linear;
    sr_dev_upload(&m->ctx, dst, f, (size_t)half * sizeof *f);
    sr_dev_sync(&m->ctx);
    free(f);
    return 0;
}

static int alloc_acts(sr_model *m, const sr_model_opts *o, char *err, size_t errlen)
{
    sr_acts *a = &m->act;
    memset(a, 0, sizeof *a);
    if (!o || o->max_batch <= 0 || o->max_seq <= 0) {
        snprintf(err, errlen, "model options: max_batch and max_seq must be positive");
        return -1;
    }
    if (o->max_seq > m->hp.n_ctx) {
        snprintf(err, errlen, "model options: max_seq %d is beyond the model's context length %d",
                 o->max_seq, m->hp.n_ctx);
        return -1;
    }
    if ((size_t)o->max_batch * o->max_seq > (1u << 24)) {
        snprintf(err, errlen, "model options: %d × %d tokens is more than one forward supports",
                 o->max_batch, o->max_seq);
        return -1;
    }
    a->max_batch = o->max_batch;
    a->max_seq = o->max_seq;
    a->keep = o->keep_acts != 0;
    size_t N = (size_t)a->max_batch * a->max_seq;
    a->layer = calloc((size_t)m->hp.n_layer, sizeof *a->layer);
    a->tokens = malloc(N * sizeof *a->tokens);
    a->pos = malloc(N * sizeof *a->pos);
    a->d_tokens = sr_dev_alloc(&m->ctx, N * sizeof *a->d_tokens);
    a->d_pos = sr_dev_alloc(&m->ctx, N * sizeof *a->d_pos);
    a->lens = malloc((size_t)a->max_batch * sizeof *a->lens);
    /* a cached forward may run up to max_seq one-token sequences */
    a->seqs = malloc((size_t)(a->max_batch > a->max_seq ? a->max_batch : a->max_seq) * sizeof *a->seqs);
    a->rows = malloc(4 * N * sizeof *a->rows);
    sr_attn_shape s = { .n_head = m->hp.n_head, .n_head_kv = m->hp.n_head_kv, .head_dim = m->hp.head_dim };
    size_t work = sr_attention_workspace(&m->ctx, &s, a->max_seq);
    if (a->layer) a->n_floats = map_acts(&m->hp, a, NULL);
    a->mem = a->layer ? sr_dev_alloc(&m->ctx, (a->n_floats + work) * sizeof(float)) : NULL;
    if (!a->layer || !a->tokens || !a->pos || !a->d_tokens || !a->d_pos || !a->lens || !a->seqs || !a->rows || !a->mem) {
        snprintf(err, errlen, "out of %s memory for %zu MiB of activations (%d × %d tokens%s)",
                 sr_device_name(&m->ctx), (a->n_floats + work) * sizeof(float) >> 20, a->max_batch, a->max_seq,
                 a->keep ? ", every layer kept" : "");
        return -1;
    }
    map_acts(&m->hp, a, a->mem);
    a->att_work = a->mem + a->n_floats;
    float *ones = malloc(N * sizeof *ones);
    if (!ones) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < N; i++) ones[i] = 1.0f;
    sr_dev_upload(&m->ctx, a->ones, ones, N * sizeof *ones);
    sr_dev_sync(&m->ctx);
    free(ones);
    return fill_rope_linear(m, err, errlen);
}

void sr_model_free(sr_model *m)
{
    sr_acts *a = &m->act;
    if (m->ctx.ops) {   /* device buffers exist only once there is a context */
        sr_dev_free(&m->ctx, m->params_mem);
        sr_dev_free(&m->ctx, a->mem);
        sr_dev_free(&m->ctx, a->d_tokens);
        sr_dev_free(&m->ctx, a->d_pos);
        sr_ctx_free(&m->ctx);
    }
    free(m->params_host);
    free(m->w.layer);
    free(a->layer); free(a->tokens); free(a->pos); free(a->lens);
    free(a->seqs); free(a->rows); free(a->logits_host);
    memset(m, 0, sizeof *m);
}

/* ---- loading from GGUF -------------------------------------------------- */

/* One tensor to dequantize: the file's, into its place in the staging block. */
typedef struct load_job { const gguf_tensor *t; float *dst; } load_job;

/* The jobs for every tensor the model reads, by the names and places the
 * checkpoint writer uses (the staging block mapped as the parameters are). */
static load_job *plan_jobs(const sr_model *m, const gguf_file *g, float *stage, int *n_jobs)
{
    const sr_hparams *hp = &m->hp;
    const int n = sr_model_tensor_count(hp);
    sr_layer_params *hl = calloc((size_t)hp->n_layer, sizeof *hl);
    sr_named_tensor *nt = malloc((size_t)n * sizeof *nt);
    load_job *jobs = malloc((size_t)n * sizeof *jobs);
    if (hl && nt && jobs) {
        sr_params hw;
        sr_params_map(hp, stage, &hw, hl);
        sr_model_tensors(m->arch, hp, &hw, nt);
        for (int j = 0; j < n; j++) jobs[j] = (load_job){ gguf_find_tensor(g, nt[j].name), nt[j].data };
        *n_jobs = n;
    } else {
        free(jobs);
        jobs = NULL;
    }
    free(hl);
    free(nt);
    return jobs;
}

/* The frequency factors divide angles: one that is not a positive number
 * would make every logit NaN, so the file is refused instead. */
static int check_rope_freqs(const sr_model *m, const float *stage, char *err, size_t errlen)
{
    if (!m->w.rope_freqs) return 0;
    const float *ff = stage + (m->w.rope_freqs - m->params_mem);
    for (int i = 0; i < m->hp.n_rot / 2; i++)
        if (!(ff[i] > 0 && isfinite(ff[i]))) {
            snprintf(err, errlen, "GGUF tensor rope_freqs.weight: factor %d is %g, not a positive "
                     "number", i, (double)ff[i]);
            return -1;
        }
    return 0;
}

int sr_model_load_gguf(sr_model *m, const gguf_file *g, const sr_model_opts *opts,
                       char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    /* Every name, type and shape is checked from the header first, so a bad
     * file is refused for its reason before any weight is allocated. */
    if (sr_model_check_gguf(g, &m->hp, &m->arch, err, errlen) < 0) return -1;
    if (alloc_params(m, opts, err, errlen) < 0) { sr_model_free(m); return -1; }
    /* The tensors are dequantized into host memory laid out as the block
     * (the block itself on the CPU), then sent to the device in one go. */
    float *stage = params_staging(m);
    int n_jobs = 0;
    load_job *jobs = stage ? plan_jobs(m, g, stage, &n_jobs) : NULL;
    if (!jobs) {
        snprintf(err, errlen, "out of memory for %zu MiB of weights", m->n_params * sizeof(float) >> 20);
        sr_model_free(m);
        return -1;
    }
    int bad = -1;   /* the check leaves only a dequantizer's own refusal */
    /* on the CPU, the threads asked for (and started) by the context */
    int nt = m->ctx.device == SR_DEV_CPU ? m->ctx.threads : omp_get_max_threads();
    #pragma omp parallel for schedule(dynamic) num_threads(nt)
    for (int j = 0; j < n_jobs; j++)
        if (gguf_dequantize(jobs[j].t, jobs[j].dst) < 0) {
            #pragma omp critical
            if (bad < 0 || j < bad) bad = j;
        }
    if (bad >= 0) {
        const gguf_tensor *t = jobs[bad].t;
        snprintf(err, errlen, "GGUF tensor %.*s: type %s cannot be dequantized", (int)t->name.n,
                 t->name.p, gguf_type_name(t->type));
        free(jobs);
        sr_model_free(m);
        return -1;
    }
    free(jobs);
    if (check_rope_freqs(m, stage, err, errlen) < 0) { sr_model_free(m); return -1; }
    upload_params(m);
    if (alloc_acts(m, opts, err, errlen) < 0) { sr_model_free(m); return -1; }
    return 0;
}

int sr_model_load(sr_model *m, const char *path, const sr_model_opts *opts,
                  char *err, size_t errlen)
{
    gguf_file g;
    char e[512];
    if (gguf_open(&g, path, e, sizeof e) < 0) {
        snprintf(err, errlen, "%s: %s", path, e);
        memset(m, 0, sizeof *m);
        return -1;
    }
    int rc = sr_model_load_gguf(m, &g, opts, e, sizeof e);
    gguf_close(&g);
    if (rc < 0) snprintf(err, errlen, "%s: %s", path, e);
    return rc;
}

/* ---- random init -------------------------------------------------------- */

int sr_hparams_preset(const char *name, sr_hparams *hp)
{
    if (!strcmp(name, "smol"))
        *hp = (sr_hparams){ .n_layer = 30, .dim = 576, .ffn_dim = 1536, .n_head = 9, .n_head_kv = 3,
                            .head_dim = 64, .n_rot = 64, .vocab = 49152, .n_ctx = 2048,
                            .norm_eps = 1e-5f, .rope_theta = 100000.0f, .tied = 1 };
    else if (!strcmp(name, "1b"))
        *hp = (sr_hparams){ .n_layer = 22, .dim = 2048, .ffn_dim = 5632, .n_head = 32, .n_head_kv = 4,
                            .head_dim = 64, .n_rot = 64, .vocab = 32000, .n_ctx = 2048,
                            .norm_eps = 1e-5f, .rope_theta = 10000.0f, .tied = 0 };
    else
        return -1;
    return 0;
}

static void fill_normal(float *p, size_t n, float std, sr_rng *r)
{
    for (size_t i = 0; i < n; i += 2) {   /* Box-Muller: two normals per two uniforms */
        double u1 = ((sr_rng_next(r) >> 11) + 1) * 0x1.0p-53, u2 = sr_rng_uniform(r);
        double rad = sqrt(-2.0 * log(u1)) * std;
        p[i] = (float)(rad * cos(2 * M_PI * u2));
        if (i + 1 < n) p[i + 1] = (float)(rad * sin(2 * M_PI * u2));
    }
}

static void fill_ones(float *p, size_t n) { for (size_t i = 0; i < n; i++) p[i] = 1.0f; }

/* Frequency factors of a random model: a ramp from 1 (the first, fastest
 * pair) to 8 (the slowest), the range of Llama 3.1's (factor 8), so that a
 * pair read with another pair's factor shows. */
static void fill_rope_ramp(float *p, int n)
{
    for (int i = 0; i < n; i++) p[i] = n > 1 ? 1.0f + 7.0f * (float)i / (float)(n - 1) : 1.0f;
}

int sr_model_init_random(sr_model *m, const sr_hparams *hp, uint64_t seed,
                         const sr_model_opts *opts, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    m->hp = *hp;
    m->arch = sr_arch_default();
    if (alloc_params(m, opts, err, errlen) < 0) { sr_model_free(m); return -1; }
    float *stage = params_staging(m);
    if (!stage) {
        snprintf(err, errlen, "out of memory for %zu MiB of weights", m->n_params * sizeof(float) >> 20);
        sr_model_free(m);
        return -1;
    }
    /* Everything normal(0, 0.02) first, then the norm weights set to 1. The
     * offsets are the block's, so they serve the host copy as well. */
    sr_rng r = sr_rng_for_init(seed);
    fill_normal(stage, m->n_params, 0.02f, &r);
    for (int l = 0; l < hp->n_layer; l++) {
        fill_ones(stage + (m->w.layer[l].attn_norm - m->params_mem), hp->dim);
        fill_ones(stage + (m->w.layer[l].ffn_norm - m->params_mem), hp->dim);
        if (m->w.layer[l].q_norm) fill_ones(stage + (m->w.layer[l].q_norm - m->params_mem), 2 * hp->head_dim);
        if (m->w.layer[l].post_attn_norm) {
            fill_ones(stage + (m->w.layer[l].post_attn_norm - m->params_mem), hp->dim);
            fill_ones(stage + (m->w.layer[l].post_ffn_norm - m->params_mem), hp->dim);
        }
    }
    fill_ones(stage + (m->w.output_norm - m->params_mem), hp->dim);
    if (m->w.rope_freqs) fill_rope_ramp(stage + (m->w.rope_freqs - m->params_mem), hp->n_rot / 2);
    upload_params(m);
    if (alloc_acts(m, opts, err, errlen) < 0) { sr_model_free(m); return -1; }
    return 0;
}

/* ---- forward ------------------------------------------------------------ */

/* A linear layer: OpenBLAS, or with rows the batch-independent kernel that
 * decoding uses (each output row the same bits whatever shares the call). */
static void linear(const sr_model *m, int rows, float *y, const float *x, const float *w,
                   int n, int in, int out, int accumulate)
{
    if (rows) sr_matmul_rows_fwd(&m->ctx, y, x, w, n, in, out, accumulate);
    else      sr_matmul_fwd(&m->ctx, y, x, w, n, in, out, accumulate);
}

void sr_model_copy_strided(const sr_model *m, float *dst, int dstride, const float *src, int sstride,
                           int n, int width)
{
    float **d = m->act.rows;
    const float **s = (const float **)(d + n);   /* the array's second half holds the sources */
    for (int i = 0; i < n; i++) {
        d[i] = dst + (size_t)i * dstride;
        s[i] = src + (size_t)i * sstride;
    }
    sr_copy_rows(&m->ctx, d, s, n, width);
}

/* qwen3's head norms: q and k leave the q|k|v rows for contiguous rows of
 * head_dim (kept in qk_raw for the backward), so that the model's one
 * RMSNorm op serves, each head a row; the normed rows go back in place,
 * through att_out, free until the attention writes it. */
static void qk_norm_fwd(const sr_model *m, const sr_layer_params *W, sr_layer_acts *A, int N)
{
    const sr_hparams *hp = &m->hp;
    const int qd = (int)q_dim(hp), kvd = (int)kv_dim(hp), qkvd = qd + 2 * kvd, hd = hp->head_dim;
    float *k_raw = A->qk_raw + (size_t)N * qd, *k_rstd = A->qk_rstd + (size_t)N * hp->n_head;
    sr_model_copy_strided(m, A->qk_raw, qd, A->qkv, qkvd, N, qd);
    sr_model_copy_strided(m, k_raw, kvd, A->qkv + qd, qkvd, N, kvd);
    sr_rmsnorm_fwd(&m->ctx, A->att_out, A->qk_rstd, A->qk_raw, W->q_norm, N * hp->n_head, hd, hp->norm_eps);
    sr_model_copy_strided(m, A->qkv, qkvd, A->att_out, qd, N, qd);
    sr_rmsnorm_fwd(&m->ctx, A->att_out, k_rstd, k_raw, W->k_norm, N * hp->n_head_kv, hd, hp->norm_eps);
    sr_model_copy_strided(m, A->qkv + qd, qkvd, A->att_out, kvd, N, kvd);
}

/* The first half of block l over N tokens: attn_norm, q|k|v, RoPE. */
static void block_qkv(const sr_model *m, int l, sr_layer_acts *A, int N, const int32_t *pos, int rows)
{
    const sr_hparams *hp = &m->hp;
    const sr_layer_params *W = &m->w.layer[l];
    const int d = hp->dim, qd = (int)q_dim(hp), qkvd = qd + 2 * (int)kv_dim(hp);
    sr_rmsnorm_fwd(&m->ctx, A->ln1, A->ln1_rstd, A->x_in, W->attn_norm, N, d, hp->norm_eps);
    linear(m, rows, A->qkv, A->ln1, W->wq, N, d, qkvd, 0);
    if (W->bqkv) linear(m, rows, A->qkv, m->act.ones, W->bqkv, N, 1, qkvd, 1);
    if (W->q_norm) qk_norm_fwd(m, W, A, N);
    const float theta = sr_layer_rope_theta(hp, l), *ff = sr_model_rope_factors(m, l);
    sr_rope_fwd(&m->ctx, A->qkv, N, qkvd, hp->n_head, hp->head_dim, hp->n_rot, pos, theta, ff, hp->neox);
    sr_rope_fwd(&m->ctx, A->qkv + qd, N, qkvd, hp->n_head_kv, hp->head_dim, hp->n_rot, pos, theta, ff, hp->neox);
}

uint64_t sr_model_dropout_seed(uint64_t seed, int l, int branch)
{
    /* a splitmix64 step per (layer, branch): masks of different branches unrelated */
    uint64_t z = seed ^ ((uint64_t)(2 * l + branch + 1) * 0xD1B54A32D192ED03ull);
    z = (z ^ (z >> 33)) * 0xFF51AFD7ED558CCDull;
    return z ^ (z >> 29);
}

/* A branch's output proj[N][d] joins the residual stream x (x += proj), through
 * its post-norm when the model has them (Gemma: x += rmsnorm(proj) · w,
 * normed in `tmp`), dropped out (seed) in training. Without a post-norm,
 * dropout works on proj in place. */
static void branch_join(const sr_model *m, float *x, float *proj, const float *post_w, float *rstd,
                        float *tmp, int N, float p, uint64_t seed)
{
    const int d = m->hp.dim;
    if (post_w) {
        sr_rmsnorm_fwd(&m->ctx, tmp, rstd, proj, post_w, N, d, m->hp.norm_eps);
        proj = tmp;
    }
    sr_dropout_fwd(&m->ctx, proj, (size_t)N * d, p, seed);
    sr_add_fwd(&m->ctx, x, proj, (size_t)N * d);
}

/* The attention output's projection (and bias) joins x_in into x_mid,
 * dropped out with probability p. */
static void attn_join(sr_model *m, int l, sr_layer_acts *A, int N, float p, int rows)
{
    const sr_layer_params *W = &m->w.layer[l];
    const int d = m->hp.dim, qd = (int)q_dim(&m->hp);
    const uint64_t seed = sr_model_dropout_seed(m->dropout_seed, l, 0);
    sr_dev_copy(&m->ctx, A->x_mid, A->x_in, (size_t)N * d * sizeof(float));
    if (A->att_proj) {   /* post-norms: the projection kept apart, normed, then added */
        linear(m, rows, A->att_proj, A->att_out, W->wo, N, qd, d, 0);
        branch_join(m, A->x_mid, A->att_proj, W->post_attn_norm, A->post_rstd, A->ln2, N, p, seed);
        if (W->bo) linear(m, rows, A->x_mid, m->act.ones, W->bo, N, 1, d, 1);
    } else if (p > 0) {   /* the branch apart in ln2 (free until the FFN's norm writes it) */
        linear(m, rows, A->ln2, A->att_out, W->wo, N, qd, d, 0);
        if (W->bo) linear(m, rows, A->ln2, m->act.ones, W->bo, N, 1, d, 1);
        branch_join(m, A->x_mid, A->ln2, NULL, NULL, NULL, N, p, seed);
    } else {
        linear(m, rows, A->x_mid, A->att_out, W->wo, N, qd, d, 1);
        if (W->bo) linear(m, rows, A->x_mid, m->act.ones, W->bo, N, 1, d, 1);
    }
}

/* The second half: attention over seqs (whose keys and values the caller
 * pointed at the batch or a cache), the output projection and residual,
 * then the feed-forward into x_out; residual dropout p (0: none). */
static void block_rest(sr_model *m, int l, sr_layer_acts *A, float *x_out, int N,
                       const sr_attn_shape *shape0, const sr_attn_seq *seqs, int n_seq, int rows, float p)
{
    const sr_hparams *hp = &m->hp;
    const sr_layer_params *W = &m->w.layer[l];
    const int d = hp->dim, f = hp->ffn_dim;
    sr_attn_shape shape = *shape0;
    shape.window = sr_layer_window(hp, l);
    /* With the row kernels (a decoding step), a sequence with one new query
     * takes the decoding kernel and one with several (an engine follow-up)
     * the general one, each run of alike sequences in one call: the kernel a
     * sequence gets must not depend on what shares its step, or its bits
     * would. A prefill or training forward takes the general kernel. */
    for (int b = 0; b < n_seq;) {
        const int one = rows && seqs[b].T == 1;
        int e = b + 1;
        while (e < n_seq && (rows && seqs[e].T == 1) == one) e++;
        if (one) sr_attention_decode_fwd(&m->ctx, &shape, seqs + b, e - b, m->act.att_work);
        else     sr_attention_fwd(&m->ctx, &shape, seqs + b, e - b, m->act.att_work);
        b = e;
    }
    attn_join(m, l, A, N, p, rows);

    sr_rmsnorm_fwd(&m->ctx, A->ln2, A->ln2_rstd, A->x_mid, W->ffn_norm, N, d, hp->norm_eps);
    linear(m, rows, A->gu, A->ln2, W->w_gate, N, d, 2 * f, 0);
    if (hp->geglu) sr_geglu_fwd(&m->ctx, A->h, A->gu, N, f);
    else           sr_swiglu_fwd(&m->ctx, A->h, A->gu, N, f);
    sr_dev_copy(&m->ctx, x_out, A->x_mid, (size_t)N * d * sizeof(float));
    /* x_out's own buffer cannot hold the normed (or dropped) branch; the next
     * block's ln1 (or the head's lnf) is free until it is written from x_out */
    float *tmp = l + 1 < hp->n_layer ? m->act.layer[l + 1].ln1 : m->act.lnf;
    const uint64_t seed_ffn = sr_model_dropout_seed(m->dropout_seed, l, 1);
    if (A->ffn_out) {
        linear(m, rows, A->ffn_out, A->h, W->w_down, N, f, d, 0);
        branch_join(m, x_out, A->ffn_out, W->post_ffn_norm, A->post_rstd + N, tmp, N, p, seed_ffn);
    } else if (p > 0) {
        linear(m, rows, tmp, A->h, W->w_down, N, f, d, 0);
        branch_join(m, x_out, tmp, NULL, NULL, NULL, N, p, seed_ffn);
    } else {
        linear(m, rows, x_out, A->h, W->w_down, N, f, d, 1);
    }
}

/* The embeddings of N tokens into the first block's input: Gemma scales
 * them by sqrt(dim) (in fp32, as llama.cpp's ggml_scale by sqrtf(n_embd)). */
static void embed(sr_model *m, int N)
{
    sr_acts *a = &m->act;
    sr_embedding_fwd(&m->ctx, a->layer[0].x_in, a->d_tokens, N, m->w.token_embd, m->hp.dim);
    if (m->hp.embd_scale)
        sr_scale_fwd(&m->ctx, a->layer[0].x_in, (size_t)N * m->hp.dim, sqrtf((float)m->hp.dim));
}

/* The head over n rows of x: output_norm, the output matmul, and the
 * soft-cap where the model has one (the raw logits kept for a backward). */
static void head(sr_model *m, const float *x, int n, int rows)
{
    sr_acts *a = &m->act;
    const sr_hparams *hp = &m->hp;
    sr_rmsnorm_fwd(&m->ctx, a->lnf, a->lnf_rstd, x, m->w.output_norm, n, hp->dim, hp->norm_eps);
    float *raw = hp->softcap > 0 && a->logits_raw && !rows ? a->logits_raw : a->logits;
    linear(m, rows, raw, a->lnf, m->w.output, n, hp->dim, hp->vocab, 0);
    if (hp->softcap > 0) sr_softcap_fwd(&m->ctx, a->logits, raw, (size_t)n * hp->vocab, hp->softcap);
}

int sr_model_forward(sr_model *m, const int32_t *tokens, int B, int T, const int *lens,
                     char *err, size_t errlen)
{
    const sr_hparams *hp = &m->hp;
    const sr_ctx *ctx = &m->ctx;
    sr_acts *a = &m->act;
    if (B <= 0 || T <= 0 || B > a->max_batch || T > a->max_seq) {
        snprintf(err, errlen, "forward: %d sequences of %d tokens do not fit the %d × %d "
                 "the model was set up for", B, T, a->max_batch, a->max_seq);
        return -1;
    }
    /* Check the untrusted part (ids and lengths) before any op runs. */
    for (int b = 0; b < B; b++) {
        int len = lens ? lens[b] : T;
        if (len < 0 || len > T) {
            snprintf(err, errlen, "forward: sequence %d has length %d, outside [0, %d]", b, len, T);
            return -1;
        }
        a->lens[b] = len;
        for (int t = 0; t < T; t++) {
            int32_t id = t < len ? tokens[(size_t)b * T + t] : 0;
            if (id < 0 || id >= hp->vocab) {
                snprintf(err, errlen, "forward: sequence %d, position %d: token id %d is outside "
                         "the vocabulary [0, %d)", b, t, id, hp->vocab);
                return -1;
            }
            a->tokens[(size_t)b * T + t] = id;
            a->pos[(size_t)b * T + t] = t;
        }
    }
    a->B = B; a->T = T;
    const int N = B * T;
    sr_dev_upload(ctx, a->d_tokens, a->tokens, (size_t)N * sizeof *a->tokens);
    sr_dev_upload(ctx, a->d_pos, a->pos, (size_t)N * sizeof *a->pos);

    const int qd = (int)q_dim(hp), kvd = (int)kv_dim(hp), qkvd = qd + 2 * kvd;
    const sr_attn_shape shape = { hp->n_head, hp->n_head_kv, hp->head_dim, qkvd, qkvd, qd, 0, hp->attn_scale };
    sr_attn_seq *seqs = a->seqs;

    embed(m, N);
    for (int l = 0; l < hp->n_layer; l++) {
        sr_layer_acts *A = &a->layer[l];
        float *x_out = l + 1 < hp->n_layer ? a->layer[l + 1].x_in : a->x_final;
        block_qkv(m, l, A, N, a->d_pos, 0);
        for (int b = 0; b < B; b++) {
            const float *q = A->qkv + (size_t)b * T * qkvd;
            seqs[b] = (sr_attn_seq){ q, q + qd, q + qd + kvd, A->att_out + (size_t)b * T * qd,
                                     A->att_lse + (size_t)b * T * hp->n_head, a->lens[b], 0 };
            /* padding rows get a defined value rather than stale memory */
            sr_dev_zero(ctx, A->att_out + ((size_t)b * T + a->lens[b]) * qd,
                        (size_t)(T - a->lens[b]) * qd * sizeof(float));
        }
        block_rest(m, l, A, x_out, N, &shape, seqs, B, 0, m->dropout);
    }
    head(m, a->x_final, N, 0);
    return 0;
}

/* ---- forward with a KV cache -------------------------------------------- */

/* Checks every shape and id of a cached forward before any op runs (or any
 * cache changes), and stages the tokens and their positions in the arena's
 * host arrays. Returns the packed token count, or 0 with err set. */
static size_t stage_cached(sr_model *m, sr_kv_cache *const *caches, const int32_t *tokens,
                           const int *n_new, int n_seq, char *err, size_t errlen)
{
    const sr_hparams *hp = &m->hp;
    sr_acts *a = &m->act;
    const int max_seqs = a->max_batch > a->max_seq ? a->max_batch : a->max_seq;
    if (n_seq <= 0 || n_seq > max_seqs) {
        snprintf(err, errlen, "cached forward: %d sequences, outside [1, %d]", n_seq, max_seqs);
        return 0;
    }
    size_t N = 0;
    for (int s = 0; s < n_seq; s++) {
        const sr_kv_cache *c = caches[s];
        if (!c || c->n_layer != hp->n_layer || c->kv_dim != (int)kv_dim(hp)) {
            snprintf(err, errlen, "cached forward: sequence %d: the cache does not fit this model", s);
            return 0;
        }
        if (n_new[s] <= 0 || c->len + n_new[s] > c->cap || c->len + n_new[s] > a->max_seq) {
            snprintf(err, errlen, "cached forward: sequence %d: %d cached + %d new positions exceed "
                     "the cache (%d) or the model's set-up length (%d)", s, c->len, n_new[s], c->cap,
                     a->max_seq);
            return 0;
        }
        N += (size_t)n_new[s];
    }
    if (N > (size_t)a->max_batch * a->max_seq) {
        snprintf(err, errlen, "cached forward: %zu tokens do not fit the %d × %d the model was set "
                 "up for", N, a->max_batch, a->max_seq);
        return 0;
    }
    for (size_t i = 0, s = 0, t = 0; i < N; i++) {
        if (tokens[i] < 0 || tokens[i] >= hp->vocab) {
            snprintf(err, errlen, "cached forward: sequence %zu, new token %zu: id %d is outside the "
                     "vocabulary [0, %d)", s, t, tokens[i], hp->vocab);
            return 0;
        }
        a->tokens[i] = tokens[i];
        a->pos[i] = caches[s]->len + (int32_t)t;
        if (++t == (size_t)n_new[s]) { s++; t = 0; }
    }
    return N;
}

/* Gathers each sequence's last row of x_final into row s of a free buffer
 * (the first block's ln1, done with for this forward), so that only those
 * go through the head: it is most of a decoding step's work. */
static const float *gather_last(sr_model *m, const int *n_new, int n_seq, float **dst, float **src)
{
    sr_acts *a = &m->act;
    const int d = m->hp.dim;
    float *gathered = a->layer[0].ln1;
    size_t row = 0;
    for (int s = 0; s < n_seq; s++) {
        row += (size_t)n_new[s];
        dst[s] = gathered + (size_t)s * d;
        src[s] = a->x_final + (row - 1) * d;
    }
    sr_copy_rows(&m->ctx, dst, (const float *const *)src, n_seq, d);
    return gathered;
}

int sr_model_forward_cached(sr_model *m, sr_kv_cache *const *caches, const int32_t *tokens,
                            const int *n_new, int n_seq, unsigned flags, char *err, size_t errlen)
{
    const sr_hparams *hp = &m->hp;
    const sr_ctx *ctx = &m->ctx;
    sr_acts *a = &m->act;
    const int qd = (int)q_dim(hp), kvd = (int)kv_dim(hp), qkvd = qd + 2 * kvd;
    const size_t N = stage_cached(m, caches, tokens, n_new, n_seq, err, errlen);
    if (!N) return -1;
    a->B = 0; a->T = 0;   /* not a full forward: nothing here for a backward */
    /* the row moves below: 2 pointer arrays of 2N (keys and values) */
    float **dst = a->rows, **src = dst + 2 * N;
    sr_dev_upload(ctx, a->d_tokens, a->tokens, N * sizeof *a->tokens);
    sr_dev_upload(ctx, a->d_pos, a->pos, N * sizeof *a->pos);

    const int rows = (flags & SR_FWD_BATCH_INVARIANT) != 0;
    const sr_attn_shape shape = { hp->n_head, hp->n_head_kv, hp->head_dim, qkvd, kvd, qd, 0, hp->attn_scale };
    sr_attn_seq *seqs = a->seqs;
    embed(m, (int)N);
    for (int l = 0; l < hp->n_layer; l++) {
        sr_layer_acts *A = &a->layer[l];
        float *x_out = l + 1 < hp->n_layer ? a->layer[l + 1].x_in : a->x_final;
        block_qkv(m, l, A, (int)N, a->d_pos, rows);
        size_t off = 0, r = 0;
        for (int s = 0; s < n_seq; s++) {
            const sr_kv_cache *c = caches[s];
            float *k = sr_kv_k(c, l), *v = sr_kv_v(c, l);
            for (int t = 0; t < n_new[s]; t++) {     /* the new keys and values join the cache */
                float *row = A->qkv + (off + t) * qkvd;
                dst[r] = k + (size_t)(c->len + t) * kvd; src[r++] = row + qd;
                dst[r] = v + (size_t)(c->len + t) * kvd; src[r++] = row + qd + kvd;
            }
            seqs[s] = (sr_attn_seq){ A->qkv + off * qkvd, k, v, A->att_out + off * qd,
                                     A->att_lse + off * hp->n_head, n_new[s], c->len };
            off += (size_t)n_new[s];
        }
        sr_copy_rows(ctx, dst, (const float *const *)src, (int)r, kvd);
        block_rest(m, l, A, x_out, (int)N, &shape, seqs, n_seq, rows, 0);
    }
    const int last = (flags & SR_FWD_LAST_LOGITS) != 0, n_out = last ? n_seq : (int)N;
    const float *x_head = last ? gather_last(m, n_new, n_seq, dst, src) : a->x_final;
    head(m, x_head, n_out, rows);
    for (int s = 0; s < n_seq; s++) caches[s]->len += n_new[s];
    return 0;
}
