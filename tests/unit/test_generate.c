/* test_generate.c — the KV-cache forward and the continuous-batching engine:
 * cached logits against a full forward, bit-identical logits whatever shares
 * a decoding step, the same samples for any slot count, forks, stops, and
 * the real model's greedy continuations against tests/golden/greedy.jsonl
 * (transformers fp32); and the ordered driver of sr-gen and sr-judge on
 * top of the engine (records out in input order, retries, follow-ups). */
#include "test.h"
#include "lm/generate.h"
#include "sr/ordered.h"

#include <unistd.h>

#include <jansson.h>
#include <stdint.h>

static char err[512];

static sr_hparams tiny_hp(void)
{
    return (sr_hparams){ .n_layer = 2, .dim = 32, .ffn_dim = 48, .n_head = 4, .n_head_kv = 2,
                         .head_dim = 8, .n_rot = 8, .vocab = 60, .n_ctx = 128, .norm_eps = 1e-5f,
                         .rope_theta = 10000.0f, .tied = 1 };
}

static int tiny(sr_model *m, int max_seq)
{
    sr_hparams hp = tiny_hp();
    sr_model_opts o = { .max_batch = 1, .max_seq = max_seq, .threads = 2 };
    int rc = sr_model_init_random(m, &hp, 7, &o, err, sizeof err);
    if (rc < 0) printf("#   %s\n", err);
    CHECK(rc == 0);
    return rc;
}

/* ---- the cached forward --------------------------------------------------- */

/* Prefill p tokens, then feed the rest one at a time: every row of logits
 * against the full forward's row at the same position. Returns the largest
 * difference relative to the largest |logit|. */
static double cached_vs_full(sr_model *m, const int32_t *toks, int T, int p, int flags)
{
    const int V = m->hp.vocab;
    if (sr_model_forward(m, toks, 1, T, NULL, err, sizeof err) < 0) { printf("#   %s\n", err); return 1e9; }
    float *full = malloc(sizeof(float) * (size_t)T * V);
    memcpy(full, m->act.logits, sizeof(float) * (size_t)T * V);
    double scale = 0, worst = 0;
    for (size_t i = 0; i < (size_t)T * V; i++) if (fabs(full[i]) > scale) scale = fabs(full[i]);
    sr_kv_cache c;
    CHECK(sr_kv_cache_init(&c, &m->ctx, m->hp.n_layer, m->hp.n_head_kv * m->hp.head_dim, T, err, sizeof err) == 0);
    sr_kv_cache *cp = &c;
    /* the prefill with every row's logits */
    CHECK(sr_model_forward_cached(m, &cp, toks, &p, 1, 0, err, sizeof err) == 0);
    for (int t = 0; t < p; t++)
        for (int v = 0; v < V; v++) {
            double d = fabs(m->act.logits[(size_t)t * V + v] - full[(size_t)t * V + v]);
            if (d > worst) worst = d;
        }
    for (int t = p; t < T; t++) {
        int one = 1;
        CHECK(sr_model_forward_cached(m, &cp, toks + t, &one, 1, SR_FWD_LAST_LOGITS | flags,
                                      err, sizeof err) == 0);
        for (int v = 0; v < V; v++) {
            double d = fabs(m->act.logits[v] - full[(size_t)t * V + v]);
            if (d > worst) worst = d;
        }
    }
    CHECK(c.len == T);
    sr_kv_cache_free(&c);
    free(full);
    return worst / scale;
}

TEST(cached_forward_matches_full_forward)
{
    sr_model m;
    if (tiny(&m, 40) < 0) return;
    int32_t toks[40];
    for (int i = 0; i < 40; i++) toks[i] = (i * 17 + 3) % m.hp.vocab;
    double r1 = cached_vs_full(&m, toks, 40, 11, 0);
    double r2 = cached_vs_full(&m, toks, 40, 1, SR_FWD_BATCH_INVARIANT);
    printf("#   tiny model: max |dlogit| / max |logit| %.2e (sgemm), %.2e (row kernel)\n", r1, r2);
    CHECK(r1 < 1e-5);
    CHECK(r2 < 1e-5);
    sr_model_free(&m);
}

