/* lm_cli.h — the command-line face of lib/lm: the options every model tool
 * shares (DESIGN §2) and those every training tool shares, with the
 * wrappers that exit (DESIGN §3) where lib/lm returns errors.
 *
 *   -m, --model FILE      default $SR_MODEL, else models/SmolLM2-135M-Instruct.Q4_1.gguf
 *                         (looked up in the current directory, then beside the binary)
 *   --device auto|cpu|cuda, --gpu N, --precision bf16|tf32|fp32, --threads N,
 *   --chat-format NAME
 *
 * auto is CUDA when the build has it and a GPU is present, else the CPU: a
 * binary built with CUDA runs unchanged on a machine without a GPU.
 *
 * A tool puts SR_LLM_OPTS(&o) in its option table, then calls sr_llm_open;
 * a training tool adds SR_TRAIN_OPTS and calls sr_train_flags_apply. */
#ifndef SR_LM_CLI_H
#define SR_LM_CLI_H

#include <stdbool.h>

#include "io/cli.h"
#include "lm/llm.h"
#include "lm/train.h"
#include "lm/train_run.h"

/* ---- the model ------------------------------------------------------------ */

#define SR_DEFAULT_MODEL "models/SmolLM2-135M-Instruct.Q4_1.gguf"

typedef struct sr_llm_opts {
    const char *model;          /* NULL: $SR_MODEL, else the default model */
    const char *device;         /* "auto", "cpu" or "cuda" */
    const char *chat_format;    /* NULL: recognised from the model's template */
    long threads;               /* 0: every core */
    long gpu;                   /* CUDA device index */
    const char *precision;      /* CUDA matmuls: "bf16", "tf32" or "fp32" */
} sr_llm_opts;

#define SR_LLM_OPTS_INIT { NULL, "auto", NULL, 0, 0, "bf16" }

#define SR_LLM_OPTS(o)                                                                         \
    { "model", 'm', SR_OPT_STR, &(o)->model, "FILE",                                            \
      "GGUF model (default: $SR_MODEL, else " SR_DEFAULT_MODEL ")", 0, 0 },                      \
    { "device", 0, SR_OPT_STR, &(o)->device, "DEV", "auto, cpu or cuda", 0, 0 },                \
    { "gpu", 0, SR_OPT_INT, &(o)->gpu, "N", "CUDA device index", 0, 1023 },        \
    { "precision", 0, SR_OPT_STR, &(o)->precision, "P",                                         \
      "CUDA matmuls: bf16, tf32 or fp32", 0, 0 },                                     \
    { "threads", 0, SR_OPT_INT, &(o)->threads, "N", "CPU threads; 0 = every core", 0, 4096 },  \
    { "chat-format", 0, SR_OPT_STR, &(o)->chat_format, "NAME",                                  \
      SR_CHAT_FORMAT_NAMES " (default: from the model)", 0, 0 }

/* The model file the options name, resolved as described above (malloc'd).
 * Exits 1 with a message naming where it looked when there is none. */
char *sr_llm_resolve_path(const sr_llm_opts *o);

/* The device, GPU, precision and threads of o, resolved (auto chosen), into
 * mo: what every model a tool loads should run with. Exits 2 for a bad
 * --device or --precision, 1 for --device cuda where there is no GPU. */
void sr_llm_model_opts(const sr_llm_opts *o, sr_model_opts *mo);

/* Open the model, its tokenizer and chat format, sized for mo (the device
 * and threads are taken from o). Any failure exits: 1 for a missing file or
 * memory, 3 for a malformed model, 2 for a bad --device/--chat-format. */
void sr_llm_open(sr_llm *llm, const sr_llm_opts *o, const sr_model_opts *mo);

/* On standard error, before the model is loaded: the memory it will take
 * (sr_model_mem_estimate, read from the header): the fp32 parameters, the
 * activations sized for mo, kv_caches KV caches of kv_cap positions, and
 * their sum. A file that cannot be read as a model gets no line (its load
 * then says why). */
void sr_llm_note_memory(const sr_llm_opts *o, const sr_model_opts *mo, int kv_caches, int kv_cap);

/* ---- training (sr-sft, sr-dpo) ---------------------------------------------- */

typedef struct sr_train_flags {
    long warmup, batch, micro, epochs, max_steps, max_len, save_every, seed;
    const char *schedule, *overlong, *dtype_name, *log_path;
    bool resume, quiet;
} sr_train_flags;

