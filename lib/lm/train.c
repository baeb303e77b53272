/* train.c — the trainer: data order, micro-batches, the loss's gradient
 * through the model, AdamW, the schedule, state files and the run loop. */
#include "lm/train.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/atomic.h"
#include "base/ids.h"
#include "base/rng.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- data ---------------------------------------------------------------- */

int sr_train_render(const sr_chat *chat, const char *system, size_t system_len,
                    const char *prompt, size_t prompt_len, const char *response,
                    size_t response_len, int max_len, enum sr_overlong policy,
                    sr_train_seq *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    sr_chat_msg msgs[2];
    size_t n = 0;
    if (system) msgs[n++] = (sr_chat_msg){ "system", system, system_len };
    msgs[n++] = (sr_chat_msg){ "user", prompt, prompt_len };
    sr_ids ids = { 0 };
    size_t resp;
    if (sr_chat_render_pair(chat, msgs, n, response, response_len, &ids, &resp, err, errlen) < 0)
        return -1;
    int result = SR_RENDER_OK;
    if (ids.n > (size_t)max_len) {
        /* Truncation keeps the prompt whole and cuts the response's tail; a
         * sequence with no response token left teaches nothing and goes. */
        if (policy == SR_OVERLONG_DROP || resp >= (size_t)max_len) {
            sr_ids_free(&ids);
            return SR_RENDER_DROPPED;
        }
        ids.n = (size_t)max_len;
        result = SR_RENDER_TRUNCATED;
    }
    if (resp < 1 || resp >= ids.n) {   /* an empty prompt or response cannot happen with a template */
        snprintf(err, errlen, "rendered example has no %s tokens", resp < 1 ? "prompt" : "response");
        sr_ids_free(&ids);
        return -1;
    }
    out->ids = ids.v;
    out->len = (int)ids.n;
    out->resp = (int)resp;
    return result;
}

int sr_train_data_add(sr_train_data *d, const sr_train_seq *seqs, char *err, size_t errlen)
{
    if (d->seqs_per_ex < 1) d->seqs_per_ex = 1;
    if (d->n_ex == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 256;
        sr_train_seq *s = realloc(d->seq, cap * d->seqs_per_ex * sizeof *s);
        if (!s) { snprintf(err, errlen, "out of memory for %zu examples", cap); return -1; }
        d->seq = s;
        d->cap = cap;
    }
    for (int j = 0; j < d->seqs_per_ex; j++) {
        d->seq[d->n_ex * d->seqs_per_ex + j] = seqs[j];
        if (seqs[j].len > d->max_len) d->max_len = seqs[j].len;
    }
    d->n_ex++;
    return 0;
}

void sr_train_data_free(sr_train_data *d)
{
    for (size_t i = 0; i < d->n_ex * (size_t)d->seqs_per_ex; i++) free(d->seq[i].ids);
    free(d->seq);
    memset(d, 0, sizeof *d);
}

/* ---- the SFT loss ---------------------------------------------------------- */

double sr_loss_sft(void *self, const sr_loss_batch *b, float *dlp, double *metrics)
{
    (void)self; (void)metrics;
    const double inv = 1.0 / (double)(b->step_targets > 0 ? b->step_targets : 1);
    double sum = 0;
    for (size_t i = 0; i < (size_t)b->B * b->T; i++) {
        if (b->targets[i] < 0) { dlp[i] = 0.0f; continue; }
        sum -= b->lp[i];
        dlp[i] = (float)-inv;
    }
    return sum * inv;
}

/* ---- log-probabilities of a micro-batch ------------------------------------- */