TEST(cached_forward_rejects_bad_input)
{
    sr_model m;
    if (tiny(&m, 16) < 0) return;
    sr_kv_cache c, small;
    CHECK(sr_kv_cache_init(&c, &m.ctx, m.hp.n_layer, m.hp.n_head_kv * m.hp.head_dim, 16, err, sizeof err) == 0);
    CHECK(sr_kv_cache_init(&small, &m.ctx, 1, 4, 16, err, sizeof err) == 0);
    sr_kv_cache *cp = &c, *sp = &small;
    int32_t toks[20] = { 0 };
    int n = 17;
    CHECK(sr_model_forward_cached(&m, &cp, toks, &n, 1, 0, err, sizeof err) < 0);   /* past the cache */
    n = 0;
    CHECK(sr_model_forward_cached(&m, &cp, toks, &n, 1, 0, err, sizeof err) < 0);
    n = 2;
    toks[1] = m.hp.vocab;
    CHECK(sr_model_forward_cached(&m, &cp, toks, &n, 1, 0, err, sizeof err) < 0);   /* id out of range */
    CHECK(strstr(err, "vocabulary") != NULL);
    CHECK(c.len == 0);                                                              /* nothing changed */
    toks[1] = 1;
    CHECK(sr_model_forward_cached(&m, &sp, toks, &n, 1, 0, err, sizeof err) < 0);   /* wrong shape */
    CHECK(sr_kv_cache_copy(&c, &small, 1) < 0);
    sr_kv_cache_free(&c);
    sr_kv_cache_free(&small);
    sr_model_free(&m);
}

/* A decoding step's logits for a sequence are the same bits alone, among
 * others, and at any place in the batch. */
/* n_seq sequences share a prompt of plen tokens; then each feeds one new
 * token, except sequence long_seq (-1: none), which feeds 3 (an engine
 * follow-up). Each batch of the sequences from 0, 3, 6, ... to the end must
 * give every sequence's last logits the bits it gets alone. */
static int batch_invariant(sr_model *m, int n_seq, int plen, int long_seq)
{
    const int V = m->hp.vocab, kvd = m->hp.n_head_kv * m->hp.head_dim;
    const unsigned flags = SR_FWD_LAST_LOGITS | SR_FWD_BATCH_INVARIANT;
    sr_kv_cache *c = calloc((size_t)n_seq, sizeof *c), **ps = calloc((size_t)n_seq, sizeof *ps);
    int32_t *prompt = malloc(sizeof(int32_t) * (size_t)plen), *toks = malloc(sizeof(int32_t) * (size_t)(n_seq + 2));
    int *n_new = malloc(sizeof(int) * (size_t)n_seq), *off = malloc(sizeof(int) * (size_t)n_seq);
    float *alone = malloc(sizeof(float) * (size_t)n_seq * V);
    for (int i = 0; i < plen; i++) prompt[i] = (i * 13 + 1) % V;
    for (int s = 0, n_tok = 0; s < n_seq; s++) {
        sr_kv_cache_init(&c[s], &m->ctx, m->hp.n_layer, kvd, plen + 3, err, sizeof err);
        ps[s] = &c[s];
        n_new[s] = s == long_seq ? 3 : 1;
        off[s] = n_tok;
        for (int t = 0; t < n_new[s]; t++) toks[n_tok++] = (s * 31 + t * 7 + 5) % V;
    }
    CHECK(sr_model_forward_cached(m, &ps[0], prompt, &plen, 1, 0, err, sizeof err) == 0);
    for (int s = 1; s < n_seq; s++) CHECK(sr_kv_cache_copy(&c[s], &c[0], plen) == 0);
    for (int s = 0; s < n_seq; s++) {
        CHECK(sr_model_forward_cached(m, &ps[s], toks + off[s], &n_new[s], 1, flags, err, sizeof err) == 0);
        memcpy(alone + (size_t)s * V, m->act.logits, sizeof(float) * V);
        c[s].len = plen;
    }
    int same = 1;
    for (int first = 0; first < n_seq; first += 3) {
        CHECK(sr_model_forward_cached(m, ps + first, toks + off[first], n_new + first, n_seq - first, flags,
                                      err, sizeof err) == 0);
        same &= memcmp(alone + (size_t)first * V, m->act.logits, sizeof(float) * (size_t)(n_seq - first) * V) == 0;
        for (int s = 0; s < n_seq; s++) c[s].len = plen;
    }
    for (int s = 0; s < n_seq; s++) sr_kv_cache_free(&c[s]);
    free(c); free(ps); free(prompt); free(toks); free(n_new); free(off); free(alone);
    return same;
}

TEST(decode_step_is_batch_invariant)
{
    sr_model m;
    if (tiny(&m, 32) < 0) return;
    CHECK(batch_invariant(&m, 13, 9, -1));
    sr_model_free(&m);
}

/* One sequence feeding several tokens takes the general attention; the
 * others must keep the decoding kernel (before 7435eb9 they did not). */
TEST(decode_step_with_a_longer_sequence_is_batch_invariant)
{
    sr_model m;
    if (tiny(&m, 32) < 0) return;
    CHECK(batch_invariant(&m, 8, 9, 4));
    sr_model_free(&m);
}

/* ---- the engine ------------------------------------------------------------- */

/* Requests: prompt i is a few tokens made from i; results recorded by
 * (request, sample) so runs can be compared whatever the finishing order. */
typedef struct run {
    int n_req, n, next_req, max_tokens;
    int32_t prompt[8];
    int32_t out[16][8][64];
    int len[16][8], finish[16][8], got;
    int stop_on;          /* a token that ends a sample through the stop callback, or -1 */
} run;

