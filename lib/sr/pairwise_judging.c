/* pairwise_judging.c — both orders of a pairwise judgement on the ordered
 * driver, the forced verdict line as an engine follow-up (see
 * pairwise_judging.h). */
#include "sr/pairwise_judging.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "io/record.h"
#include "sr/ordered.h"

enum {
    FORCE_ROOM = 16,          /* tokens the forced verdict line may take */
    /* A request's tag: 0 / 1 the judgement of order 0 / 1; 2 + order its
     * forced verdict line. */
    TAG_FORCE = 2,
};

/* One record's two orders as they come back. */
typedef struct prec {
    uint64_t seed;            /* sr_record_seed(id, --seed) */
    sr_ids swapped;           /* the judge prompt of order 1 (order 0's is the driver's) */
    sr_verdict v[2];          /* by the record's naming */
    char *text[2];            /* the judgements (always kept until written: the forced line appends) */
    int pending;
} prec;

typedef struct pjudging {
    const sr_pairwise_opts *o;
    const sr_pairwise *pw;
    sr_llm *llm;
    sr_ordered ord;
    prec *recs;
    size_t cap;
    size_t *second;           /* records whose order 1 is still to ask, first come first served */
    size_t head, n_second;
    sr_ids suffix;            /* the tokens of the forced verdict line */
    uint64_t count[3], none, disagree, forced, forced_ok;
    uint64_t shown, first_won;   /* order verdicts naming a winner, and those naming the first shown */
} pjudging;

int sr_pairwise_cap(const sr_pairwise_opts *o, int max_tokens)
{
    return (int)o->max_prompt_tokens + 2 * max_tokens + FORCE_ROOM;
}

/* The judge prompt of one order, with the chat template: 0, or -1 after
 * sr_rec_bad. */
static int order_prompt(pjudging *r, const sr_rec *rec, const sr_str *p, const sr_str *first,
                        const sr_str *second, sr_ids *ids)
{
    char err[512];
    size_t n;
    char *text = sr_pairwise_render(r->pw, p->p, p->n, first->p, first->n, second->p, second->n, &n);
    if (!text) sr_die(SR_EXIT_FAIL, "out of memory");
    sr_chat_msg msg = { "user", text, n };
    int rc = sr_chat_render_ids(&r->llm->chat, &msg, 1, true, ids, err, sizeof err);
    free(text);
    if (rc < 0) {
        sr_rec_bad(rec, "response_a", "the judge prompt: %s", err);
        return -1;
    }
    if ((long)ids->n > r->o->max_prompt_tokens) {
        sr_rec_bad(rec, "response_a", "the judge prompt is %zu tokens with the chat template, more "
                   "than --max-prompt-tokens %ld", ids->n, r->o->max_prompt_tokens);
        sr_ids_free(ids);
        return -1;
    }
    return 0;
}

static int pw_take(void *ctx, const sr_rec *rec, size_t index, sr_ids *ids)
{
    pjudging *r = ctx;
    sr_str id, prompt, a, b;
    if (!sr_need_str(rec, "id", &id) || !sr_need_str(rec, "prompt", &prompt) ||
        !sr_need_str(rec, "response_a", &a) || !sr_need_str(rec, "response_b", &b)) return 0;
    if (!sr_shard_keep(id.p, id.n, r->o->shard_k, r->o->shard_n)) return 0;
    sr_ids swapped = { 0 };
    if (order_prompt(r, rec, &prompt, &a, &b, ids) < 0) return 0;
    if (order_prompt(r, rec, &prompt, &b, &a, &swapped) < 0) { sr_ids_free(ids); return 0; }
    if (index == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->recs = realloc(r->recs, r->cap * sizeof *r->recs);
        r->second = realloc(r->second, r->cap * sizeof *r->second);
        if (!r->recs || !r->second) sr_die(SR_EXIT_FAIL, "out of memory");
    }
    r->recs[index] = (prec){ .seed = sr_record_seed(id.p, id.n, r->o->seed), .swapped = swapped,
                             .v = { SR_VERDICT_NONE, SR_VERDICT_NONE }, .pending = 2 };
    return 1;
}

/* Order 0 first; order 1 of the same record is asked for next (pw_again),
 * so the two share the batch and the record is written early. */
static void pw_start(void *ctx, size_t i, sr_ordered_req *q)
{
    pjudging *r = ctx;
    *q = (sr_ordered_req){ i, 1, sr_pairwise_order_seed(r->recs[i].seed, 0), 0, NULL, 0 };
    r->second[r->n_second++] = i;
}

