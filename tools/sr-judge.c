/* sr-judge — the model judges responses with the additive 5-point rubric
 * (METHOD steps 3 and "The judge prompt"); with --eval, no model: how well
 * judged scores agree with the human ranking of OASST replies. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr/agreement.h"
#include "io/cli.h"
#include "lm/generate.h"
#include "io/groupby.h"
#include "io/heldrec.h"
#include "base/ids.h"
#include "io/json.h"
#include "sr/judge.h"
#include "sr/lm_cli.h"
#include "io/outfile.h"
#include "io/progress.h"
#include "io/record.h"
#include "base/utf8.h"

typedef struct opts {
    bool eval;
    const char *eval_json;
    /* judging */
    sr_llm_opts llm;
    const char *template_path;
    long k, retries, max_tokens, max_prompt_tokens, top_k, batch, seed;
    double temperature, top_p, min_p;
    const char *shard;
    bool keep_text, quiet, no_force;
} opts;

/* ---- --eval ---------------------------------------------------------------------- */

typedef struct eval_counts { uint64_t records, nil; } eval_counts;

/* Every judged ranked record, grouped by prompt; a nil score is counted and
 * the record left out. The response is optional here (only the length
 * measure needs it). */
static sr_groups *eval_read(sr_cli *cli, eval_counts *ec)
{
    sr_groups *g = sr_groups_new();
    sr_reader *in = sr_reader_open(cli);
    sr_rec rec;
    while (sr_read(in, &rec)) {
        sr_str pid;
        int64_t rank;
        double score;
        if (!sr_need_str(&rec, "prompt_id", &pid) || !sr_need_i64(&rec, "human_rank", &rank)) continue;
        const msgpack_object *v = sr_rec_get(&rec, "score");
        if (!v) {
            sr_rec_bad(&rec, "score", "missing (expected a number or nil)");
            continue;
        }
        if (v->type != MSGPACK_OBJECT_NIL && (sr_get_f64(&rec, "score", &score) != 1 || !isfinite(score))) {
            sr_rec_bad(&rec, "score", "expected a finite number or nil, got %s", sr_type_name(v));
            continue;
        }
        sr_str resp;
        if (sr_get_str(&rec, "response", &resp) < 0) {
            sr_rec_bad(&rec, "response", "expected a string, got %s", sr_type_name(sr_rec_get(&rec, "response")));
            continue;
        }
        ec->records++;
        if (v->type == MSGPACK_OBJECT_NIL) { ec->nil++; continue; }
        sr_groups_add(g, &rec, pid);
    }
    sr_reader_close(in);
    return g;
}

static void pct(char *buf, size_t n, double v)
{
    if (isnan(v)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.1f%%", 100 * v);
}

static void coef(char *buf, size_t n, double v)
{
    if (isnan(v)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.3f", v);
}

static void json_num(sr_jbuf *j, const char *key, double v, bool more)
{
    sr_jbuf_put(j, "\"", 1);
    sr_jbuf_put(j, key, strlen(key));
    sr_jbuf_put(j, "\":", 2);
    if (isnan(v)) sr_jbuf_put(j, "null", 4);
    else sr_json_double(j, v);
    if (more) sr_jbuf_putc(j, ',');
}

static void json_int(sr_jbuf *j, const char *key, uint64_t v, bool more)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, "\"%s\":%llu%s", key, (unsigned long long)v, more ? "," : "");
    sr_jbuf_put(j, buf, (size_t)n);
}

static void write_text(sr_outfile *f, const char *s) { sr_outfile_write(f, s, strlen(s)); }