static int next_req(void *ctx, sr_gen_req *r)
{
    run *u = ctx;
    if (u->next_req >= u->n_req) return 0;
    int i = u->next_req++;
    int len = 2 + i % 5;
    for (int t = 0; t < len; t++) u->prompt[t] = (int32_t)((i * 7 + t * 3 + 1) % 50 + 3);
    char id[16];
    snprintf(id, sizeof id, "r%d", i);
    *r = (sr_gen_req){ u->prompt, len, u->n, sr_record_seed(id, strlen(id), 42), (void *)(intptr_t)i };
    return 1;
}

static int on_done(void *ctx, const sr_gen_out *o)
{
    run *u = ctx;
    int i = (int)(intptr_t)o->req->user;
    memcpy(u->out[i][o->sample], o->tokens, sizeof(int32_t) * (size_t)o->n_tokens);
    u->len[i][o->sample] = o->n_tokens;
    u->finish[i][o->sample] = o->finish;
    u->got++;
    return 0;
}

static int on_stop(void *ctx, const sr_gen_req *r, const int32_t *t, int n)
{
    (void)r;
    return t[n - 1] == ((run *)ctx)->stop_on;
}

static void gen(sr_model *m, run *u, int slots, float temp)
{
    memset(u->len, 0, sizeof u->len);
    u->next_req = 0;
    u->got = 0;
    sr_gen_io io = { .next = next_req, .done = on_done, .stop = u->stop_on >= 0 ? on_stop : NULL,
                     .ctx = u };
    sr_gen_opts o = { { temp, 0.9f, 0.0f, 1.0f, 0 }, u->max_tokens, slots, 32, 0, 0 };
    sr_gen_stats st;
    int rc = sr_generate(m, &o, &io, &st, err, sizeof err);
    if (rc < 0) printf("#   %s\n", err);
    CHECK(rc == 0);
    CHECK(u->got == u->n_req * u->n);
    CHECK(st.samples == (uint64_t)(u->n_req * u->n));
}

TEST(engine_output_does_not_depend_on_slots)
{
    sr_model m;
    if (tiny(&m, 32) < 0) return;
    static run a, b;
    a = (run){ .n_req = 9, .n = 3, .max_tokens = 20, .stop_on = -1 };
    gen(&m, &a, 1, 1.0f);
    const int slots[] = { 2, 5, 16 };
    for (int k = 0; k < 3; k++) {
        b = (run){ .n_req = 9, .n = 3, .max_tokens = 20, .stop_on = -1 };
        gen(&m, &b, slots[k], 1.0f);
        CHECK(memcmp(a.len, b.len, sizeof a.len) == 0);
        CHECK(memcmp(a.out, b.out, sizeof a.out) == 0);
        CHECK(memcmp(a.finish, b.finish, sizeof a.finish) == 0);
    }
    /* samples of one prompt differ from each other (T = 1 over 60 tokens) */
    CHECK(memcmp(a.out[0][0], a.out[0][1], sizeof a.out[0][0]) != 0);
    /* eot (id 0) ends a sample with "stop", else it runs to max_tokens: "length" */
    int stops = 0;
    for (int i = 0; i < 9; i++)
        for (int s = 0; s < 3; s++) {
            if (a.finish[i][s] == SR_FINISH_LENGTH) CHECK(a.len[i][s] == 20);
            else { CHECK(a.len[i][s] < 20); stops++; }
            for (int t = 0; t < a.len[i][s]; t++) CHECK(a.out[i][s][t] != 0);
        }
    printf("#   %d of 27 samples met the end-of-turn token\n", stops);
    sr_model_free(&m);
}

TEST(engine_greedy_forks_agree_and_stop_callback_ends_samples)
{
    sr_model m;
    if (tiny(&m, 32) < 0) return;
    static run a;
    a = (run){ .n_req = 4, .n = 4, .max_tokens = 12, .stop_on = -1 };
    gen(&m, &a, 3, 0.0f);
    for (int i = 0; i < 4; i++)
        for (int s = 1; s < 4; s++) {
            CHECK(a.len[i][s] == a.len[i][0]);
            CHECK(memcmp(a.out[i][s], a.out[i][0], sizeof(int32_t) * (size_t)a.len[i][0]) == 0);
        }
    /* stop on the token greedy decoding of request 0 produces third */
    if (a.len[0][0] >= 3) {
        int tok = a.out[0][0][2];
        static run b;
        b = (run){ .n_req = 4, .n = 2, .max_tokens = 12, .stop_on = tok };
        gen(&m, &b, 2, 0.0f);
        CHECK(b.finish[0][0] == SR_FINISH_STOP);
        CHECK(b.len[0][0] <= 3 && b.out[0][0][b.len[0][0] - 1] == tok);
    }
    sr_model_free(&m);
}

