/* llm.h — a language model ready to use: the GGUF file (kept open, for
 * checkpoints to copy its metadata), its weights, its tokenizer and its chat
 * format. Failures are returned with the DESIGN §3 code they call for; the
 * tools' options (-m, --device, ...) and the exiting wrappers over this are
 * sr/lm_cli.h. */
#ifndef SR_LLM_H
#define SR_LLM_H

#include <stddef.h>

#include "lm/chat.h"
#include "lm/gguf.h"
#include "lm/model.h"
#include "lm/tokenizer.h"

/* What lm's whole-task calls return: 0, or the exit code (DESIGN §3) the
 * failure calls for, with a message in err. */
enum { SR_LM_OK = 0, SR_LM_FAIL = 1, SR_LM_BAD_DATA = 3 };

typedef struct sr_llm {
    char *path;                 /* the model file opened */
    gguf_file gguf;             /* kept open: checkpoints copy its metadata */
    sr_model model;
    sr_tok *tok;
    sr_chat chat;
} sr_llm;

/* Open the model file at path, its weights sized and placed by mo, its
 * tokenizer and chat format (fmt, or SR_CHAT_AUTO: recognised from the
 * template). Everything the header tells (architecture, hyperparameters,
 * tokenizer, template, each tensor's name, type and shape, the embedding's
 * rows against the tokens) is checked before a weight is allocated. Returns
 * 0, or SR_LM_BAD_DATA for a file that cannot be read as a model, with err
 * "model PATH: why" (llm is then closed), or SR_LM_FAIL when a sound file
 * cannot be loaded (out of memory, the device). */
int  sr_llm_load(sr_llm *llm, const char *path, const sr_model_opts *mo, enum sr_chat_format fmt,
                 char *err, size_t errlen);
void sr_llm_close(sr_llm *llm);

/* A word for the device a model runs on, for the tools' summaries: "cpu, 2
 * threads" or "cuda (bf16 matmuls)". */
const char *sr_llm_device_desc(const sr_model *m, char *buf, size_t len);

#endif