static int run_eval(sr_cli *cli, const opts *o)
{
    eval_counts ec = { 0, 0 };
    sr_groups *g = eval_read(cli, &ec);
    sr_agree a = { 0 };
    int64_t *rank = NULL;
    double *score = NULL, *length = NULL;
    size_t cap = 0;
    for (size_t gi = 0; gi < sr_groups_count(g); gi++) {
        size_t n;
        sr_rec *const *recs = sr_groups_get(g, gi, &n);
        if (n > cap) {
            cap = n;
            rank = realloc(rank, cap * sizeof *rank);
            score = realloc(score, cap * sizeof *score);
            length = realloc(length, cap * sizeof *length);
            if (!rank || !score || !length) sr_die(SR_EXIT_FAIL, "out of memory");
        }
        bool lengths = true;     /* every reply of the prompt has its response */
        for (size_t i = 0; i < n; i++) {
            sr_str resp;
            sr_get_i64(recs[i], "human_rank", &rank[i]);
            sr_get_f64(recs[i], "score", &score[i]);
            if (sr_get_str(recs[i], "response", &resp) == 1) length[i] = (double)sr_utf8_chars(resp.p, resp.n);
            else lengths = false;
        }
        sr_agree_add(&a, rank, score, lengths ? length : NULL, n);
    }
    free(rank);
    free(score);
    free(length);
    sr_groups_free(g);
    sr_agree_report r;
    sr_agree_summarise(&a, &r);

    char p1[32], p2[32], p3[32], p4[32], p5[32], p6[32], c1[32], c2[32], text[2048];
    pct(p1, sizeof p1, r.pairwise);
    pct(p2, sizeof p2, r.tie_share);
    pct(p3, sizeof p3, r.five_best);
    pct(p4, sizeof p4, r.exact);
    coef(c1, sizeof c1, r.spearman);
    coef(c2, sizeof c2, r.kendall);
    pct(p5, sizeof p5, r.judge_longer);
    pct(p6, sizeof p6, r.human_longer);
    snprintf(text, sizeof text,
             "judge agreement with human rankings: %llu prompts, %llu replies, %llu pairs\n"
             "pairwise accuracy  %-7s (%llu of %llu pairs with different human ranks ordered alike; "
             "judge ties %s of them, counted as not agreeing)\n"
             "5-best             %-7s (%llu of %llu replies scored 5, a mean score >= %g, ranked best by humans)\n"
             "exact match        %-7s (%llu of %llu prompts ordered exactly as by humans)\n"
             "Spearman rho       %-7s (mean over %llu prompts where both scores and ranks vary)\n"
             "Kendall tau-b      %s\n"
             "prefers longer     %-7s (%llu of %llu pairs of different lengths scored apart: the longer scored higher); "
             "humans %s (%llu of %llu ranked apart: the longer ranked better)\n"
             "left out           %llu replies with a nil score, %llu prompts with fewer than 2 scored replies\n",
             (unsigned long long)a.prompts, (unsigned long long)a.replies, (unsigned long long)a.pairs,
             p1, (unsigned long long)a.pairs_agree, (unsigned long long)a.pairs, p2,
             p3, (unsigned long long)a.fives_best, (unsigned long long)a.fives, SR_AGREE_FIVE,
             p4, (unsigned long long)a.exact, (unsigned long long)a.prompts,
             c1, (unsigned long long)a.corr_prompts, c2,
             p5, (unsigned long long)a.judge_longer, (unsigned long long)a.judge_len_pairs,
             p6, (unsigned long long)a.human_longer, (unsigned long long)a.human_len_pairs,
             (unsigned long long)ec.nil, (unsigned long long)a.single);

    if (o->eval_json) {
        sr_jbuf j = { 0 };
        sr_jbuf_putc(&j, '{');
        json_int(&j, "prompts", a.prompts, true);
        json_int(&j, "replies", a.replies, true);
        json_int(&j, "pairs", a.pairs, true);
        json_num(&j, "pairwise_accuracy", r.pairwise, true);
        json_int(&j, "pairs_agree", a.pairs_agree, true);
        json_int(&j, "pairs_tied", a.pairs_tied, true);
        json_num(&j, "tie_share", r.tie_share, true);
        json_num(&j, "five_best", r.five_best, true);
        json_int(&j, "fives", a.fives, true);
        json_int(&j, "fives_best", a.fives_best, true);
        json_num(&j, "exact_match", r.exact, true);
        json_int(&j, "exact", a.exact, true);
        json_num(&j, "spearman", r.spearman, true);
        json_num(&j, "kendall_tau", r.kendall, true);
        json_int(&j, "corr_prompts", a.corr_prompts, true);
        json_num(&j, "judge_prefers_longer", r.judge_longer, true);
        json_int(&j, "judge_length_pairs", a.judge_len_pairs, true);
        json_num(&j, "human_prefers_longer", r.human_longer, true);
        json_int(&j, "human_length_pairs", a.human_len_pairs, true);
        json_int(&j, "nil_scores", ec.nil, true);
        json_int(&j, "single_prompts", a.single, false);
        sr_jbuf_put(&j, "}\n", 2);
        sr_outfile f;
        sr_outfile_open(&f, o->eval_json);
        sr_outfile_write(&f, j.p, j.n);
        sr_outfile_commit(&f);
        sr_jbuf_free(&j);
    }
    sr_outfile f;
    sr_outfile_open(&f, cli->output);
    write_text(&f, text);
    sr_outfile_commit(&f);
    sr_cli_finish(cli);
    return SR_EXIT_OK;
}

