/* llm.h — a language model ready for a tool: the GGUF file, its weights, its
 * tokenizer and its chat format, opened from the options every model tool
 * shares (DESIGN §2):
 *
 *   -m, --model FILE      default $SR_MODEL, else models/SmolLM2-135M-Instruct.Q4_1.gguf
 *                         (looked up in the current directory, then beside the binary)
 *   --device auto|cpu|cuda, --gpu N, --precision bf16|tf32|fp32, --threads N,
 *   --chat-format NAME
 *
 * auto is CUDA when the build has it and a GPU is present, else the CPU: a
 * binary built with CUDA runs unchanged on a machine without a GPU.
 *
 * A tool puts SR_LLM_OPTS(&o) in its option table, then calls sr_llm_open. */
#ifndef SR_LLM_H
#define SR_LLM_H

#include "lm/chat.h"
#include "io/cli.h"
#include "lm/gguf.h"
#include "lm/model.h"
#include "lm/tokenizer.h"

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
      "chatml, llama2 or llama3 (default: recognised from the model)", 0, 0 }

typedef struct sr_llm {
    char *path;                 /* the model file opened */
    gguf_file gguf;             /* kept open: checkpoints copy its metadata */
    sr_model model;
    sr_tok *tok;
    sr_chat chat;
} sr_llm;

/* The model file the options name, resolved as described above (malloc'd).
 * Exits 1 with a message naming where it looked when there is none. */
char *sr_llm_resolve_path(const sr_llm_opts *o);

/* The device, GPU, precision and threads of o, resolved (auto chosen), into
 * mo: what every model a tool loads should run with. Exits 2 for a bad
 * --device or --precision, 1 for --device cuda where there is no GPU. */
void sr_llm_model_opts(const sr_llm_opts *o, sr_model_opts *mo);

/* A word for the device a model runs on, for the tools' summaries: "cpu, 2
 * threads" or "cuda:0 (bf16)". */
const char *sr_llm_device_desc(const sr_model *m, char *buf, size_t len);

/* Open the model, its tokenizer and chat format, sized for mo (the device
 * and threads are taken from o). Any failure exits: 1 for a missing file or
 * memory, 3 for a malformed model, 2 for a bad --device/--chat-format. */
void sr_llm_open(sr_llm *llm, const sr_llm_opts *o, const sr_model_opts *mo);
void sr_llm_close(sr_llm *llm);

#endif