static int pw_again(void *ctx, sr_ordered_req *q)
{
    pjudging *r = ctx;
    if (r->head == r->n_second) return 0;
    prec *p = &r->recs[r->second[r->head++]];
    *q = (sr_ordered_req){ r->second[r->head - 1], 1, sr_pairwise_order_seed(p->seed, 1), 1,
                           p->swapped.v, (int)p->swapped.n };
    return 1;
}

/* A verdict by position, named as the record does. */
static sr_verdict named(int order, sr_verdict by_position)
{
    return order == 0 ? by_position : sr_verdict_swap(by_position);
}

static int pw_done(void *ctx, size_t i, int tag, const sr_gen_out *out)
{
    pjudging *r = ctx;
    prec *p = &r->recs[i];
    int order = tag % TAG_FORCE;
    size_t len;
    char *text = sr_ordered_text(&r->ord, r->llm->tok, i, out, tag < TAG_FORCE ? "a judgement" :
                                 "a verdict completion", &len);
    if (tag < TAG_FORCE) {
        p->text[order] = text;
        p->v[order] = named(order, sr_pairwise_parse(text, len));
        if (p->v[order] == SR_VERDICT_NONE) return 0;   /* pending until its forced line is back */
    } else {
        /* Only the forced line is read: the judgement had no verdict line. */
        const size_t nf = strlen(r->pw->force), old = strlen(p->text[order]);
        char *all = malloc(old + nf + len + 1);
        if (!all) sr_die(SR_EXIT_FAIL, "out of memory");
        memcpy(all, p->text[order], old);
        memcpy(all + old, r->pw->force, nf);
        memcpy(all + old + nf, text, len + 1);
        free(text);
        free(p->text[order]);
        p->text[order] = all;
        p->v[order] = named(order, sr_pairwise_parse(all + old, nf + len));
        r->forced_ok += p->v[order] != SR_VERDICT_NONE;
    }
    return --p->pending == 0;
}

/* A judgement back without a verdict is continued where it stopped with
 * the forced line; its seed is its own, so the completion is the same
 * whatever ran beside it. */
static int pw_follow(void *ctx, size_t i, int tag, const sr_gen_out *out, sr_gen_follow *f, int *ftag)
{
    (void)out;
    pjudging *r = ctx;
    prec *p = &r->recs[i];
    if (tag >= TAG_FORCE || p->v[tag] != SR_VERDICT_NONE) return 0;
    *f = (sr_gen_follow){ r->suffix.v, (int)r->suffix.n,
                          sr_judge_force_seed(sr_pairwise_order_seed(p->seed, tag), 0), NULL };
    *ftag = TAG_FORCE + tag;
    r->forced++;
    return 1;
}

/* Whether the decoded text of t[0..n) holds a verdict in complete lines
 * (prefix: the forced line, read before it; NULL for none). */
static int has_verdict(pjudging *r, const int32_t *t, int n, const char *prefix, bool whole_lines)
{
    char err[128];
    size_t len, np = prefix ? strlen(prefix) : 0;
    char *text = sr_tok_decode(r->llm->tok, t, (size_t)n, SR_DECODE_SKIP_CONTROL, &len, err, sizeof err);
    if (!text) return 0;                        /* judged at the end instead */
    if (whole_lines) while (len > 0 && text[len - 1] != '\n') len--;
    char *line = malloc(np + len + 1);
    int found = 0;
    if (line) {
        memcpy(line, prefix ? prefix : "", np);
        memcpy(line + np, text, len);
        found = sr_pairwise_parse(line, np + len) != SR_VERDICT_NONE;
    }
    free(line);
    free(text);
    return found;
}

/* A judgement ends once a line holding a verdict is complete (the judge is
 * asked for it last); a forced line as soon as it holds one. */
static int pw_stop(void *ctx, size_t i, int tag, const int32_t *t, int n)
{
    (void)i;
    pjudging *r = ctx;
    if (tag >= TAG_FORCE) return n >= r->pw->force_tokens || has_verdict(r, t, n, r->pw->force, false);
    size_t len;
    const char *piece = sr_tok_piece(r->llm->tok, t[n - 1], &len);
    if (!piece || !memchr(piece, '\n', len)) return 0;
    return has_verdict(r, t, n, NULL, true);
}