/* ---- judging ------------------------------------------------------------------------- */

/* One input record: held to be written in input order, its judge prompt
 * rendered once (every attempt reuses it), and its k judgements as they
 * come back. */
typedef struct judge_rec {
    sr_held held;
    uint64_t seed;            /* XXH64(id, --seed) */
    int32_t *ids;             /* the judge prompt with the chat template */
    int n_ids;
    int *score;               /* [k] 0..5, or -1 while none is parsed */
    char **text;              /* [k] the latest text of each judgement (--keep-text) */
    int *which;               /* [k] the judgement each sample of the attempt in flight fills */
    int attempt;              /* 0: the first k samples; a: the a-th retry */
    int pending;              /* samples (or score completions) in flight not back yet */
    bool done;
} judge_rec;

typedef struct judge_run {
    sr_cli *cli;
    const opts *o;
    sr_llm *llm;
    judge_rec *recs;
    size_t n_recs, next_req, next_out;
    /* Retries waiting to be made, first come first served (the records' indices). */
    size_t *retry;
    size_t retry_head, n_retry, retry_cap;
    sr_ids suffix;            /* forcing: the tokens of FORCE_TEXT */
    sr_writer *out;
    sr_progress prog;
    uint64_t unparsed, retried, nil_records, hist[6];   /* over the records written */
    uint64_t forced, forced_ok;                         /* score completions, and those with a score */
} judge_run;

/* What a judgement with no score is continued with (--no-force-score turns
 * it off). No space after the colon: the model writes it, as its tokenizer
 * has it (SmolLM2's: a space token, then the digit; others: one " 4"
 * token, after which a prompt ending in a bare space would be unnatural). */
#define FORCE_TEXT "\nScore:"
/* A completion that has no score after this many tokens will not get one. */
#define FORCE_TOKENS 4

/* A request's user pointer: its record and which judgement it completes
 * (a score completion, the follow-up of judgement s; -1: the judgements of
 * an attempt). -k is at most 64. */
static void *req_user(size_t rec, int s) { return (void *)(uintptr_t)(rec * 65 + (size_t)(s + 1)); }
static size_t user_rec(const void *u) { return (uintptr_t)u / 65; }
static int user_judgement(const void *u) { return (int)((uintptr_t)u % 65) - 1; }

static void retry_push(judge_run *r, size_t rec)
{
    if (r->n_retry == r->retry_cap) {
        r->retry_cap = r->retry_cap ? 2 * r->retry_cap : 64;
        r->retry = realloc(r->retry, r->retry_cap * sizeof *r->retry);
        if (!r->retry) sr_die(SR_EXIT_FAIL, "out of memory");
    }
    r->retry[r->n_retry++] = rec;
}

/* The seed of a record's a-th retry: apart from the first attempt's, and
 * from its record alone, so a retry draws the same for any batch or shard. */
static uint64_t retry_seed(uint64_t record_seed, int attempt)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(record_seed >> (8 * i));
    return sr_hash(b, sizeof b, (uint64_t)attempt);
}