/* Follow-ups: every sample of every request is followed up with two fixed
 * tokens under a seed of its own. Their outputs must not depend on the slot
 * count, and must be what a fresh request gets for the whole sequence
 * (prompt, reply without its end-of-turn token, the two tokens) with the
 * same seed: the follow-up's KV cache is the sample's own, not a new
 * prefill, and its rows agree with one to far below what moves a draw. */
typedef struct follow_run {
    run base;                     /* the requests and the first samples */
    int32_t seq[16][8][80];       /* each sample's whole sequence and follow-up tokens */
    int seq_len[16][8];
    int32_t fout[16][8][64];      /* the follow-ups' outputs */
    int flen[16][8], fgot, n_tokens;
} follow_run;

static const int32_t FOLLOW_TOKS[] = { 5, 9, 11 };

static void *follow_user(int i, int s) { return (void *)(intptr_t)(1000 + i * 8 + s); }

static uint64_t follow_seed(int i, int s) { return 77u * (uint64_t)i + (uint64_t)s + 1; }

static int f_done(void *ctx, const sr_gen_out *o)
{
    follow_run *f = ctx;
    intptr_t u = (intptr_t)o->req->user;
    if (u < 1000) return on_done(&f->base, o);
    int i = (int)(u - 1000) / 8, s = (int)(u - 1000) % 8;
    CHECK(o->sample == 0 && o->req->n == 1 && o->req->seed == follow_seed(i, s));
    CHECK(o->req->prompt_len == f->seq_len[i][s]);
    CHECK(memcmp(o->req->prompt, f->seq[i][s], sizeof(int32_t) * (size_t)f->seq_len[i][s]) == 0);
    memcpy(f->fout[i][s], o->tokens, sizeof(int32_t) * (size_t)o->n_tokens);
    f->flen[i][s] = o->n_tokens;
    f->fgot++;
    return 0;
}

static int f_follow(void *ctx, const sr_gen_out *o, sr_gen_follow *fl)
{
    follow_run *f = ctx;
    intptr_t u = (intptr_t)o->req->user;
    if (u >= 1000) return 0;               /* a follow-up is not followed again */
    int i = (int)u, s = o->sample, n = 0;
    /* the sequence a fresh request would be given: prompt, reply, follow tokens */
    memcpy(f->seq[i][s], o->req->prompt, sizeof(int32_t) * (size_t)o->req->prompt_len);
    n += o->req->prompt_len;
    memcpy(f->seq[i][s] + n, o->tokens, sizeof(int32_t) * (size_t)o->n_tokens);
    n += o->n_tokens;
    memcpy(f->seq[i][s] + n, FOLLOW_TOKS, sizeof(int32_t) * (size_t)f->n_tokens);
    f->seq_len[i][s] = n + f->n_tokens;
    *fl = (sr_gen_follow){ FOLLOW_TOKS, f->n_tokens, follow_seed(i, s), follow_user(i, s) };
    return 1;
}

/* The fresh requests: request k = i * n + s is sequence (i, s). */
typedef struct fresh_run { follow_run *f; int next, n; int32_t out[16][8][64]; int len[16][8]; } fresh_run;

static int fresh_next(void *ctx, sr_gen_req *r)
{
    fresh_run *x = ctx;
    int n = x->f->base.n;
    if (x->next >= x->f->base.n_req * n) return 0;
    int k = x->next++, i = k / n, s = k % n;
    *r = (sr_gen_req){ x->f->seq[i][s], x->f->seq_len[i][s], 1, follow_seed(i, s), follow_user(i, s) };
    return 1;
}

static int fresh_done(void *ctx, const sr_gen_out *o)
{
    fresh_run *x = ctx;
    int k = (int)(intptr_t)o->req->user - 1000, i = k / 8, s = k % 8;
    memcpy(x->out[i][s], o->tokens, sizeof(int32_t) * (size_t)o->n_tokens);
    x->len[i][s] = o->n_tokens;
    return 0;
}

static void gen_follow(sr_model *m, follow_run *f, int slots)
{
    memset(f->base.len, 0, sizeof f->base.len);
    memset(f->flen, 0, sizeof f->flen);
    f->base.next_req = f->base.got = f->fgot = 0;
    sr_gen_io io = { .next = next_req, .done = f_done, .follow = f_follow, .ctx = f };
    sr_gen_opts o = { { 1.0f, 0.9f, 0.0f, 1.0f, 0 }, f->base.max_tokens, slots, 32, 0, 0 };
    sr_gen_stats st;
    int rc = sr_generate(m, &o, &io, &st, err, sizeof err);
    if (rc < 0) printf("#   %s\n", err);
    CHECK(rc == 0);
    const int all = f->base.n_req * f->base.n;
    CHECK(f->base.got == all && f->fgot == all);
    CHECK(st.follows == (uint64_t)all && st.samples == (uint64_t)(2 * all) &&
          st.prompts == (uint64_t)f->base.n_req);
}

