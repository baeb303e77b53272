/* metapass.c — the meta-judge's battles and judge-pair passes (metapass.h). */
#include "sr/metapass.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "base/utf8.h"
#include "io/groupby.h"
#include "sr/verdict.h"

#define MAX_JUDGEMENTS 64     /* sr-judge -k is at most 64 */
#define NO_SCORE (-1)

/* ---- battles ------------------------------------------------------------------ */

/* A judged record's k scores (whole points, NO_SCORE for nil) and texts:
 * k, or 0 after sr_rec_bad. */
static int judged(const sr_rec *rec, int *score, sr_str *text)
{
    const msgpack_object_array *s, *t;
    if (sr_get_array(rec, "scores", &s) != 1) {
        sr_rec_bad(rec, "scores", "missing or not an array (judge with sr-judge)");
        return 0;
    }
    if (sr_get_array(rec, "judgements", &t) != 1) {
        sr_rec_bad(rec, "judgements", "missing or not an array (judge with sr-judge --keep-text)");
        return 0;
    }
    if (s->size != t->size || s->size > MAX_JUDGEMENTS) {
        sr_rec_bad(rec, "judgements", "%u texts for %u scores (at most %d)", t->size, s->size, MAX_JUDGEMENTS);
        return 0;
    }
    for (uint32_t i = 0; i < s->size; i++) {
        const msgpack_object *v = &s->ptr[i];
        if (v->type == MSGPACK_OBJECT_NIL) score[i] = NO_SCORE;
        else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 < SR_META_BUCKETS) score[i] = (int)v->via.u64;
        else {
            sr_rec_bad(rec, "scores", "element %u: expected a whole score or nil, got %s", i, sr_type_name(v));
            return 0;
        }
        if (t->ptr[i].type != MSGPACK_OBJECT_STR) {
            sr_rec_bad(rec, "judgements", "element %u: expected a string, got %s", i, sr_type_name(&t->ptr[i]));
            return 0;
        }
        text[i] = (sr_str){ t->ptr[i].via.str.ptr, t->ptr[i].via.str.size };
    }
    return (int)s->size;
}

static void write_battle(sr_writer *out, sr_str id, const char *jp, size_t jn, const int *score,
                         const sr_str *text, int a, int b)
{
    char ja[17], jb[17], bid[17];
    sr_eft_example_id(id.p, id.n, (uint32_t)a, ja);
    sr_eft_example_id(id.p, id.n, (uint32_t)b, jb);
    sr_pair_id(id.p, id.n, ja, 16, jb, 16, bid);
    sr_recb r;
    sr_recb_init(&r, NULL);
    sr_recb_cstr(&r, "id", bid);
    sr_recb_str(&r, "reply_id", id.p, id.n);
    sr_recb_str(&r, "prompt", jp, jn);
    sr_recb_str(&r, "response_a", text[a].p, text[a].n);
    sr_recb_str(&r, "response_b", text[b].p, text[b].n);
    sr_recb_i64(&r, "judgement_a", a);
    sr_recb_i64(&r, "judgement_b", b);
    sr_recb_i64(&r, "score_a", score[a]);
    sr_recb_i64(&r, "score_b", score[b]);
    sr_write(out, &r);
    sr_recb_free(&r);
}

void sr_meta_battles(sr_cli *cli, sr_writer *out, const sr_rubric *rb, sr_meta_battle_stats *st)
{
    *st = (sr_meta_battle_stats){ 0 };
    sr_reader *in = sr_reader_open(cli);
    sr_rec rec;
    int score[MAX_JUDGEMENTS];
    sr_str text[MAX_JUDGEMENTS];
    while (sr_read(in, &rec)) {
        sr_str id, prompt, response;
        if (!sr_need_str(&rec, "id", &id) || !sr_need_str(&rec, "prompt", &prompt) ||
            !sr_need_str(&rec, "response", &response)) continue;
        int k = judged(&rec, score, text);
        if (k == 0) continue;
        st->records++;
        size_t jn;
        char *jp = sr_judge_render(&rb->tmpl, prompt.p, prompt.n, response.p, response.n, &jn);
        if (!jp) sr_die(SR_EXIT_FAIL, "out of memory");
        uint64_t before = st->battles;
        for (int a = 0; a < k; a++)
            for (int b = a + 1; b < k; b++)
                if (score[a] != NO_SCORE && score[b] != NO_SCORE && score[a] != score[b]) {
                    write_battle(out, id, jp, jn, score, text, a, b);
                    st->battles++;
                }
        st->no_battle += st->battles == before;
        free(jp);
    }
    sr_reader_close(in);
}

/* ---- pairs -------------------------------------------------------------------- */

/* What the battles of one reply say about its judgements. */
typedef struct reply {
    sr_str text[MAX_JUDGEMENTS];
    int score[MAX_JUDGEMENTS];
    bool seen[MAX_JUDGEMENTS];
    sr_battle battle[MAX_JUDGEMENTS * (MAX_JUDGEMENTS - 1) / 2 * 2];
    size_t n_battles;
} reply;

