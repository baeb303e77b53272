/* sr-dpo — preference optimization: pair records (prompt, chosen, rejected,
 * optional system) in, a GGUF checkpoint out (METHOD step 5).
 *
 * First the reference log-probabilities of every pair, unless the records
 * carry them (ref_chosen_logp, ref_rejected_logp): computed by the starting
 * model itself before training — one model in memory — or, with --ref, by
 * another model loaded for that pass and freed before the policy is. Then
 * the DPO loss (lib/dpo) through the trainer sr-sft uses (lib/train). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "lm/checkpoint.h"
#include "io/cli.h"
#include "sr/dpo.h"
#include "base/ids.h"
#include "sr/lm_cli.h"
#include "io/record.h"
#include "lm/train.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct dpo_run {
    const char *out;
    const gguf_file *parent;
    enum gguf_ttype dtype;
    const sr_train_opts *o;
    const sr_dpo *dpo;
    const char *schedule, *overlong, *dtype_name;
    long max_len;
    size_t n_pairs;
    uint64_t parent_hash, data_hash, ref_hash, ref_model_hash;
    bool ref_model;             /* --ref given and used */
} dpo_run;

/* The sr.* provenance keys, then the checkpoint itself. */
static int save_checkpoint(void *self, const sr_trainer *t, char *err, size_t errlen)
{
    const dpo_run *r = self;
    char parent_hex[17], data_hex[17], ref_hex[17], ref_model_hex[17], loss[32];
    sr_hex64(r->parent_hash, parent_hex);
    sr_hex64(r->data_hash, data_hex);
    sr_hex64(r->ref_hash, ref_hex);
    sr_hex64(r->ref_model_hash, ref_model_hex);
    snprintf(loss, sizeof loss, "dpo-%s", sr_dpo_kind_name(r->dpo->kind));
    const sr_train_opts *o = r->o;
#define STR(k, str) { { k, sizeof(k) - 1 }, { .type = GGUF_STRING, .v.s = { str, strlen(str) } } }
#define U64(k, x) { { k, sizeof(k) - 1 }, { .type = GGUF_U64, .v.u = (uint64_t)(x) } }
#define F64(k, x) { { k, sizeof(k) - 1 }, { .type = GGUF_F64, .v.f = (x) } }
    const gguf_kv kv[] = {
        STR("sr.tool", "sr-dpo"),
        STR("sr.version", SR_VERSION),
        STR("sr.parent.xxh64", parent_hex),
        STR("sr.data.xxh64", data_hex),
        STR("sr.ref.xxh64", ref_hex),          /* the reference log-probs, however obtained */
        U64("sr.steps", t->step),
        U64("sr.examples", r->n_pairs),
        STR("sr.loss", loss),
        F64("sr.hparams.beta", r->dpo->beta),
        F64("sr.hparams.rpo_alpha", r->dpo->rpo_alpha),
        U64("sr.hparams.length_norm", r->dpo->length_norm),
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
        STR("sr.ref.model.xxh64", ref_model_hex),   /* last: left out without --ref */
    };
#undef STR
#undef U64
#undef F64
    size_t n = sizeof kv / sizeof kv[0] - (r->ref_model ? 0 : 1);
    return sr_checkpoint_write(r->out, t->m, r->parent, kv, n, r->dtype, err, errlen);
}

/* ---- reading the pairs ------------------------------------------------------------ */

/* Hash what a pair says (not how the file spells it), in input order. */
static void hash_field(XXH64_state_t *h, const char *tag, const char *p, size_t n)
{
    uint64_t len = n;
    XXH64_update(h, tag, strlen(tag) + 1);
    XXH64_update(h, &len, sizeof len);
    if (n) XXH64_update(h, p, n);
}

typedef struct pairs_in {
    sr_train_data data;         /* seqs_per_ex 2: chosen, rejected */
    double *ref;                /* [n_ex × 2]; NAN where the record gave none */
    size_t truncated, dropped, given;
    uint64_t hash;
    /* with --write-ref: every valid record, packed, and its pair (or -1: dropped) */
    msgpack_sbuffer kept;
    long *rec_ex;
    size_t n_rec;
} pairs_in;

/* A reference log-prob from the record: 1 given, 0 absent, -1 bad (reported). */
static int get_ref(const sr_rec *rec, const char *key, double *v)
{
    int rc = sr_get_f64(rec, key, v);
    if (rc < 0) {
        sr_rec_bad(rec, key, "expected a number, got %s", sr_type_name(sr_rec_get(rec, key)));
        return -1;
    }
    if (rc == 1 && !(isfinite(*v) && *v <= 0)) {
        sr_rec_bad(rec, key, "%g is not a log-probability (a finite number <= 0)", *v);
        return -1;
    }
    return rc;
}