#define SR_TRAIN_FLAGS_INIT { 0, 16, 1, 1, 0, 1024, 0, 0, "cosine", "truncate", "f32", NULL, false, false }

/* Option table rows: o is the sr_train_opts (for the learning rates and
 * AdamW), f the sr_train_flags, unit what one record is ("examples"). */
#define SR_TRAIN_OPTS(o, f, unit)                                                                   \
    { "lr", 0, SR_OPT_DOUBLE, &(o)->lr, "LR", "peak learning rate", 0, 10 },                        \
    { "lr-final", 0, SR_OPT_DOUBLE, &(o)->lr_final, "LR", "learning rate at the last step", 0, 10 }, \
    { "warmup", 0, SR_OPT_INT, &(f)->warmup, "N", "steps of linear warmup", 0, 1e9 },              \
    { "schedule", 0, SR_OPT_STR, &(f)->schedule, "S", "decay after warmup: cosine or linear", 0, 0 }, \
    { "batch", 0, SR_OPT_INT, &(f)->batch, "N", unit " per optimizer step", 1, 1e6 },              \
    { "micro-batch", 0, SR_OPT_INT, &(f)->micro, "N", unit " per forward (gradients accumulate)", 1, 4096 }, \
    { "epochs", 0, SR_OPT_INT, &(f)->epochs, "N", "passes over the data", 1, 1e6 },                \
    { "max-steps", 0, SR_OPT_INT, &(f)->max_steps, "N", "exactly N steps, overriding --epochs (0: off)", 0, 1e9 }, \
    { "max-len", 0, SR_OPT_INT, &(f)->max_len, "N", "longest sequence in tokens", 2, 1 << 20 },    \
    { "overlong", 0, SR_OPT_STR, &(f)->overlong, "P", "longer " unit ": truncate or drop", 0, 0 }, \
    { "weight-decay", 0, SR_OPT_DOUBLE, &(o)->weight_decay, "W", "decoupled weight decay (matrices)", 0, 10 }, \
    { "clip", 0, SR_OPT_DOUBLE, &(o)->clip, "C", "clip the global gradient norm to C (0: off)", 0, 1e9 }, \
    { "beta1", 0, SR_OPT_DOUBLE, &(o)->beta1, "B", "AdamW beta1", 0, 0.999999 },                   \
    { "beta2", 0, SR_OPT_DOUBLE, &(o)->beta2, "B", "AdamW beta2", 0, 0.999999999 },                \
    { "adam-eps", 0, SR_OPT_DOUBLE, &(o)->eps, "E", "AdamW epsilon", 1e-30, 1 },                   \
    { "seed", 0, SR_OPT_INT, &(f)->seed, "N", "seed of the data order and dropout masks", 0, 9.2e18 }, \
    { "dropout", 0, SR_OPT_DOUBLE, &(o)->dropout, "P",                                             \
      "residual dropout probability in training (0: off)", 0, 0.95 },                              \
    { "dtype", 0, SR_OPT_STR, &(f)->dtype_name, "T", "checkpoint weights: f32 or bf16", 0, 0 },    \
    { "log", 0, SR_OPT_STR, &(f)->log_path, "FILE", "metrics per step as JSON lines", 0, 0 },     \
    { "save-every", 0, SR_OPT_INT, &(f)->save_every, "K", "checkpoint and state every K steps (0: at the end)", 0, 1e9 }, \
    { "resume", 0, SR_OPT_FLAG, &(f)->resume, NULL, "continue from OUT.state when it exists", 0, 0 }, \
    { "quiet", 'q', SR_OPT_FLAG, &(f)->quiet, NULL, "no progress or summary on standard error", 0, 0 }

/* After parsing: check the named choices (a usage error, exit 2, otherwise)
 * and set up j from o and f: the trainer's settings, the checkpoint's dtype
 * and provenance names, saving, resuming, the log, and notes by sr_warn
 * unless --quiet. f->micro is clamped to f->batch as the trainer does. */
void sr_train_flags_apply(sr_train_flags *f, const sr_train_opts *o, enum sr_overlong *policy,
                          sr_train_job *j);

/* Open j's model (the -m of lo) with a minimal arena, then
 * sr_train_job_begin; any failure exits. */
void sr_train_job_open(sr_train_job *j, const sr_llm_opts *lo);

#endif
