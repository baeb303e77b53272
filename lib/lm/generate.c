/* generate.c — the continuous-batching engine (see generate.h). */
#include "lm/generate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

const char *sr_finish_name(int finish) { return finish == SR_FINISH_LENGTH ? "length" : "stop"; }

/* A request being started: its prompt is prefilled into the engine's one
 * prefix cache, whose copy each sample's slot starts from. Requests whose
 * samples have all started only live on in their slots' copies of req. */
typedef struct group {
    sr_gen_req req;          /* prompt points at prompt_buf */
    int32_t *prompt_buf;
    float *logits;           /* [vocab] after the prompt: every sample's first draw */
    int next_sample;
    int live;                /* slots still running this group's samples */
} group;

typedef struct slot {
    int active;
    group *g;
    const sr_gen_req *req;   /* &g->req, or &follow after a follow-up */
    sr_gen_req follow;       /* a follow-up's request: prompt = hist */
    int sample;
    sr_rng rng;
    sr_kv_cache cache;       /* hist[0 .. cache.len) is in it; the rest is fed next step */
    int32_t *hist;           /* [cap] prompt then reply, for the penalty and the stop test */
    int n_hist, n_prompt;
    float *logits, *p;       /* [vocab] the row being sampled, and sampler workspace */
    int *idx;                /* [vocab] */
    int32_t *top_ids;        /* with logprobs k: [max_tokens × k] per reply token */
    float *top_lp, *lp;      /* [max_tokens × k], [max_tokens] */
} slot;

typedef struct engine {
    sr_model *m;
    const sr_gen_opts *o;
    const sr_gen_io *io;
    sr_gen_stats st;
    slot *slots;
    sr_kv_cache prefix;
    group *cur;              /* the request whose samples are being started */
    int eof;
    char *err;
    size_t errlen;
} engine;

static void group_free(group *g)
{
    if (!g) return;
    free(g->prompt_buf);
    free(g->logits);
    free(g);
}

/* Take the next request and prefill it. 1: cur is ready; 0: no more; -1: error. */
static int start_group(engine *e)
{
    const int vocab = e->m->hp.vocab;
    sr_gen_req req;
    int rc = e->io->next(e->io->ctx, &req);
    if (rc < 0) { if (e->errlen) e->err[0] = 0; return -1; }
    if (rc == 0) { e->eof = 1; return 0; }
    if (req.prompt_len < 1 || req.prompt_len + e->o->max_tokens > e->o->cap || req.n < 0) {
        snprintf(e->err, e->errlen, "generate: a prompt of %d tokens with %d new ones does not fit "
                 "the %d positions of a slot", req.prompt_len, e->o->max_tokens, e->o->cap);
        return -1;
    }
    group *g = calloc(1, sizeof *g);
    if (g) g->prompt_buf = malloc(sizeof(int32_t) * (size_t)req.prompt_len);
    if (g) g->logits = malloc(sizeof(float) * (size_t)vocab);
    if (!g || !g->prompt_buf || !g->logits) {
        group_free(g);
        snprintf(e->err, e->errlen, "out of memory");
        return -1;
    }
    memcpy(g->prompt_buf, req.prompt, sizeof(int32_t) * (size_t)req.prompt_len);
    g->req = req;
    g->req.prompt = g->prompt_buf;
    /* The prefill runs alone, so its numbers depend on this prompt only. */
    sr_kv_cache *pc = &e->prefix;
    pc->len = 0;
    if (req.n > 0 && sr_model_forward_cached(e->m, &pc, g->prompt_buf, &req.prompt_len, 1,
                                             SR_FWD_LAST_LOGITS, e->err, e->errlen) < 0) {
        group_free(g);
        return -1;
    }
    const float *logits = sr_model_logits(e->m, 1);
    if (!logits) {
        group_free(g);
        snprintf(e->err, e->errlen, "out of memory");
        return -1;
    }
    memcpy(g->logits, logits, sizeof(float) * (size_t)vocab);
    e->cur = g;
    e->st.prompts++;
    return 1;
}

static void release(engine *e, slot *s)
{
    s->active = 0;
    if (--s->g->live == 0 && s->g != e->cur) group_free(s->g);
    s->g = NULL;
}

/* Turn finished slot s into a follow-up: f's tokens join its sequence (to
 * be fed with the next step), which becomes the prompt of a new sample 0. */
