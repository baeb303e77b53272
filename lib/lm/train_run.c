/* train_run.c — a training tool's run around the trainer: the model's
 * load/free/reload, resuming, the log, and checkpoints with provenance. */
#include "lm/train_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "base/atomic.h"
#include "base/ids.h"
#include "lm/checkpoint.h"

int sr_train_job_begin(sr_train_job *j, char *err, size_t errlen)
{
    j->vocab = j->llm.model.hp.vocab;
    j->n_ctx = j->llm.model.hp.n_ctx;
    sr_model_free(&j->llm.model);
    /* Two runs on one OUT would both write its state and --log (and take
     * turns at the checkpoint): the second stops here, before any work. */
    if (j->out && strcmp(j->out, "-") != 0 && sr_lockfile_take(&j->lock, j->out, err, errlen) < 0)
        return SR_LM_FAIL;
    return sr_file_xxh64(j->llm.path, &j->parent_hash, err, errlen) < 0 ? SR_LM_FAIL : SR_LM_OK;
}

int sr_train_job_load(sr_train_job *j, const sr_train_data *d, int max_batch, bool keep_acts,
                      char *err, size_t errlen)
{
    sr_model_opts mo = j->mo;
    mo.max_batch = max_batch;
    mo.max_seq = d->max_len;
    mo.keep_acts = keep_acts;
    char why[512];
    if (sr_model_load_gguf(&j->llm.model, &j->llm.gguf, &mo, why, sizeof why) < 0) {
        snprintf(err, errlen, "model %s: %s", j->llm.path, why);
        return SR_LM_FAIL;
    }
    return SR_LM_OK;
}

/* ---- the checkpoint --------------------------------------------------------- */

static size_t put_kvs(gguf_kv *kv, size_t n, const gguf_kv *add, size_t n_add)
{
    if (n_add) memcpy(kv + n, add, n_add * sizeof *add);
    return n + n_add;
}

/* The sr.* keys in their order: who wrote it and from what, the tool's
 * inputs, the run, the loss's settings, the trainer's, the tool's tail. */
static int save_checkpoint(void *self, const sr_trainer *t, char *err, size_t errlen)
{
    const sr_train_job *j = self;
    const sr_train_opts *o = &t->o;
    char parent_hex[17], data_hex[17];
    sr_hex64(j->parent_hash, parent_hex);
    sr_hex64(j->data_hash, data_hex);
    gguf_kv *kv = malloc((25 + j->n_inputs + j->n_loss_hparams + j->n_tail) * sizeof *kv);
    if (!kv) { snprintf(err, errlen, "%s: out of memory", j->out); return -1; }
    size_t n = 0;
    kv[n++] = sr_kv_str("sr.tool", j->tool);
    kv[n++] = sr_kv_str("sr.version", j->version);
    kv[n++] = sr_kv_str("sr.parent.xxh64", parent_hex);
    kv[n++] = sr_kv_str("sr.data.xxh64", data_hex);
    n = put_kvs(kv, n, j->inputs, j->n_inputs);
    kv[n++] = sr_kv_u64("sr.steps", t->step);
    kv[n++] = sr_kv_u64("sr.examples", t->data->n_ex);
    kv[n++] = sr_kv_str("sr.loss", j->loss_name);
    n = put_kvs(kv, n, j->loss_hparams, j->n_loss_hparams);
    kv[n++] = sr_kv_f64("sr.hparams.lr", o->lr);
    kv[n++] = sr_kv_f64("sr.hparams.lr_final", o->lr_final);
    kv[n++] = sr_kv_u64("sr.hparams.warmup", o->warmup);
    kv[n++] = sr_kv_str("sr.hparams.schedule", j->schedule);
    kv[n++] = sr_kv_u64("sr.hparams.batch", o->batch);
    /* as asked for, not as clamped to the batch */
    kv[n++] = sr_kv_u64("sr.hparams.micro_batch", j->o.micro_batch);
    kv[n++] = sr_kv_u64("sr.hparams.epochs", o->epochs);
    kv[n++] = sr_kv_u64("sr.hparams.max_steps", o->max_steps);
    kv[n++] = sr_kv_u64("sr.hparams.max_len", j->max_len);
    kv[n++] = sr_kv_str("sr.hparams.overlong", j->overlong);
    /* only when on: checkpoints without dropout stay as they were */
    if (o->dropout > 0) kv[n++] = sr_kv_f64("sr.hparams.dropout", o->dropout);
    kv[n++] = sr_kv_f64("sr.hparams.weight_decay", o->weight_decay);
    kv[n++] = sr_kv_f64("sr.hparams.clip", o->clip);
    kv[n++] = sr_kv_f64("sr.hparams.beta1", o->beta1);
    kv[n++] = sr_kv_f64("sr.hparams.beta2", o->beta2);
    kv[n++] = sr_kv_f64("sr.hparams.eps", o->eps);
    kv[n++] = sr_kv_u64("sr.hparams.seed", o->seed);
    kv[n++] = sr_kv_str("sr.hparams.dtype", j->dtype_name);
    n = put_kvs(kv, n, j->tail, j->n_tail);
    int rc = sr_checkpoint_write(j->out, t->m, &j->llm.gguf, kv, n, j->dtype, err, errlen);
    free(kv);
    return rc;
}

