/* judging.c — the judging scheduler: k samples sharing one prefill, the
 * forced score line as an engine follow-up, seeded retries (see judging.h). */
#include "sr/judging.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "io/record.h"
#include "sr/judge_expected.h"
#include "sr/ordered.h"

enum {
    NO_SCORE = INT_MIN,       /* a judgement with no score (yet) */
    FORCE_ROOM = 16,          /* tokens the forced score line may take */
    TAG_JUDGE = 0,            /* a request's tag: the judgements of an attempt; */
                              /* 1 + s: the forced score line of judgement s */
};

/* One record's judgements as they come back. */
typedef struct jrec {
    uint64_t seed;            /* sr_record_seed(id, --seed) */
    int *score;               /* [k] in the rubric's range (0 <= min), or NO_SCORE */
    double *ev;               /* [k] expected: each scored judgement's expected score */
    char **text;              /* [k] the latest text of each judgement (--keep-text) */
    int *which;               /* [k] the judgement each sample of the attempt in flight fills */
    int attempt;              /* 0: the first k samples; a: the a-th retry */
    int pending;              /* samples (or forced lines) in flight not back yet */
} jrec;

typedef struct judging {
    const sr_judging_opts *o;
    const sr_rubric *rb;
    sr_llm *llm;
    sr_ordered ord;
    jrec *recs;
    size_t cap;
    /* Retries waiting to be made, first come first served (the records' indices). */
    size_t *retry;
    size_t retry_head, n_retry, retry_cap;
    sr_ids suffix;            /* the tokens of the forced score line */
    uint64_t unparsed, retried, nil_records, hist[11];   /* over the records written */
    uint64_t forced, forced_ok;                          /* forced lines, and those with a score */
    uint64_t ev_sampled;      /* expected: scores left at the sampled digit (no digit distribution) */
    double ev_sum, ev_abs;    /* expected: sum of the expected scores, of |expected - sampled| */
} judging;

int sr_judging_cap(const sr_judging_opts *o, int max_tokens)
{
    /* A forced line follows the judge prompt and a whole judgement, and the
     * engine wants room for max_tokens after it, though the stop test ends
     * it after the rubric's force_tokens. */
    int cap = (int)o->max_prompt_tokens + max_tokens;
    return o->no_force ? cap : cap + max_tokens + FORCE_ROOM;
}

/* A record to judge: its judge prompt, rendered with the chat template. */
static int judge_take(void *ctx, const sr_rec *rec, size_t index, sr_ids *ids)
{
    judging *r = ctx;
    const sr_judging_opts *o = r->o;
    sr_str id, prompt, response;
    char err[512];
    if (!sr_need_str(rec, "id", &id) || !sr_need_str(rec, "prompt", &prompt) ||
        !sr_need_str(rec, "response", &response)) return 0;
    if (!sr_shard_keep(id.p, id.n, o->shard_k, o->shard_n)) return 0;
    size_t n;
    char *text = sr_judge_render(&r->rb->tmpl, prompt.p, prompt.n, response.p, response.n, &n);
    if (!text) sr_die(SR_EXIT_FAIL, "out of memory");
    /* No system turn: the chat template's default one, as for any chat. */
    sr_chat_msg msg = { "user", text, n };
    int rc = sr_chat_render_ids(&r->llm->chat, &msg, 1, true, ids, err, sizeof err);
    free(text);
    if (rc < 0) {
        sr_rec_bad(rec, "response", "the judge prompt: %s", err);
        return 0;
    }
    if ((long)ids->n > o->max_prompt_tokens) {
        sr_rec_bad(rec, "response", "the judge prompt is %zu tokens with the chat template, more "
                   "than --max-prompt-tokens %ld", ids->n, o->max_prompt_tokens);
        sr_ids_free(ids);
        return 0;
    }
    if (index == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->recs = realloc(r->recs, r->cap * sizeof *r->recs);
        if (!r->recs) sr_die(SR_EXIT_FAIL, "out of memory");
    }
    jrec *j = &r->recs[index];
    *j = (jrec){ .seed = sr_record_seed(id.p, id.n, o->seed) };
    j->score = malloc((size_t)o->k * sizeof *j->score);
    j->ev = malloc((size_t)o->k * sizeof *j->ev);
    j->which = malloc((size_t)o->k * sizeof *j->which);
    j->text = o->keep_text ? calloc((size_t)o->k, sizeof *j->text) : NULL;
    if (!j->score || !j->ev || !j->which || (o->keep_text && !j->text)) sr_die(SR_EXIT_FAIL, "out of memory");
    for (long i = 0; i < o->k; i++) j->score[i] = NO_SCORE;
    return 1;
}