int sr_logp_batch_init(sr_logp_batch *b, const sr_model *m, int max_rows, int max_seq,
                       char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    const size_t N = (size_t)max_rows * max_seq;
    b->ctx = &m->ctx;
    b->max_rows = max_rows;
    b->max_seq = max_seq;
    b->tokens = malloc(N * sizeof *b->tokens);
    b->targets = malloc(N * sizeof *b->targets);
    b->lens = malloc((size_t)max_rows * sizeof *b->lens);
    b->lp = malloc(N * sizeof *b->lp);
    b->d_targets = sr_dev_alloc(&m->ctx, N * sizeof *b->d_targets);
    b->d_lp = sr_dev_alloc(&m->ctx, N * sizeof *b->d_lp);
    if (!b->tokens || !b->targets || !b->lens || !b->lp || !b->d_targets || !b->d_lp) {
        sr_logp_batch_free(b);
        snprintf(err, errlen, "out of memory for a batch of %d × %d tokens", max_rows, max_seq);
        return -1;
    }
    return 0;
}

void sr_logp_batch_free(sr_logp_batch *b)
{
    if (b->ctx) {
        sr_dev_free(b->ctx, b->d_targets);
        sr_dev_free(b->ctx, b->d_lp);
    }
    free(b->tokens); free(b->targets); free(b->lens); free(b->lp);
    memset(b, 0, sizeof *b);
}

int sr_logp_forward(sr_model *m, const sr_train_data *d, const size_t *ex, int n_ex,
                    sr_logp_batch *b, char *err, size_t errlen)
{
    const int spe = d->seqs_per_ex < 1 ? 1 : d->seqs_per_ex, B = n_ex * spe;
    int T = 1;
    for (int r = 0; r < B; r++) {
        int len = d->seq[ex[r / spe] * spe + r % spe].len;
        if (len > T) T = len;
    }
    if (B > b->max_rows || T > b->max_seq) {
        snprintf(err, errlen, "a batch of %d × %d tokens does not fit buffers for %d × %d",
                 B, T, b->max_rows, b->max_seq);
        return -1;
    }
    b->B = B;
    b->T = T;
    b->n_tokens = 0;
    for (int r = 0; r < B; r++) {
        const sr_train_seq *s = &d->seq[ex[r / spe] * spe + r % spe];
        b->lens[r] = s->len;
        b->n_tokens += s->len;
        for (int p = 0; p < T; p++) {
            size_t i = (size_t)r * T + p;
            b->tokens[i] = p < s->len ? s->ids[p] : 0;
            /* position p predicts token p + 1: a target when that is a response token */
            b->targets[i] = p + 1 < s->len && p + 1 >= s->resp ? s->ids[p + 1] : -1;
        }
    }
    if (sr_model_forward(m, b->tokens, B, T, b->lens, err, errlen) < 0) return -1;
    /* The log-probs go to the host (a handful of floats per sequence); the
     * logits stay on the device. */
    const int N = B * T;
    sr_dev_upload(&m->ctx, b->d_targets, b->targets, (size_t)N * sizeof *b->targets);
    sr_token_logprob_fwd(&m->ctx, b->d_lp, m->act.logits, b->d_targets, N, m->hp.vocab);
    sr_dev_download(&m->ctx, b->lp, b->d_lp, (size_t)N * sizeof *b->lp);
    return 0;
}

/* ---- trainer ------------------------------------------------------------- */

/* The order of epoch e: a Fisher–Yates shuffle seeded by (seed, e). */
static void epoch_order(sr_trainer *t, long e)
{
    if (t->perm_epoch == e) return;
    size_t n = t->data->n_ex;
    sr_rng r = sr_rng_epoch(t->o.seed, e);
    for (size_t i = 0; i < n; i++) t->perm[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(sr_rng_next(&r) % i), tmp = t->perm[i - 1];
        t->perm[i - 1] = t->perm[j];
        t->perm[j] = tmp;
    }
    t->perm_epoch = e;
}

