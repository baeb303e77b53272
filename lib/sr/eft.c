/* eft.c — EFT examples from judged ranked replies, and their balancing over
 * the judge's scale (the rules are in eft.h). */
#include "sr/eft.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "sr/agreement.h"

/* ---- balancing ------------------------------------------------------------------ */

typedef struct keyed { uint64_t key; size_t pos; } keyed;

static int by_key(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

int sr_eft_balance_keep(const int *bucket, const uint64_t *key, size_t n, int nbuckets, bool *keep,
                        sr_eft_balance *st)
{
    memset(st, 0, sizeof *st);
    for (size_t i = 0; i < n; i++) st->before[bucket[i]]++;
    size_t total = 0, nonempty = 0;
    for (int b = 0; b < nbuckets; b++) {
        total += st->before[b];
        nonempty += st->before[b] > 0;
    }
    st->target = nonempty ? (2 * total + nonempty) / (2 * nonempty) : 0;   /* round(total / nonempty) */

    keyed *k = malloc((n ? n : 1) * sizeof *k);
    if (!k) return -1;
    for (int b = 0; b < nbuckets; b++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (bucket[i] == b) k[m++] = (keyed){ key[i], i };
        if (m > st->target) qsort(k, m, sizeof *k, by_key);
        for (size_t j = 0; j < m; j++) keep[k[j].pos] = j < st->target || m <= st->target;
        st->after[b] = m > st->target ? st->target : m;
    }
    free(k);
    return 0;
}

/* ---- checking a judged ranked reply ---------------------------------------------- */

static bool is_number(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
           o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64;
}

/* human_rank, and scores[] and judgements[] of one length. */
static bool check_ranked(const sr_rec *r)
{
    int64_t rank;
    const msgpack_object_array *sc, *ju;
    if (!sr_need_i64(r, "human_rank", &rank)) return false;
    int rs = sr_get_array(r, "scores", &sc), rj = sr_get_array(r, "judgements", &ju);
    if (rs == 0 || rj == 0) {
        sr_rec_bad(r, rs == 0 ? "scores" : "judgements",
                   "missing (expected an array; judge with sr-judge --keep-text)");
        return false;
    }
    if (rs != 1 || rj != 1) {
        const char *key = rs != 1 ? "scores" : "judgements";
        sr_rec_bad(r, key, "expected an array, got %s", sr_type_name(sr_rec_get(r, key)));
        return false;
    }
    if (sc->size != ju->size) {
        sr_rec_bad(r, "judgements", "%u judgements but %u scores", ju->size, sc->size);
        return false;
    }
    for (uint32_t i = 0; i < sc->size; i++) {
        const msgpack_object *o = &sc->ptr[i];
        if (!is_number(o) && o->type != MSGPACK_OBJECT_NIL) {
            sr_rec_bad(r, "scores", "element %u: expected a number or nil, got %s", i, sr_type_name(o));
            return false;
        }
        if (ju->ptr[i].type != MSGPACK_OBJECT_STR) {
            sr_rec_bad(r, "judgements", "element %u: expected a string, got %s", i, sr_type_name(&ju->ptr[i]));
            return false;
        }
    }
    return true;
}

bool sr_eft_check(const sr_rec *r, sr_str *prompt_id) { return sr_judged_check(r, prompt_id) && check_ranked(r); }

/* ---- the pass -------------------------------------------------------------------- */

/* One element of scores[]: a whole point of the scale (*score), none (nil:
 * the judge wrote no parsable score), or off the scale. */
enum judgement { J_SCORE, J_NONE, J_OFF_SCALE };

static enum judgement judgement_score(const msgpack_object *v, int min, int max, int *score)
{
    double d;
    switch (v->type) {
    case MSGPACK_OBJECT_NIL: return J_NONE;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: d = (double)v->via.u64; break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: d = (double)v->via.i64; break;
    default: d = v->via.f64; break;
    }
    if (!(d >= min && d <= max && d == floor(d))) return J_OFF_SCALE;
    *score = (int)d;
    return J_SCORE;
}

typedef struct eft_item {
    const sr_rec *reply;
    uint32_t j;              /* which judgement */
    int score;
    char id[17];
} eft_item;

/* One judgement of an agreeing prompt while its conflicts are resolved. */
typedef struct judged {
    size_t reply;            /* index into the prompt's scored replies */
    uint32_t j;
    int score;
    bool alive;
    char id[17];
} judged;

/* What the pass keeps between prompts: the examples so far, and room for
 * one prompt's scored replies and their judgements. */
typedef struct pass {
    int min, max;
    size_t per_reply;        /* 0: no cap */
    eft_item *items;
    size_t nitems, icap;
    int64_t *rank;
    double *score;
    const sr_rec **recs;
    size_t cap;
    judged *js;
    size_t njs, jcap;
} pass;

static void add_item(pass *p, const sr_rec *reply, uint32_t j, int score)
{
    if (p->nitems == p->icap) {
        p->icap = p->icap ? 2 * p->icap : 256;
        p->items = realloc(p->items, p->icap * sizeof *p->items);
        if (!p->items) sr_die(SR_EXIT_FAIL, "out of memory");
    }
    eft_item *it = &p->items[p->nitems++];
    *it = (eft_item){ reply, j, score, "" };
    sr_eft_example_id(reply->id.p, reply->id.n, j, it->id);
}

/* Whether judgements a and b of two replies disagree with the human order:
 * of different ranks, and the better not scored strictly higher. */
static bool conflict(const pass *p, const judged *a, const judged *b)
{
    int64_t ra = p->rank[a->reply], rb = p->rank[b->reply];
    if (a->reply == b->reply || ra == rb) return false;
    return ra < rb ? a->score <= b->score : b->score <= a->score;
}

/* Which of two judgements with as many conflicts goes first: the one
 * farther from its reply's mean (the odd one out of its k), then the larger
 * example id, so the choice never depends on input order. */
static bool worse(const pass *p, const judged *a, const judged *b)
{
    double da = fabs(a->score - p->score[a->reply]), db = fabs(b->score - p->score[b->reply]);
    if (da != db) return da > db;
    return strcmp(a->id, b->id) > 0;
}

/* Drop, one at a time, the judgement with the most conflicts with the
 * others still kept, until every kept judgement agrees with the human order
 * against every other reply's kept ones. Returns how many were dropped. */
static uint64_t resolve_conflicts(pass *p)
{
    uint64_t dropped = 0;
    for (;;) {
        size_t most = 0, at = p->njs;
        for (size_t a = 0; a < p->njs; a++) {
            if (!p->js[a].alive) continue;
            size_t c = 0;
            for (size_t b = 0; b < p->njs; b++) c += p->js[b].alive && conflict(p, &p->js[a], &p->js[b]);
            if (c > most || (c == most && c > 0 && worse(p, &p->js[a], &p->js[at]))) { most = c; at = a; }
        }
        if (most == 0) return dropped;
        p->js[at].alive = false;
        dropped++;
    }
}

/* An agreeing prompt's m scored replies: their judgements on the scale, less
 * those that disagree with the humans on their own, at most per_reply of
 * each reply (the first ones), become examples. */
static void take_agreeing(pass *p, size_t m, sr_eft_stats *st)
{
    p->njs = 0;
    for (size_t i = 0; i < m; i++) {
        const msgpack_object_array *sc;
        sr_get_array(p->recs[i], "scores", &sc);
        for (uint32_t j = 0; j < sc->size; j++) {
            int s;
            if (judgement_score(&sc->ptr[j], p->min, p->max, &s) != J_SCORE) continue;
            if (p->njs == p->jcap) {
                p->jcap = p->jcap ? 2 * p->jcap : 64;
                p->js = realloc(p->js, p->jcap * sizeof *p->js);
                if (!p->js) sr_die(SR_EXIT_FAIL, "out of memory");
            }
            judged *x = &p->js[p->njs++];
            *x = (judged){ i, j, s, true, "" };
            sr_eft_example_id(p->recs[i]->id.p, p->recs[i]->id.n, j, x->id);
        }
    }
    st->on_scale += p->njs;
    st->conflicting += resolve_conflicts(p);
    size_t reply = SIZE_MAX, taken = 0;       /* the judgements come reply by reply */
    for (size_t a = 0; a < p->njs; a++) {
        if (!p->js[a].alive) continue;
        if (p->js[a].reply != reply) { reply = p->js[a].reply; taken = 0; }
        if (p->per_reply && taken >= p->per_reply) { st->over_cap++; continue; }
        taken++;
        add_item(p, p->recs[p->js[a].reply], p->js[a].j, p->js[a].score);
    }
}

/* One prompt's replies: count their judgements, check the judge agrees with
 * the human ranks, and, if it does, take its judgements (take_agreeing). */
static void add_prompt(pass *p, sr_rec *const *all, size_t n, sr_eft_stats *st)
{
    st->replies += n;
    if (n > p->cap) {
        p->cap = n;
        p->rank = realloc(p->rank, p->cap * sizeof *p->rank);
        p->score = realloc(p->score, p->cap * sizeof *p->score);
        p->recs = realloc(p->recs, p->cap * sizeof *p->recs);
        if (!p->rank || !p->score || !p->recs) sr_die(SR_EXIT_FAIL, "out of memory");
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const msgpack_object_array *sc;
        sr_get_array(all[i], "scores", &sc);
        st->judgements += sc->size;
        for (uint32_t j = 0; j < sc->size; j++) {
            int s;
            enum judgement k = judgement_score(&sc->ptr[j], p->min, p->max, &s);
            st->unparsed += k == J_NONE;
            st->off_scale += k == J_OFF_SCALE;
        }
        if (!sr_judged_score(all[i], &p->score[m])) { st->nil++; continue; }
        sr_get_i64(all[i], "human_rank", &p->rank[m]);
        p->recs[m++] = all[i];
    }
    size_t agree, pairs = sr_agree_pairs(p->rank, p->score, m, &agree, NULL);
    if (pairs == 0) { st->unchecked++; return; }
    if (agree != pairs) { st->disagreeing++; return; }
    st->agreeing++;
    take_agreeing(p, m, st);
}

/* The reply's keys an example does not keep. system: the judge prompt is
 * one user turn, with no system turn. */
static const char *const reply_keys[] = {
    "human_rank", "scores", "judgements", "sample", "finish", "tokens", "system", NULL,
};

static void write_example(sr_writer *out, const eft_item *it, const sr_judge_tmpl *t)
{
    const sr_rec *r = it->reply;
    sr_str prompt = { "", 0 }, response = { "", 0 };
    sr_get_str(r, "prompt", &prompt);
    sr_get_str(r, "response", &response);
    const msgpack_object_array *ju;
    sr_get_array(r, "judgements", &ju);
    const msgpack_object *text = &ju->ptr[it->j];
    size_t len;
    char *jp = sr_judge_render(t, prompt.p, prompt.n, response.p, response.n, &len);
    if (!jp) sr_die(SR_EXIT_FAIL, "out of memory");

    sr_recb b;
    sr_recb_init(&b, r);
    for (const char *const *k = reply_keys; *k; k++) sr_recb_remove(&b, *k);
    sr_recb_cstr(&b, "id", it->id);
    sr_recb_str(&b, "prompt", jp, len);
    sr_recb_str(&b, "response", text->via.str.ptr, text->via.str.size);
    sr_recb_i64(&b, "score", it->score);
    sr_recb_cstr(&b, "source", "eft");
    sr_recb_str(&b, "reply_id", r->id.p, r->id.n);
    sr_write(out, &b);
    sr_recb_free(&b);
    free(jp);
}

/* Balance the examples over the scale's points, and write those kept. */
static void balance_and_write(const pass *p, sr_writer *out, const sr_judge_tmpl *t, sr_eft_stats *st)
{
    size_t n = p->nitems, room = n ? n : 1;
    int *bucket = calloc(room, sizeof *bucket);
    uint64_t *key = calloc(room, sizeof *key);
    bool *keep = malloc(room * sizeof *keep);
    if (!bucket || !key || !keep) sr_die(SR_EXIT_FAIL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        bucket[i] = p->items[i].score - p->min;
        key[i] = sr_eft_balance_key(p->items[i].id, st->seed);
    }
    if (sr_eft_balance_keep(bucket, key, n, p->max - p->min + 1, keep, &st->balance))
        sr_die(SR_EXIT_FAIL, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (keep[i]) {
            write_example(out, &p->items[i], t);
            st->written++;
        }
    free(bucket);
    free(key);
    free(keep);
}

void sr_eft_write(const sr_groups *g, sr_writer *out, const sr_judge_tmpl *t, uint64_t seed, int score_min,
                  int score_max, size_t per_reply, sr_eft_stats *st)
{
    sr_scale_need(score_min, score_max);
    memset(st, 0, sizeof *st);
    st->score_min = score_min;
    st->score_max = score_max;
    st->seed = seed;
    st->per_reply = per_reply;
    st->prompts = sr_groups_count(g);
    pass p = { .min = score_min, .max = score_max, .per_reply = per_reply };
    for (size_t gi = 0; gi < st->prompts; gi++) {
        size_t n;
        sr_rec *const *all = sr_groups_get(g, gi, &n);
        add_prompt(&p, all, n, st);
    }
    st->candidates = p.nitems;
    balance_and_write(&p, out, t, st);
    free(p.items);
    free(p.rank);
    free(p.score);
    free(p.recs);
    free(p.js);
}

void sr_eft_report(const sr_eft_stats *st)
{
    sr_warn("--eft: %llu replies (%llu nil scores), %zu prompts: agreeing %llu, disagreeing %llu, "
            "unchecked %llu (no two scored replies with different ranks)",
            (unsigned long long)st->replies, (unsigned long long)st->nil, st->prompts,
            (unsigned long long)st->agreeing, (unsigned long long)st->disagreeing,
            (unsigned long long)st->unchecked);
    sr_warn("--eft: %llu judgements: unparsed %llu, off the %d..%d scale %llu; %zu from agreeing prompts",
            (unsigned long long)st->judgements, (unsigned long long)st->unparsed, st->score_min, st->score_max,
            (unsigned long long)st->off_scale, (size_t)st->on_scale);
    char cap[32] = "no cap";
    if (st->per_reply) snprintf(cap, sizeof cap, "%zu", st->per_reply);
    sr_warn("--eft: of those, %llu disagree with the human order on their own (dropped), %llu over the "
            "examples per reply (%s); %zu to balance", (unsigned long long)st->conflicting,
            (unsigned long long)st->over_cap, cap, st->candidates);
    int nb = st->score_max - st->score_min + 1;
    char line[4096];
    sr_score_line(line, sizeof line, "--eft: per score before balancing:", st->score_min, st->balance.before, nb, NULL);
    sr_warn("%s", line);
    sr_score_line(line, sizeof line, "--eft: per score after balancing: ", st->score_min, st->balance.after, nb, NULL);
    sr_warn("%s", line);
    sr_warn("--eft: %llu examples (buckets over %zu cut to it, seed %llu)", (unsigned long long)st->written,
            st->balance.target, (unsigned long long)st->seed);
}
