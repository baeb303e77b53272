/* llm.c — opening a model for a tool, with the shared options' conventions. */
#include "lm/llm.h"

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

void sr_llm_model_opts(const sr_llm_opts *o, sr_model_opts *mo)
{
    const char *dev = o->device ? o->device : "auto", *prec = o->precision ? o->precision : "bf16";
    if (strcmp(dev, "auto") != 0 && strcmp(dev, "cpu") != 0 && strcmp(dev, "cuda") != 0)
        sr_usage_error("--device: '%s' is not one of auto, cpu, cuda", dev);
    if      (strcmp(prec, "bf16") == 0) mo->precision = SR_PREC_BF16;
    else if (strcmp(prec, "tf32") == 0) mo->precision = SR_PREC_TF32;
    else if (strcmp(prec, "fp32") == 0) mo->precision = SR_PREC_FP32;
    else sr_usage_error("--precision: '%s' is not one of bf16, tf32, fp32", prec);
    const int gpus = strcmp(dev, "cpu") == 0 ? 0 : sr_cuda_device_count();
    if (o->gpu > 0 && gpus > 0 && o->gpu >= gpus)
        sr_die(SR_EXIT_FAIL, "--gpu %ld: there are %d CUDA devices", o->gpu, gpus);
    if (strcmp(dev, "cuda") == 0 && gpus == 0) {
        char err[256] = "no CUDA device is available";
        sr_ctx c;   /* made only for its reason: no CUDA build, no driver or no GPU */
        if (sr_ctx_init_cuda(&c, (int)o->gpu, mo->precision, err, sizeof err) == 0) sr_ctx_free(&c);
        sr_die(SR_EXIT_FAIL, "--device cuda: %s", err);
    }
    mo->device = gpus > 0 ? SR_DEV_CUDA : SR_DEV_CPU;
    mo->gpu = (int)o->gpu;
    mo->threads = (int)o->threads;
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

void sr_llm_open(sr_llm *llm, const sr_llm_opts *o, const sr_model_opts *mo)
{
    memset(llm, 0, sizeof *llm);
    sr_model_opts m = *mo;
    sr_llm_model_opts(o, &m);
    enum sr_chat_format fmt = SR_CHAT_AUTO;
    if (o->chat_format && sr_chat_format_parse(o->chat_format, &fmt) < 0)
        sr_usage_error("--chat-format: '%s' is not one of chatml, llama2, llama3", o->chat_format);

    llm->path = sr_llm_resolve_path(o);
    char err[512];
    if (gguf_open(&llm->gguf, llm->path, err, sizeof err) < 0)
        sr_die(SR_EXIT_DATA, "model %s: %s", llm->path, err);
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