/* An attempt of record i: the first draws every judgement, a retry only
 * those still without a score, in order. */
static void attempt(judging *r, size_t i, bool retry, sr_ordered_req *q)
{
    jrec *j = &r->recs[i];
    int n = 0;
    for (int s = 0; s < r->o->k; s++)
        if (!retry || j->score[s] == NO_SCORE) j->which[n++] = s;
    j->pending = n;
    *q = (sr_ordered_req){ .rec = i, .n = n, .seed = retry ? sr_judge_retry_seed(j->seed, j->attempt) : j->seed,
                           .tag = TAG_JUDGE };
}

static void judge_start(void *ctx, size_t i, sr_ordered_req *q) { attempt(ctx, i, false, q); }

/* Retries first, so a record waiting on one is written as early as it can be. */
static int judge_again(void *ctx, sr_ordered_req *q)
{
    judging *r = ctx;
    if (r->retry_head == r->n_retry) return 0;
    size_t i = r->retry[r->retry_head++];
    if (r->retry_head == r->n_retry) r->retry_head = r->n_retry = 0;
    attempt(r, i, true, q);
    return 1;
}

static void retry_push(judging *r, size_t rec)
{
    if (r->n_retry == r->retry_cap) {
        r->retry_cap = r->retry_cap ? 2 * r->retry_cap : 64;
        r->retry = realloc(r->retry, r->retry_cap * sizeof *r->retry);
        if (!r->retry) sr_die(SR_EXIT_FAIL, "out of memory");
    }
    r->retry[r->n_retry++] = rec;
}

static char *decoded(judging *r, size_t i, const sr_gen_out *out, const char *what, size_t *len)
{
    return sr_ordered_text(&r->ord, r->llm->tok, i, out, what, len);
}

/* Judgement s's score from text[0..n), whose last prefix_len bytes before
 * out's tokens are not out's (the forced line): the sampled digit, and
 * with expected its expected value where it can be read. */
static void score_of(judging *r, jrec *j, int s, const char *text, size_t n, size_t prefix_len,
                     const sr_gen_out *out)
{
    int score;
    size_t at;
    if (!sr_judge_parse_score_at(text, n, r->rb->min, r->rb->max, &score, &at)) return;
    j->score[s] = score;
    j->ev[s] = score;
    if (!r->o->expected) return;
    double ev;
    if (sr_judge_expected(r->llm->tok, out, SR_GEN_MAX_LOGPROBS, prefix_len, at, r->rb->min, r->rb->max, &ev))
        j->ev[s] = ev;
    else
        r->ev_sampled++;
}

/* A forced line is back: its score, read from the line and what follows,
 * is the judgement's; the text becomes the judgement's with the score line
 * at its end. */
static void force_done(judging *r, size_t i, int s, const sr_gen_out *out)
{
    jrec *j = &r->recs[i];
    size_t len;
    char *tail = decoded(r, i, out, "a score completion", &len);
    const size_t nf = strlen(r->rb->force);
    size_t old = j->text ? strlen(j->text[s]) : 0;
    char *text = malloc(old + nf + len + 1);
    if (!text) sr_die(SR_EXIT_FAIL, "out of memory");
    if (old) memcpy(text, j->text[s], old);
    memcpy(text + old, r->rb->force, nf);
    memcpy(text + old + nf, tail, len + 1);
    free(tail);
    /* Only the forced line is read: the judgement had no score line. */
    score_of(r, j, s, text + old, nf + len, nf, out);
    if (j->score[s] != NO_SCORE) r->forced_ok++;
    if (j->text) { free(j->text[s]); j->text[s] = text; }
    else free(text);
}

/* Whether judgement s, just back without a score, is continued with the
 * forced line (once: a forced line is never followed). */
static bool to_force(const judging *r, const jrec *j, int s)
{
    return !r->o->no_force && j->score[s] == NO_SCORE;
}

static int judge_done(void *ctx, size_t i, int tag, const sr_gen_out *out)
{
    judging *r = ctx;
    jrec *j = &r->recs[i];
    if (tag != TAG_JUDGE) {
        force_done(r, i, tag - 1, out);
    } else {
        int s = j->which[out->sample];
        size_t len;
        char *text = decoded(r, i, out, "a judgement", &len);
        score_of(r, j, s, text, len, 0, out);
        if (j->text) { free(j->text[s]); j->text[s] = text; }
        else free(text);
        if (to_force(r, j, s)) return 0;     /* pending until judge_follow's line is back */
    }
    if (--j->pending > 0) return 0;
    /* Judgements still with no score (with forcing: even the forced line
     * gave none) are drawn again, the whole judgement, from a new stream. */
    int failed = 0;
    for (long k = 0; k < r->o->k; k++) failed += j->score[k] == NO_SCORE;
    if (failed > 0 && j->attempt < r->o->retries) {
        j->attempt++;
        r->retried += (uint64_t)failed;
        retry_push(r, i);
        return 0;
    }
    return 1;
}