static msgpack_object verdict_obj(sr_verdict v)
{
    if (v == SR_VERDICT_NONE) return (msgpack_object){ .type = MSGPACK_OBJECT_NIL };
    const char *s = sr_verdict_name(v);
    return (msgpack_object){ .type = MSGPACK_OBJECT_STR, .via.str = { (uint32_t)strlen(s), s } };
}

static void count(pjudging *r, const prec *p, sr_verdict v, bool disagree)
{
    if (v == SR_VERDICT_NONE) r->none++;
    else r->count[v]++;
    r->disagree += disagree;
    for (int order = 0; order < 2; order++) {
        sr_verdict shown = named(order, p->v[order]);    /* back to positions */
        if (shown == SR_VERDICT_A || shown == SR_VERDICT_B) {
            r->shown++;
            r->first_won += shown == SR_VERDICT_A;
        }
    }
}

static void pw_write(void *ctx, size_t i, const sr_rec *rec, sr_writer *out)
{
    pjudging *r = ctx;
    prec *p = &r->recs[i];
    bool disagree;
    sr_verdict v = sr_verdict_combine(p->v[0], p->v[1], &disagree);
    count(r, p, v, disagree);
    sr_recb b;
    sr_recb_init(&b, rec);
    msgpack_object vo = verdict_obj(v), vs[2] = { verdict_obj(p->v[0]), verdict_obj(p->v[1]) };
    sr_recb_obj(&b, "verdict", &vo);
    msgpack_object arr = { .type = MSGPACK_OBJECT_ARRAY, .via.array = { 2, vs } };
    sr_recb_obj(&b, "verdicts", &arr);
    if (r->o->keep_text) {
        msgpack_object t[2];
        for (int k = 0; k < 2; k++)
            t[k] = (msgpack_object){ .type = MSGPACK_OBJECT_STR,
                                     .via.str = { (uint32_t)strlen(p->text[k]), p->text[k] } };
        msgpack_object ta = { .type = MSGPACK_OBJECT_ARRAY, .via.array = { 2, t } };
        sr_recb_obj(&b, "judgements", &ta);
    } else {
        sr_recb_remove(&b, "judgements");
    }
    sr_write(out, &b);
    sr_recb_free(&b);
    for (int k = 0; k < 2; k++) { free(p->text[k]); p->text[k] = NULL; }
    sr_ids_free(&p->swapped);
}

static void summary(const pjudging *r)
{
    uint64_t n = r->ord.n, both = n - r->none;
    sr_warn("%zu records: a %llu, b %llu, tie %llu (%llu of them orders that disagreed), no verdict %llu; "
            "%llu forced verdict lines, %llu of them with a verdict", r->ord.n,
            (unsigned long long)r->count[SR_VERDICT_A], (unsigned long long)r->count[SR_VERDICT_B],
            (unsigned long long)r->count[SR_VERDICT_TIE], (unsigned long long)r->disagree,
            (unsigned long long)r->none, (unsigned long long)r->forced, (unsigned long long)r->forced_ok);
    sr_warn("position disagreement %.1f%% of the records with both verdicts; the answer shown first won "
            "%.1f%% of the judgements naming a winner", both ? 100.0 * r->disagree / both : 0.0,
            r->shown ? 100.0 * r->first_won / r->shown : 0.0);
}

void sr_pairwise_run(sr_cli *cli, sr_llm *llm, const sr_pairwise *pw, const sr_pairwise_opts *o,
                     const sr_gen_opts *eo)
{
    pjudging r = { .o = o, .pw = pw, .llm = llm };
    char err[512];
    if (sr_tok_encode(llm->tok, pw->force, strlen(pw->force), &r.suffix, err, sizeof err) < 0)
        sr_die(SR_EXIT_FAIL, "encoding the forced verdict line: %s", err);
    if (r.suffix.n > FORCE_ROOM)
        sr_die(SR_EXIT_FAIL, "internal error: the forced verdict line is %zu tokens", r.suffix.n);
    const sr_ordered_stage stage = {
        .ctx = &r, .take = pw_take, .start = pw_start, .again = pw_again, .done = pw_done,
        .stop = pw_stop, .follow = pw_follow, .write = pw_write,
    };
    sr_ordered_read(&r.ord, cli, &stage);
    sr_ordered_run(&r.ord, &llm->model, eo, o->quiet, "records");
    if (!o->quiet) summary(&r);
    free(r.recs);
    free(r.second);
    sr_ids_free(&r.suffix);
    sr_ordered_free(&r.ord);
}