TEST(engine_follow_ups_continue_in_place)
{
    sr_model m;
    if (tiny(&m, 32) < 0) return;
    static follow_run a, b;
    a = (follow_run){ .base = { .n_req = 7, .n = 3, .max_tokens = 8, .stop_on = -1 }, .n_tokens = 3 };
    gen_follow(&m, &a, 1);
    const int slots[] = { 3, 8 };
    for (int k = 0; k < 2; k++) {
        b = (follow_run){ .base = { .n_req = 7, .n = 3, .max_tokens = 8, .stop_on = -1 }, .n_tokens = 3 };
        gen_follow(&m, &b, slots[k]);
        CHECK(memcmp(a.base.out, b.base.out, sizeof a.base.out) == 0);
        CHECK(memcmp(a.flen, b.flen, sizeof a.flen) == 0);
        CHECK(memcmp(a.fout, b.fout, sizeof a.fout) == 0);
    }
    /* against fresh requests for the same sequences and seeds */
    static fresh_run x;
    x = (fresh_run){ .f = &a };
    sr_gen_io io = { .next = fresh_next, .done = fresh_done, .ctx = &x };
    sr_gen_opts o = { { 1.0f, 0.9f, 0.0f, 1.0f, 0 }, 8, 4, 32, 0, 0 };
    CHECK(sr_generate(&m, &o, &io, NULL, err, sizeof err) == 0);
    int same = 0, eot_first = 0;
    for (int i = 0; i < 7; i++)
        for (int s = 0; s < 3; s++) {
            same += x.len[i][s] == a.flen[i][s] &&
                    memcmp(x.out[i][s], a.fout[i][s], sizeof(int32_t) * (size_t)a.flen[i][s]) == 0;
            eot_first += a.base.finish[i][s] == SR_FINISH_STOP;
        }
    CHECK(same == 21);
    printf("#   %d of 21 follow-ups equal fresh requests; %d followed a sample ended by end-of-turn\n",
           same, eot_first);

    /* a follow-up longer than the slot has room for is refused */
    b = (follow_run){ .base = { .n_req = 2, .n = 1, .max_tokens = 16, .stop_on = -1 }, .n_tokens = 3 };
    sr_gen_io bad = { .next = next_req, .done = f_done, .follow = f_follow, .ctx = &b };
    /* prompts of 2-3 tokens, replies of up to 16, then 3 more and room for
     * 16 new ones: over 32 once a reply has 11 tokens (most do, at T = 1) */
    sr_gen_opts ob = { { 1.0f, 0.9f, 0.0f, 1.0f, 0 }, 16, 2, 32, 0, 0 };
    CHECK(sr_generate(&m, &ob, &bad, NULL, err, sizeof err) < 0);
    CHECK(strstr(err, "follow-up") != NULL && strstr(err, "does not fit") != NULL);
    sr_model_free(&m);
}

TEST(engine_refuses_prompts_that_do_not_fit)
{
    sr_model m;
    if (tiny(&m, 32) < 0) return;
    static run a;
    a = (run){ .n_req = 2, .n = 1, .max_tokens = 30, .stop_on = -1 };  /* 2 + 30 fits 32, 3 + 30 not */
    sr_gen_io io = { .next = next_req, .done = on_done, .ctx = &a };
    sr_gen_opts o = { SR_SAMPLE_OPTS_DEFAULT, 30, 2, 32, 0, 0 };
    CHECK(sr_generate(&m, &o, &io, NULL, err, sizeof err) < 0);
    CHECK(strstr(err, "does not fit") != NULL);
    o.cap = 64;                                                        /* beyond max_seq */
    CHECK(sr_generate(&m, &o, &io, NULL, err, sizeof err) < 0);
    sr_model_free(&m);
}

/* ---- the real model ------------------------------------------------------ */

static json_t **read_jsonl(const char *path, int *n)
{
    FILE *f = fopen(path, "r");
    if (!f) { printf("#   %s is missing\n", path); return NULL; }
    json_t **v = NULL;
    char *line = NULL;
    size_t cap = 0;
    *n = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *j = json_loads(line, 0, NULL);
        if (!j) continue;
        v = realloc(v, sizeof *v * (size_t)(*n + 1));
        v[(*n)++] = j;
    }
    free(line);
    fclose(f);
    return v;
}

typedef struct golden {
    json_t **g;
    int n, next;
    int32_t *ids;
    int ok, tokens, matched;
    int32_t eot;
} golden;

static int golden_next(void *ctx, sr_gen_req *r)
{
    golden *u = ctx;
    if (u->next >= u->n || (SANITIZED && u->next >= 3)) return 0;
    json_t *p = json_object_get(u->g[u->next], "prompt_ids");
    int len = (int)json_array_size(p);
    free(u->ids);
    u->ids = malloc(sizeof(int32_t) * (size_t)len);
    for (int i = 0; i < len; i++) u->ids[i] = (int32_t)json_integer_value(json_array_get(p, i));
    *r = (sr_gen_req){ u->ids, len, 2, 1, (void *)(intptr_t)u->next };
    u->next++;
    return 1;
}