/* The seed of the score completion of a record's judgement s: like a
 * retry's, with hash seeds (2^32 + s) that no attempt number reaches. */
static uint64_t force_seed(uint64_t record_seed, int s)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(record_seed >> (8 * i));
    return sr_hash(b, sizeof b, ((uint64_t)1 << 32) + (uint64_t)s);
}

/* Read every record of this shard and render its judge prompt: a bad one
 * stops the stage (exit 3) before any judging, or is skipped. */
static void judge_read(judge_run *r, const sr_judge_tmpl *t, uint64_t sk, uint64_t sn, long budget)
{
    const opts *o = r->o;
    sr_reader *in = sr_reader_open(r->cli);
    sr_rec rec;
    size_t cap = 0;
    char err[512];
    while (sr_read(in, &rec)) {
        sr_str id, prompt, response;
        if (!sr_need_str(&rec, "id", &id) || !sr_need_str(&rec, "prompt", &prompt) ||
            !sr_need_str(&rec, "response", &response)) continue;
        if (!sr_shard_keep(id.p, id.n, sk, sn)) continue;
        size_t n;
        char *text = sr_judge_render(t, prompt.p, prompt.n, response.p, response.n, &n);
        if (!text) sr_die(SR_EXIT_FAIL, "out of memory");
        /* No system turn: the chat template's default one, as for any chat. */
        sr_chat_msg msg = { "user", text, n };
        sr_ids ids = { 0 };
        int rc = sr_chat_render_ids(&r->llm->chat, &msg, 1, true, &ids, err, sizeof err);
        free(text);
        if (rc < 0) {
            sr_rec_bad(&rec, "response", "the judge prompt: %s", err);
            continue;
        }
        if ((long)ids.n > budget) {
            sr_rec_bad(&rec, "response", "the judge prompt is %zu tokens with the chat template, more "
                       "than --max-prompt-tokens %ld", ids.n, budget);
            sr_ids_free(&ids);
            continue;
        }
        if (r->n_recs == cap) {
            cap = cap ? 2 * cap : 64;
            r->recs = realloc(r->recs, cap * sizeof *r->recs);
            if (!r->recs) sr_die(SR_EXIT_FAIL, "out of memory");
        }
        judge_rec *j = &r->recs[r->n_recs++];
        *j = (judge_rec){ .seed = sr_record_seed(id.p, id.n, (uint64_t)o->seed), .ids = ids.v,
                          .n_ids = (int)ids.n };
        j->score = malloc((size_t)o->k * sizeof *j->score);
        j->which = malloc((size_t)o->k * sizeof *j->which);
        j->text = o->keep_text ? calloc((size_t)o->k, sizeof *j->text) : NULL;
        if (sr_held_keep(&j->held, &rec) < 0 || !j->score || !j->which || (o->keep_text && !j->text))
            sr_die(SR_EXIT_FAIL, "out of memory");
        for (long i = 0; i < o->k; i++) j->score[i] = -1;
    }
    sr_reader_close(in);
}

/* Retries first, so a record waiting on one is written as early as it can be. */
static int judge_next(void *ctx, sr_gen_req *req)
{
    judge_run *r = ctx;
    size_t i;
    bool retry = r->retry_head < r->n_retry;
    if (retry) {
        i = r->retry[r->retry_head++];
        if (r->retry_head == r->n_retry) r->retry_head = r->n_retry = 0;
    } else if (r->next_req < r->n_recs) {
        i = r->next_req++;
    } else {
        return 0;
    }
    judge_rec *j = &r->recs[i];
    /* A retry draws only the judgements still without a score, in order. */
    int n = 0;
    for (int s = 0; s < r->o->k; s++)
        if (!retry || j->score[s] < 0) j->which[n++] = s;
    j->pending = n;
    *req = (sr_gen_req){ j->ids, j->n_ids, n, retry ? retry_seed(j->seed, j->attempt) : j->seed,
                         req_user(i, -1) };
    return 1;
}