/* Forcing: a judgement with no score is continued where it stopped, in its
 * slot, with the forced line; its seed is its own, so the completion is the
 * same whatever ran beside it. */
static int judge_follow(void *ctx, size_t i, int tag, const sr_gen_out *out, sr_gen_follow *f, int *ftag)
{
    judging *r = ctx;
    jrec *j = &r->recs[i];
    if (tag != TAG_JUDGE) return 0;
    int s = j->which[out->sample];
    if (!to_force(r, j, s)) return 0;
    /* a retry's forced line draws from its attempt's stream, not the first's */
    uint64_t seed = j->attempt ? sr_judge_retry_seed(j->seed, j->attempt) : j->seed;
    *f = (sr_gen_follow){ r->suffix.v, (int)r->suffix.n, sr_judge_force_seed(seed, s), NULL };
    *ftag = 1 + s;
    r->forced++;
    return 1;
}

/* Whether text[0..n) with the forced line before it holds a score. */
static int forced_has_score(const judging *r, const char *text, size_t n)
{
    const size_t nf = strlen(r->rb->force);
    char *line = malloc(nf + n + 1);
    int score, found = 0;
    if (line) {
        memcpy(line, r->rb->force, nf);
        memcpy(line + nf, text, n);
        found = sr_rubric_score(r->rb, line, nf + n, &score);
    }
    free(line);
    return found;
}

/* End a judgement once a line holding a score is complete: the rubric asks
 * for the score last, and what a small model writes after it is not read
 * (the parser would take a later score line, but that is rarer than
 * rambling, and each token costs a forward). A forced line ends as soon as
 * it holds a score. */
static int judge_stop(void *ctx, size_t i, int tag, const int32_t *t, int n)
{
    (void)i;
    judging *r = ctx;
    size_t len;
    char err[128];
    if (tag != TAG_JUDGE) {
        if (n >= r->rb->force_tokens) return 1;
        char *text = sr_tok_decode(r->llm->tok, t, (size_t)n, SR_DECODE_SKIP_CONTROL, &len, err, sizeof err);
        if (!text) return 0;
        int found = forced_has_score(r, text, len);
        free(text);
        return found;
    }
    const char *piece = sr_tok_piece(r->llm->tok, t[n - 1], &len);
    if (!piece || !memchr(piece, '\n', len)) return 0;
    char *text = sr_tok_decode(r->llm->tok, t, (size_t)n, SR_DECODE_SKIP_CONTROL, &len, err, sizeof err);
    if (!text) return 0;                        /* judged at the end instead */
    while (len > 0 && text[len - 1] != '\n') len--;   /* complete lines only */
    int score, found = sr_rubric_score(r->rb, text, len, &score);
    free(text);
    return found;
}

static void judge_write(void *ctx, size_t i, const sr_rec *rec, sr_writer *out)
{
    judging *r = ctx;
    jrec *j = &r->recs[i];
    const long k = r->o->k;
    msgpack_object scores[64], texts[64];        /* -k is at most 64 */
    double sum = 0;
    int n = 0;
    for (long s = 0; s < k; s++) {
        int v = j->score[s];
        if (v != NO_SCORE && r->o->expected) {
            scores[s] = (msgpack_object){ .type = MSGPACK_OBJECT_FLOAT64, .via.f64 = j->ev[s] };
            sum += j->ev[s];
            n++;
            r->hist[v - r->rb->min]++;
            r->ev_sum += j->ev[s];
            r->ev_abs += fabs(j->ev[s] - v);
        } else if (v != NO_SCORE) {
            scores[s] = (msgpack_object){ .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = (uint64_t)v };
            sum += v;
            n++;
            r->hist[v - r->rb->min]++;
        } else {
            scores[s] = (msgpack_object){ .type = MSGPACK_OBJECT_NIL };
            r->unparsed++;
        }
        if (j->text)
            texts[s] = (msgpack_object){ .type = MSGPACK_OBJECT_STR,
                                         .via.str = { (uint32_t)strlen(j->text[s]), j->text[s] } };
    }
    sr_recb b;
    sr_recb_init(&b, rec);
    if (n > 0) sr_recb_f64(&b, "score", sum / n);
    else { sr_recb_nil(&b, "score"); r->nil_records++; }
    msgpack_object arr = { .type = MSGPACK_OBJECT_ARRAY, .via.array = { (uint32_t)k, scores } };
    sr_recb_obj(&b, "scores", &arr);
    if (j->text) {
        msgpack_object ta = { .type = MSGPACK_OBJECT_ARRAY, .via.array = { (uint32_t)k, texts } };
        sr_recb_obj(&b, "judgements", &ta);
    } else {
        sr_recb_remove(&b, "judgements");    /* an earlier judge's texts would not match these scores */
    }
    sr_write(out, &b);
    sr_recb_free(&b);
    for (long s = 0; j->text && s < k; s++) { free(j->text[s]); j->text[s] = NULL; }
}