static void read_pairs(sr_cli *cli, const sr_chat *chat, int max_len, enum sr_overlong policy,
                       bool keep, pairs_in *pi)
{
    XXH64_state_t *h = XXH64_createState();
    if (!h) sr_die(SR_EXIT_FAIL, "out of memory");
    XXH64_reset(h, 0);
    size_t ref_cap = 0, rec_cap = 0;
    msgpack_packer pk;
    msgpack_sbuffer_init(&pi->kept);
    msgpack_packer_init(&pk, &pi->kept, msgpack_sbuffer_write);
    sr_reader *in = sr_reader_open(cli);
    sr_rec rec;
    char err[512];
    while (sr_read(in, &rec)) {
        sr_str prompt, chosen, rejected, system = { NULL, 0 };
        if (!sr_need_str(&rec, "prompt", &prompt) || !sr_need_str(&rec, "chosen", &chosen) ||
            !sr_need_str(&rec, "rejected", &rejected))
            continue;
        int has_system = sr_get_str(&rec, "system", &system);
        if (has_system < 0) {
            sr_rec_bad(&rec, "system", "expected a string, got %s", sr_type_name(sr_rec_get(&rec, "system")));
            continue;
        }
        double rw = NAN, rl = NAN;
        int gw = get_ref(&rec, "ref_chosen_logp", &rw);
        if (gw < 0) continue;
        int gl = get_ref(&rec, "ref_rejected_logp", &rl);
        if (gl < 0) continue;
        if (gw != gl) {
            sr_rec_bad(&rec, gw ? "ref_rejected_logp" : "ref_chosen_logp",
                       "missing (the record has %s: give both reference log-probs or neither)",
                       gw ? "ref_chosen_logp" : "ref_rejected_logp");
            continue;
        }
        sr_train_seq seq[2];
        const sr_str *resp[2] = { &chosen, &rejected };
        int rc[2] = { 0, 0 };
        for (int j = 0; j < 2; j++) {
            rc[j] = sr_train_render(chat, has_system ? system.p : NULL, system.n, prompt.p, prompt.n,
                                    resp[j]->p, resp[j]->n, max_len, policy, &seq[j], err, sizeof err);
            if (rc[j] < 0) break;
        }
        if (rc[0] < 0 || rc[1] < 0) {
            if (rc[0] >= 0) free(seq[0].ids);
            sr_rec_bad(&rec, rc[0] < 0 ? "chosen" : "rejected", "%s", err);
            continue;
        }
        hash_field(h, "id", rec.id.p, rec.id.n);
        if (has_system) hash_field(h, "system", system.p, system.n);
        hash_field(h, "prompt", prompt.p, prompt.n);
        hash_field(h, "chosen", chosen.p, chosen.n);
        hash_field(h, "rejected", rejected.p, rejected.n);
        long ex = -1;
        if (rc[0] == SR_RENDER_DROPPED || rc[1] == SR_RENDER_DROPPED) {
            for (int j = 0; j < 2; j++) if (rc[j] != SR_RENDER_DROPPED) free(seq[j].ids);
            pi->dropped++;
        } else {
            if (rc[0] == SR_RENDER_TRUNCATED || rc[1] == SR_RENDER_TRUNCATED) pi->truncated++;
            if (pi->data.n_ex == ref_cap) {
                ref_cap = ref_cap ? 2 * ref_cap : 256;
                double *r = realloc(pi->ref, ref_cap * 2 * sizeof *r);
                if (!r) sr_die(SR_EXIT_FAIL, "out of memory");
                pi->ref = r;
            }
            pi->ref[2 * pi->data.n_ex] = rw;
            pi->ref[2 * pi->data.n_ex + 1] = rl;
            if (gw) pi->given++;
            ex = (long)pi->data.n_ex;
            if (sr_train_data_add(&pi->data, seq, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
        }
        if (keep) {
            if (pi->n_rec == rec_cap) {
                rec_cap = rec_cap ? 2 * rec_cap : 256;
                long *r = realloc(pi->rec_ex, rec_cap * sizeof *r);
                if (!r) sr_die(SR_EXIT_FAIL, "out of memory");
                pi->rec_ex = r;
            }
            pi->rec_ex[pi->n_rec++] = ex;
            if (msgpack_pack_object(&pk, rec.obj) != 0) sr_die(SR_EXIT_FAIL, "out of memory");
        }
    }
    sr_reader_close(in);
    pi->hash = XXH64_digest(h);
    XXH64_freeState(h);
}

/* The pairs as read, each with the reference log-probs it was trained against. */
static void write_ref(sr_cli *cli, const char *path, const pairs_in *pi)
{
    sr_writer *out = sr_writer_open_path(path);
    sr_reader *in = sr_reader_open_mem(cli, pi->kept.data, pi->kept.size);
    sr_rec rec;
    for (size_t k = 0; k < pi->n_rec && sr_read(in, &rec); k++) {
        sr_recb b;
        sr_recb_init(&b, &rec);
        if (pi->rec_ex[k] >= 0) {
            sr_recb_f64(&b, "ref_chosen_logp", pi->ref[2 * pi->rec_ex[k]]);
            sr_recb_f64(&b, "ref_rejected_logp", pi->ref[2 * pi->rec_ex[k] + 1]);
        }
        sr_write(out, &b);
        sr_recb_free(&b);
    }
    sr_reader_close(in);
    sr_writer_close(out);
}

/* ---- the reference pass --------------------------------------------------------------- */

/* Fill the pairs whose reference log-probs are missing (NAN) with m's. */
static size_t reference_pass(sr_model *m, const char *what, pairs_in *pi, bool quiet)
{
    const sr_train_data *d = &pi->data;
    size_t missing = 0, done = 0;
    for (size_t e = 0; e < d->n_ex; e++) missing += isnan(pi->ref[2 * e]);
    if (!missing) return 0;
    double t0 = now(), last = t0;
    long tokens = 0;
    char err[512];
    for (size_t e = 0; e < d->n_ex; e++) {
        if (!isnan(pi->ref[2 * e])) continue;
        if (sr_dpo_logps(m, d, e, e + 1, pi->ref, err, sizeof err) < 0)
            sr_die(SR_EXIT_FAIL, "reference pass (%s): %s", what, err);
        tokens += d->seq[2 * e].len + d->seq[2 * e + 1].len;
        done++;
        if (!quiet && (now() - last > 5 || done == missing)) {
            last = now();
            fprintf(stderr, "%s: reference log-probs (%s): %zu/%zu pairs, %.0f tok/s\n", sr_progname,
                    what, done, missing, tokens / (last - t0 > 0 ? last - t0 : 1e-9));
        }
    }
    return missing;
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

    enum sr_overlong policy;
    enum gguf_ttype dtype;
    if (sr_dpo_kind_parse(loss_name, &dpo.kind) < 0)
        sr_usage_error("--loss: '%s' is not one of sigmoid, ipo, hinge", loss_name);
    sr_train_flags_apply(&f, &o, &policy, &dtype);
    if (eval && cli.output && strcmp(cli.output, "-") != 0)
        sr_usage_error("--eval prints its JSON to standard output; -o is for a checkpoint");
    if (!eval && (!cli.output || strcmp(cli.output, "-") == 0))
        sr_usage_error("-o OUT.gguf is required (a checkpoint is not written to standard output)");
    if (eval && f.resume) sr_usage_error("--eval and --resume do not go together");

    /* The tokenizer and chat format first, with a minimal arena: the
     * training arena's size depends on the data. */
    sr_llm llm;
    sr_model_opts mo = { .max_batch = 1, .max_seq = 1, .keep_acts = 0 };
    sr_llm_open(&llm, &lo, &mo);
    const int vocab = llm.model.hp.vocab, n_ctx = llm.model.hp.n_ctx;
    sr_model_free(&llm.model);
    char err[512];
    dpo_run run = { .out = cli.output, .parent = &llm.gguf, .dtype = dtype, .o = &o, .dpo = &dpo,
                    .schedule = f.schedule, .overlong = f.overlong, .dtype_name = f.dtype_name };
    if (sr_file_xxh64(llm.path, &run.parent_hash, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);

    pairs_in pi;
    memset(&pi, 0, sizeof pi);
    pi.data.seqs_per_ex = 2;
    if (f.max_len > n_ctx) f.max_len = n_ctx;
    run.max_len = f.max_len;
    read_pairs(&cli, &llm.chat, (int)f.max_len, policy, write_ref_path != NULL, &pi);
    run.data_hash = pi.hash;
    run.n_pairs = pi.data.n_ex;
    if (pi.truncated || pi.dropped)
        sr_warn("%zu pairs over %ld tokens: %zu truncated, %zu dropped (--overlong %s)%s",
                pi.truncated + pi.dropped, f.max_len, pi.truncated, pi.dropped, f.overlong,
                pi.given && pi.truncated ? "; reference log-probs given in the records must "
                                           "have been computed with the same --max-len" : "");
    if (pi.data.n_ex == 0) sr_die(SR_EXIT_DATA, "no pairs to train on");
    const size_t missing = pi.data.n_ex - pi.given;
    if (eval && missing && !ref_path)
        sr_usage_error("--eval: %zu pairs carry no reference log-probs and there is no --ref MODEL "
                       "(against itself every margin is 0)", missing);

    /* The reference: the records', then --ref's (loaded, used, freed), then
     * the starting model's, computed with the model about to be trained. */
    const int pair_batch = eval ? 1 : (int)f.micro;
    mo = (sr_model_opts){ .max_batch = 2 * pair_batch, .max_seq = pi.data.max_len, .keep_acts = !eval };
    sr_llm_model_opts(&lo, &mo);
    bool policy_loaded = false;
    if (missing && ref_path) {
        sr_model ref;
        sr_model_opts ro = { .max_batch = 2, .max_seq = pi.data.max_len, .keep_acts = 0 };
        sr_llm_model_opts(&lo, &ro);
        if (sr_model_load(&ref, ref_path, &ro, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "--ref %s: %s", ref_path, err);
        if (ref.hp.vocab != vocab)
            sr_die(SR_EXIT_FAIL, "--ref %s: a vocabulary of %d tokens, the model's is %d: the reference "
                   "must share the model's tokenizer", ref_path, ref.hp.vocab, vocab);
        if (sr_file_xxh64(ref_path, &run.ref_model_hash, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
        run.ref_model = true;
        reference_pass(&ref, ref_path, &pi, f.quiet);
        sr_model_free(&ref);
    } else if (missing) {
        if (sr_model_load_gguf(&llm.model, &llm.gguf, &mo, err, sizeof err) < 0)
            sr_die(SR_EXIT_FAIL, "model %s: %s", llm.path, err);
        policy_loaded = true;
        reference_pass(&llm.model, llm.path, &pi, f.quiet);
    } else if (ref_path && !f.quiet) {
        sr_warn("--ref %s not loaded: every pair carries its reference log-probs", ref_path);
    }
    if (!policy_loaded && sr_model_load_gguf(&llm.model, &llm.gguf, &mo, err, sizeof err) < 0)
        sr_die(SR_EXIT_FAIL, "model %s: %s", llm.path, err);
    run.ref_hash = sr_hash(pi.ref, pi.data.n_ex * 2 * sizeof *pi.ref, 0);
    dpo.ref = pi.ref;
    if (write_ref_path) write_ref(&cli, write_ref_path, &pi);

    if (eval) {
        double loss, m[SR_DPO_N_METRICS];
        if (sr_dpo_eval(&llm.model, &pi.data, &dpo, &loss, m, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
        printf("{\"pairs\":%zu,\"loss\":%.6f", pi.data.n_ex, loss);
        for (int k = 0; k < SR_DPO_N_METRICS; k++) printf(",\"%s\":%.6f", sr_dpo_metric_names[k], m[k]);
        printf("}\n");
        if (fflush(stdout) != 0) sr_die(SR_EXIT_FAIL, "writing standard output failed");
        sr_cli_finish(&cli);
    } else {
        /* The settings a state must match beyond the trainer's own. */
        char settings[256];
        int ns = snprintf(settings, sizeof settings, "dpo loss=%s beta=%.17g rpo=%.17g ln=%d max_len=%ld overlong=%s",
                          loss_name, dpo.beta, dpo.rpo_alpha, (int)dpo.length_norm, f.max_len, f.overlong);
        o.inputs_hash = run.parent_hash ^ (run.data_hash * 0x9e3779b97f4a7c15ull) ^
                        (run.ref_hash * 0xc2b2ae3d27d4eb4full) ^ sr_hash(settings, (size_t)ns, 1);

        sr_loss loss = sr_dpo_loss(&dpo);
        sr_trainer tr;
        if (sr_trainer_init(&tr, &llm.model, &pi.data, &o, &loss, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
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
        char devdesc[64];
        if (f.log_path && !(log = fopen(f.log_path, f.resume && tr.step > 0 ? "a" : "w")))
            sr_die(SR_EXIT_FAIL, "--log %s: cannot open", f.log_path);
        if (!f.quiet)
            sr_warn("%zu pairs (%zu with given reference log-probs; %d tokens at most), %ld steps of %d "
                    "(micro-batch %d), %s loss, beta %g%s, %s", pi.data.n_ex, pi.given, pi.data.max_len,
                    tr.total_steps, o.batch, tr.o.micro_batch, loss_name, dpo.beta,
                    dpo.length_norm ? ", length-normalized" : "",
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
    }

    msgpack_sbuffer_destroy(&pi.kept);
    free(pi.rec_ex);
    free(pi.ref);
    sr_train_data_free(&pi.data);
    sr_llm_close(&llm);
    return SR_EXIT_OK;
}