static int golden_done(void *ctx, const sr_gen_out *o)
{
    golden *u = ctx;
    json_t *rec = u->g[(intptr_t)o->req->user];
    json_t *cont = json_object_get(rec, "continuation");
    int want = (int)json_array_size(cont), got = o->n_tokens + (o->finish == SR_FINISH_STOP);
    int same = 0;
    while (same < o->n_tokens && same < want &&
           o->tokens[same] == json_integer_value(json_array_get(cont, same)))
        same++;
    if (o->finish == SR_FINISH_STOP && same == o->n_tokens && same < want &&
        json_integer_value(json_array_get(cont, same)) == u->eot)
        same++;
    if (o->sample == 0)
        printf("#   %-16s %d/%d golden tokens (%s)\n", json_string_value(json_object_get(rec, "name")),
               same, want, sr_finish_name(o->finish));
    if (same != want || got != want) u->ok = 0;
    if (o->sample == 0) { u->tokens += want; u->matched += same; }
    return 0;
}

TEST(real_model_greedy_matches_golden)
{
    const char *path = test_model_path();
    if (!path) return;
    sr_model m;
    sr_model_opts mo = { .max_batch = 1, .max_seq = 1024, .threads = 0 };
    if (sr_model_load(&m, path, &mo, err, sizeof err) < 0) { printf("#   %s\n", err); CHECK(0); return; }
    golden u = { .ok = 1, .eot = 2 };
    u.g = read_jsonl("tests/golden/greedy.jsonl", &u.n);
    CHECK(u.g && u.n == 11);
    /* 2 samples per prompt (forks), 4 slots: batched decoding steps */
    sr_gen_io io = { .next = golden_next, .done = golden_done, .ctx = &u };
    sr_gen_opts o = { { 0.0f, 1.0f, 0.0f, 1.0f, 0 }, 64, 4, 1024, 2, 0 };
    sr_gen_stats st;
    int rc = sr_generate(&m, &o, &io, &st, err, sizeof err);
    if (rc < 0) printf("#   %s\n", err);
    CHECK(rc == 0);
    printf("#   greedy through the KV-cache engine: %d/%d golden tokens, %llu steps%s\n", u.matched,
           u.tokens, (unsigned long long)st.steps, SANITIZED ? " [sanitizer build: 3 prompts]" : "");
    CHECK(u.ok);
    CHECK(u.tokens > 0 && u.matched == u.tokens);

    /* the decode path's logits against one full forward, on the real model */
    json_t *p = json_object_get(u.g[1], "prompt_ids"), *c = json_object_get(u.g[1], "continuation");
    int pl = (int)json_array_size(p), cl = (int)json_array_size(c);
    int32_t *seq = malloc(sizeof(int32_t) * (size_t)(pl + cl));
    for (int i = 0; i < pl; i++) seq[i] = (int32_t)json_integer_value(json_array_get(p, i));
    for (int i = 0; i < cl; i++) seq[pl + i] = (int32_t)json_integer_value(json_array_get(c, i));
    double rel = cached_vs_full(&m, seq, pl + cl, pl, SR_FWD_BATCH_INVARIANT);
    printf("#   real model, %d + %d tokens: max |dlogit| / max |logit| %.2e\n", pl, cl, rel);
    CHECK(rel < 1e-5);
    CHECK(batch_invariant(&m, SANITIZED ? 4 : 7, pl, 2));
    free(seq);
    free(u.ids);
    for (int i = 0; i < u.n; i++) json_decref(u.g[i]);
    free(u.g);
    sr_model_free(&m);
}

/* ---- the ordered driver (sr/ordered.h) ------------------------------------- */

/* A stage over records {id}: record i asks 1 + i % 3 samples; every fourth
 * asks one more sample through again() once its first are in, and every
 * sample of an odd record is followed up once. It writes {id, order, n}:
 * its index and the tokens it got, summed. */
typedef struct ostage {
    sr_ordered *ord;
    int want[64], got[64], tokens[64];
    bool retried[64];
    size_t queue[64], n_queue;
} ostage;

static int o_take(void *ctx, const sr_rec *rec, size_t index, sr_ids *ids)
{
    (void)ctx;
    if (rec->id.n && rec->id.p[0] == 'x') return 0;        /* left out, like another shard's */
    int32_t t[3] = { 1 + (int32_t)(index % 50), 2, 3 + (int32_t)(index % 7) };
    for (int i = 0; i < 3; i++) sr_ids_push(ids, t[i]);
    return 1;
}

static void o_start(void *ctx, size_t i, sr_ordered_req *q)
{
    ostage *st = ctx;
    st->want[i] = 1 + (int)(i % 3);
    *q = (sr_ordered_req){ .rec = i, .n = st->want[i], .seed = 100 + i, .tag = 0 };
}