static uint64_t config_hash(const sr_trainer *t)
{
    const sr_train_opts *o = &t->o;
    char buf[512];
    int n = snprintf(buf, sizeof buf, "lr=%.17g lr_final=%.17g warmup=%ld schedule=%d batch=%d "
                     "epochs=%d max_steps=%ld wd=%.17g clip=%.17g b1=%.17g b2=%.17g eps=%.17g "
                     "seed=%llu inputs=%016llx params=%zu examples=%zu loss=%s dropout=%.9g",
                     o->lr, o->lr_final, o->warmup, (int)o->schedule, o->batch, o->epochs,
                     o->max_steps, o->weight_decay, o->clip, o->beta1, o->beta2, o->eps,
                     (unsigned long long)o->seed, (unsigned long long)o->inputs_hash,
                     t->m->n_params, t->data->n_ex, t->loss.name ? t->loss.name : "", o->dropout);
    return sr_hash(buf, (size_t)n, 0);
}

int sr_trainer_init(sr_trainer *t, sr_model *m, const sr_train_data *data,
                    const sr_train_opts *o, const sr_loss *loss, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    const int spe = data->seqs_per_ex < 1 ? 1 : data->seqs_per_ex;
    if (data->n_ex == 0) { snprintf(err, errlen, "no examples to train on"); return -1; }
    if (o->batch < 1 || o->micro_batch < 1 || (o->max_steps <= 0 && o->epochs < 1)) {
        snprintf(err, errlen, "batch, micro-batch and epochs (or max-steps) must be positive");
        return -1;
    }
    if (!(o->lr >= 0) || !(o->lr_final >= 0) || !(o->beta1 >= 0 && o->beta1 < 1) ||
        !(o->beta2 >= 0 && o->beta2 < 1) || !(o->eps > 0) || !(o->clip >= 0) || !(o->weight_decay >= 0)) {
        snprintf(err, errlen, "optimizer settings out of range (lr %g, lr_final %g, betas %g/%g, "
                 "eps %g, clip %g, weight decay %g)", o->lr, o->lr_final, o->beta1, o->beta2,
                 o->eps, o->clip, o->weight_decay);
        return -1;
    }
    int micro = o->micro_batch < o->batch ? o->micro_batch : o->batch;
    if (micro * spe > m->act.max_batch || data->max_len > m->act.max_seq) {
        snprintf(err, errlen, "the model was set up for %d × %d tokens; training needs %d × %d",
                 m->act.max_batch, m->act.max_seq, micro * spe, data->max_len);
        return -1;
    }
    t->m = m;
    t->data = data;
    t->o = *o;
    t->o.micro_batch = micro;
    t->loss = *loss;
    t->total_steps = o->max_steps > 0 ? o->max_steps
                   : (long)(((double)o->epochs * data->n_ex + o->batch - 1) / o->batch);
    if (sr_grads_init(&t->g, m, err, errlen) < 0) return -1;
    if (sr_logp_batch_init(&t->lb, m, m->act.max_batch, m->act.max_seq, err, errlen) < 0) {
        sr_trainer_free(t);
        return -1;
    }
    const size_t N = (size_t)m->act.max_batch * m->act.max_seq;
    t->adam_m = sr_dev_alloc(&m->ctx, m->n_params * sizeof(float));
    t->adam_v = sr_dev_alloc(&m->ctx, m->n_params * sizeof(float));
    t->d_dlp = sr_dev_alloc(&m->ctx, N * sizeof *t->d_dlp);
    t->perm = malloc(data->n_ex * sizeof *t->perm);
    t->ex = malloc((size_t)o->batch * sizeof *t->ex);
    t->dlp = malloc(N * sizeof *t->dlp);
    if (!t->adam_m || !t->adam_v || !t->perm || !t->ex || !t->dlp || !t->d_dlp) {
        sr_trainer_free(t);
        snprintf(err, errlen, "out of memory for the optimizer state (%zu MiB)",
                 2 * m->n_params * sizeof(float) >> 20);
        return -1;
    }
    sr_dev_zero(&m->ctx, t->adam_m, m->n_params * sizeof(float));
    sr_dev_zero(&m->ctx, t->adam_v, m->n_params * sizeof(float));
    t->perm_epoch = -1;
    t->config_hash = config_hash(t);
    return 0;
}

