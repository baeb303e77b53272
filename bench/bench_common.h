/* bench_common.h — what bench_prefill, bench_decode and bench_train share:
 * the model and device options, opening the model (a GGUF file, or a
 * random-init llama of a named shape, so a GPU machine needs no download),
 * and a clock that waits for the device's queue first.
 *
 *   -m, --model FILE          GGUF model (default $SR_MODEL, else the default model)
 *   --random smol|1b          a random-init llama instead of a file (shapes below)
 *   --device cpu|cuda         default cpu
 *   --gpu N                   CUDA device index (default 0)
 *   --precision bf16|tf32|fp32  CUDA matmuls (default bf16)
 *   --threads N               CPU threads (default every core)
 *
 * Without --random, --device or --precision the programs print exactly what
 * they printed before these options existed (bench/RESULTS.md's commands). */
#ifndef SR_BENCH_COMMON_H
#define SR_BENCH_COMMON_H

#include "io/cli.h"
#include "kernels.h"
#include "sr/lm_cli.h"
#include "lm/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_COMMON_USAGE                                                                  \
    "[-m MODEL | --random smol|1b] [--device cpu|cuda] [--gpu N]\n"                         \
    "         [--precision bf16|tf32|fp32] [--threads N]"

#define BENCH_COMMON_HELP                                                                   \
    "  -m, --model FILE     GGUF model (default $SR_MODEL, else " SR_DEFAULT_MODEL ")\n"    \
    "  --random smol|1b     a random-init llama instead: smol = SmolLM2-135M's shape,\n"    \
    "                       1b = TinyLlama-1.1B's shape (about 1.1e9 parameters)\n"          \
    "  --device cpu|cuda    where to run (default cpu)\n"                                   \
    "  --gpu N              CUDA device index (default 0)\n"                                \
    "  --precision P        CUDA matmuls: bf16 (default), tf32 or fp32\n"                   \
    "  --threads N          CPU threads (default every core)\n"

typedef struct bench_opts {
    const char *model;       /* GGUF path */
    const char *random;      /* NULL, or "smol" / "1b": a random-init model instead of model */
    const char *device;      /* "cpu" or "cuda" */
    const char *precision;   /* CUDA matmuls */
    int threads, gpu;
    int extended;            /* --random, --device, --gpu or --precision was given */
} bench_opts;

static inline void bench_opts_init(bench_opts *b, const char *progname)
{
    /* sr_llm_model_opts reports a bad --device or --precision under this name */
    sr_progname = progname;
    const char *env = getenv("SR_MODEL");
    *b = (bench_opts){ .model = env ? env : SR_DEFAULT_MODEL, .random = NULL, .device = "cpu",
                       .precision = "bf16", .threads = 0, .gpu = 0, .extended = 0 };
}

/* If argv[*i] is one of the shared options (with its value present), take it,
 * advance *i past its value and return 1; else return 0. */
static inline int bench_common_arg(bench_opts *b, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (*i + 1 >= argc) return 0;
    const char *v = argv[*i + 1];
    if (!strcmp(a, "-m") || !strcmp(a, "--model")) b->model = v;
    else if (!strcmp(a, "--threads")) b->threads = atoi(v);
    else if (!strcmp(a, "--random")) b->random = v, b->extended = 1;
    else if (!strcmp(a, "--device")) b->device = v, b->extended = 1;
    else if (!strcmp(a, "--precision")) b->precision = v, b->extended = 1;
    else if (!strcmp(a, "--gpu")) b->gpu = atoi(v), b->extended = 1;
    else return 0;
    ++*i;
    return 1;
}

/* The usage message for an argument no option took: on standard output with
 * exit status 0 for --help (with every option explained), else on standard
 * error with 2. usage and help are the program's own options. */
static inline int bench_usage(const char *argv0, const char *arg, const char *usage, const char *help)
{
    const int asked = !strcmp(arg, "--help") || !strcmp(arg, "-h");
    FILE *f = asked ? stdout : stderr;
    fprintf(f, "usage: %s " BENCH_COMMON_USAGE "\n         %s\n", argv0, usage);
    if (asked) fprintf(f, BENCH_COMMON_HELP "%s", help);
    return asked ? 0 : 2;
}


/* The benchmarks' pseudo-random token ids: a 64-bit LCG, ids in [lo, vocab)
 * (lo = 17 keeps decoding prompts clear of control tokens). The peers
 * (peer_common.py) draw the same ones. */
static inline int32_t bench_next_token(uint64_t *s, int lo, int vocab)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (int32_t)(lo + (*s >> 33) % (uint64_t)(vocab - lo));
}

/* Seconds on a monotonic clock, after the model's device has finished what
 * was queued (CUDA runs ops asynchronously; on the CPU this is a no-op). */
static inline double bench_now(const sr_model *m)
{
    if (m) sr_dev_sync(&m->ctx);
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Open the model b names, its arena sized by o (max_batch, max_seq,
 * keep_acts; the device, GPU, precision and threads are filled in from b).
 * label gets the file's path, or "random smol (N parameters)". A bad option
 * or no CUDA device exits with a message (sr_llm_model_opts); a load failure
 * prints one and returns -1. */
static inline int bench_open(sr_model *m, const bench_opts *b, sr_model_opts *o, char *label,
                             size_t labellen)
{
    if (strcmp(b->device, "cpu") != 0 && strcmp(b->device, "cuda") != 0)
        sr_usage_error("--device: '%s' is not one of cpu, cuda", b->device);
    sr_llm_opts lo = SR_LLM_OPTS_INIT;
    lo.device = b->device;
    lo.precision = b->precision;
    lo.threads = b->threads;
    lo.gpu = b->gpu;
    sr_llm_model_opts(&lo, o);   /* exits for --device cuda without a usable GPU */
    char err[512];
    if (b->random) {
        sr_hparams hp;
        if (sr_hparams_preset(b->random, &hp) < 0)
            sr_usage_error("--random: '%s' is not one of smol, 1b", b->random);
        if (sr_model_init_random(m, &hp, 1234, o, err, sizeof err) < 0) {
            fprintf(stderr, "%s: random %s model: %s\n", sr_progname, b->random, err);
            return -1;
        }
        snprintf(label, labellen, "random %s (%zu parameters)", b->random, m->n_params);
        return 0;
    }
    if (sr_model_load(m, b->model, o, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", sr_progname, err);
        return -1;
    }
    snprintf(label, labellen, "%s", b->model);
    return 0;
}

/* How the model runs, for the summary lines: "2 threads" on the CPU (the
 * wording the CPU figures in bench/RESULTS.md were printed with), or
 * "cuda:0 bf16". */
static inline const char *bench_device_desc(const sr_model *m, const bench_opts *b, char *buf,
                                            size_t len)
{
    static const char *prec[] = { "fp32", "tf32", "bf16" };
    if (m->ctx.device == SR_DEV_CUDA)
        snprintf(buf, len, "cuda:%d %s", b->gpu, prec[m->ctx.precision]);
    else
        snprintf(buf, len, "%d threads", m->ctx.threads);
    return buf;
}

#endif