static void write_judged(judge_run *r, judge_rec *j)
{
    const long k = r->o->k;
    msgpack_unpacked u;
    sr_rec rec;
    if (sr_held_open(&j->held, r->cli, &u, &rec) < 0)
        sr_die(SR_EXIT_FAIL, "internal error: a stored record does not unpack");
    msgpack_object scores[64], texts[64];        /* -k is at most 64 */
    double sum = 0;
    int n = 0;
    for (long s = 0; s < k; s++) {
        if (j->score[s] >= 0) {
            scores[s] = (msgpack_object){ .type = MSGPACK_OBJECT_POSITIVE_INTEGER,
                                          .via.u64 = (uint64_t)j->score[s] };
            sum += j->score[s];
            n++;
            r->hist[j->score[s]]++;
        } else {
            scores[s] = (msgpack_object){ .type = MSGPACK_OBJECT_NIL };
            r->unparsed++;
        }
        if (j->text)
            texts[s] = (msgpack_object){ .type = MSGPACK_OBJECT_STR,
                                         .via.str = { (uint32_t)strlen(j->text[s]), j->text[s] } };
    }
    sr_recb b;
    sr_recb_init(&b, &rec);
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
    sr_write(r->out, &b);
    sr_recb_free(&b);
    msgpack_unpacked_destroy(&u);
    sr_held_drop_bytes(&j->held);
    free(j->ids); j->ids = NULL;
    for (long s = 0; j->text && s < k; s++) { free(j->text[s]); j->text[s] = NULL; }
}

/* A score completion is back: its score, read from FORCE_TEXT and what
 * follows, is the judgement's; the text becomes the judgement's with the
 * score line at its end. */
static void force_done(judge_run *r, judge_rec *j, int s, const sr_gen_out *out)
{
    char err[256];
    size_t len;
    char *tail = sr_gen_text(r->llm->tok, out->tokens, out->n_tokens, &len, err, sizeof err);
    if (!tail) sr_die(SR_EXIT_FAIL, "record %llu (id \"%s\"): decoding a score completion: %s",
                      (unsigned long long)j->held.index, j->held.id, err);
    const size_t nf = strlen(FORCE_TEXT);
    size_t old = j->text ? strlen(j->text[s]) : 0;
    char *text = malloc(old + nf + len + 1);
    if (!text) sr_die(SR_EXIT_FAIL, "out of memory");
    if (old) memcpy(text, j->text[s], old);
    memcpy(text + old, FORCE_TEXT, nf);
    memcpy(text + old + nf, tail, len + 1);
    free(tail);
    int score;
    /* Only the forced line is read: the judgement had no score line. */
    if (sr_judge_parse_score(text + old, nf + len, &score)) {
        j->score[s] = score;
        r->forced_ok++;
    }
    if (j->text) { free(j->text[s]); j->text[s] = text; }
    else free(text);
}

/* Whether judgement s of record j, just back without a score, is
 * continued with FORCE_TEXT (once: a score completion is never followed). */
static bool to_force(const judge_run *r, const judge_rec *j, int s)
{
    return !r->o->no_force && j->score[s] < 0;
}

static int judge_done(void *ctx, const sr_gen_out *out)
{
    judge_run *r = ctx;
    size_t ri = user_rec(out->req->user);
    int c = user_judgement(out->req->user);
    judge_rec *j = &r->recs[ri];
    r->prog.tokens += (uint64_t)out->n_tokens;
    if (c >= 0) {
        force_done(r, j, c, out);
    } else {
        int s = j->which[out->sample];
        char err[256];
        size_t len;
        char *text = sr_gen_text(r->llm->tok, out->tokens, out->n_tokens, &len, err, sizeof err);
        if (!text) sr_die(SR_EXIT_FAIL, "record %llu (id \"%s\"): decoding a judgement: %s",
                          (unsigned long long)j->held.index, j->held.id, err);
        int score;
        if (sr_judge_parse_score(text, len, &score)) j->score[s] = score;
        if (j->text) { free(j->text[s]); j->text[s] = text; }
        else free(text);
        if (to_force(r, j, s)) return 0;     /* pending until judge_follow's completion is back */
    }
    if (--j->pending > 0) return 0;

    /* Without forcing, judgements with no score are drawn again. */
    int failed = 0;
    for (long i = 0; i < r->o->k; i++) failed += j->score[i] < 0;
    if (failed > 0 && r->o->no_force && j->attempt < r->o->retries) {
        j->attempt++;
        r->retried += (uint64_t)failed;
        retry_push(r, ri);
        return 0;
    }
    j->done = true;
    /* Written in input order: a record goes out once it and all before it are done. */
    while (r->next_out < r->n_recs && r->recs[r->next_out].done) {
        write_judged(r, &r->recs[r->next_out++]);
        r->prog.done++;
    }
    sr_progress_show(&r->prog, false);
    return 0;
}