void sr_trainer_free(sr_trainer *t)
{
    sr_grads_free(&t->g);
    if (t->m) {
        const sr_ctx *ctx = &t->m->ctx;
        sr_dev_free(ctx, t->adam_m); sr_dev_free(ctx, t->adam_v); sr_dev_free(ctx, t->d_dlp);
    }
    sr_logp_batch_free(&t->lb);
    free(t->perm); free(t->ex); free(t->dlp);
    memset(t, 0, sizeof *t);
}

double sr_train_lr(const sr_train_opts *o, long s, long total)
{
    if (o->warmup > 0 && s <= o->warmup) return o->lr * (double)s / (double)o->warmup;
    long span = total - o->warmup;
    double p = span > 0 ? (double)(s - o->warmup) / (double)span : 1.0;
    if (p > 1) p = 1;
    if (o->schedule == SR_SCHED_LINEAR) return o->lr + (o->lr_final - o->lr) * p;
    return o->lr_final + (o->lr - o->lr_final) * 0.5 * (1.0 + cos(M_PI * p));
}

/* AdamW over the whole parameter block, with weight decay on the matrices
 * only: the norm weights (gains around 1) and the biases are not pulled
 * towards 0, as is usual (and as Hugging Face's trainer does). They are the
 * only vectors, so the block is cut at them, in memory order. */
static void adamw_all(sr_trainer *t, float gscale, const sr_adamw_hp *hp)
{
    const sr_model *m = t->m;
    float *base = m->params_mem;
    const float wd = (float)t->o.weight_decay;
    size_t at = 0;
#define UPDATE(a, b, decay) sr_adamw_update(&m->ctx, base + (a), t->g.mem + (a), t->adam_m + (a), \
                                            t->adam_v + (a), (b) - (a), gscale, decay, hp)
#define VEC(ptr, n) do { size_t o_ = (size_t)((ptr) - base); UPDATE(at, o_, wd); \
                          UPDATE(o_, o_ + (n), 0.0f); at = o_ + (n); } while (0)
    const size_t d = (size_t)m->hp.dim,
                 qkv = (size_t)(m->hp.n_head + 2 * m->hp.n_head_kv) * m->hp.head_dim;
    for (int l = 0; l < m->hp.n_layer; l++) {
        const sr_layer_params *L = &m->w.layer[l];
        VEC(L->attn_norm, d);
        if (L->bqkv) VEC(L->bqkv, qkv);
        if (L->q_norm) VEC(L->q_norm, 2 * (size_t)m->hp.head_dim);   /* q_norm | k_norm */
        if (L->bo) VEC(L->bo, d);
        if (L->post_attn_norm) VEC(L->post_attn_norm, d);
        VEC(L->ffn_norm, d);
        if (L->post_ffn_norm) VEC(L->post_ffn_norm, d);
    }
    VEC(m->w.output_norm, d);
    /* rope_freqs, last in the block, are constants of the model: not updated */
    UPDATE(at, m->w.rope_freqs ? (size_t)(m->w.rope_freqs - base) : m->n_params, wd);
#undef VEC
#undef UPDATE
}

/* The dropout masks' seed of one micro-batch (its first example e0) of
 * step `step` (0-based). */
static uint64_t dropout_seed(uint64_t seed, long step, int e0)
{
    const uint64_t key[3] = { seed, (uint64_t)step, (uint64_t)e0 };
    return sr_hash(key, sizeof key, 0x64726f70u);
}

