/* sr-judge — the model judges responses with the additive 5-point rubric
 * (METHOD step 3 and "The judge prompt"; sr/judging.h), or with --pairwise
 * which of two responses is better, asked in both orders
 * (sr/pairwise_judging.h); with --eval, no model: how well judged scores
 * agree with the human ranking of OASST replies (sr/agreement.h); with
 * --winrate, no model: the head-to-head report of pairwise verdicts
 * (sr/headtohead.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "io/cli.h"
#include "lm/generate.h"
#include "sr/lm_cli.h"
#include "sr/agreement.h"
#include "sr/headtohead.h"
#include "sr/judge.h"
#include "sr/judging.h"
#include "sr/pairwise_judging.h"

typedef struct opts {
    bool eval, pairwise, winrate, meta;
    const char *eval_json;
    /* judging */
    sr_llm_opts llm;
    const char *template_path, *scale;
    long k, retries, max_tokens, max_prompt_tokens, top_k, batch, seed;
    double temperature, top_p, min_p;
    const char *shard;
    bool keep_text, quiet, no_force;
    const char *score_mode;       /* sample or expected */
} opts;

static int run_eval(sr_cli *cli, const opts *o)
{
    if (o->winrate) sr_h2h_eval(cli, o->eval_json, (uint64_t)o->seed);
    else sr_agree_eval(cli, o->eval_json);
    sr_cli_finish(cli);
    return SR_EXIT_OK;
}

/* The model, sized for eo's longest judge prompt: the arena and the
 * caches are only touched as far as the prompts really reach. */
static void open_judge(sr_llm *llm, const opts *o, sr_gen_opts *eo)
{
    char err[512];
    if (sr_sample_check(&eo->sample, err, sizeof err) < 0) sr_usage_error("%s", err);
    sr_model_opts mo = { .max_batch = (eo->slots + eo->cap - 1) / eo->cap, .max_seq = eo->cap };
    /* the engine's caches: one per slot, and the prompt's it forks them from */
    if (!o->quiet) sr_llm_note_memory(&o->llm, &mo, eo->slots + 1, eo->cap);
    sr_llm_open(llm, &o->llm, &mo);
    eo->eot = sr_chat_eot(&llm->chat);
}

static sr_gen_opts engine_opts(const opts *o, int cap)
{
    return (sr_gen_opts){
        { (float)o->temperature, (float)o->top_p, (float)o->min_p, 1.0f, (int)o->top_k },
        (int)o->max_tokens, (int)o->batch, cap, 0, 0,
    };
}

static int run_pairwise(sr_cli *cli, const opts *o)
{
    sr_pairwise_opts po = { o->max_prompt_tokens, (uint64_t)o->seed, 0, 1, o->keep_text, o->quiet };
    if (o->shard && sr_shard_parse(o->shard, &po.shard_k, &po.shard_n) < 0)
        sr_usage_error("--shard: '%s' is not K/N with 0 <= K < N", o->shard);
    char err[512];
    sr_pairwise pw;
    int rc = sr_pairwise_load(&pw, o->template_path, o->meta, err, sizeof err);
    if (rc == SR_TMPL_EBAD) sr_usage_error("--template: %s", err);
    if (rc < 0) sr_die(SR_EXIT_FAIL, "--template: %s", err);
    sr_gen_opts eo = engine_opts(o, sr_pairwise_cap(&po, (int)o->max_tokens));
    sr_llm llm;
    open_judge(&llm, o, &eo);
    sr_pairwise_run(cli, &llm, &pw, &po, &eo);
    sr_pairwise_free(&pw);
    sr_llm_close(&llm);
    sr_cli_finish(cli);
    return SR_EXIT_OK;
}