/* ---- the run ---------------------------------------------------------------- */

/* --resume: the state when there is one, with a note either way. */
static int resume(sr_train_job *j, sr_trainer *tr, const char *state, char *err, size_t errlen)
{
    char why[512];
    int rc = sr_trainer_load_state(tr, state, why, sizeof why);
    if (rc < 0) { snprintf(err, errlen, "--resume: %s", why); return SR_LM_FAIL; }
    if (j->note) {
        if (rc == 1) j->note("--resume: no %s yet; starting at step 0", state);
        else j->note("resuming from %s at step %ld of %ld", state, tr->step, tr->total_steps);
    }
    return SR_LM_OK;
}

/* The log, positioned for the line of step `step` + 1. A run resumed from
 * a checkpoint at step S redoes the steps after S, so the log is cut back
 * to its lines of steps 1 .. S (and any line a kill left half-written)
 * before the redone steps are written again: it ends with one line per
 * step, each from the run whose weights count. Cutting rather than skipping
 * the redone steps keeps the lines of the run that made the final weights,
 * and drops nothing of a step that still counts. */
static FILE *open_log(const char *path, long step)
{
    FILE *f = step > 0 ? fopen(path, "r+") : NULL;
    if (!f) return fopen(path, "w");   /* a new run, or no log yet */
    char *line = NULL;
    size_t cap = 0;
    off_t keep = 0;
    for (ssize_t n; (n = getline(&line, &cap, f)) > 0;) {
        long s;
        if (line[n - 1] != '\n') break;
        if (sscanf(line, "{\"step\":%ld", &s) == 1 && s > step) break;
        keep += n;
    }
    free(line);
    if (ftruncate(fileno(f), keep) != 0 || fseeko(f, keep, SEEK_SET) != 0) {
        int saved = errno;
        fclose(f);
        errno = saved;
        return NULL;
    }
    return f;
}

static int run_trainer(sr_train_job *j, sr_trainer *tr, const char *state, const char *data_desc,
                       const char *loss_desc, char *err, size_t errlen)
{
    /* A killed run's partial checkpoint and state go now, not at this
     * run's first save, which may be hours away. */
    sr_atomic_clean_stale(j->out);
    sr_atomic_clean_stale(state);
    if (j->resume) {
        int rc = resume(j, tr, state, err, errlen);
        if (rc) return rc;
    }
    FILE *log = NULL;
    if (j->log_path && !(log = open_log(j->log_path, j->resume ? tr->step : 0))) {
        snprintf(err, errlen, "--log %s: cannot open: %s", j->log_path, strerror(errno));
        return SR_LM_FAIL;
    }
    char dev[64];
    if (j->note)
        j->note("%s, %ld steps of %d (micro-batch %d), %s%s%s", data_desc, tr->total_steps, j->o.batch,
                tr->o.micro_batch, loss_desc ? loss_desc : "", loss_desc ? ", " : "",
                sr_llm_device_desc(&j->llm.model, dev, sizeof dev));
    sr_train_run_opts ro = { .state_path = (j->save_every > 0 || j->resume) ? state : NULL,
                             .save_every = j->save_every, .save_model = save_checkpoint, .self = j,
                             .log = log, .progress = j->note != NULL };
    int rc = sr_train_run(tr, &ro, err, errlen) < 0 ? SR_LM_FAIL : SR_LM_OK;
    if (log && fclose(log) != 0 && !rc) {
        snprintf(err, errlen, "--log %s: write failed", j->log_path);
        rc = SR_LM_FAIL;
    }
    if (!rc && j->note) j->note("wrote %s after %ld steps", j->out, tr->step);
    return rc;
}

int sr_train_job_run(sr_train_job *j, const sr_train_data *d, const sr_loss *loss,
                     const char *data_desc, const char *loss_desc, char *err, size_t errlen)
{
    sr_trainer tr;
    if (sr_trainer_init(&tr, &j->llm.model, d, &j->o, loss, err, errlen) < 0) return SR_LM_FAIL;
    char *state = NULL;
    if (asprintf(&state, "%s.state", j->out) < 0) {
        sr_trainer_free(&tr);
        snprintf(err, errlen, "out of memory");
        return SR_LM_FAIL;
    }
    int rc = run_trainer(j, &tr, state, data_desc, loss_desc, err, errlen);
    free(state);
    sr_trainer_free(&tr);
    return rc;
}

void sr_train_job_close(sr_train_job *j)
{
    sr_lockfile_release(&j->lock);
    sr_llm_close(&j->llm);
}
