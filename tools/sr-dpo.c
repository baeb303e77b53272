/* sr-dpo — preference optimization: pair records (prompt, chosen, rejected,
 * optional system) in, a GGUF checkpoint out (METHOD step 5).
 *
 * First the reference log-probabilities of every pair, unless the records
 * carry them (ref_chosen_logp, ref_rejected_logp): computed by the starting
 * model itself before training — one model in memory — or, with --ref, by
 * another model loaded for that pass and freed before the policy is. Then
 * the DPO loss (sr/dpo.h) through the training run sr-sft uses
 * (lm/train_run.h, with DPO's part in sr/dpo_run.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/ids.h"
#include "io/cli.h"
#include "lm/train_run.h"
#include "sr/dpo.h"
#include "sr/dpo_run.h"
#include "sr/lm_cli.h"
#include "sr/train_data.h"

/* --eval: the policy's loss and metrics against the reference, as JSON. */
static void print_eval(sr_model *m, const sr_pairs *pi, const sr_dpo *dpo)
{
    double loss, v[SR_DPO_N_METRICS];
    char err[512];
    if (sr_dpo_eval(m, &pi->data, dpo, &loss, v, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
    /* as training stops on a loss that is not finite: no "nan" in the JSON */
    if (!isfinite(loss))
        sr_die(SR_EXIT_FAIL, "--eval: the loss is not finite (%g): the model's numbers are NaN or infinite",
               loss);
    printf("{\"pairs\":%zu,\"loss\":%.6f", pi->data.n_ex, loss);
    for (int k = 0; k < SR_DPO_N_METRICS; k++) printf(",\"%s\":%.6f", sr_dpo_metric_names[k], v[k]);
    printf("}\n");
    if (fflush(stdout) != 0) sr_die(SR_EXIT_FAIL, "writing standard output failed");
}

int main(int argc, char **argv)
{
    sr_llm_opts lo = SR_LLM_OPTS_INIT;
    sr_train_opts o = SR_TRAIN_OPTS_DEFAULT;
    sr_dpo dpo = SR_DPO_DEFAULT;
    o.lr = 1e-6;
    o.lr_final = 1e-7;
    sr_train_flags f = SR_TRAIN_FLAGS_INIT;
    const char *loss_name = "sigmoid", *ref_path = NULL, *write_ref_path = NULL;
    bool eval = false;
    const sr_opt opts[] = {
        SR_LLM_OPTS(&lo),
        { "beta", 0, SR_OPT_DOUBLE, &dpo.beta, "B", "strength of the pull towards the reference", 1e-6, 1e6 },
        { "loss", 0, SR_OPT_STR, &loss_name, "L", "sigmoid (DPO), ipo or hinge", 0, 0 },
        { "rpo-alpha", 0, SR_OPT_DOUBLE, &dpo.rpo_alpha, "A",
          "add A × the chosen response's NLL per token (iterative RPO; 0: off)", 0, 1e6 },
        { "length-norm", 0, SR_OPT_FLAG, &dpo.length_norm, NULL,
          "mean log-prob per response token instead of the sum", 0, 0 },
        { "ref", 0, SR_OPT_STR, &ref_path, "MODEL", "reference model (default: the starting model, -m)", 0, 0 },
        { "write-ref", 0, SR_OPT_STR, &write_ref_path, "FILE",
          "write the pairs with ref_chosen_logp and ref_rejected_logp added", 0, 0 },
        { "eval", 0, SR_OPT_FLAG, &eval, NULL,
          "no training: print -m's loss, margin and accuracy against the reference as JSON", 0, 0 },
        SR_TRAIN_OPTS(&o, &f, "pairs"),
        SR_OPT_END,
    };
    sr_cli cli = {
        .name = "sr-dpo",
        .summary = "Preference-optimize a model on pair records (prompt, chosen, rejected, optional system).",
        .usage = "[OPTION]... -o OUT.gguf [-i PAIRS]",
        .details = "Input: msgpack records {prompt, chosen, rejected, [system], [ref_chosen_logp,\n"
                   "ref_rejected_logp]}; a pair's log-prob covers its response and end-of-turn token.\n"
                   "Reference log-probs missing from the records are computed first, by --ref or -m.\n"
                   "Output: a GGUF checkpoint with the parent's metadata and sr.* provenance keys;\n"
                   "with --save-every/--resume, the state in OUT.state. --eval prints JSON instead.",
    };
    sr_cli_parse(&cli, opts, argc, argv);

    sr_train_job job = { .tool = "sr-dpo", .version = SR_VERSION, .out = cli.output };
    enum sr_overlong policy;
    if (sr_dpo_kind_parse(loss_name, &dpo.kind) < 0)
        sr_usage_error("--loss: '%s' is not one of sigmoid, ipo, hinge", loss_name);
    sr_train_flags_apply(&f, &o, &policy, &job);
    if (eval && cli.output && strcmp(cli.output, "-") != 0)
        sr_usage_error("--eval prints its JSON to standard output; -o is for a checkpoint");
    if (!eval && (!cli.output || strcmp(cli.output, "-") == 0))
        sr_usage_error("-o OUT.gguf is required (a checkpoint is not written to standard output)");
    if (eval && f.resume) sr_usage_error("--eval and --resume do not go together");

    /* The tokenizer and chat format first: the arena's size depends on the data. */
    sr_train_job_open(&job, &lo);
    if (job.max_len > job.n_ctx) job.max_len = job.n_ctx;
    sr_pairs pi;
    sr_read_pairs(&cli, &job.llm.chat, (int)job.max_len, policy, write_ref_path != NULL, &pi);
    if (pi.truncated || pi.dropped)
        sr_warn("%zu pairs over %ld tokens: %zu truncated, %zu dropped (--overlong %s)%s",
                pi.truncated + pi.dropped, job.max_len, pi.truncated, pi.dropped, f.overlong,
                pi.given && pi.truncated ? "; reference log-probs given in the records must "
                                           "have been computed with the same --max-len" : "");
    if (pi.data.n_ex == 0) sr_die(SR_EXIT_DATA, "0 pairs: nothing to train on (%s)",
                                  pi.dropped ? "every pair was over --max-len and dropped" : "the input holds no pairs");
    const size_t missing = sr_pairs_missing(&pi);
    if (eval && missing && !ref_path)
        sr_usage_error("--eval: %zu pairs carry no reference log-probs and there is no --ref MODEL "
                       "(against itself every margin is 0)", missing);

    uint64_t ref_model_hash = 0;
    const bool by_ref = sr_dpo_reference(&job, &pi, ref_path, eval ? 1 : (int)f.micro, eval, f.quiet,
                                         &ref_model_hash);
    dpo.ref = pi.ref;
    if (write_ref_path) sr_pairs_write_ref(&cli, write_ref_path, &pi);

    if (eval) print_eval(&job.llm.model, &pi, &dpo);
    else sr_dpo_train(&job, &pi, &dpo, by_ref ? &ref_model_hash : NULL);
    sr_cli_finish(&cli);

    sr_pairs_free(&pi);
    sr_train_job_close(&job);
    return SR_EXIT_OK;
}
