/* train.h — the one trainer (DESIGN §8) that sr-sft and sr-dpo share.
 *
 * AdamW with fp32 master weights (the model's own fp32 parameters), linear
 * warmup then cosine or linear decay to a final learning rate, clipping by
 * the global gradient norm, and gradient accumulation: an optimizer step
 * takes `batch` examples, run `micro_batch` at a time, right-padded to the
 * longest of each micro-batch. What differs between SFT and DPO is only the
 * loss, a function of the per-token log-probabilities of a micro-batch
 * (sr_loss); everything else — data order, schedule, optimizer, logging,
 * checkpoints, resuming — is here, once.
 *
 * Data order: the examples form an endless stream of epochs, each a
 * permutation of the data seeded by (seed, epoch); step s takes stream
 * positions [s·batch, (s+1)·batch). The data position is therefore a
 * function of the step, and a resumed run sees exactly the examples an
 * uninterrupted one would have.
 *
 * Determinism: every reduction runs in an order fixed by the shapes and the
 * thread count, so with the same threads a resumed run reaches bit-identical
 * weights. */
#ifndef SR_TRAIN_H
#define SR_TRAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lm/chat.h"
#include "lm/model.h"

/* ---- data ---------------------------------------------------------------- */

/* One tokenized sequence. The loss covers the predictions of tokens
 * [resp, len): the response and its end-of-turn token. */
typedef struct sr_train_seq {
    int32_t *ids;
    int len, resp;
} sr_train_seq;

/* Examples of seqs_per_ex sequences each (1 for SFT; 2 for DPO: chosen,
 * rejected), stored example by example. */
typedef struct sr_train_data {
    int seqs_per_ex;
    size_t n_ex, cap;
    sr_train_seq *seq;          /* [n_ex × seqs_per_ex] */
    int max_len;                /* the longest sequence held */
} sr_train_data;

/* What to do with a sequence longer than the cap (--overlong). */
enum sr_overlong { SR_OVERLONG_TRUNCATE = 0, SR_OVERLONG_DROP = 1 };

enum sr_render_result { SR_RENDER_OK = 0, SR_RENDER_TRUNCATED = 1, SR_RENDER_DROPPED = 2 };

/* Render one turn pair (system may be NULL) with the chat template into a
 * sequence whose loss covers exactly the response tokens and the
 * end-of-turn token. A sequence of more than max_len tokens is cut to
 * max_len (TRUNCATE; the tail of the response is lost, and the sequence is
 * dropped if no response token is left) or dropped (DROP). Returns one of
 * sr_render_result, or -1 with err set (invalid UTF-8, out of memory). */
int  sr_train_render(const sr_chat *chat, const char *system, size_t system_len,
                     const char *prompt, size_t prompt_len, const char *response,
                     size_t response_len, int max_len, enum sr_overlong policy,
                     sr_train_seq *out, char *err, size_t errlen);

/* Append an example (seqs_per_ex sequences, taken over: freed with the data). */
int  sr_train_data_add(sr_train_data *d, const sr_train_seq *seqs, char *err, size_t errlen);
void sr_train_data_free(sr_train_data *d);

/* ---- log-probabilities of a micro-batch ------------------------------------- */

/* A micro-batch's buffers, on the host and (d_) on the model's device. Row
 * e·seqs_per_ex + j holds example e's sequence j, right-padded with token 0
 * to the longest row; position t predicts token t + 1, and targets[] is
 * that token where the loss applies (the response and its end-of-turn
 * token), -1 elsewhere. The trainer and the DPO reference pass both lay
 * out and forward their rows here, so their log-probs agree bit for bit. */
typedef struct sr_logp_batch {
    const sr_ctx *ctx;
    int max_rows, max_seq;
    int B, T;                   /* the last forward's rows and positions */
    long n_tokens;              /* its tokens, padding not counted */
    int32_t *tokens, *targets, *d_targets;  /* [B·T] */
    int *lens;                  /* [B] */
    float *lp, *d_lp;           /* [B·T] each target's log-prob; 0 where there is none */
} sr_logp_batch;

/* Buffers for up to max_rows × max_seq tokens on m's device. */
int  sr_logp_batch_init(sr_logp_batch *b, const sr_model *m, int max_rows, int max_seq,
                        char *err, size_t errlen);
void sr_logp_batch_free(sr_logp_batch *b);

/* Forward examples ex[0..n_ex) of d through m (loaded with max_batch and
 * max_seq for them) and take every target's log-prob: b->lp on the host,
 * b->d_lp and b->d_targets on the device, and the logits left in
 * m->act.logits for a backward. Returns 0, or -1 with err set. */
int  sr_logp_forward(sr_model *m, const sr_train_data *d, const size_t *ex, int n_ex,
                     sr_logp_batch *b, char *err, size_t errlen);

/* ---- the loss -------------------------------------------------------------- */

/* One micro-batch as the loss sees it: B = n_ex × seqs_per_ex sequences of
 * T positions (example e's sequence j at row e·seqs_per_ex + j). Position t
 * of a sequence predicts token t + 1; targets[] is that token where the loss
 * applies, -1 elsewhere (prompt, padding), and lp[] its log-probability
 * (0 where the target is -1). */
typedef struct sr_loss_batch {
    int n_ex, seqs_per_ex, B, T;
    const size_t *ex;           /* [n_ex] the examples' indices in the data */
    const int *lens;            /* [B] */
    const int32_t *targets;     /* [B·T] */
    const float *lp;            /* [B·T] */
    long step_targets;          /* target tokens in the whole optimizer step */
    int step_examples;          /* examples in the whole optimizer step */
} sr_loss_batch;