static int follow_up(engine *e, slot *s, const sr_gen_follow *f)
{
    if (f->n_tokens < 1 || s->n_hist + f->n_tokens + e->o->max_tokens > e->o->cap) {
        snprintf(e->err, e->errlen, "generate: a follow-up of %d tokens after %d with %d new ones "
                 "does not fit the %d positions of a slot", f->n_tokens, s->n_hist, e->o->max_tokens,
                 e->o->cap);
        return -1;
    }
    memcpy(s->hist + s->n_hist, f->tokens, sizeof(int32_t) * (size_t)f->n_tokens);
    s->n_hist += f->n_tokens;
    s->n_prompt = s->n_hist;
    s->follow = (sr_gen_req){ s->hist, s->n_hist, 1, f->seed, f->user };
    s->req = &s->follow;
    s->sample = 0;
    s->rng = sr_rng_for(f->seed, 0);
    e->st.follows++;
    return 0;
}

/* Sample the next token of slot s from s->logits; finish it when it ends,
 * freeing the slot unless the caller follows it up. Returns 0, or -1 when
 * a callback aborts or a follow-up does not fit. */
static int advance(engine *e, slot *s, int32_t tok)
{
    const sr_gen_opts *o = e->o;
    int n_gen = s->n_hist - s->n_prompt;
    int finish = -1;
    if (tok == o->eot && o->eot >= 0) {
        finish = SR_FINISH_STOP;
    } else {
        s->hist[s->n_hist++] = tok;
        n_gen++;
        e->st.tokens++;
        if (e->io->stop && e->io->stop(e->io->ctx, s->req, s->hist + s->n_prompt, n_gen))
            finish = SR_FINISH_STOP;
        else if (n_gen >= o->max_tokens)
            finish = SR_FINISH_LENGTH;
    }
    if (finish < 0) return 0;
    sr_gen_out out = { s->req, s->sample, s->hist + s->n_prompt, n_gen, finish,
                       s->top_ids, s->top_lp, s->lp };
    e->st.samples++;
    int rc = e->io->done(e->io->ctx, &out);
    if (rc >= 0 && e->io->follow) {
        sr_gen_follow f;
        rc = e->io->follow(e->io->ctx, &out, &f);
        if (rc == 1) {
            if (follow_up(e, s, &f) < 0) return -1;
            return 0;
        }
    }
    release(e, s);
    if (rc < 0 && e->errlen) e->err[0] = 0;
    return rc < 0 ? -1 : 0;
}

/* The next token of slot s from s->logits, a copy of raw: the sampler may
 * rewrite the copy (the penalty), the logprobs are raw's. */
static int32_t draw(const engine *e, slot *s, const float *raw)
{
    const int vocab = e->m->hp.vocab, k = e->o->logprobs;
    const size_t t = (size_t)(s->n_hist - s->n_prompt);
    double lse = k > 0 ? sr_sample_logprobs(raw, vocab, k, s->top_ids + t * (size_t)k,
                                            s->top_lp + t * (size_t)k) : 0;
    int32_t tok = sr_sample_next(&e->o->sample, s->logits, vocab, s->hist, (size_t)s->n_hist,
                                 &s->rng, s->p, s->idx);
    if (k > 0 && tok >= 0) s->lp[t] = (float)((double)raw[tok] - lse);
    return tok;
}

/* The sampler refused slot s's row (a NaN or infinite logit): the run
 * stops, naming the token, and the request goes back to the caller, who
 * knows which record it is. */
static int refuse_row(engine *e, const slot *s)
{
    snprintf(e->err, e->errlen, "non-finite logits at token %d of sample %d (the model's numbers "
             "are NaN or infinite)", s->n_hist - s->n_prompt + 1, s->sample);
    e->st.non_finite = 1;
    e->st.fail_user = s->req->user;
    return -1;
}

/* Put the next sample of the current request (starting requests as
 * needed) into free slot s and draw its first token. 1: started (it may
 * have finished at once); 0: no more requests; -1: error. */
