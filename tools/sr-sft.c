/* sr-sft — supervised fine-tuning: example records (prompt, response,
 * optional system) in, a GGUF checkpoint out. The loss covers the response
 * tokens and the end-of-turn token of each example, rendered with the
 * model's chat template; the trainer (lib/train) does the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "lm/checkpoint.h"
#include "io/cli.h"
#include "base/ids.h"
#include "sr/lm_cli.h"
#include "io/record.h"
#include "lm/tinymodel.h"
#include "lm/train.h"

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
    sr_train_flags f = SR_TRAIN_FLAGS_INIT;
    const char *tiny = NULL;
    const sr_opt opts[] = {
        SR_LLM_OPTS(&lo),
        SR_TRAIN_OPTS(&o, &f, "examples"),
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
        to.seed = (uint64_t)f.seed + 1;
        int real;
        char err[512];
        if (sr_tiny_model_write(tiny, &to, &real, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
        if (!f.quiet) sr_warn("wrote %s: tiny random model with %s tokenizer", tiny, real ? from : "the fixture");
        return SR_EXIT_OK;
    }

    enum sr_overlong policy;
    enum gguf_ttype dtype;
    sr_train_flags_apply(&f, &o, &policy, &dtype);
    if (!cli.output || strcmp(cli.output, "-") == 0)
        sr_usage_error("-o OUT.gguf is required (a checkpoint is not written to standard output)");

    /* The tokenizer and chat format first, with a minimal arena: the
     * training arena's size depends on the data. */
    sr_llm llm;
    sr_model_opts mo = { .max_batch = 1, .max_seq = 1, .keep_acts = 0 };
    sr_llm_open(&llm, &lo, &mo);
    char err[512];
    sft_run run = { .out = cli.output, .model_path = llm.path, .parent = &llm.gguf, .dtype = dtype, .o = &o,
                    .schedule = f.schedule, .overlong = f.overlong, .dtype_name = f.dtype_name, .max_len = f.max_len };
    if (sr_file_xxh64(llm.path, &run.parent_hash, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);

    sr_train_data data = { .seqs_per_ex = 1 };
    data_counts counts = { 0, 0 };
    if ((int)f.max_len > llm.model.hp.n_ctx) f.max_len = llm.model.hp.n_ctx;
    read_examples(&cli, &llm.chat, (int)f.max_len, policy, &data, &run.data_hash, &counts);
    run.n_examples = data.n_ex;
    if (counts.truncated || counts.dropped)
        sr_warn("%zu examples over %ld tokens: %zu truncated, %zu dropped (--overlong %s)",
                counts.truncated + counts.dropped, f.max_len, counts.truncated, counts.dropped, f.overlong);
    if (data.n_ex == 0) sr_die(SR_EXIT_DATA, "no examples to train on");
    o.inputs_hash = run.parent_hash ^ (run.data_hash * 0x9e3779b97f4a7c15ull);

    sr_model_free(&llm.model);
    mo = (sr_model_opts){ .max_batch = (int)(f.micro < f.batch ? f.micro : f.batch), .max_seq = data.max_len,
                          .keep_acts = 1 };
    sr_llm_model_opts(&lo, &mo);
    if (sr_model_load_gguf(&llm.model, &llm.gguf, &mo, err, sizeof err) < 0)
        sr_die(SR_EXIT_FAIL, "model %s: %s", llm.path, err);

    sr_loss loss = { .name = "sft", .fn = sr_loss_sft };
    sr_trainer tr;
    if (sr_trainer_init(&tr, &llm.model, &data, &o, &loss, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
    char *state = NULL;
    if (asprintf(&state, "%s.state", cli.output) < 0) sr_die(SR_EXIT_FAIL, "out of memory");
    if (f.resume) {
        int rc = sr_trainer_load_state(&tr, state, err, sizeof err);
        if (rc < 0) sr_die(SR_EXIT_FAIL, "--resume: %s", err);
        if (!f.quiet) {
            if (rc == 1) sr_warn("--resume: no %s yet; starting at step 0", state);
            else sr_warn("resuming from %s at step %ld of %ld", state, tr.step, tr.total_steps);
        }
    }
    FILE *log = NULL;
    if (f.log_path && !(log = fopen(f.log_path, f.resume && tr.step > 0 ? "a" : "w")))
        sr_die(SR_EXIT_FAIL, "--log %s: cannot open", f.log_path);
    char devdesc[64];
    if (!f.quiet)
        sr_warn("%zu examples (%d tokens at most), %ld steps of %d (micro-batch %d), %s",
                data.n_ex, data.max_len, tr.total_steps, o.batch, tr.o.micro_batch,
                sr_llm_device_desc(&llm.model, devdesc, sizeof devdesc));

    sr_train_run_opts ro = { .state_path = (f.save_every > 0 || f.resume) ? state : NULL,
                             .save_every = f.save_every, .save_model = save_checkpoint, .self = &run,
                             .log = log, .progress = !f.quiet };
    if (sr_train_run(&tr, &ro, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
    if (log && fclose(log) != 0) sr_die(SR_EXIT_FAIL, "--log %s: write failed", f.log_path);
    if (!f.quiet) sr_warn("wrote %s after %ld steps", cli.output, tr.step);
    sr_cli_finish(&cli);

    free(state);
    sr_trainer_free(&tr);
    sr_train_data_free(&data);
    sr_llm_close(&llm);
    return SR_EXIT_OK;
}