/* Forcing: a judgement with no score is continued where it stopped, in its
 * slot (the KV cache kept), with FORCE_TEXT; its seed is its own, so the
 * completion is the same whatever ran beside it. */
static int judge_follow(void *ctx, const sr_gen_out *out, sr_gen_follow *f)
{
    judge_run *r = ctx;
    size_t ri = user_rec(out->req->user);
    judge_rec *j = &r->recs[ri];
    if (user_judgement(out->req->user) >= 0) return 0;
    int s = j->which[out->sample];
    if (!to_force(r, j, s)) return 0;
    *f = (sr_gen_follow){ r->suffix.v, (int)r->suffix.n, force_seed(j->seed, s), req_user(ri, s) };
    r->forced++;
    return 1;
}

/* End a judgement once a line holding a score is complete: the rubric asks
 * for the score last, and what a small model writes after it is not read
 * (the parser would take a later score line, but that is rarer than
 * rambling, and each token costs a forward). */
static int judge_stop(void *ctx, const sr_gen_req *req, const int32_t *t, int n)
{
    judge_run *r = ctx;
    size_t len;
    if (user_judgement(req->user) >= 0) {
        /* A score completion ends as soon as it holds a score. */
        if (n >= FORCE_TOKENS) return 1;
        char err[128];
        char *text = sr_tok_decode(r->llm->tok, t, (size_t)n, SR_DECODE_SKIP_CONTROL, &len, err, sizeof err);
        if (!text) return 0;
        const size_t nf = strlen(FORCE_TEXT);
        char *line = malloc(nf + len + 1);
        int score, found = 0;
        if (line) {
            memcpy(line, FORCE_TEXT, nf);
            memcpy(line + nf, text, len);
            found = sr_judge_parse_score(line, nf + len, &score);
        }
        free(line);
        free(text);
        return found;
    }
    const char *piece = sr_tok_piece(r->llm->tok, t[n - 1], &len);
    if (!piece || !memchr(piece, '\n', len)) return 0;
    char err[128];
    char *text = sr_tok_decode(r->llm->tok, t, (size_t)n, SR_DECODE_SKIP_CONTROL, &len, err, sizeof err);
    if (!text) return 0;                        /* judged at the end instead */
    while (len > 0 && text[len - 1] != '\n') len--;   /* complete lines only */
    int score, found = sr_judge_parse_score(text, len, &score);
    free(text);
    return found;
}

static void judge_summary(const judge_run *r, const sr_gen_stats *st)
{
    double el = sr_progress_elapsed(&r->prog);
    uint64_t total = r->n_recs * (uint64_t)r->o->k;
    if (r->o->no_force)
        sr_warn("%zu records, %llu judgements: %llu with a score, %llu without one after %llu resamples "
                "(--retries %ld), left out of the means; %llu records with a nil score",
                r->n_recs, (unsigned long long)total, (unsigned long long)(total - r->unparsed),
                (unsigned long long)r->unparsed, (unsigned long long)r->retried, r->o->retries,
                (unsigned long long)r->nil_records);
    else
        sr_warn("%zu records, %llu judgements: %llu with a score, %llu without one, left out of the means; "
                "%llu forced score lines, %llu of them with a score; %llu records with a nil score",
                r->n_recs, (unsigned long long)total, (unsigned long long)(total - r->unparsed),
                (unsigned long long)r->unparsed, (unsigned long long)r->forced,
                (unsigned long long)r->forced_ok, (unsigned long long)r->nil_records);
    sr_warn("scores: 0: %llu, 1: %llu, 2: %llu, 3: %llu, 4: %llu, 5: %llu",
            (unsigned long long)r->hist[0], (unsigned long long)r->hist[1], (unsigned long long)r->hist[2],
            (unsigned long long)r->hist[3], (unsigned long long)r->hist[4], (unsigned long long)r->hist[5]);
    sr_warn("%llu samples, %llu tokens in %.1f s (%.1f tokens/s)", (unsigned long long)st->samples,
            (unsigned long long)st->tokens, el, el > 0 ? st->tokens / el : 0.0);
}