static int fill(engine *e, slot *s)
{
    while (!e->cur || e->cur->next_sample >= e->cur->req.n) {
        if (e->cur && e->cur->live == 0) group_free(e->cur);
        e->cur = NULL;
        if (e->eof) return 0;
        int rc = start_group(e);
        if (rc <= 0) return rc;
    }
    group *g = e->cur;
    s->g = g;
    s->req = &g->req;
    s->sample = g->next_sample++;
    g->live++;
    s->active = 1;
    s->rng = sr_rng_for(g->req.seed, (uint64_t)s->sample);
    if (sr_kv_cache_copy(&s->cache, &e->prefix, g->req.prompt_len) < 0) {
        snprintf(e->err, e->errlen, "generate: the prompt does not fit a slot's cache");
        return -1;
    }
    memcpy(s->hist, g->req.prompt, sizeof(int32_t) * (size_t)g->req.prompt_len);
    s->n_hist = s->n_prompt = g->req.prompt_len;
    memcpy(s->logits, g->logits, sizeof(float) * (size_t)e->m->hp.vocab);
    int32_t tok = draw(e, s, g->logits);
    if (tok < 0) return refuse_row(e, s);
    return advance(e, s, tok) < 0 ? -1 : 1;
}

static int alloc_slots(engine *e)
{
    const int vocab = e->m->hp.vocab, kvd = e->m->hp.n_head_kv * e->m->hp.head_dim;
    const int S = e->o->slots, cap = e->o->cap, L = e->m->hp.n_layer;
    e->slots = calloc((size_t)S, sizeof *e->slots);
    if (!e->slots) goto oom;
    if (sr_kv_cache_init(&e->prefix, &e->m->ctx, L, kvd, cap, e->err, e->errlen) < 0) return -1;
    for (int i = 0; i < S; i++) {
        slot *s = &e->slots[i];
        if (sr_kv_cache_init(&s->cache, &e->m->ctx, L, kvd, cap, e->err, e->errlen) < 0) return -1;
        s->hist = malloc(sizeof(int32_t) * (size_t)cap);
        s->logits = malloc(sizeof(float) * (size_t)vocab);
        s->p = malloc(sizeof(float) * (size_t)vocab);
        s->idx = malloc(sizeof(int) * (size_t)vocab);
        if (!s->hist || !s->logits || !s->p || !s->idx) goto oom;
        if (e->o->logprobs > 0) {
            const size_t k = (size_t)e->o->logprobs, t = (size_t)e->o->max_tokens;
            s->top_ids = malloc(sizeof(int32_t) * t * k);
            s->top_lp = malloc(sizeof(float) * t * k);
            s->lp = malloc(sizeof(float) * t);
            if (!s->top_ids || !s->top_lp || !s->lp) goto oom;
        }
    }
    return 0;
oom:
    snprintf(e->err, e->errlen, "out of memory for %d generation slots", S);
    return -1;
}

static void free_engine(engine *e)
{
    for (int i = 0; e->slots && i < e->o->slots; i++) {
        slot *s = &e->slots[i];
        if (s->active) release(e, s);
        sr_kv_cache_free(&s->cache);
        free(s->hist); free(s->logits); free(s->p); free(s->idx);
        free(s->top_ids); free(s->top_lp); free(s->lp);
    }
    free(e->slots);
    if (e->cur && e->cur->live == 0) group_free(e->cur);
    sr_kv_cache_free(&e->prefix);
}

