/* llm.c — opening a model for a tool, with the shared options' conventions. */
#include "llm.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int exists(const char *p) { return access(p, R_OK) == 0; }

char *sr_llm_resolve_path(const sr_llm_opts *o)
{
    const char *p = o->model;
    if (!p || !*p) p = getenv("SR_MODEL");
    if (p && *p) {
        if (!exists(p)) sr_die(SR_EXIT_FAIL, "model %s: %s", p, strerror(errno));
        return strdup(p);
    }
    if (exists(SR_DEFAULT_MODEL)) return strdup(SR_DEFAULT_MODEL);
    /* bin/sr-gen run from elsewhere: the project's models/ beside bin/. */
    char self[PATH_MAX], *slash;
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        for (int up = 0; up < 4 && (slash = strrchr(self, '/')); up++) {
            *slash = 0;
            char cand[PATH_MAX + 64];
            snprintf(cand, sizeof cand, "%s/%s", self, SR_DEFAULT_MODEL);
            if (exists(cand)) return strdup(cand);
        }
    }
    sr_die(SR_EXIT_FAIL, "no model: give -m FILE or set SR_MODEL, or run 'make model' to fetch %s",
           SR_DEFAULT_MODEL);
}

void sr_llm_open(sr_llm *llm, const sr_llm_opts *o, const sr_model_opts *mo)
{
    memset(llm, 0, sizeof *llm);
    if (strcmp(o->device, "auto") != 0 && strcmp(o->device, "cpu") != 0) {
        if (strcmp(o->device, "cuda") == 0)
            sr_die(SR_EXIT_FAIL, "--device cuda: this build has no CUDA backend");
        sr_usage_error("--device: '%s' is not one of auto, cpu, cuda", o->device);
    }
    enum sr_chat_format fmt = SR_CHAT_AUTO;
    if (o->chat_format && sr_chat_format_parse(o->chat_format, &fmt) < 0)
        sr_usage_error("--chat-format: '%s' is not one of chatml, llama2, llama3", o->chat_format);

    llm->path = sr_llm_resolve_path(o);
    char err[512];
    if (gguf_open(&llm->gguf, llm->path, err, sizeof err) < 0)
        sr_die(SR_EXIT_DATA, "model %s: %s", llm->path, err);
    sr_model_opts m = *mo;
    m.threads = (int)o->threads;
    if (sr_model_load_gguf(&llm->model, &llm->gguf, &m, err, sizeof err) < 0)
        sr_die(SR_EXIT_DATA, "model %s: %s", llm->path, err);
    if (sr_tok_load(&llm->tok, &llm->gguf, NULL, err, sizeof err) < 0)
        sr_die(SR_EXIT_DATA, "model %s: tokenizer: %s", llm->path, err);
    if (sr_chat_load(&llm->chat, llm->tok, &llm->gguf, fmt, err, sizeof err) < 0)
        sr_die(SR_EXIT_DATA, "model %s: chat template: %s", llm->path, err);
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