enum { SR_LOSS_MAX_METRICS = 8 };

/* A loss is summed over the micro-batches of a step: fn returns this
 * micro-batch's share of the step's loss and writes dlp[B·T] = ∂(step
 * loss)/∂lp (0 where the target is -1). metrics[] (n_metrics of them,
 * named) are summed over the step's micro-batches and logged, so a loss
 * normalises them as it does itself. */
typedef struct sr_loss {
    const char *name;
    double (*fn)(void *self, const sr_loss_batch *b, float *dlp, double *metrics);
    void *self;
    int n_metrics;
    const char *metric_names[SR_LOSS_MAX_METRICS];
    int n_progress;             /* the first n_progress metrics also go on the progress line */
} sr_loss;

/* Supervised fine-tuning: the mean negative log-likelihood over the step's
 * target tokens (every response token counts the same, whichever example
 * it is in). self is unused. */
double sr_loss_sft(void *self, const sr_loss_batch *b, float *dlp, double *metrics);

/* ---- the trainer ------------------------------------------------------------ */

enum sr_schedule { SR_SCHED_COSINE = 0, SR_SCHED_LINEAR = 1 };

typedef struct sr_train_opts {
    double lr, lr_final;        /* peak, and final after decay */
    long warmup;                /* steps of linear warmup from 0 */
    enum sr_schedule schedule;
    int batch, micro_batch;     /* examples per optimizer step, per forward */
    int epochs;                 /* passes over the data (unless max_steps) */
    long max_steps;             /* > 0: exactly this many steps, epochs ignored */
    double weight_decay;        /* decoupled; on matrices, not on norm weights */
    double clip;                /* global gradient norm cap; 0: none */
    double beta1, beta2, eps;
    uint64_t seed;              /* data order, and the dropout masks */
    double dropout;             /* residual dropout in [0, 1) of the trained forwards (model.h);
                                   0: none. Masks from (seed, step, micro-batch): reproducible */
    uint64_t inputs_hash;       /* parent model and data: a state must match them */
} sr_train_opts;

#define SR_TRAIN_OPTS_DEFAULT { .lr = 5.5e-6, .lr_final = 1.1e-6, .warmup = 0,          \
    .schedule = SR_SCHED_COSINE, .batch = 16, .micro_batch = 1, .epochs = 1,            \
    .max_steps = 0, .weight_decay = 0.0, .clip = 1.0, .beta1 = 0.9, .beta2 = 0.999,    \
    .eps = 1e-8, .seed = 0, .dropout = 0, .inputs_hash = 0 }

/* What one optimizer step did. */
typedef struct sr_step_stats {
    long step;                  /* 1-based, the step just taken */
    double loss, lr, grad_norm; /* grad_norm before clipping */
    long tokens, targets;       /* tokens forwarded (not padding), target tokens */
    double seconds;
    double metrics[SR_LOSS_MAX_METRICS];
} sr_step_stats;

typedef struct sr_trainer {
    sr_model *m;
    const sr_train_data *data;
    sr_train_opts o;
    sr_loss loss;
    sr_grads g;
    float *adam_m, *adam_v;     /* [n_params] first and second moments, on the model's device */
    long step, total_steps;
    uint64_t config_hash;       /* what a state file must match to be resumed */
    /* the current epoch's order */
    size_t *perm;
    long perm_epoch;
    /* the step's examples, and the micro-batch's rows and loss gradient */
    size_t *ex;
    sr_logp_batch lb;
    float *dlp, *d_dlp;
} sr_trainer;

/* Set up a trainer for m (loaded with keep_acts, max_batch >= micro_batch ×
 * seqs_per_ex, max_seq >= data->max_len). The data must outlive it. */
int  sr_trainer_init(sr_trainer *t, sr_model *m, const sr_train_data *data,
                     const sr_train_opts *o, const sr_loss *loss, char *err, size_t errlen);
void sr_trainer_free(sr_trainer *t);

/* The learning rate of (1-based) step s. */
double sr_train_lr(const sr_train_opts *o, long s, long total_steps);

/* One optimizer step: forward, loss and backward over each micro-batch,
 * then clip and update. Returns 0, or -1 with err set. */
int  sr_trainer_step(sr_trainer *t, sr_step_stats *st, char *err, size_t errlen);

/* The state beside a checkpoint (fp32 weights, both moments, the step — and
 * with it the data position — and a hash of the settings and inputs),
 * written to a temporary name and renamed, so it is whole or absent. */
int  sr_trainer_save_state(const sr_trainer *t, const char *path, char *err, size_t errlen);
/* Load a state: 0 resumed, 1 no file at path, -1 error (corrupt, or written
 * by a run with other settings, data or parent model: err says which). */
int  sr_trainer_load_state(sr_trainer *t, const char *path, char *err, size_t errlen);

/* ---- a whole run --------------------------------------------------------- */

typedef struct sr_train_run_opts {
    const char *state_path;     /* NULL: no state */
    long save_every;            /* > 0: a checkpoint and state every K steps */
    /* Write the model (e.g. the GGUF checkpoint) after `steps` steps. */
    int (*save_model)(void *self, const sr_trainer *t, char *err, size_t errlen);
    void *self;
    FILE *log;                  /* JSON lines per step, or NULL */
    bool progress;              /* a progress line per step on stderr */
} sr_train_run_opts;

/* Steps until total_steps, logging each, saving every save_every steps and
 * at the end (the model, then the state). Returns 0, or -1 with err set. */
int  sr_train_run(sr_trainer *t, const sr_train_run_opts *r, char *err, size_t errlen);

#endif