int sr_generate(sr_model *m, const sr_gen_opts *o, const sr_gen_io *io,
                sr_gen_stats *stats, char *err, size_t errlen)
{
    if (o->slots < 1 || o->max_tokens < 1 || o->cap < 2 || o->cap > m->act.max_seq ||
        (size_t)o->slots > (size_t)m->act.max_batch * m->act.max_seq) {
        snprintf(err, errlen, "generate: %d slots of %d positions (%d new tokens) do not fit the "
                 "model's set-up (%d × %d)", o->slots, o->cap, o->max_tokens, m->act.max_batch,
                 m->act.max_seq);
        return -1;
    }
    if (sr_sample_check(&o->sample, err, errlen) < 0) return -1;
    if (o->logprobs < 0 || o->logprobs > SR_GEN_MAX_LOGPROBS || o->logprobs > m->hp.vocab) {
        snprintf(err, errlen, "generate: logprobs %d: expected 0 to %d", o->logprobs,
                 SR_GEN_MAX_LOGPROBS);
        return -1;
    }
    engine e = { .m = m, .o = o, .io = io, .err = err, .errlen = errlen };
    int rc = alloc_slots(&e);
    const int S = o->slots, vocab = m->hp.vocab;
    sr_kv_cache **caches = malloc(sizeof *caches * (size_t)S);
    /* a step feeds each slot's tokens not yet in its cache: one while
     * decoding, more after a follow-up; at most cap a slot */
    int32_t *toks = malloc(sizeof *toks * (size_t)S * (size_t)o->cap);
    int *n_new = malloc(sizeof *n_new * (size_t)S), *which = malloc(sizeof *which * (size_t)S);
    int32_t *next = malloc(sizeof *next * (size_t)S);
    if (rc == 0 && (!caches || !toks || !n_new || !which || !next)) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    while (rc == 0) {
        /* Free slots take the next samples, in slot order. A sample can end
         * on its first token, leaving its slot free again. */
        for (int i = 0; i < S && rc == 0; i++)
            while (!e.slots[i].active) {
                int f = fill(&e, &e.slots[i]);
                if (f < 0) rc = -1;
                if (f <= 0) break;
            }
        if (rc) break;
        int n = 0;
        size_t n_tok = 0;
        for (int i = 0; i < S; i++)
            if (e.slots[i].active) {
                slot *s = &e.slots[i];
                caches[n] = &s->cache;
                n_new[n] = s->n_hist - s->cache.len;
                memcpy(toks + n_tok, s->hist + s->cache.len, sizeof *toks * (size_t)n_new[n]);
                n_tok += (size_t)n_new[n];
                which[n++] = i;
            }
        if (n == 0) break;      /* no requests left, nothing running */
        if (sr_model_forward_cached(m, caches, toks, n_new, n,
                                    SR_FWD_LAST_LOGITS | SR_FWD_BATCH_INVARIANT, err, errlen) < 0) {
            rc = -1;
            break;
        }
        e.st.steps++;
        const float *logits = sr_model_logits(m, n);
        if (!logits) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        /* Each slot samples from its own row with its own stream: parallel
         * and still deterministic. Finishing (callbacks) stays in order. */
        #pragma omp parallel for num_threads(m->ctx.threads) schedule(dynamic, 1)
        for (int j = 0; j < n; j++) {
            slot *s = &e.slots[which[j]];
            memcpy(s->logits, logits + (size_t)j * vocab, sizeof(float) * (size_t)vocab);
            next[j] = draw(&e, s, logits + (size_t)j * vocab);
        }
        for (int j = 0; j < n && rc == 0; j++)
            if (next[j] < 0 ? refuse_row(&e, &e.slots[which[j]]) < 0
                            : advance(&e, &e.slots[which[j]], next[j]) < 0) rc = -1;
    }
    free(caches); free(toks); free(n_new); free(which); free(next);
    free_engine(&e);
    if (stats) *stats = e.st;
    return rc;
}

char *sr_gen_text(const sr_tok *tok, const int32_t *tokens, int n, size_t *len,
                  char *err, size_t errlen)
{
    size_t m;
    char *raw = sr_tok_decode(tok, tokens, (size_t)n, SR_DECODE_SKIP_CONTROL, &m, err, errlen);
    if (!raw) return NULL;
    if (sr_utf8_valid(raw, m)) { *len = m; return raw; }
    char *out = malloc(3 * m + 1);       /* at worst every byte becomes U+FFFD */
    if (!out) { free(raw); snprintf(err, errlen, "out of memory"); return NULL; }
    size_t i = 0, o = 0;
    while (i < m) {
        size_t ok = sr_utf8_valid_prefix(raw + i, m - i);
        memcpy(out + o, raw + i, ok);
        o += ok;
        i += ok;
        if (i >= m) break;
        /* a lead byte whose sequence runs off the end: cut, not replaced */
        unsigned char c = (unsigned char)raw[i];
        size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        if (need > 1 && i + need > m && sr_utf8_valid_prefix(raw + i, m - i) == 0) {
            int cont = 1;
            for (size_t k = i + 1; k < m; k++) cont &= ((unsigned char)raw[k] & 0xc0) == 0x80;
            if (cont) break;
        }
        memcpy(out + o, "\xef\xbf\xbd", 3);
        o += 3;
        i++;
    }
    out[o] = 0;
    free(raw);
    *len = o;
    return out;
}