int sr_trainer_step(sr_trainer *t, sr_step_stats *st, char *err, size_t errlen)
{
    sr_model *m = t->m;
    const sr_train_data *d = t->data;
    const int spe = d->seqs_per_ex < 1 ? 1 : d->seqs_per_ex, V = m->hp.vocab;
    double t0 = now();
    memset(st, 0, sizeof *st);

    /* This step's examples: stream positions [step·batch, (step+1)·batch). */
    long step_targets = 0;
    for (int i = 0; i < t->o.batch; i++) {
        uint64_t p = (uint64_t)t->step * t->o.batch + i;
        epoch_order(t, (long)(p / d->n_ex));
        t->ex[i] = t->perm[p % d->n_ex];
        for (int j = 0; j < spe; j++) {
            const sr_train_seq *s = &d->seq[t->ex[i] * spe + j];
            step_targets += s->len - s->resp;
        }
    }
    sr_grads_zero(&t->g);
    for (int e0 = 0; e0 < t->o.batch; e0 += t->o.micro_batch) {
        const int n_ex = t->o.batch - e0 < t->o.micro_batch ? t->o.batch - e0 : t->o.micro_batch;
        sr_logp_batch *lb = &t->lb;
        /* dropout for this forward and its backward only: masks a function
         * of the seed, the step and the micro-batch, so a resumed run draws
         * the ones an uninterrupted run would */
        m->dropout = (float)t->o.dropout;
        m->dropout_seed = dropout_seed(t->o.seed, t->step, e0);
        int rc = sr_logp_forward(m, d, t->ex + e0, n_ex, lb, err, errlen);
        if (rc < 0) { m->dropout = 0; return -1; }
        st->tokens += lb->n_tokens;
        const int N = lb->B * lb->T;
        sr_loss_batch b = { n_ex, spe, lb->B, lb->T, t->ex + e0, lb->lens, lb->targets, lb->lp,
                            step_targets, t->o.batch };
        st->loss += t->loss.fn(t->loss.self, &b, t->dlp, st->metrics);
        /* the loss's gradient goes back to the device; the logits' gradient
         * overwrites the logits: one [N][vocab] buffer */
        sr_dev_upload(&m->ctx, t->d_dlp, t->dlp, (size_t)N * sizeof *t->dlp);
        sr_token_logprob_bwd(&m->ctx, m->act.logits, m->act.logits, lb->d_targets, t->d_dlp, N, V);
        rc = sr_model_backward(m, &t->g, m->act.logits, err, errlen);
        m->dropout = 0;   /* every other forward (the reference, --eval) is without */
        if (rc < 0) return -1;
    }
    st->targets = step_targets;

    const double norm = sqrt(sr_sum_squares(&m->ctx, t->g.mem, t->g.n));
    if (!isfinite(norm) || !isfinite(st->loss)) {
        snprintf(err, errlen, "step %ld: the %s is not finite (loss %g, gradient norm %g); "
                 "a lower --lr may help", t->step + 1, isfinite(st->loss) ? "gradient" : "loss",
                 st->loss, norm);
        return -1;
    }
    const float gscale = t->o.clip > 0 && norm > t->o.clip ? (float)(t->o.clip / norm) : 1.0f;
    st->lr = sr_train_lr(&t->o, t->step + 1, t->total_steps);
    sr_adamw_hp hp = { (float)st->lr, (float)t->o.beta1, (float)t->o.beta2, (float)t->o.eps,
                       (int)(t->step + 1) };
    adamw_all(t, gscale, &hp);
    t->step++;
    st->step = t->step;
    st->grad_norm = norm;
    st->seconds = now() - t0;
    return 0;
}

/* ---- state files ----------------------------------------------------------- */

#define STATE_MAGIC "SRSTATE1"

typedef struct state_header {
    char magic[8];
    uint64_t n_params, config_hash;
    int64_t step, total_steps, data_pos;
    uint64_t seed;
} state_header;