static int run_judge(sr_cli *cli, const opts *o)
{
    uint64_t sk = 0, sn = 1;
    if (o->shard && sr_shard_parse(o->shard, &sk, &sn) < 0)
        sr_usage_error("--shard: '%s' is not K/N with 0 <= K < N", o->shard);
    char err[512];
    sr_judge_tmpl t;
    int rc = sr_judge_tmpl_load(&t, o->template_path, err, sizeof err);
    if (rc == SR_JUDGE_EBAD) sr_usage_error("--template: %s", err);
    if (rc < 0) sr_die(SR_EXIT_FAIL, "--template: %s", err);
    sr_gen_opts eo = {
        { (float)o->temperature, (float)o->top_p, (float)o->min_p, 1.0f, (int)o->top_k },
        (int)o->max_tokens, (int)o->batch, (int)(o->max_prompt_tokens + o->max_tokens), 0,
    };
    if (sr_sample_check(&eo.sample, err, sizeof err) < 0) sr_usage_error("%s", err);
    /* A score completion follows the judge prompt and a whole judgement with
     * FORCE_TEXT (a few tokens: 16 is room enough), and the engine wants room
     * for --max-tokens after it, though the stop test ends it after
     * FORCE_TOKENS. */
    if (!o->no_force) eo.cap += (int)o->max_tokens + 16;

    /* Sized for the longest judge prompt allowed: the arena and the caches
     * are only touched as far as the prompts really reach. */
    sr_llm llm;
    sr_model_opts mo = { .max_batch = (eo.slots + eo.cap - 1) / eo.cap, .max_seq = eo.cap };
    sr_llm_open(&llm, &o->llm, &mo);
    eo.eot = sr_chat_eot(&llm.chat);
    judge_run r = { .cli = cli, .o = o, .llm = &llm };
    if (!o->no_force) {
        if (sr_tok_encode(llm.tok, FORCE_TEXT, strlen(FORCE_TEXT), &r.suffix, err, sizeof err) < 0)
            sr_die(SR_EXIT_FAIL, "encoding the forced score line: %s", err);
        if (r.suffix.n > 16) sr_die(SR_EXIT_FAIL, "internal error: the forced score line is %zu tokens",
                                    r.suffix.n);
    }
    judge_read(&r, &t, sk, sn, o->max_prompt_tokens);
    sr_judge_tmpl_free(&t);

    r.out = sr_writer_open(cli);
    sr_progress_init(&r.prog, o->quiet, r.n_recs, "records");
    sr_gen_io io = { .next = judge_next, .done = judge_done, .stop = judge_stop,
                     .follow = o->no_force ? NULL : judge_follow, .ctx = &r };
    sr_gen_stats st = { 0 };
    /* The engine stops asking for requests once there are none; retries
     * queued by the last samples of a run go into another. */
    do {
        sr_gen_stats one;
        if (sr_generate(&llm.model, &eo, &io, &one, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
        st.prompts += one.prompts; st.samples += one.samples; st.tokens += one.tokens; st.steps += one.steps;
    } while (r.retry_head < r.n_retry);
    if (r.next_out != r.n_recs) sr_die(SR_EXIT_FAIL, "internal error: %zu of %zu records judged",
                                       r.next_out, r.n_recs);
    sr_progress_show(&r.prog, true);
    sr_writer_close(r.out);
    if (!o->quiet) judge_summary(&r, &st);
    for (size_t i = 0; i < r.n_recs; i++) {
        judge_rec *j = &r.recs[i];
        sr_held_free(&j->held);
        free(j->ids); free(j->score); free(j->which); free(j->text);
    }
    free(r.recs);
    free(r.retry);
    sr_ids_free(&r.suffix);
    sr_llm_close(&llm);
    sr_cli_finish(cli);
    return SR_EXIT_OK;
}

/* ---- main ------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    opts o = {
        .llm = SR_LLM_OPTS_INIT,
        .k = 3, .retries = 2, .max_tokens = 256, .max_prompt_tokens = 2048, .top_k = 0, .batch = 16, .seed = 0,
        .temperature = 0.7, .top_p = 0.9, .min_p = 0,
    };
    const sr_opt table[] = {
        { "eval", 0, SR_OPT_FLAG, &o.eval, NULL,
          "no judging: agreement of judged ranked records' scores with their human ranks", 0, 0 },
        { "eval-json", 0, SR_OPT_STR, &o.eval_json, "FILE", "--eval: also write the measures as one JSON object", 0, 0 },
        { "template", 0, SR_OPT_STR, &o.template_path, "FILE",
          "the judge prompt, with {prompt} and {response} (default: the built-in rubric)", 0, 0 },
        { "keep-text", 0, SR_OPT_FLAG, &o.keep_text, NULL, "keep the judgement texts (key judgements)", 0, 0 },
        { "samples", 'k', SR_OPT_INT, &o.k, "N", "judgements per record, their scores averaged", 1, 64 },
        { "no-force-score", 0, SR_OPT_FLAG, &o.no_force, NULL,
          "do not continue a judgement with no score with \"Score:\"; resample it (--retries)", 0, 0 },
        { "retries", 0, SR_OPT_INT, &o.retries, "N",
          "--no-force-score: resample a judgement with no score up to N times", 0, 100 },
        { "temperature", 0, SR_OPT_DOUBLE, &o.temperature, "T", "sampling temperature (0: greedy)", 0, 100 },
        { "top-p", 0, SR_OPT_DOUBLE, &o.top_p, "P", "nucleus sampling (1: off)", 0, 1 },
        { "top-k", 0, SR_OPT_INT, &o.top_k, "K", "keep the K most likely tokens (0: off)", 0, 1 << 30 },
        { "min-p", 0, SR_OPT_DOUBLE, &o.min_p, "P", "min-p sampling (0: off)", 0, 1 },
        { "max-tokens", 0, SR_OPT_INT, &o.max_tokens, "N", "longest judgement, in tokens", 1, 1 << 20 },
        { "max-prompt-tokens", 0, SR_OPT_INT, &o.max_prompt_tokens, "N",
          "longest judge prompt accepted, chat template included", 1, 1 << 20 },
        { "batch", 0, SR_OPT_INT, &o.batch, "N", "sequences decoded together", 1, 4096 },
        { "seed", 0, SR_OPT_INT, &o.seed, "N", "seed of the sampling (per record: XXH64(id, seed))", 0, 9007199254740991.0 },
        { "shard", 0, SR_OPT_STR, &o.shard, "K/N", "judge only the records of shard K of N", 0, 0 },
        { "quiet", 'q', SR_OPT_FLAG, &o.quiet, NULL, "no progress or summary on standard error", 0, 0 },
        SR_LLM_OPTS(&o.llm),
        SR_OPT_END,
    };
    sr_cli cli = {
        .name = "sr-judge",
        .summary = "Score responses with the model as a judge (additive 5-point rubric), or --eval the scores.",
        .usage = "[OPTION]...",
        .details = "Input: records with prompt and response (--eval: judged ranked records with prompt_id,\n"
                   "human_rank and score). Output: the records plus score (the mean, or nil) and scores\n"
                   "(--keep-text: judgements); with --eval, the agreement report as text.",
    };
    sr_cli_parse(&cli, table, argc, argv);
    if (o.eval_json && !o.eval) sr_usage_error("--eval-json needs --eval");
    return o.eval ? run_eval(&cli, &o) : run_judge(&cli, &o);
}
