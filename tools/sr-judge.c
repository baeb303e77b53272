/* sr-judge — the model judges responses with the additive 5-point rubric
 * (METHOD step 3 and "The judge prompt"; sr/judging.h); with --eval, no
 * model: how well judged scores agree with the human ranking of OASST
 * replies (sr/agreement.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "io/cli.h"
#include "lm/generate.h"
#include "sr/lm_cli.h"
#include "sr/agreement.h"
#include "sr/judge.h"
#include "sr/judging.h"

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

static int run_eval(sr_cli *cli, const opts *o)
{
    sr_agree_eval(cli, o->eval_json);
    sr_cli_finish(cli);
    return SR_EXIT_OK;
}

static int run_judge(sr_cli *cli, const opts *o)
{
    sr_judging_opts jo = { o->k, o->retries, o->max_prompt_tokens, (uint64_t)o->seed, 0, 1,
                           o->keep_text, o->no_force, o->quiet };
    if (o->shard && sr_shard_parse(o->shard, &jo.shard_k, &jo.shard_n) < 0)
        sr_usage_error("--shard: '%s' is not K/N with 0 <= K < N", o->shard);
    char err[512];
    sr_rubric rb;
    int rc = sr_rubric_load(&rb, o->template_path, err, sizeof err);
    if (rc == SR_JUDGE_EBAD) sr_usage_error("--template: %s", err);
    if (rc < 0) sr_die(SR_EXIT_FAIL, "--template: %s", err);
    sr_gen_opts eo = {
        { (float)o->temperature, (float)o->top_p, (float)o->min_p, 1.0f, (int)o->top_k },
        (int)o->max_tokens, (int)o->batch, sr_judging_cap(&jo, (int)o->max_tokens), 0, 0,
    };
    if (sr_sample_check(&eo.sample, err, sizeof err) < 0) sr_usage_error("%s", err);
    /* Sized for the longest judge prompt allowed: the arena and the caches
     * are only touched as far as the prompts really reach. */
    sr_llm llm;
    sr_model_opts mo = { .max_batch = (eo.slots + eo.cap - 1) / eo.cap, .max_seq = eo.cap };
    sr_llm_open(&llm, &o->llm, &mo);
    eo.eot = sr_chat_eot(&llm.chat);
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