/* A battle record: checked, and grouped by reply_id. */
static bool battle_check(const sr_rec *rec, sr_str *reply_id)
{
    sr_str s;
    int64_t v;
    static const char *const idx[] = { "judgement_a", "judgement_b" }, *const sc[] = { "score_a", "score_b" };
    if (!sr_need_str(rec, "reply_id", reply_id) || !sr_need_str(rec, "prompt", &s) ||
        !sr_need_str(rec, "response_a", &s) || !sr_need_str(rec, "response_b", &s)) return false;
    for (int k = 0; k < 2; k++) {
        if (!sr_need_i64(rec, idx[k], &v)) return false;
        if (v < 0 || v >= MAX_JUDGEMENTS) {
            sr_rec_bad(rec, idx[k], "%lld is not 0..%d", (long long)v, MAX_JUDGEMENTS - 1);
            return false;
        }
        if (!sr_need_i64(rec, sc[k], &v)) return false;
        if (v < 0 || v >= SR_META_BUCKETS) {
            sr_rec_bad(rec, sc[k], "%lld is not a whole score", (long long)v);
            return false;
        }
    }
    int64_t a, b;
    sr_get_i64(rec, "judgement_a", &a);
    sr_get_i64(rec, "judgement_b", &b);
    if (a == b) { sr_rec_bad(rec, "judgement_b", "is judgement_a: a battle is of two judgements"); return false; }
    const msgpack_object *vo = sr_rec_get(rec, "verdict");
    if (!vo) { sr_rec_bad(rec, "verdict", "missing (judge the battles with sr-judge --pairwise --meta)"); return false; }
    if (vo->type != MSGPACK_OBJECT_NIL &&
        (vo->type != MSGPACK_OBJECT_STR || sr_verdict_parse(vo->via.str.ptr, vo->via.str.size) == SR_VERDICT_NONE)) {
        sr_rec_bad(rec, "verdict", "expected \"a\", \"b\", \"tie\" or nil, got %s", sr_type_name(vo));
        return false;
    }
    return true;
}

/* Gather one reply's judgements and battles from its records. */
static void gather(sr_rec *const *recs, size_t n, reply *r, sr_meta_pair_stats *st)
{
    memset(r->seen, 0, sizeof r->seen);
    r->n_battles = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t a, b, sa, sb;
        sr_str ta, tb, v = { "", 0 };
        sr_get_i64(recs[i], "judgement_a", &a);
        sr_get_i64(recs[i], "judgement_b", &b);
        sr_get_i64(recs[i], "score_a", &sa);
        sr_get_i64(recs[i], "score_b", &sb);
        sr_get_str(recs[i], "response_a", &ta);
        sr_get_str(recs[i], "response_b", &tb);
        r->text[a] = ta; r->score[a] = (int)sa; r->seen[a] = true;
        r->text[b] = tb; r->score[b] = (int)sb; r->seen[b] = true;
        st->battles++;
        if (sr_get_str(recs[i], "verdict", &v) != 1) { st->nil++; continue; }
        /* more battles than a reply's judgements make: repeats, ignored */
        if (r->n_battles == sizeof r->battle / sizeof r->battle[0]) continue;
        sr_verdict w = sr_verdict_parse(v.p, v.n);
        r->battle[r->n_battles++] = (sr_battle){ (uint32_t)a, (uint32_t)b,
                                                 w == SR_VERDICT_A ? 1.0 : w == SR_VERDICT_B ? 0.0 : 0.5 };
    }
}

typedef struct cand {
    size_t group;
    int chosen, rejected;
    double rating_c, rating_r;
    char id[17];
} cand;

/* The best/worst pick of one reply: 1 with *c filled, 0 for none. */
static int pick(const reply *r, sr_str reply_id, const sr_meta_pair_opts *o, cand *c)
{
    double rating[MAX_JUDGEMENTS];
    sr_cand jc[MAX_JUDGEMENTS];
    int map[MAX_JUDGEMENTS], m = 0;
    if (r->n_battles == 0) return 0;
    if (sr_meta_ratings(r->battle, r->n_battles, MAX_JUDGEMENTS, rating) < 0) sr_die(SR_EXIT_FAIL, "out of memory");
    for (int i = 0; i < MAX_JUDGEMENTS; i++) {
        if (!r->seen[i]) continue;
        jc[m] = (sr_cand){ rating[i], sr_utf8_chars(r->text[i].p, r->text[i].n), i, reply_id, (size_t)m, 0 };
        map[m++] = i;
    }
    size_t ch, rj;
    if (sr_pairs_pick(jc, (size_t)m, &o->pick, &ch, &rj) != SR_PICK_OK) return 0;
    c->chosen = map[ch];
    c->rejected = map[rj];
    c->rating_c = rating[c->chosen];
    c->rating_r = rating[c->rejected];
    char ja[17], jb[17];
    sr_eft_example_id(reply_id.p, reply_id.n, (uint32_t)c->chosen, ja);
    sr_eft_example_id(reply_id.p, reply_id.n, (uint32_t)c->rejected, jb);
    sr_pair_id(reply_id.p, reply_id.n, ja, 16, jb, 16, c->id);
    return 1;
}

