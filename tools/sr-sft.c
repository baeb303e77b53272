/* sr-sft — supervised fine-tuning: example records (prompt, response,
 * optional system) in, a GGUF checkpoint out. The loss covers the response
 * tokens and the end-of-turn token of each example, rendered with the
 * model's chat template; the trainer (lib/train) does the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "checkpoint.h"
#include "cli.h"
#include "ids.h"
#include "llm.h"
#include "record.h"
#include "tinymodel.h"
#include "train.h"

typedef struct sft_run {
    const char *out, *model_path;
    const gguf_file *parent;
    enum gguf_ttype dtype;
    const sr_train_opts *o;
    const char *schedule, *overlong, *dtype_name;
    long max_len;
    size_t n_examples;
    uint64_t parent_hash, data_hash;
} sft_run;

/* The sr.* provenance keys, then the checkpoint itself. */
static int save_checkpoint(void *self, const sr_trainer *t, char *err, size_t errlen)
{
    const sft_run *r = self;
    char parent_hex[17], data_hex[17];
    sr_hex64(r->parent_hash, parent_hex);
    sr_hex64(r->data_hash, data_hex);
    const sr_train_opts *o = r->o;
#define STR(k, str) { { k, sizeof(k) - 1 }, { .type = GGUF_STRING, .v.s = { str, strlen(str) } } }
#define U64(k, x) { { k, sizeof(k) - 1 }, { .type = GGUF_U64, .v.u = (uint64_t)(x) } }
#define F64(k, x) { { k, sizeof(k) - 1 }, { .type = GGUF_F64, .v.f = (x) } }
    const gguf_kv kv[] = {
        STR("sr.tool", "sr-sft"),
        STR("sr.version", SR_VERSION),
        STR("sr.parent.xxh64", parent_hex),
        STR("sr.data.xxh64", data_hex),
        U64("sr.steps", t->step),
        U64("sr.examples", r->n_examples),
        STR("sr.loss", "sft"),
        F64("sr.hparams.lr", o->lr),
        F64("sr.hparams.lr_final", o->lr_final),
        U64("sr.hparams.warmup", o->warmup),
        STR("sr.hparams.schedule", r->schedule),
        U64("sr.hparams.batch", o->batch),
        U64("sr.hparams.micro_batch", o->micro_batch),
        U64("sr.hparams.epochs", o->epochs),
        U64("sr.hparams.max_steps", o->max_steps),
        U64("sr.hparams.max_len", r->max_len),
        STR("sr.hparams.overlong", r->overlong),
        F64("sr.hparams.weight_decay", o->weight_decay),
        F64("sr.hparams.clip", o->clip),
        F64("sr.hparams.beta1", o->beta1),
        F64("sr.hparams.beta2", o->beta2),
        F64("sr.hparams.eps", o->eps),
        U64("sr.hparams.seed", o->seed),
        STR("sr.hparams.dtype", r->dtype_name),
    };
#undef STR
#undef U64
#undef F64
    return sr_checkpoint_write(r->out, t->m, r->parent, kv, sizeof kv / sizeof kv[0], r->dtype, err, errlen);
}

/* Hash what an example says (not how the file spells it), in input order. */
static void hash_field(XXH64_state_t *h, const char *tag, const char *p, size_t n)
{
    uint64_t len = n;
    XXH64_update(h, tag, strlen(tag) + 1);
    XXH64_update(h, &len, sizeof len);
    if (n) XXH64_update(h, p, n);
}

typedef struct data_counts { size_t truncated, dropped; } data_counts;