static int run_judge(sr_cli *cli, const opts *o)
{
    sr_judging_opts jo = { o->k, o->retries, o->max_prompt_tokens, (uint64_t)o->seed, 0, 1,
                           o->keep_text, o->no_force, o->quiet, strcmp(o->score_mode, "expected") == 0 };
    if (o->shard && sr_shard_parse(o->shard, &jo.shard_k, &jo.shard_n) < 0)
        sr_usage_error("--shard: '%s' is not K/N with 0 <= K < N", o->shard);
    char err[512];
    sr_rubric rb;
    int rc = sr_rubric_load(&rb, o->template_path, err, sizeof err);
    if (rc == SR_JUDGE_EBAD) sr_usage_error("--template: %s", err);
    if (rc < 0) sr_die(SR_EXIT_FAIL, "--template: %s", err);
    int lo, hi, end = 0;
    if (o->scale && (sscanf(o->scale, "%d-%d%n", &lo, &hi, &end) != 2 || o->scale[end] ||
                     sr_rubric_set_scale(&rb, lo, hi) < 0))
        sr_usage_error("--scale: '%s' is not MIN-MAX with 0 <= MIN < MAX <= 10", o->scale);
    if (o->scale && !o->template_path)
        sr_usage_error("--scale needs --template: the built-in rubric is the 0-5 additive one");
    sr_gen_opts eo = engine_opts(o, sr_judging_cap(&jo, (int)o->max_tokens));
    if (jo.expected) eo.logprobs = SR_GEN_MAX_LOGPROBS;   /* the digits' distribution where the score is read */
    sr_llm llm;
    open_judge(&llm, o, &eo);
    sr_judging_run(cli, &llm, &rb, &jo, &eo);
    sr_rubric_free(&rb);
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
        .temperature = 0.7, .top_p = 0.9, .min_p = 0, .score_mode = "sample",
    };
    const sr_opt table[] = {
        { "eval", 0, SR_OPT_FLAG, &o.eval, NULL,
          "no judging: agreement of judged ranked records' scores with their human ranks", 0, 0 },
        { "winrate", 0, SR_OPT_FLAG, &o.winrate, NULL,
          "no judging: win/tie/loss, win rate and LC win rate of --pairwise verdicts, with 95% intervals", 0, 0 },
        { "eval-json", 0, SR_OPT_STR, &o.eval_json, "FILE",
          "--eval, --winrate: also write the measures as one JSON object", 0, 0 },
        { "pairwise", 0, SR_OPT_FLAG, &o.pairwise, NULL,
          "which of response_a and response_b is better, asked in both orders (one judgement each)", 0, 0 },
        { "meta", 0, SR_OPT_FLAG, &o.meta, NULL,
          "--pairwise with the meta-judge prompt: which of two judgements is better (sr-meta)", 0, 0 },
        { "template", 0, SR_OPT_STR, &o.template_path, "FILE",
          "the judge prompt, with {prompt} and {response} (--pairwise: {response_a}, {response_b})", 0, 0 },
        { "scale", 0, SR_OPT_STR, &o.scale, "MIN-MAX",
          "with --template: the scores' range (default 0-5; e.g. 1-10 for MT-Bench grading)", 0, 0 },
        { "keep-text", 0, SR_OPT_FLAG, &o.keep_text, NULL, "keep the judgement texts (key judgements)", 0, 0 },
        { "samples", 'k', SR_OPT_INT, &o.k, "N", "judgements per record, their scores averaged", 1, 64 },
        { "no-force-score", 0, SR_OPT_FLAG, &o.no_force, NULL,
          "do not continue a judgement with no score with \"Score:\" (then only --retries)", 0, 0 },
        { "score", 0, SR_OPT_STR, &o.score_mode, "MODE",
          "sample: the digit the judge wrote; expected: the probability-weighted mean of the digits there", 0, 0 },
        { "retries", 0, SR_OPT_INT, &o.retries, "N",
          "resample a judgement left with no score (even by its forced line) up to N times", 0, 100 },
        { "temperature", 0, SR_OPT_DOUBLE, &o.temperature, "T", "sampling temperature (0: greedy)", 0, 100 },
        { "top-p", 0, SR_OPT_DOUBLE, &o.top_p, "P", "nucleus sampling (1: off)", 0, 1 },
        { "top-k", 0, SR_OPT_INT, &o.top_k, "K", "keep the K most likely tokens (0: off)", 0, 1 << 30 },
        { "min-p", 0, SR_OPT_DOUBLE, &o.min_p, "P", "min-p sampling (0: off)", 0, 1 },
        { "max-tokens", 0, SR_OPT_INT, &o.max_tokens, "N", "longest judgement, in tokens", 1, 1 << 20 },
        { "max-prompt-tokens", 0, SR_OPT_INT, &o.max_prompt_tokens, "N",
          "longest judge prompt accepted, chat template included", 1, 1 << 20 },
        { "batch", 0, SR_OPT_INT, &o.batch, "N", "sequences decoded together", 1, 4096 },
        { "seed", 0, SR_OPT_INT, &o.seed, "N", "seed of the sampling (per record: XXH64(id, seed)); --winrate: of the bootstrap", 0, 9007199254740991.0 },
        { "shard", 0, SR_OPT_STR, &o.shard, "K/N", "judge only the records of shard K of N", 0, 0 },
        { "quiet", 'q', SR_OPT_FLAG, &o.quiet, NULL, "no progress or summary on standard error", 0, 0 },
        SR_LLM_OPTS(&o.llm),
        SR_OPT_END,
    };
    sr_cli cli = {
        .name = "sr-judge",
        .summary = "Score responses with the model as a judge (additive 5-point rubric), compare two\n"
                   "(--pairwise), or --eval the scores.",
        .usage = "[OPTION]...",
        .details = "Input: records with prompt and response (--pairwise: prompt, response_a, response_b;\n"
                   "--eval: judged ranked records with prompt_id, human_rank and score). Output: the records\n"
                   "plus score (the mean, or nil) and scores (--pairwise: verdict a, b or tie, or nil, and\n"
                   "verdicts, the two orders'; --keep-text: judgements); with --eval, the agreement report;\n"
                   "with --winrate (input: --pairwise's output), the head-to-head report.",
    };
    sr_cli_parse(&cli, table, argc, argv);
    if (o.meta && o.template_path) sr_usage_error("--meta is the built-in meta-judge prompt; --template replaces it");
    if (o.meta) o.pairwise = true;
    if (o.eval_json && !o.eval && !o.winrate) sr_usage_error("--eval-json needs --eval or --winrate");
    if (o.eval + o.pairwise + o.winrate > 1) sr_usage_error("--eval, --pairwise and --winrate exclude each other");
    if (o.pairwise && o.no_force) sr_usage_error("--pairwise always forces a verdict line; --no-force-score is "
                                                  "for scores");
    if (o.scale && (o.eval || o.winrate || o.pairwise)) sr_usage_error("--scale is for scoring judges");
    if (strcmp(o.score_mode, "sample") != 0 && strcmp(o.score_mode, "expected") != 0)
        sr_usage_error("--score: '%s' is not sample or expected", o.score_mode);
    if (strcmp(o.score_mode, "expected") == 0 && (o.pairwise || o.eval || o.winrate))
        sr_usage_error("--score expected is for scoring with the rubric, not --pairwise, --eval or --winrate");
    if (o.eval || o.winrate) return run_eval(&cli, &o);
    return o.pairwise ? run_pairwise(&cli, &o) : run_judge(&cli, &o);
}
