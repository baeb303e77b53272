/* context.c — the CPU backend: its context, its memory (the host's) and its
 * table of entry points. */
#include "cpu.h"

#include <cblas.h>
#include <errno.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *cpu_alloc(const sr_ctx *ctx, size_t bytes) { (void)ctx; return malloc(bytes ? bytes : 1); }
static void cpu_free(const sr_ctx *ctx, void *p) { (void)ctx; free(p); }
static void cpu_copy(const sr_ctx *ctx, void *dst, const void *src, size_t bytes)
{
    (void)ctx;
    memcpy(dst, src, bytes);
}
static void cpu_zero(const sr_ctx *ctx, void *dst, size_t bytes) { (void)ctx; memset(dst, 0, bytes); }
static void cpu_sync(const sr_ctx *ctx) { (void)ctx; }
static void cpu_ctx_free(sr_ctx *ctx) { (void)ctx; }

const sr_ops sr_cpu_ops = {
    .name = "cpu",
    .dev_alloc = cpu_alloc, .dev_free = cpu_free,
    .dev_upload = cpu_copy, .dev_download = cpu_copy, .dev_copy = cpu_copy,
    .dev_zero = cpu_zero, .dev_sync = cpu_sync, .ctx_free = cpu_ctx_free,
    .matmul_fwd = sr_cpu_matmul_fwd, .matmul_bwd = sr_cpu_matmul_bwd,
    .matmul_rows_fwd = sr_cpu_matmul_rows_fwd,
    .embedding_fwd = sr_cpu_embedding_fwd, .embedding_bwd = sr_cpu_embedding_bwd,
    .rmsnorm_fwd = sr_cpu_rmsnorm_fwd, .rmsnorm_bwd = sr_cpu_rmsnorm_bwd,
    .swiglu_fwd = sr_cpu_swiglu_fwd, .swiglu_bwd = sr_cpu_swiglu_bwd,
    .geglu_fwd = sr_cpu_geglu_fwd, .geglu_bwd = sr_cpu_geglu_bwd, .scale_fwd = sr_cpu_scale_fwd,
    .add_fwd = sr_cpu_add_fwd, .dropout_fwd = sr_cpu_dropout_fwd, .softcap_fwd = sr_cpu_softcap_fwd, .softcap_bwd = sr_cpu_softcap_bwd,
    .rope_fwd = sr_cpu_rope_fwd, .rope_bwd = sr_cpu_rope_bwd,
    .attention_workspace = sr_cpu_attention_workspace, .attention_fwd = sr_cpu_attention_fwd,
    .attention_bwd_workspace = sr_cpu_attention_bwd_workspace,
    .attention_bwd = sr_cpu_attention_bwd, .attention_decode_fwd = sr_cpu_attention_decode_fwd,
    .softmax_fwd = sr_cpu_softmax_fwd, .logsoftmax_fwd = sr_cpu_logsoftmax_fwd,
    .softmax_bwd = sr_cpu_softmax_bwd, .logsoftmax_bwd = sr_cpu_logsoftmax_bwd,
    .token_logprob_fwd = sr_cpu_token_logprob_fwd, .token_logprob_bwd = sr_cpu_token_logprob_bwd,
    .adamw_update = sr_cpu_adamw_update, .sum_squares = sr_cpu_sum_squares,
    .copy_rows = sr_cpu_copy_rows,
};

void sr_cpu_copy_rows(const sr_ctx *ctx, float *const *dst, const float *const *src, int n, int width)
{
    (void)ctx;   /* a few rows of a few hundred floats: not worth threads */
    for (int i = 0; i < n; i++) memcpy(dst[i], src[i], (size_t)width * sizeof(float));
}

/* Holds each probe thread until all have started, so that they coexist as
 * OpenMP's workers will. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t go;
    int released;
} probe_gate;

static void *probe_wait(void *arg)
{
    probe_gate *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->released) pthread_cond_wait(&g->go, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* Whether `n` threads (the caller and n - 1 more) can run at once, tried
 * with plain threads: libgomp, when it cannot make a worker (a small
 * ulimit -v against large thread stacks, a process limit), prints
 * "Thread creation failed" and exits the process from inside the first
 * parallel region, with no word of what was being done. Returns 0, or the
 * errno of the failed pthread_create with *made set to the threads there
 * were (caller included). */
static int probe_threads(int n, int *made)
{
    probe_gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
    pthread_t *t = calloc((size_t)n, sizeof *t);
    int rc = t ? 0 : ENOMEM, k = 0;
    for (; t && k < n - 1; k++)
        if ((rc = pthread_create(&t[k], NULL, probe_wait, &g)) != 0) break;
    pthread_mutex_lock(&g.mu);
    g.released = 1;
    pthread_cond_broadcast(&g.go);
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < k; i++) pthread_join(t[i], NULL);
    free(t);
    *made = k + 1;
    return rc;
}

int sr_ctx_init_cpu(sr_ctx *ctx, int threads, char *err, size_t errlen)
{
    if (threads <= 0) threads = omp_get_num_procs();
    if (threads <= 0) threads = 1;
    memset(ctx, 0, sizeof *ctx);
    ctx->device = SR_DEV_CPU;
    ctx->threads = threads;
    ctx->precision = SR_PREC_FP32;
    ctx->ops = &sr_cpu_ops;
    /* All parallelism is OpenMP's: the ops split their work over OpenMP
     * threads, each calling a single-threaded sgemm. Letting OpenBLAS run its
     * own thread pool as well makes the two pools spin against each other
     * (a forward ran 6× slower on 2 cores). OpenBLAS keeps this setting
     * process-wide, so it is set here rather than per call. */
    openblas_set_num_threads(1);
    if (threads > 1) {
        int made = 1, rc = probe_threads(threads, &made);
        if (rc) {
            snprintf(err, errlen, "cannot start %d threads, only %d (%s): ask for fewer threads, "
                     "or allow more memory (ulimit -v) or smaller stacks (ulimit -s)",
                     threads, made, strerror(rc));
            return -1;
        }
        /* Start OpenMP's team now, while the memory for its stacks is there:
         * libgomp keeps its workers between regions of the same size, so the
         * model's allocations that follow cannot take their place. */
        int team = 0;   /* read after: an empty region is compiled away */
        #pragma omp parallel num_threads(threads)
        {
            #pragma omp single
            team = omp_get_num_threads();
        }
        ctx->threads = team;   /* fewer when OMP_THREAD_LIMIT says so */
    }
    return 0;
}
