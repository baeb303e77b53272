/* sr-gen — generation: N candidate replies per prompt record (METHOD step 2,
 * sr/candidates.h), or with --self-instruct new prompt records by few-shot
 * prompting (step 1, sr/selfinstruct.h). Both run on lm/generate's
 * continuous-batching engine, so the output for a given input and --seed is
 * the same for any --batch, --threads or --shard. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "io/cli.h"
#include "lm/generate.h"
#include "sr/lm_cli.h"
#include "sr/candidates.h"
#include "sr/selfinstruct.h"

typedef struct gen_opts {
    long n, top_k, max_tokens, max_prompt_tokens, batch, seed, count, logprobs;
    double temperature, top_p, min_p, repeat_penalty;
    const char *shard, *known;        /* known: the last --known, for --help; the rest from argv */
    bool self_instruct, shots, quiet, ignore_eos, emit_ids;
    int argc;
    char **argv;
} gen_opts;

/* The model, sized for prompts of up to cap tokens with their replies: the
 * arena and the caches are only touched as far as the prompts really reach. */
static void open_model(sr_llm *llm, const sr_llm_opts *lo, int cap, int slots, bool quiet)
{
    sr_model_opts mo = { .max_batch = (slots + cap - 1) / cap, .max_seq = cap, .keep_acts = 0 };
    /* the engine's caches: one per slot, and the prompt's it forks them from */
    if (!quiet) sr_llm_note_memory(lo, &mo, slots + 1, cap);
    sr_llm_open(llm, lo, &mo);
}

static sr_gen_opts engine_opts(const gen_opts *g, int max_tokens, int cap, int32_t eot, double temp)
{
    sr_gen_opts o = { .sample = { (float)temp, (float)g->top_p, (float)g->min_p,
                                  (float)g->repeat_penalty, (int)g->top_k },
                      .max_tokens = max_tokens, .slots = (int)g->batch, .cap = cap,
                      .eot = g->ignore_eos ? -1 : eot, .logprobs = (int)g->logprobs };
    return o;
}

static void run_candidates(sr_cli *cli, const gen_opts *g, const sr_llm_opts *lo, uint64_t sk, uint64_t sn)
{
    sr_llm llm;
    int cap = (int)(g->max_prompt_tokens + g->max_tokens);
    open_model(&llm, lo, cap, (int)g->batch, g->quiet);
    sr_cand_opts co = { .n = g->n, .max_prompt_tokens = g->max_prompt_tokens,
                        .seed = (uint64_t)g->seed, .shard_k = sk, .shard_n = sn, .quiet = g->quiet,
                        .emit_ids = g->emit_ids, .logprobs = (int)g->logprobs };
    sr_gen_opts eo = engine_opts(g, (int)g->max_tokens, cap, sr_chat_eot(&llm.chat), g->temperature);
    sr_candidates_run(cli, &llm, &co, &eo);
    sr_llm_close(&llm);
}

/* Every --known FILE (or --known=FILE) of argv, in order, into s: the option
 * table keeps only the last, and --known may be given once per file. */
static void read_known(sr_si *s, sr_cli *cli, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "--known") == 0 && i + 1 < argc) sr_si_read_known(s, cli, argv[++i]);
        else if (strncmp(argv[i], "--known=", 8) == 0) sr_si_read_known(s, cli, argv[i] + 8);
    }
}

static void run_self_instruct(sr_cli *cli, const gen_opts *g, const sr_llm_opts *lo, double temp)
{
    if (g->count <= 0) sr_usage_error("--self-instruct needs --count K (how many new prompts)");
    int max_tokens = g->max_tokens < SR_SI_MAX_TOKENS ? (int)g->max_tokens : SR_SI_MAX_TOKENS;
    int cap = (int)g->max_prompt_tokens + max_tokens;
    sr_si *s = sr_si_read(cli);
    read_known(s, cli, g->argc, g->argv);
    sr_si_with_shots(s, g->shots);
    sr_llm llm;
    open_model(&llm, lo, cap, (int)g->batch, g->quiet);
    if (cap > llm.model.hp.n_ctx)
        sr_usage_error("--max-prompt-tokens %ld + %d new tokens exceed the model's context of %d",
                       g->max_prompt_tokens, max_tokens, llm.model.hp.n_ctx);
    sr_si_opts so = { g->count, g->max_prompt_tokens, (uint64_t)g->seed, g->quiet };
    sr_gen_opts eo = engine_opts(g, max_tokens, cap, sr_chat_eot(&llm.chat), temp);
    sr_si_run(s, cli, &llm, &so, &eo);
    sr_si_free(s);
    sr_llm_close(&llm);
}

/* ---- main ------------------------------------------------------------------- */

static bool given(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], name, n) == 0 && (argv[i][n] == 0 || argv[i][n] == '=')) return true;
    return false;
}

