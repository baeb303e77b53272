/* dpo_run.c — sr-dpo's run: where the reference log-probs come from, and
 * DPO's provenance and state settings on top of the training run. */
#include "sr/dpo_run.h"

#include <stdio.h>
#include <string.h>

#include "base/ids.h"
#include "io/cli.h"

bool sr_dpo_reference(sr_train_job *job, sr_pairs *pi, const char *ref_path, int pair_batch, bool eval,
                      bool quiet, uint64_t *ref_model)
{
    const size_t missing = sr_pairs_missing(pi);
    char err[1024];
    /* A reference model of its own is loaded, used and freed before the
     * policy; without one the policy itself is the reference. */
    if (missing && ref_path)
        sr_pairs_reference_file(pi, ref_path, &job->mo, job->vocab, ref_model, quiet);
    else if (!missing && ref_path && !quiet)
        sr_warn("--ref %s not loaded: every pair carries its reference log-probs", ref_path);
    int rc = sr_train_job_load(job, &pi->data, 2 * pair_batch, !eval, err, sizeof err);
    if (rc) sr_die(rc, "%s", err);
    if (missing && !ref_path) sr_pairs_reference(pi, &job->llm.model, job->llm.path, quiet);
    return missing && ref_path;
}

void sr_dpo_train(sr_train_job *job, const sr_pairs *pi, const sr_dpo *dpo, const uint64_t *ref_model)
{
    const char *loss_name = sr_dpo_kind_name(dpo->kind);
    const uint64_t ref_hash = sr_hash(pi->ref, pi->data.n_ex * 2 * sizeof *pi->ref, 0);
    /* the settings a state must match beyond the trainer's own */
    char settings[256], ref_hex[17], ref_model_hex[17], loss[32], what[160], how[96];
    int ns = snprintf(settings, sizeof settings, "dpo loss=%s beta=%.17g rpo=%.17g ln=%d max_len=%ld overlong=%s",
                      loss_name, dpo->beta, dpo->rpo_alpha, (int)dpo->length_norm, job->max_len, job->overlong);
    job->o.inputs_hash = sr_dpo_inputs_hash(job->parent_hash, pi->hash, ref_hash, settings, (size_t)ns);
    sr_hex64(ref_hash, ref_hex);
    sr_hex64(ref_model ? *ref_model : 0, ref_model_hex);
    snprintf(loss, sizeof loss, "dpo-%s", loss_name);
    const gguf_kv inputs[] = { sr_kv_str("sr.ref.xxh64", ref_hex) };   /* the reference log-probs, however obtained */
    const gguf_kv hparams[] = { sr_kv_f64("sr.hparams.beta", dpo->beta), sr_kv_f64("sr.hparams.rpo_alpha", dpo->rpo_alpha),
                                sr_kv_u64("sr.hparams.length_norm", dpo->length_norm) };
    const gguf_kv tail[] = { sr_kv_str("sr.ref.model.xxh64", ref_model_hex) };
    job->loss_name = loss;
    job->data_hash = pi->hash;
    job->inputs = inputs, job->n_inputs = 1;
    job->loss_hparams = hparams, job->n_loss_hparams = 3;
    job->tail = tail, job->n_tail = ref_model ? 1 : 0;
    snprintf(what, sizeof what, "%zu pairs (%zu with given reference log-probs; %d tokens at most)",
             pi->data.n_ex, pi->given, pi->data.max_len);
    snprintf(how, sizeof how, "%s loss, beta %g%s", loss_name, dpo->beta, dpo->length_norm ? ", length-normalized" : "");
    sr_loss l = sr_dpo_loss(dpo);
    char err[1024];
    int rc = sr_train_job_run(job, &pi->data, &l, what, how, err, sizeof err);
    if (rc) sr_die(rc, "%s", err);
}
