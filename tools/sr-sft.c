/* sr-sft — supervised fine-tuning: example records (prompt, response,
 * optional system) in, a GGUF checkpoint out. The loss covers the response
 * tokens and the end-of-turn token of each example, rendered with the
 * model's chat template; the trainer (lm/train.h) and the training run
 * (lm/train_run.h) do the rest. */
#include <stdio.h>
#include <string.h>

#include "base/ids.h"
#include "io/cli.h"
#include "lm/train.h"
#include "lm/train_run.h"
#include "sr/lm_cli.h"
#include "sr/train_data.h"

int main(int argc, char **argv)
{
    sr_llm_opts lo = SR_LLM_OPTS_INIT;
    sr_train_opts o = SR_TRAIN_OPTS_DEFAULT;
    sr_train_flags f = SR_TRAIN_FLAGS_INIT;
    const sr_opt opts[] = {
        SR_LLM_OPTS(&lo),
        SR_TRAIN_OPTS(&o, &f, "examples"),
        SR_OPT_END,
    };
    sr_cli cli = {
        .name = "sr-sft",
        .summary = "Fine-tune a model on example records (prompt, response, optional system).",
        .usage = "[OPTION]... -o OUT.gguf [-i EXAMPLES]",
        .details = "Input: msgpack records {prompt, response, [system]}; the loss covers the response\n"
                   "and its end-of-turn token. Output: a GGUF checkpoint with the parent's metadata\n"
                   "and sr.* provenance keys; with --save-every/--resume, the state in OUT.state.\n"
                   "Environment: SR_MODEL (the default model), OMP_NUM_THREADS is not read: use --threads.",
    };
    sr_cli_parse(&cli, opts, argc, argv);

    sr_train_job job = { .tool = "sr-sft", .version = SR_VERSION, .loss_name = "sft", .out = cli.output };
    enum sr_overlong policy;
    sr_train_flags_apply(&f, &o, &policy, &job);
    if (!cli.output || strcmp(cli.output, "-") == 0)
        sr_usage_error("-o OUT.gguf is required (a checkpoint is not written to standard output)");

    /* The tokenizer and chat format first: the arena's size depends on the data. */
    sr_train_job_open(&job, &lo);
    /* sr.hparams.max_len says --max-len as given, the cap may be the context */
    const long cap = job.max_len < job.n_ctx ? job.max_len : job.n_ctx;
    sr_examples ex;
    sr_read_examples(&cli, &job.llm.chat, (int)cap, policy, &ex);
    if (ex.truncated || ex.dropped)
        sr_warn("%zu examples over %ld tokens: %zu truncated, %zu dropped (--overlong %s)",
                ex.truncated + ex.dropped, cap, ex.truncated, ex.dropped, f.overlong);
    if (ex.data.n_ex == 0) sr_die(SR_EXIT_DATA, "no examples to train on");
    job.data_hash = ex.hash;
    job.o.inputs_hash = sr_train_inputs_hash(job.parent_hash, ex.hash);

    char err[1024], what[128];
    int rc = sr_train_job_load(&job, &ex.data, (int)f.micro, true, err, sizeof err);
    snprintf(what, sizeof what, "%zu examples (%d tokens at most)", ex.data.n_ex, ex.data.max_len);
    sr_loss loss = { .name = "sft", .fn = sr_loss_sft };
    if (!rc) rc = sr_train_job_run(&job, &ex.data, &loss, what, NULL, err, sizeof err);
    if (rc) sr_die(rc, "%s", err);
    sr_cli_finish(&cli);

    sr_examples_free(&ex);
    sr_train_job_close(&job);
    return SR_EXIT_OK;
}
