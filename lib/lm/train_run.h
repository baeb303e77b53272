/* train_run.h — a training tool's run, from the model file to the
 * checkpoint: what sr-sft and sr-dpo do around their data and their loss,
 * written once (DESIGN §5, §8).
 *
 *   begin   the model file is open (tokenizer, chat format, a minimal
 *           arena): note its shape, free its weights while the data is
 *           read (the arena's size depends on the data), hash the file
 *   load    the policy's weights, sized for the data
 *   run     the trainer; --resume from OUT.state; --log; a checkpoint with
 *           the parent's metadata and the sr.* provenance keys (and the
 *           state) every save_every steps and at the end
 *
 * Errors are returned with the DESIGN §3 code they call for (lm/llm.h) and
 * a message; the tool exits with them. */
#ifndef SR_TRAIN_RUN_H
#define SR_TRAIN_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/lockfile.h"
#include "lm/gguf.h"
#include "lm/llm.h"
#include "lm/train.h"

typedef struct sr_train_job {
    /* the caller's: what to write and how to say it */
    const char *tool, *version;         /* sr.tool, sr.version */
    const char *loss_name;              /* sr.loss */
    const char *out;                    /* the checkpoint; its state is OUT.state */
    enum gguf_ttype dtype;              /* F32 or BF16 */
    const char *schedule, *overlong, *dtype_name;   /* the flags as given, for sr.hparams.* */
    long max_len;                       /* sr.hparams.max_len */
    sr_train_opts o;                    /* o.inputs_hash: what a state must match (base/ids.h) */
    long save_every;                    /* > 0: a checkpoint and state every K steps */
    bool resume;
    const char *log_path;               /* NULL: no log */
    /* summary lines and progress; NULL: quiet */
    void (*note)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
    uint64_t data_hash;                 /* sr.data.xxh64 */
    /* the tool's own sr.* keys: after sr.data.xxh64, after sr.loss, and last */
    const gguf_kv *inputs, *loss_hparams, *tail;
    size_t n_inputs, n_loss_hparams, n_tail;
    /* the job's */
    sr_llm llm;                         /* opened by the caller with a minimal arena */
    sr_model_opts mo;                   /* the device, threads and precision to train on */
    uint64_t parent_hash;               /* sr.parent.xxh64 */
    int vocab, n_ctx;
    sr_lockfile lock;                   /* OUT.lock: one run writes OUT, its state and log */
} sr_train_job;

/* Metadata entries for the sr.* lists (the strings must outlive the run). */
static inline gguf_kv sr_kv_str(const char *k, const char *s)
{
    return (gguf_kv){ { k, strlen(k) }, { .type = GGUF_STRING, .v.s = { s, strlen(s) } } };
}
static inline gguf_kv sr_kv_u64(const char *k, uint64_t x)
{
    return (gguf_kv){ { k, strlen(k) }, { .type = GGUF_U64, .v.u = x } };
}
static inline gguf_kv sr_kv_f64(const char *k, double x)
{
    return (gguf_kv){ { k, strlen(k) }, { .type = GGUF_F64, .v.f = x } };
}

/* After llm and mo are set: note the model's shape, free its weights, take
 * OUT's lock (sr_lockfile: a second run on OUT fails here) and
 * hash the file. Returns 0 or an SR_LM_* code with err set. */
int  sr_train_job_begin(sr_train_job *j, char *err, size_t errlen);

/* Load the policy into llm.model for batches of max_batch sequences of d
 * (keep_acts for training): once per job, after any reference pass. */
int  sr_train_job_load(sr_train_job *j, const sr_train_data *d, int max_batch, bool keep_acts,
                       char *err, size_t errlen);

/* Train on d with loss and write the checkpoint. data_desc says what d is
 * ("6 examples (41 tokens at most)"), loss_desc the loss (NULL: nothing),
 * for the summary line. Returns 0 or an SR_LM_* code with err set. */
int  sr_train_job_run(sr_train_job *j, const sr_train_data *d, const sr_loss *loss,
                      const char *data_desc, const char *loss_desc, char *err, size_t errlen);

void sr_train_job_close(sr_train_job *j);

#endif