static void summary(const judging *r)
{
    const sr_gen_stats *st = &r->ord.stats;
    double el = sr_progress_elapsed(&r->ord.prog);
    uint64_t total = r->ord.n * (uint64_t)r->o->k;
    if (r->o->no_force)
        sr_warn("%zu records, %llu judgements: %llu with a score, %llu without one after %llu resamples "
                "(--retries %ld), left out of the means; %llu records with a nil score",
                r->ord.n, (unsigned long long)total, (unsigned long long)(total - r->unparsed),
                (unsigned long long)r->unparsed, (unsigned long long)r->retried, r->o->retries,
                (unsigned long long)r->nil_records);
    else
        sr_warn("%zu records, %llu judgements: %llu with a score, %llu without one, left out of the means; "
                "%llu forced score lines, %llu of them with a score; %llu records with a nil score; "
                "%llu resamples where the forced line gave none (--retries %ld)",
                r->ord.n, (unsigned long long)total, (unsigned long long)(total - r->unparsed),
                (unsigned long long)r->unparsed, (unsigned long long)r->forced,
                (unsigned long long)r->forced_ok, (unsigned long long)r->nil_records,
                (unsigned long long)r->retried, r->o->retries);
    char hist[512];
    size_t h = 0;
    for (int v = r->rb->min; v <= r->rb->max && h < sizeof hist; v++)
        h += (size_t)snprintf(hist + h, sizeof hist - h, "%s%d: %llu", v > r->rb->min ? ", " : "", v,
                              (unsigned long long)r->hist[v - r->rb->min]);
    sr_warn("%s: %s", r->o->expected ? "sampled digits" : "scores", hist);
    const uint64_t scored = total - r->unparsed;
    if (r->o->expected && scored)
        sr_warn("expected scores: mean %.3f, mean |expected - sampled| %.3f; %llu left at the sampled digit "
                "(no digit distribution at its token)", r->ev_sum / (double)scored, r->ev_abs / (double)scored,
                (unsigned long long)r->ev_sampled);
    sr_warn("%llu samples, %llu tokens in %.1f s (%.1f tokens/s)", (unsigned long long)st->samples,
            (unsigned long long)st->tokens, el, el > 0 ? st->tokens / el : 0.0);
}

void sr_judging_run(sr_cli *cli, sr_llm *llm, const sr_rubric *rb, const sr_judging_opts *o,
                    const sr_gen_opts *eo)
{
    judging r = { .o = o, .rb = rb, .llm = llm };
    char err[512];
    if (!o->no_force) {
        if (sr_tok_encode(llm->tok, rb->force, strlen(rb->force), &r.suffix, err, sizeof err) < 0)
            sr_die(SR_EXIT_FAIL, "encoding the forced score line: %s", err);
        if (r.suffix.n > FORCE_ROOM)
            sr_die(SR_EXIT_FAIL, "internal error: the forced score line is %zu tokens", r.suffix.n);
    }
    const sr_ordered_stage stage = {
        .ctx = &r, .take = judge_take, .start = judge_start, .again = judge_again, .done = judge_done,
        .stop = judge_stop, .follow = o->no_force ? NULL : judge_follow, .write = judge_write,
    };
    sr_ordered_read(&r.ord, cli, &stage);
    sr_ordered_run(&r.ord, &llm->model, eo, o->quiet, "records");
    if (!o->quiet) summary(&r);
    for (size_t i = 0; i < r.ord.n; i++) {
        free(r.recs[i].score); free(r.recs[i].ev); free(r.recs[i].which); free(r.recs[i].text);
    }
    free(r.recs);
    free(r.retry);
    sr_ids_free(&r.suffix);
    sr_ordered_free(&r.ord);
}