static int o_again(void *ctx, sr_ordered_req *q)
{
    ostage *st = ctx;
    if (!st->n_queue) return 0;
    size_t i = st->queue[--st->n_queue];
    *q = (sr_ordered_req){ .rec = i, .n = 1, .seed = 900 + i, .tag = 2 };
    return 1;
}

static int o_done(void *ctx, size_t i, int tag, const sr_gen_out *out)
{
    ostage *st = ctx;
    st->tokens[i] += out->n_tokens + 1000 * tag;
    if (tag == 0 && i % 2 == 1) return 0;       /* its follow-up is still to come */
    if (++st->got[i] < st->want[i]) return 0;
    if (i % 4 == 0 && !st->retried[i]) {
        st->retried[i] = true;
        st->want[i]++;
        st->queue[st->n_queue++] = i;
        return 0;
    }
    return 1;
}

static int o_follow(void *ctx, size_t i, int tag, const sr_gen_out *out, sr_gen_follow *f, int *ftag)
{
    (void)ctx; (void)out;
    static const int32_t more[2] = { 5, 6 };
    if (tag != 0 || i % 2 == 0) return 0;
    *f = (sr_gen_follow){ more, 2, 7 + i, NULL };
    *ftag = 1;
    return 1;
}

static void o_write(void *ctx, size_t i, const sr_rec *rec, sr_writer *out)
{
    ostage *st = ctx;
    sr_recb b;
    sr_recb_init(&b, rec);
    sr_recb_i64(&b, "order", (int64_t)i);
    sr_recb_i64(&b, "n", st->tokens[i]);
    sr_write(out, &b);
    sr_recb_free(&b);
}

/* The driver over in: the output file's bytes (malloc'd) in *len. */
static char *ordered_run(sr_model *m, const char *in, const char *outp, int slots, size_t *len)
{
    static ostage st;
    st = (ostage){ 0 };
    sr_cli cli = { .name = "test_generate", .input = in, .output = outp, .max_record = 1 << 20 };
    sr_ordered ord;
    const sr_ordered_stage stage = { .ctx = &st, .take = o_take, .start = o_start, .again = o_again,
                                     .done = o_done, .follow = o_follow, .write = o_write };
    st.ord = &ord;
    sr_ordered_read(&ord, &cli, &stage);
    CHECK(ord.n == 20);
    sr_gen_opts o = { { 1.0f, 0.9f, 0.0f, 1.0f, 0 }, 6, slots, 32, 0, 0 };
    sr_ordered_run(&ord, m, &o, true, "records");
    CHECK(ord.next_out == ord.n);
    CHECK(ord.stats.follows > 0);
    sr_ordered_free(&ord);
    FILE *f = fopen(outp, "rb");
    char *buf = malloc(1 << 16);
    *len = f ? fread(buf, 1, 1 << 16, f) : 0;
    if (f) fclose(f);
    return buf;
}

TEST(ordered_driver_writes_in_input_order)
{
    sr_model m;
    if (tiny(&m, 32) < 0) return;
    char in[] = "/tmp/test_ordered_in_XXXXXX", outp[] = "/tmp/test_ordered_out_XXXXXX";
    int fd = mkstemp(in), fo = mkstemp(outp);
    CHECK(fd >= 0 && fo >= 0);
    close(fd);
    close(fo);
    sr_writer *w = sr_writer_open_path(in);
    for (int i = 0; i < 24; i++) {              /* 20 kept, 4 left out */
        char id[16];
        snprintf(id, sizeof id, "%s%d", i % 6 == 5 ? "x" : "r", i);
        sr_recb b;
        sr_recb_init(&b, NULL);
        sr_recb_cstr(&b, "id", id);
        sr_write(w, &b);
        sr_recb_free(&b);
    }
    sr_writer_close(w);
    size_t n1, n5;
    char *a = ordered_run(&m, in, outp, 1, &n1), *b = ordered_run(&m, in, outp, 5, &n5);
    CHECK(n1 > 0 && n1 == n5 && memcmp(a, b, n1) == 0);       /* the same for any slot count */
    /* in input order, the left-out ones missing, every key kept */
    sr_cli cli = { .name = "test_generate", .max_record = 1 << 20 };
    sr_reader *r = sr_reader_open_mem(&cli, a, n1);
    sr_rec rec;
    int64_t want = 0;
    while (sr_read(r, &rec)) {
        int64_t order, n;
        sr_str id;
        CHECK(sr_get_i64(&rec, "order", &order) == 1 && order == want);
        CHECK(sr_get_i64(&rec, "n", &n) == 1 && n > 0);
        CHECK(sr_get_str(&rec, "id", &id) == 1 && id.p[0] == 'r');
        if (order % 2 == 1) CHECK(n >= 1000);   /* its follow-ups came back with their tag */
        if (order % 4 == 0) CHECK(n >= 2000);   /* and its retry */
        want++;
    }
    sr_reader_close(r);
    CHECK(want == 20);
    free(a);
    free(b);
    unlink(in);
    unlink(outp);
    sr_model_free(&m);
}

