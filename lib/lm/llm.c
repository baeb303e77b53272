/* llm.c — a model file opened with its weights, tokenizer and chat format. */
#include "lm/llm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Everything the header tells, checked before any weight is allocated: the
 * tokenizer and chat format are metadata only, so they come first, then the
 * model's keys and tensors, and the embedding's rows against the tokens. */
static int check_header(sr_llm *llm, enum sr_chat_format fmt, char *why, size_t len,
                        const char **what)
{
    sr_hparams hp;
    const sr_arch *arch;
    *what = "tokenizer: ";
    if (sr_tok_load(&llm->tok, &llm->gguf, NULL, why, len) < 0) return -1;
    *what = "chat template: ";
    if (sr_chat_load(&llm->chat, llm->tok, &llm->gguf, fmt, why, len) < 0) return -1;
    *what = "";
    if (sr_model_check_gguf(&llm->gguf, &hp, &arch, why, len) < 0 ||
        sr_model_check_vocab(&hp, arch, sr_tok_n_vocab(llm->tok), why, len) < 0) return -1;
    return 0;
}

int sr_llm_load(sr_llm *llm, const char *path, const sr_model_opts *mo, enum sr_chat_format fmt,
                char *err, size_t errlen)
{
    memset(llm, 0, sizeof *llm);
    char why[1024];
    const char *what = "";
    int rc = SR_LM_BAD_DATA;
    if (!(llm->path = strdup(path))) { snprintf(err, errlen, "out of memory"); return SR_LM_FAIL; }
    errno = 0;
    if (gguf_open(&llm->gguf, llm->path, why, sizeof why) < 0 ||
        check_header(llm, fmt, why, sizeof why, &what) < 0) {
        snprintf(err, errlen, "model %s: %s%s", path, what, why);
        /* the file may be sound: memory ran out reading it (ulimit -v) */
        if (errno == ENOMEM) rc = SR_LM_FAIL;
    }
    else if (sr_model_load_gguf(&llm->model, &llm->gguf, mo, why, sizeof why) < 0) {
        /* the file is sound: what fails now is memory or the device */
        snprintf(err, errlen, "model %s: %s", path, why);
        rc = SR_LM_FAIL;
    } else
        rc = SR_LM_OK;
    if (rc != SR_LM_OK) sr_llm_close(llm);
    return rc;
}

void sr_llm_close(sr_llm *llm)
{
    sr_chat_free(&llm->chat);
    sr_tok_free(llm->tok);
    sr_model_free(&llm->model);
    gguf_close(&llm->gguf);
    free(llm->path);
    memset(llm, 0, sizeof *llm);
}

const char *sr_llm_device_desc(const sr_model *m, char *buf, size_t len)
{
    static const char *prec[] = { "fp32", "tf32", "bf16" };
    if (m->ctx.device == SR_DEV_CUDA)
        snprintf(buf, len, "cuda (%s matmuls)", prec[m->ctx.precision]);
    else
        snprintf(buf, len, "cpu, %d threads", m->ctx.threads);
    return buf;
}
