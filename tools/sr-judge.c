/* sr-judge — the model judges responses with the additive 5-point rubric
 * (METHOD steps 3 and "The judge prompt"); with --eval, no model: how well
 * judged scores agree with the human ranking of OASST replies. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "agreement.h"
#include "cli.h"
#include "groupby.h"
#include "json.h"
#include "llm.h"
#include "outfile.h"
#include "record.h"

typedef struct opts {
    bool eval;
    const char *eval_json;
    /* judging */
    sr_llm_opts llm;
    const char *template_path;
    long k, retries, max_tokens, top_k, batch, seed;
    double temperature, top_p, min_p;
    const char *shard;
    bool keep_text;
} opts;

/* ---- --eval ---------------------------------------------------------------------- */

typedef struct eval_counts { uint64_t records, nil; } eval_counts;

/* Every judged ranked record, grouped by prompt; a nil score is counted and
 * the record left out. */
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
    double *score = NULL;
    size_t cap = 0;
    for (size_t gi = 0; gi < sr_groups_count(g); gi++) {
        size_t n;
        sr_rec *const *recs = sr_groups_get(g, gi, &n);
        if (n > cap) {
            cap = n;
            rank = realloc(rank, cap * sizeof *rank);
            score = realloc(score, cap * sizeof *score);
            if (!rank || !score) sr_die(SR_EXIT_FAIL, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            sr_get_i64(recs[i], "human_rank", &rank[i]);
            sr_get_f64(recs[i], "score", &score[i]);
        }
        sr_agree_add(&a, rank, score, n);
    }
    free(rank);
    free(score);
    sr_groups_free(g);
    sr_agree_report r;
    sr_agree_summarise(&a, &r);

    char p1[32], p2[32], p3[32], p4[32], c1[32], c2[32], text[2048];
    pct(p1, sizeof p1, r.pairwise);
    pct(p2, sizeof p2, r.tie_share);
    pct(p3, sizeof p3, r.five_best);
    pct(p4, sizeof p4, r.exact);
    coef(c1, sizeof c1, r.spearman);
    coef(c2, sizeof c2, r.kendall);
    snprintf(text, sizeof text,
             "judge agreement with human rankings: %llu prompts, %llu replies, %llu pairs\n"
             "pairwise accuracy  %-7s (%llu of %llu pairs with different human ranks ordered alike; "
             "judge ties %s of them, counted as not agreeing)\n"
             "5-best             %-7s (%llu of %llu replies scored 5, a mean score >= %g, ranked best by humans)\n"
             "exact match        %-7s (%llu of %llu prompts ordered exactly as by humans)\n"
             "Spearman rho       %-7s (mean over %llu prompts where both scores and ranks vary)\n"
             "Kendall tau-b      %s\n"
             "left out           %llu replies with a nil score, %llu prompts with fewer than 2 scored replies\n",
             (unsigned long long)a.prompts, (unsigned long long)a.replies, (unsigned long long)a.pairs,
             p1, (unsigned long long)a.pairs_agree, (unsigned long long)a.pairs, p2,
             p3, (unsigned long long)a.fives_best, (unsigned long long)a.fives, SR_AGREE_FIVE,
             p4, (unsigned long long)a.exact, (unsigned long long)a.prompts,
             c1, (unsigned long long)a.corr_prompts, c2,
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

static int run_judge(sr_cli *cli, const opts *o)
{
    (void)cli;
    (void)o;
    sr_usage_error("judging is not yet available in this build; only --eval works");
}

/* ---- main ------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    opts o = {
        .llm = SR_LLM_OPTS_INIT,
        .k = 3, .retries = 2, .max_tokens = 256, .top_k = 0, .batch = 16, .seed = 0,
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
        { "retries", 0, SR_OPT_INT, &o.retries, "N", "resample a judgement with no score up to N times", 0, 100 },
        { "temperature", 0, SR_OPT_DOUBLE, &o.temperature, "T", "sampling temperature (0: greedy)", 0, 100 },
        { "top-p", 0, SR_OPT_DOUBLE, &o.top_p, "P", "nucleus sampling (1: off)", 0, 1 },
        { "top-k", 0, SR_OPT_INT, &o.top_k, "K", "keep the K most likely tokens (0: off)", 0, 1 << 30 },
        { "min-p", 0, SR_OPT_DOUBLE, &o.min_p, "P", "min-p sampling (0: off)", 0, 1 },
        { "max-tokens", 0, SR_OPT_INT, &o.max_tokens, "N", "longest judgement, in tokens", 1, 1 << 20 },
        { "batch", 0, SR_OPT_INT, &o.batch, "N", "sequences decoded together", 1, 4096 },
        { "seed", 0, SR_OPT_INT, &o.seed, "N", "seed of the sampling (per record: XXH64(id, seed))", 0, 9007199254740991.0 },
        { "shard", 0, SR_OPT_STR, &o.shard, "K/N", "judge only the records of shard K of N", 0, 0 },
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