int main(int argc, char **argv)
{
    gen_opts g = { .n = 4, .top_k = 0, .max_tokens = 512, .max_prompt_tokens = 1024, .batch = 16,
                   .seed = 0, .count = 0, .temperature = 0.7, .top_p = 0.9, .min_p = 0,
                   .repeat_penalty = 1.0, .argc = argc, .argv = argv };
    sr_llm_opts lo = SR_LLM_OPTS_INIT;
    const sr_opt opts[] = {
        { "samples", 'n', SR_OPT_INT, &g.n, "N", "candidates per prompt", 1, 1000 },
        { "temperature", 0, SR_OPT_DOUBLE, &g.temperature, "T",
          "sampling temperature, 0 = greedy (--self-instruct: 0.6 unless given)", 0, 100 },
        { "top-p", 0, SR_OPT_DOUBLE, &g.top_p, "P", "nucleus sampling; 1 = off", 1e-9, 1 },
        { "top-k", 0, SR_OPT_INT, &g.top_k, "K", "keep the K most likely tokens; 0 = off", 0, 1 << 24 },
        { "min-p", 0, SR_OPT_DOUBLE, &g.min_p, "P", "drop tokens below P × the most likely; 0 = off", 0, 1 },
        { "repeat-penalty", 0, SR_OPT_DOUBLE, &g.repeat_penalty, "R",
          "penalise tokens already in the prompt or reply; 1 = off", 1e-3, 100 },
        { "max-tokens", 0, SR_OPT_INT, &g.max_tokens, "N",
          "new tokens per reply (--self-instruct: at most 256)", 1, 1 << 20 },
        { "max-prompt-tokens", 0, SR_OPT_INT, &g.max_prompt_tokens, "N",
          "longest prompt accepted, chat template included", 1, 1 << 20 },
        { "batch", 0, SR_OPT_INT, &g.batch, "N", "sequences decoded together", 1, 4096 },
        { "seed", 0, SR_OPT_INT, &g.seed, "N", "random seed", 0, 9007199254740991.0 },
        { "shard", 0, SR_OPT_STR, &g.shard, "K/N", "only prompts with XXH64(id) % N == K", 0, 0 },
        { "self-instruct", 0, SR_OPT_FLAG, &g.self_instruct, NULL,
          "write new prompt records made from the input's prompts", 0, 0 },
        { "count", 0, SR_OPT_INT, &g.count, "K", "--self-instruct: how many new prompts", 0, 1e9 },
        { "known", 0, SR_OPT_STR, &g.known, "FILE",
          "--self-instruct: prompts a new one must differ from, never shots (repeatable)", 0, 0 },
        { "shots", 0, SR_OPT_FLAG, &g.shots, NULL,
          "--self-instruct: add the key shots, the ids of each prompt's few-shot examples", 0, 0 },
        { "ignore-eos", 0, SR_OPT_FLAG, &g.ignore_eos, NULL,
          "the end-of-turn token does not stop a reply: every reply has --max-tokens", 0, 0 },
        { "emit-ids", 0, SR_OPT_FLAG, &g.emit_ids, NULL, "add response_ids, the reply's token ids", 0, 0 },
        { "logprobs", 0, SR_OPT_INT, &g.logprobs, "N",
          "add top_logprobs (the N likeliest ids per reply token) and response_logprobs; 0 = off",
          0, SR_GEN_MAX_LOGPROBS },
        { "quiet", 'q', SR_OPT_FLAG, &g.quiet, NULL, "no progress or summary on standard error", 0, 0 },
        SR_LLM_OPTS(&lo),
        SR_OPT_END,
    };
    sr_cli cli = {
        .name = "sr-gen",
        .summary = "Generate N candidate replies per prompt record, or new prompts (--self-instruct).",
        .usage = "[OPTION]... [-i PROMPTS] [-o OUT]",
        .details = "Input: msgpack records {id, prompt, [system]}, {id, messages} (a conversation ending with\n"
                   "a user turn, continued) or {id, prompt_ids}; every key is kept.\n"
                   "prompt_ids (token ids, taken as given: no template, no BOS) wins over prompt.\n"
                   "--chat-format none: the prompt text as it is, BOS as the model adds it.\n"
                   "Output: {id, prompt_id, prompt, response, sample, finish, tokens} per candidate,\n"
                   "[response_ids] with --emit-ids, [top_logprobs, response_logprobs] with --logprobs,\n"
                   "in input order; with --self-instruct, {id, prompt, source, [shots]}.",
    };
    sr_cli_parse(&cli, opts, argc, argv);
    uint64_t sk = 0, sn = 1;
    if (g.shard && sr_shard_parse(g.shard, &sk, &sn) < 0)
        sr_usage_error("--shard: '%s' is not K/N with 0 <= K < N", g.shard);
    if (!g.self_instruct && (g.known || g.shots))
        sr_usage_error("--known and --shots apply only to --self-instruct");
    if (g.self_instruct && g.shard)
        sr_usage_error("--shard does not apply to --self-instruct (its output depends on all of it)");
    if (g.self_instruct && (g.ignore_eos || g.emit_ids || g.logprobs))
        sr_usage_error("--%s is for candidates, not --self-instruct",
                       g.ignore_eos ? "ignore-eos" : g.emit_ids ? "emit-ids" : "logprobs");

    if (g.self_instruct)
        run_self_instruct(&cli, &g, &lo, given(argc, argv, "--temperature") ? g.temperature : 0.6);
    else
        run_candidates(&cli, &g, &lo, sk, sn);
    sr_cli_finish(&cli);
    return SR_EXIT_OK;
}