static void write_pair(sr_writer *out, sr_rec *first, sr_str reply_id, const reply *r, const cand *c)
{
    sr_str jp;
    sr_get_str(first, "prompt", &jp);
    sr_recb b;
    sr_recb_init(&b, NULL);
    sr_recb_cstr(&b, "id", c->id);
    sr_recb_str(&b, "reply_id", reply_id.p, reply_id.n);
    sr_recb_str(&b, "prompt", jp.p, jp.n);
    sr_recb_str(&b, "chosen", r->text[c->chosen].p, r->text[c->chosen].n);
    sr_recb_str(&b, "rejected", r->text[c->rejected].p, r->text[c->rejected].n);
    sr_recb_f64(&b, "chosen_score", c->rating_c);
    sr_recb_f64(&b, "rejected_score", c->rating_r);
    sr_recb_i64(&b, "chosen_judge_score", r->score[c->chosen]);
    sr_recb_i64(&b, "rejected_judge_score", r->score[c->rejected]);
    sr_recb_cstr(&b, "kind", "judge");
    sr_write(out, &b);
    sr_recb_free(&b);
}

/* Pick every reply's pair, apply the caps, write the kept in reply order. */
void sr_meta_pairs(sr_cli *cli, sr_writer *out, const sr_meta_pair_opts *o, sr_meta_pair_stats *st)
{
    *st = (sr_meta_pair_stats){ 0 };
    sr_groups *g = sr_groups_new();
    sr_reader *in = sr_reader_open(cli);
    sr_rec rec;
    sr_str reply_id;
    while (sr_read(in, &rec))
        if (battle_check(&rec, &reply_id)) sr_groups_add(g, &rec, reply_id);
    sr_reader_close(in);
    size_t ng = sr_groups_count(g);
    reply *r = malloc(sizeof *r);
    cand *c = malloc((ng ? ng : 1) * sizeof *c);
    sr_meta_cand *mc = malloc((ng ? ng : 1) * sizeof *mc);
    unsigned char *keep = malloc(ng ? ng : 1);
    if (!r || !c || !mc || !keep) sr_die(SR_EXIT_FAIL, "out of memory");
    size_t nc = 0;
    for (size_t gi = 0; gi < ng; gi++) {
        size_t n;
        sr_rec *const *recs = sr_groups_get(g, gi, &n);
        gather(recs, n, r, st);
        st->replies++;
        if (!pick(r, sr_groups_key(g, gi), o, &c[nc])) { st->no_pair++; continue; }
        c[nc].group = gi;
        mc[nc] = (sr_meta_cand){ r->score[c[nc].chosen], sr_meta_cut_key(c[nc].id, o->seed) };
        nc++;
    }
    st->candidates = nc;
    st->kept = sr_meta_cap(mc, nc, o->actor_pairs, &o->caps, keep);
    for (size_t k = 0; k < nc; k++) {
        if (!keep[k]) continue;
        size_t n;
        sr_rec *const *recs = sr_groups_get(g, c[k].group, &n);
        gather(recs, n, r, &(sr_meta_pair_stats){ 0 });
        write_pair(out, recs[0], sr_groups_key(g, c[k].group), r, &c[k]);
        st->bucket[mc[k].bucket]++;
    }
    free(r);
    free(c);
    free(mc);
    free(keep);
    sr_groups_free(g);
}

void sr_meta_battles_report(const sr_meta_battle_stats *st)
{
    sr_warn("%llu judged replies: %llu battles of judgements with different scores; %llu replies with none "
            "(fewer than two scored judgements, or one score for all)", (unsigned long long)st->records,
            (unsigned long long)st->battles, (unsigned long long)st->no_battle);
}

void sr_meta_pairs_report(const sr_meta_pair_stats *st, const sr_meta_pair_opts *o)
{
    char line[512];
    size_t n = 0;
    for (int b = 0; b < SR_META_BUCKETS && n < sizeof line; b++)
        if (st->bucket[b])
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%d: %llu", n ? ", " : "", b,
                                  (unsigned long long)st->bucket[b]);
    sr_warn("%llu battles of %llu replies (%llu with a nil verdict, left out); %llu replies gave a judge pair "
            "(%llu none: their judgements rated alike), %llu kept by the caps (at most %.0f%% of the DPO data "
            "beside %llu actor pairs, %.0f%% per chosen score)", (unsigned long long)st->battles,
            (unsigned long long)st->replies, (unsigned long long)st->nil, (unsigned long long)st->candidates,
            (unsigned long long)st->no_pair, (unsigned long long)st->kept, 100 * o->caps.share,
            (unsigned long long)o->actor_pairs, 100 * o->caps.bucket_share);
    sr_warn("judge pairs by the chosen judgement's score: %s", n ? line : "none");
}