/* ---- logprobs, and no end-of-turn token -------------------------------------- */

typedef struct lprun {
    int n_req, next_req, k;
    int32_t prompt[8];
    int32_t tok[6][2][16], top[6][2][16][4];
    float top_lp[6][2][16][4], lp[6][2][16];
    int len[6][2];
} lprun;

static int lp_next(void *ctx, sr_gen_req *r)
{
    lprun *u = ctx;
    if (u->next_req >= u->n_req) return 0;
    int i = u->next_req++;
    for (int t = 0; t < 3; t++) u->prompt[t] = (int32_t)((i * 5 + t * 11) % 50 + 1);
    *r = (sr_gen_req){ u->prompt, 3, 2, (uint64_t)(1000 + i), (void *)(intptr_t)i };
    return 1;
}

static int lp_done(void *ctx, const sr_gen_out *o)
{
    lprun *u = ctx;
    int i = (int)(intptr_t)o->req->user, s = o->sample, n = o->n_tokens, k = u->k;
    u->len[i][s] = n;
    memcpy(u->tok[i][s], o->tokens, sizeof(int32_t) * (size_t)n);
    for (int t = 0; t < n; t++) {
        memcpy(u->top[i][s][t], o->top_ids + t * k, sizeof(int32_t) * (size_t)k);
        memcpy(u->top_lp[i][s][t], o->top_logprobs + t * k, sizeof(float) * (size_t)k);
        u->lp[i][s][t] = o->logprobs[t];
    }
    return 0;
}

static void lp_gen(sr_model *m, lprun *u, int slots, float temp, float penalty, int32_t eot)
{
    *u = (lprun){ .n_req = 6, .k = 4 };
    sr_gen_io io = { .next = lp_next, .done = lp_done, .ctx = u };
    sr_gen_opts o = { { temp, 1.0f, 0.0f, penalty, 0 }, 16, slots, 32, eot, 4 };
    int rc = sr_generate(m, &o, &io, NULL, err, sizeof err);
    if (rc < 0) printf("#   %s\n", err);
    CHECK(rc == 0);
}

/* The top k and the chosen token's logprobs per reply token: the same for
 * any slot count; sorted, <= 0; greedy chooses the first; of the raw
 * logits, so a repetition penalty leaves the first step's alone. With eot
 * -1 every sample runs to max_tokens, whatever it draws. */
TEST(engine_logprobs_and_no_eot)
{
    sr_model m;
    if (tiny(&m, 32) < 0) return;
    static lprun a, b, g, p;
    lp_gen(&m, &a, 1, 1.0f, 1.0f, -1);
    lp_gen(&m, &b, 5, 1.0f, 1.0f, -1);
    CHECK(memcmp(&a, &b, sizeof a) == 0);
    for (int i = 0; i < 6; i++)
        for (int s = 0; s < 2; s++) {
            CHECK(a.len[i][s] == 16);
            for (int t = 0; t < 16; t++) {
                for (int j = 1; j < 4; j++) CHECK(a.top_lp[i][s][t][j] <= a.top_lp[i][s][t][j - 1]);
                CHECK(a.top_lp[i][s][t][0] <= 0 && a.lp[i][s][t] <= a.top_lp[i][s][t][0]);
            }
        }
    lp_gen(&m, &g, 3, 0.0f, 1.0f, -1);
    for (int i = 0; i < 6; i++)
        for (int t = 0; t < 16; t++)
            CHECK(g.tok[i][0][t] == g.top[i][0][t][0] && g.lp[i][0][t] == g.top_lp[i][0][t][0]);
    lp_gen(&m, &p, 3, 1.0f, 1.5f, -1);
    for (int i = 0; i < 6; i++)
        CHECK(memcmp(p.top_lp[i][0][0], a.top_lp[i][0][0], sizeof p.top_lp[i][0][0]) == 0);
    sr_model_free(&m);
}

int main(void)
{
    RUN(cached_forward_matches_full_forward);
    RUN(cached_forward_rejects_bad_input);
    RUN(decode_step_is_batch_invariant);
    RUN(decode_step_with_a_longer_sequence_is_batch_invariant);
    RUN(engine_output_does_not_depend_on_slots);
    RUN(engine_greedy_forks_agree_and_stop_callback_ends_samples);
    RUN(engine_follow_ups_continue_in_place);
    RUN(engine_refuses_prompts_that_do_not_fit);
    RUN(engine_logprobs_and_no_eot);
    RUN(real_model_greedy_matches_golden);
    RUN(ordered_driver_writes_in_input_order);
    return test_done();
}