int sr_trainer_save_state(const sr_trainer *t, const char *path, char *err, size_t errlen)
{
    const size_t n = t->m->n_params;
    state_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, STATE_MAGIC, 8);
    h.n_params = n;
    h.config_hash = t->config_hash;
    h.step = t->step;
    h.total_steps = t->total_steps;
    h.data_pos = (int64_t)t->step * t->o.batch;
    h.seed = t->o.seed;
    XXH64_state_t *xs = XXH64_createState();
    if (!xs) { snprintf(err, errlen, "%s: out of memory", path); return -1; }
    /* The three blocks as host memory: themselves on the CPU, copies on CUDA. */
    const float *blocks[3] = { sr_model_params_host(t->m), NULL, NULL };
    void *owned[3] = { NULL, NULL, NULL };
    blocks[1] = sr_dev_view(&t->m->ctx, t->adam_m, n * sizeof(float), &owned[1]);
    blocks[2] = sr_dev_view(&t->m->ctx, t->adam_v, n * sizeof(float), &owned[2]);
    if (!blocks[0] || !blocks[1] || !blocks[2]) {
        free(owned[1]); free(owned[2]); XXH64_freeState(xs);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    XXH64_reset(xs, 0);
    XXH64_update(xs, &h, sizeof h);
    for (int b = 0; b < 3; b++) XXH64_update(xs, blocks[b], n * sizeof(float));
    uint64_t sum = XXH64_digest(xs);
    XXH64_freeState(xs);

    char why[512];
    sr_atomic a;
    int bad = sr_atomic_open(&a, path, why, sizeof why) < 0;   /* errno says why */
    int saved = bad ? errno : 0;
    if (!bad) {
        /* the first failed write's errno: later calls may change errno */
        bad = fwrite(&h, sizeof h, 1, a.f) != 1;
        for (int b = 0; b < 3 && !bad; b++) bad = fwrite(blocks[b], sizeof(float), n, a.f) != n;
        bad = bad || fwrite(&sum, sizeof sum, 1, a.f) != 1;
        if (bad) {
            saved = errno ? errno : EIO;
            sr_atomic_abort(&a);
        } else if (sr_atomic_commit(&a, why, sizeof why) < 0) {   /* a late write error shows here */
            bad = 1;
            saved = errno;
        }
    }
    free(owned[1]); free(owned[2]);
    if (bad) {
        snprintf(err, errlen, "%s: cannot write the training state: %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

/* A short read of the state: an I/O error says so (the file may be
 * fine), else the content is wrong (what). */
static void short_read(FILE *f, const char *path, const char *what, char *err, size_t errlen)
{
    if (ferror(f)) snprintf(err, errlen, "%s: read error: %s", path, strerror(errno ? errno : EIO));
    else snprintf(err, errlen, "%s: %s", path, what);
}

int sr_trainer_load_state(sr_trainer *t, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return 1;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    const size_t n = t->m->n_params;
    state_header h;
    int rc = -1;
    float *blocks[3] = { NULL, NULL, NULL };
    if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, STATE_MAGIC, 8) != 0) {
        short_read(f, path, "not an sr training state", err, errlen);
        goto out;
    }
    if (h.n_params != n) {
        snprintf(err, errlen, "%s: the state holds %llu parameters, the model %zu", path,
                 (unsigned long long)h.n_params, n);
        goto out;
    }
    if (h.config_hash != t->config_hash) {
        snprintf(err, errlen, "%s: written by a run with other settings, data or parent model; "
                 "resume with the same ones (or remove the state to start over)", path);
        goto out;
    }
    if (h.step < 0 || h.step > t->total_steps) {
        snprintf(err, errlen, "%s: step %lld is outside [0, %ld]", path, (long long)h.step, t->total_steps);
        goto out;
    }
    /* Read into fresh buffers and check the sum before touching the model. */
    for (int b = 0; b < 3; b++) {
        blocks[b] = malloc(n * sizeof(float));
        if (!blocks[b]) { snprintf(err, errlen, "%s: out of memory", path); goto out; }
        if (fread(blocks[b], sizeof(float), n, f) != n) {
            short_read(f, path, "truncated", err, errlen);
            goto out;
        }
    }
    uint64_t sum;
    if (fread(&sum, sizeof sum, 1, f) != 1) { short_read(f, path, "truncated", err, errlen); goto out; }
    XXH64_state_t *xs = XXH64_createState();
    if (!xs) { snprintf(err, errlen, "%s: out of memory", path); goto out; }
    XXH64_reset(xs, 0);
    XXH64_update(xs, &h, sizeof h);
    for (int b = 0; b < 3; b++) XXH64_update(xs, blocks[b], n * sizeof(float));
    uint64_t want = XXH64_digest(xs);
    XXH64_freeState(xs);
    if (sum != want) { snprintf(err, errlen, "%s: checksum mismatch (corrupt state)", path); goto out; }
    sr_model_params_set(t->m, blocks[0]);
    sr_dev_upload(&t->m->ctx, t->adam_m, blocks[1], n * sizeof(float));
    sr_dev_upload(&t->m->ctx, t->adam_v, blocks[2], n * sizeof(float));
    sr_dev_sync(&t->m->ctx);   /* the blocks are freed below */
    t->step = h.step;
    rc = 0;
out:
    for (int b = 0; b < 3; b++) free(blocks[b]);
    fclose(f);
    return rc;
}

/* ---- a whole run ------------------------------------------------------------- */

static int save(sr_trainer *t, const sr_train_run_opts *r, char *err, size_t errlen)
{
    if (r->save_model && r->save_model(r->self, t, err, errlen) < 0) return -1;
    if (r->state_path && sr_trainer_save_state(t, r->state_path, err, errlen) < 0) return -1;
    return 0;
}

int sr_train_run(sr_trainer *t, const sr_train_run_opts *r, char *err, size_t errlen)
{
    const bool tty = isatty(STDERR_FILENO);
    double seen_tokens = 0, seen_seconds = 0;
    if (t->step >= t->total_steps) return save(t, r, err, errlen);   /* a finished run, resumed */
    while (t->step < t->total_steps) {
        sr_step_stats st;
        if (sr_trainer_step(t, &st, err, errlen) < 0) return -1;
        seen_tokens += st.tokens;
        seen_seconds += st.seconds;
        const double tps = st.seconds > 0 ? st.tokens / st.seconds : 0;
        if (r->log) {
            fprintf(r->log, "{\"step\":%ld,\"loss\":%.6f,\"lr\":%.6g,\"grad_norm\":%.6f,"
                    "\"tokens\":%ld,\"target_tokens\":%ld,\"tokens_per_s\":%.1f,\"seconds\":%.3f",
                    st.step, st.loss, st.lr, st.grad_norm, st.tokens, st.targets, tps, st.seconds);
            for (int k = 0; k < t->loss.n_metrics; k++)
                fprintf(r->log, ",\"%s\":%.6f", t->loss.metric_names[k], st.metrics[k]);
            fprintf(r->log, "}\n");
            if (fflush(r->log) != 0) {
                snprintf(err, errlen, "writing the log: %s", strerror(errno));
                return -1;
            }
        }
        if (r->progress) {
            fprintf(stderr, "%sstep %ld/%ld  loss %.4f  lr %.3g  |g| %.3f  %.0f tok/s",
                    tty ? "\r" : "", st.step, t->total_steps, st.loss, st.lr, st.grad_norm,
                    seen_seconds > 0 ? seen_tokens / seen_seconds : 0);
            for (int k = 0; k < t->loss.n_progress && k < t->loss.n_metrics; k++)
                fprintf(stderr, "  %s %.4f", t->loss.metric_names[k], st.metrics[k]);
            fputs(tty ? "  " : "\n", stderr);
            if (tty && st.step == t->total_steps) fputc('\n', stderr);
        }
        if (t->step == t->total_steps || (r->save_every > 0 && t->step % r->save_every == 0))
            if (save(t, r, err, errlen) < 0) return -1;
    }
    return 0;
}
