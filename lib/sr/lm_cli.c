/* lm_cli.c — the shared model and training options, and opening a model
 * for a tool: where lib/lm returns an error, exit with its code. */
#include "sr/lm_cli.h"

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

void sr_llm_open(sr_llm *llm, const sr_llm_opts *o, const sr_model_opts *mo)
{
    sr_model_opts m = *mo;
    sr_llm_model_opts(o, &m);
    enum sr_chat_format fmt = SR_CHAT_AUTO;
    if (o->chat_format && sr_chat_format_parse(o->chat_format, &fmt) < 0)
        sr_usage_error("--chat-format: '%s' is not one of " SR_CHAT_FORMAT_NAMES, o->chat_format);
    char *path = sr_llm_resolve_path(o), err[1024];
    int rc = sr_llm_load(llm, path, &m, fmt, err, sizeof err);
    free(path);
    if (rc != SR_LM_OK) sr_die(rc, "%s", err);
    /* A window (Phi-3-mini-4k's 2047, Mistral 7B v0.1's 4096) is not applied,
     * as llama.cpp applies none for phi3 or llama: said once when sequences
     * may outgrow it, where the two differ from a windowed model. */
    const int w = llm->model.hp.n_swa;
    if (w > 0 && m.max_seq > w)
        sr_warn("note: the model's %d-token sliding window is not applied: sequences up to %d "
                "tokens attend to every earlier position", w, m.max_seq);
}

void sr_llm_note_memory(const sr_llm_opts *o, const sr_model_opts *mo, int kv_caches, int kv_cap)
{
    char *path = sr_llm_resolve_path(o), err[512];
    gguf_file g;
    if (gguf_open(&g, path, err, sizeof err) < 0) { free(path); return; }
    sr_hparams hp;
    const sr_arch *arch;
    if (sr_model_check_gguf(&g, &hp, &arch, err, sizeof err) == 0) {
        sr_model_mem m;
        sr_model_mem_estimate(&hp, mo, kv_caches, kv_cap, &m);
        const double mb = 1024.0 * 1024.0;
        sr_warn("memory: %zu parameters, %.0f MB as fp32; activations %.0f MB (%d x %d tokens); "
                "KV cache %.0f MB (%d caches of %d positions); %.0f MB in all",
                sr_params_count(&hp), m.params / mb, m.arena / mb, mo->max_batch, mo->max_seq,
                m.kv / mb, kv_caches, kv_cap, (m.params + m.arena + m.kv) / mb);
    }
    gguf_close(&g);
    free(path);
}

void sr_train_flags_apply(sr_train_flags *f, const sr_train_opts *o, enum sr_overlong *policy,
                          sr_train_job *j)
{
    j->o = *o;
    if (strcmp(f->schedule, "cosine") == 0) j->o.schedule = SR_SCHED_COSINE;
    else if (strcmp(f->schedule, "linear") == 0) j->o.schedule = SR_SCHED_LINEAR;
    else sr_usage_error("--schedule: '%s' is not one of cosine, linear", f->schedule);
    if (strcmp(f->overlong, "drop") == 0) *policy = SR_OVERLONG_DROP;
    else if (strcmp(f->overlong, "truncate") == 0) *policy = SR_OVERLONG_TRUNCATE;
    else sr_usage_error("--overlong: '%s' is not one of truncate, drop", f->overlong);
    if (strcmp(f->dtype_name, "bf16") == 0) j->dtype = GGUF_T_BF16;
    else if (strcmp(f->dtype_name, "f32") == 0) j->dtype = GGUF_T_F32;
    else sr_usage_error("--dtype: '%s' is not one of f32, bf16", f->dtype_name);
    j->o.warmup = f->warmup;
    j->o.batch = (int)f->batch;
    j->o.micro_batch = (int)f->micro;
    j->o.epochs = (int)f->epochs;
    j->o.max_steps = f->max_steps;
    j->o.seed = (uint64_t)f->seed;
    if (f->micro > f->batch) f->micro = f->batch;     /* the arena needs no more */
    j->schedule = f->schedule;
    j->overlong = f->overlong;
    j->dtype_name = f->dtype_name;
    j->max_len = f->max_len;
    j->save_every = f->save_every;
    j->resume = f->resume;
    j->log_path = f->log_path;
    j->note = f->quiet ? NULL : sr_warn;
}

void sr_train_job_open(sr_train_job *j, const sr_llm_opts *lo)
{
    const sr_model_opts probe = { .max_batch = 1, .max_seq = 1, .keep_acts = 0 };
    sr_llm_open(&j->llm, lo, &probe);
    sr_llm_model_opts(lo, &j->mo);
    char err[1024];
    int rc = sr_train_job_begin(j, err, sizeof err);
    if (rc) sr_die(rc, "%s", err);
}