static void read_examples(sr_cli *cli, const sr_chat *chat, int max_len, enum sr_overlong policy,
                          sr_train_data *data, uint64_t *hash, data_counts *c)
{
    XXH64_state_t *h = XXH64_createState();
    if (!h) sr_die(SR_EXIT_FAIL, "out of memory");
    XXH64_reset(h, 0);
    sr_reader *in = sr_reader_open(cli);
    sr_rec rec;
    char err[512];
    while (sr_read(in, &rec)) {
        sr_str prompt, response, system = { NULL, 0 };
        if (!sr_need_str(&rec, "prompt", &prompt) || !sr_need_str(&rec, "response", &response)) continue;
        int has_system = sr_get_str(&rec, "system", &system);
        if (has_system < 0) {
            sr_rec_bad(&rec, "system", "expected a string, got %s", sr_type_name(sr_rec_get(&rec, "system")));
            continue;
        }
        sr_train_seq seq;
        int rc = sr_train_render(chat, has_system ? system.p : NULL, system.n, prompt.p, prompt.n,
                                 response.p, response.n, max_len, policy, &seq, err, sizeof err);
        if (rc < 0) { sr_rec_bad(&rec, NULL, "%s", err); continue; }
        hash_field(h, "id", rec.id.p, rec.id.n);
        if (has_system) hash_field(h, "system", system.p, system.n);
        hash_field(h, "prompt", prompt.p, prompt.n);
        hash_field(h, "response", response.p, response.n);
        if (rc == SR_RENDER_DROPPED) { c->dropped++; continue; }
        if (rc == SR_RENDER_TRUNCATED) c->truncated++;
        if (sr_train_data_add(data, &seq, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
    }
    sr_reader_close(in);
    *hash = XXH64_digest(h);
    XXH64_freeState(h);
}

int main(int argc, char **argv)
{
    sr_llm_opts lo = SR_LLM_OPTS_INIT;
    sr_train_opts o = SR_TRAIN_OPTS_DEFAULT;
    long warmup = 0, batch = 16, micro = 1, epochs = 1, max_steps = 0, max_len = 1024, save_every = 0;
    long seed = 0;
    const char *schedule = "cosine", *overlong = "truncate", *dtype_name = "f32", *log_path = NULL;
    const char *tiny = NULL;
    bool resume = false, quiet = false;
    const sr_opt opts[] = {
        SR_LLM_OPTS(&lo),
        { "lr", 0, SR_OPT_DOUBLE, &o.lr, "LR", "peak learning rate", 0, 10 },
        { "lr-final", 0, SR_OPT_DOUBLE, &o.lr_final, "LR", "learning rate at the last step", 0, 10 },
        { "warmup", 0, SR_OPT_INT, &warmup, "N", "steps of linear warmup", 0, 1e9 },
        { "schedule", 0, SR_OPT_STR, &schedule, "S", "decay after warmup: cosine or linear", 0, 0 },
        { "batch", 0, SR_OPT_INT, &batch, "N", "examples per optimizer step", 1, 1e6 },
        { "micro-batch", 0, SR_OPT_INT, &micro, "N", "examples per forward (gradients accumulate)", 1, 4096 },
        { "epochs", 0, SR_OPT_INT, &epochs, "N", "passes over the data", 1, 1e6 },
        { "max-steps", 0, SR_OPT_INT, &max_steps, "N", "exactly N steps, overriding --epochs (0: off)", 0, 1e9 },
        { "max-len", 0, SR_OPT_INT, &max_len, "N", "longest sequence in tokens", 2, 1 << 20 },
        { "overlong", 0, SR_OPT_STR, &overlong, "P", "longer examples: truncate or drop", 0, 0 },
        { "weight-decay", 0, SR_OPT_DOUBLE, &o.weight_decay, "W", "decoupled weight decay (matrices)", 0, 10 },
        { "clip", 0, SR_OPT_DOUBLE, &o.clip, "C", "clip the global gradient norm to C (0: off)", 0, 1e9 },
        { "beta1", 0, SR_OPT_DOUBLE, &o.beta1, "B", "AdamW beta1", 0, 0.999999 },
        { "beta2", 0, SR_OPT_DOUBLE, &o.beta2, "B", "AdamW beta2", 0, 0.999999999 },
        { "adam-eps", 0, SR_OPT_DOUBLE, &o.eps, "E", "AdamW epsilon", 1e-30, 1 },
        { "seed", 0, SR_OPT_INT, &seed, "N", "seed of the data order", 0, 9.2e18 },
        { "dtype", 0, SR_OPT_STR, &dtype_name, "T", "checkpoint weights: f32 or bf16", 0, 0 },
        { "log", 0, SR_OPT_STR, &log_path, "FILE", "metrics per step as JSON lines", 0, 0 },
        { "save-every", 0, SR_OPT_INT, &save_every, "K", "checkpoint and state every K steps (0: at the end)", 0, 1e9 },
        { "resume", 0, SR_OPT_FLAG, &resume, NULL, "continue from OUT.state when it exists", 0, 0 },
        { "quiet", 'q', SR_OPT_FLAG, &quiet, NULL, "no progress or summary on standard error", 0, 0 },
        { "write-tiny-model", 0, SR_OPT_STR, &tiny, "FILE",
          "(tests) write a tiny random model with -m's tokenizer, or a fixture one, and exit", 0, 0 },
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

    if (tiny) {
        sr_tiny_opts to = SR_TINY_OPTS_DEFAULT;
        const char *from = lo.model ? lo.model : getenv("SR_MODEL");
        if (!from || !*from) from = SR_DEFAULT_MODEL;
        to.tokenizer_from = from;
        to.seed = (uint64_t)seed + 1;
        int real;
        char err[512];
        if (sr_tiny_model_write(tiny, &to, &real, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
        if (!quiet) sr_warn("wrote %s: tiny random model with %s tokenizer", tiny, real ? from : "the fixture");
        return SR_EXIT_OK;
    }

    enum sr_overlong policy = SR_OVERLONG_TRUNCATE;
    if (strcmp(schedule, "cosine") == 0) o.schedule = SR_SCHED_COSINE;
    else if (strcmp(schedule, "linear") == 0) o.schedule = SR_SCHED_LINEAR;
    else sr_usage_error("--schedule: '%s' is not one of cosine, linear", schedule);
    if (strcmp(overlong, "drop") == 0) policy = SR_OVERLONG_DROP;
    else if (strcmp(overlong, "truncate") != 0) sr_usage_error("--overlong: '%s' is not one of truncate, drop", overlong);
    enum gguf_ttype dtype = GGUF_T_F32;
    if (strcmp(dtype_name, "bf16") == 0) dtype = GGUF_T_BF16;
    else if (strcmp(dtype_name, "f32") != 0) sr_usage_error("--dtype: '%s' is not one of f32, bf16", dtype_name);
    if (!cli.output || strcmp(cli.output, "-") == 0)
        sr_usage_error("-o OUT.gguf is required (a checkpoint is not written to standard output)");
    o.warmup = warmup; o.batch = (int)batch; o.micro_batch = (int)micro; o.epochs = (int)epochs;
    o.max_steps = max_steps; o.seed = (uint64_t)seed;

    /* The tokenizer and chat format first, with a minimal arena: the
     * training arena's size depends on the data. */
    sr_llm llm;
    sr_model_opts mo = { .max_batch = 1, .max_seq = 1, .keep_acts = 0 };
    sr_llm_open(&llm, &lo, &mo);
    char err[512];
    sft_run run = { .out = cli.output, .model_path = llm.path, .parent = &llm.gguf, .dtype = dtype, .o = &o,
                    .schedule = schedule, .overlong = overlong, .dtype_name = dtype_name, .max_len = max_len };
    if (sr_file_xxh64(llm.path, &run.parent_hash, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);

    sr_train_data data = { .seqs_per_ex = 1 };
    data_counts counts = { 0, 0 };
    if ((int)max_len > llm.model.hp.n_ctx) max_len = llm.model.hp.n_ctx;
    read_examples(&cli, &llm.chat, (int)max_len, policy, &data, &run.data_hash, &counts);
    run.n_examples = data.n_ex;
    if (counts.truncated || counts.dropped)
        sr_warn("%zu examples over %ld tokens: %zu truncated, %zu dropped (--overlong %s)",
                counts.truncated + counts.dropped, max_len, counts.truncated, counts.dropped, overlong);
    if (data.n_ex == 0) sr_die(SR_EXIT_DATA, "no examples to train on");
    o.inputs_hash = run.parent_hash ^ (run.data_hash * 0x9e3779b97f4a7c15ull);

    sr_model_free(&llm.model);
    mo = (sr_model_opts){ .max_batch = (int)(micro < batch ? micro : batch), .max_seq = data.max_len,
                          .keep_acts = 1, .threads = (int)lo.threads };
    if (sr_model_load_gguf(&llm.model, &llm.gguf, &mo, err, sizeof err) < 0)
        sr_die(SR_EXIT_FAIL, "model %s: %s", llm.path, err);

    sr_loss loss = { .name = "sft", .fn = sr_loss_sft };
    sr_trainer tr;
    if (sr_trainer_init(&tr, &llm.model, &data, &o, &loss, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
    char *state = NULL;
    if (asprintf(&state, "%s.state", cli.output) < 0) sr_die(SR_EXIT_FAIL, "out of memory");
    if (resume) {
        int rc = sr_trainer_load_state(&tr, state, err, sizeof err);
        if (rc < 0) sr_die(SR_EXIT_FAIL, "--resume: %s", err);
        if (!quiet) {
            if (rc == 1) sr_warn("--resume: no %s yet; starting at step 0", state);
            else sr_warn("resuming from %s at step %ld of %ld", state, tr.step, tr.total_steps);
        }
    }
    FILE *log = NULL;
    if (log_path && !(log = fopen(log_path, resume && tr.step > 0 ? "a" : "w")))
        sr_die(SR_EXIT_FAIL, "--log %s: cannot open", log_path);
    if (!quiet)
        sr_warn("%zu examples (%d tokens at most), %ld steps of %d (micro-batch %d), %d threads",
                data.n_ex, data.max_len, tr.total_steps, o.batch, tr.o.micro_batch, llm.model.ctx.threads);

    sr_train_run_opts ro = { .state_path = (save_every > 0 || resume) ? state : NULL,
                             .save_every = save_every, .save_model = save_checkpoint, .self = &run,
                             .log = log, .progress = !quiet };
    if (sr_train_run(&tr, &ro, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
    if (log && fclose(log) != 0) sr_die(SR_EXIT_FAIL, "--log %s: write failed", log_path);
    if (!quiet) sr_warn("wrote %s after %ld steps", cli.output, tr.step);
    sr_cli_finish(&cli);

    free(state);
    sr_trainer_free(&tr);
    sr_train_data_free(&data);
    sr_llm_close(&llm);
    return SR_EXIT_OK;
}
