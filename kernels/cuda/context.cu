/* context.cu — the CUDA backend's context (device, stream, cuBLAS handle,
 * scratch buffers), its memory functions, its table of entry points, and
 * the plug-in's one export.
 *
 * One context uses one device and one stream: every op, copy and zeroing is
 * queued on that stream in call order, so no op needs to wait for another;
 * only a download (and sum_squares, which returns a host value) waits for the
 * stream to drain. ctx_init (sr_ctx_init_cuda, through the plug-in's entry)
 * makes its device current for the calling thread; the ops assume it stays
 * current (one device per process). */
#include "cuda.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* sum_squares' partial sums, one per block, and the total after them. */
enum { REDUCE_SLOTS = SR_CUDA_REDUCE_BLOCKS + 1 };

void sr_cuda_fail(const char *what, const char *msg, const char *file, int line)
{
    fprintf(stderr, "sr: CUDA error: %s in %s at %s:%d\n", msg, what, file, line);
    exit(1);
}

/* ---- the backend table ---------------------------------------------------- */

/* In the declaration order of struct sr_ops (C++ requires it of designated
 * initializers); every entry is filled. */
static const sr_ops sr_cuda_ops = {
    .name = "cuda",
    .dev_alloc = sr_cuda_dev_alloc,
    .dev_free = sr_cuda_dev_free,
    .dev_upload = sr_cuda_dev_upload,
    .dev_download = sr_cuda_dev_download,
    .dev_copy = sr_cuda_dev_copy,
    .dev_zero = sr_cuda_dev_zero,
    .dev_sync = sr_cuda_dev_sync,
    .ctx_free = sr_cuda_ctx_free,
    .matmul_fwd = sr_cuda_matmul_fwd,
    .matmul_bwd = sr_cuda_matmul_bwd,
    .matmul_rows_fwd = sr_cuda_matmul_rows_fwd,
    .embedding_fwd = sr_cuda_embedding_fwd,
    .embedding_bwd = sr_cuda_embedding_bwd,
    .rmsnorm_fwd = sr_cuda_rmsnorm_fwd,
    .rmsnorm_bwd = sr_cuda_rmsnorm_bwd,
    .swiglu_fwd = sr_cuda_swiglu_fwd,
    .swiglu_bwd = sr_cuda_swiglu_bwd,
    .geglu_fwd = sr_cuda_geglu_fwd,
    .geglu_bwd = sr_cuda_geglu_bwd,
    .scale_fwd = sr_cuda_scale_fwd,
    .add_fwd = sr_cuda_add_fwd,
    .dropout_fwd = sr_cuda_dropout_fwd,
    .softcap_fwd = sr_cuda_softcap_fwd,
    .softcap_bwd = sr_cuda_softcap_bwd,
    .rope_fwd = sr_cuda_rope_fwd,
    .rope_bwd = sr_cuda_rope_bwd,
    .attention_workspace = sr_cuda_attention_workspace,
    .attention_fwd = sr_cuda_attention_fwd,
    .attention_bwd_workspace = sr_cuda_attention_bwd_workspace,
    .attention_bwd = sr_cuda_attention_bwd,
    .attention_decode_fwd = sr_cuda_attention_decode_fwd,
    .softmax_fwd = sr_cuda_softmax_fwd,
    .logsoftmax_fwd = sr_cuda_logsoftmax_fwd,
    .softmax_bwd = sr_cuda_softmax_bwd,
    .logsoftmax_bwd = sr_cuda_logsoftmax_bwd,
    .token_logprob_fwd = sr_cuda_token_logprob_fwd,
    .token_logprob_bwd = sr_cuda_token_logprob_bwd,
    .adamw_update = sr_cuda_adamw_update,
    .sum_squares = sr_cuda_sum_squares,
    .copy_rows = sr_cuda_copy_rows,
};

/* The devices, or 0 with *why set. No driver, a driver older than the
 * runtime, or no GPU: all mean "no device here", not an error. The failed
 * call leaves an error behind that the next cudaGetLastError would report;
 * clear it. */
static int count_devices(const char **why)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        *why = cudaGetErrorString(e);
        (void)cudaGetLastError();
        return 0;
    }
    *why = "no GPU";
    return n;
}

static int device_count(void)
{
    const char *why;
    return count_devices(&why);
}

/* Init-time failures are reported to the caller (a tool falls back or says
 * why), unlike failures inside ops, which exit. */
#define INIT_CHECK(call, what)                                                           \
    do {                                                                                 \
        cudaError_t e_ = (call);                                                         \
        if (e_ != cudaSuccess) {                                                         \
            snprintf(err, errlen, "CUDA device %d: %s failed: %s", device, what,         \
                     cudaGetErrorString(e_));                                            \
            (void)cudaGetLastError();                                                    \
            goto fail;                                                                   \
        }                                                                                \
    } while (0)

static int ctx_init(sr_ctx *ctx, int device, sr_precision precision, char *err, size_t errlen)
{
    memset(ctx, 0, sizeof *ctx);
    const char *why;
    const int count = count_devices(&why);
    if (count == 0) {
        snprintf(err, errlen, "no CUDA device is available (%s)", why);
        return -1;
    }
    if (device < 0 || device >= count) {
        snprintf(err, errlen, "CUDA device %d does not exist (%d device%s: 0..%d)", device, count,
                 count == 1 ? "" : "s", count - 1);
        return -1;
    }
    if (precision != SR_PREC_FP32 && precision != SR_PREC_TF32 && precision != SR_PREC_BF16) {
        snprintf(err, errlen, "unknown matmul precision %d", (int)precision);
        return -1;
    }
    sr_cuda *c = (sr_cuda *)calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of host memory for the CUDA context");
        return -1;
    }
    c->device = device;
    INIT_CHECK(cudaSetDevice(device), "cudaSetDevice");
    INIT_CHECK(cudaStreamCreate(&c->stream), "cudaStreamCreate");
    {
        cublasStatus_t s = cublasCreate(&c->blas);
        if (s != CUBLAS_STATUS_SUCCESS) {
            c->blas = NULL;
            snprintf(err, errlen, "CUDA device %d: cublasCreate failed: %s", device,
                     cublasGetStatusString(s));
            goto fail;
        }
        s = cublasSetStream(c->blas, c->stream);
        if (s != CUBLAS_STATUS_SUCCESS) {
            snprintf(err, errlen, "CUDA device %d: cublasSetStream failed: %s", device,
                     cublasGetStatusString(s));
            goto fail;
        }
    }
    INIT_CHECK(cudaMalloc((void **)&c->reduce, REDUCE_SLOTS * sizeof(double)), "cudaMalloc");
    c->reduce_count = REDUCE_SLOTS;

    ctx->device = SR_DEV_CUDA;
    ctx->threads = 1;
    ctx->precision = precision;
    ctx->ops = &sr_cuda_ops;
    ctx->cuda = c;
    return 0;

fail:
    if (c->reduce) cudaFree(c->reduce);
    if (c->blas) cublasDestroy(c->blas);
    if (c->stream) cudaStreamDestroy(c->stream);
    (void)cudaGetLastError();
    free(c);
    return -1;
}

void sr_cuda_ctx_free(sr_ctx *ctx)
{
    sr_cuda *c = ctx->cuda;
    if (!c) return;   /* already freed */
    /* Work still queued may use the scratch buffers: let it finish first. */
    SR_CUDA(cudaStreamSynchronize(c->stream));
    SR_CUDA(cudaFree(c->meta));
    SR_CUDA(cudaFree(c->scratch));
    SR_CUDA(cudaFree(c->reduce));
    SR_CUBLAS(cublasDestroy(c->blas));
    SR_CUDA(cudaStreamDestroy(c->stream));
    free(c);
    ctx->cuda = NULL;
}

/* ---- the plug-in's one export (backend.h) --------------------------------- */

/* The only symbol the shared object exports (the objects are compiled with
 * hidden visibility). */
extern "C" __attribute__((visibility("default"))) const sr_cuda_plugin *sr_cuda_plugin_entry(void)
{
    static const sr_cuda_plugin entry = {
        SR_BACKEND_ABI, sizeof(sr_ctx), sizeof(sr_ops), sizeof(sr_cuda_plugin), device_count, ctx_init,
    };
    return &entry;
}

/* ---- memory ------------------------------------------------------------- */

void *sr_cuda_dev_alloc(const sr_ctx *ctx, size_t bytes)
{
    (void)ctx;
    void *p = NULL;
    /* At least one byte, so that NULL always means "out of memory" (as the
     * CPU backend's malloc(bytes ? bytes : 1)). */
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();   /* not sticky, but leave nothing behind */
        return NULL;
    }
    SR_CUDA(e);
    return p;
}

void sr_cuda_dev_free(const sr_ctx *ctx, void *p)
{
    (void)ctx;
    /* cudaFree waits for the device to finish work that may still use p. */
    SR_CUDA(cudaFree(p));
}

void sr_cuda_dev_upload(const sr_ctx *ctx, void *dst, const void *host, size_t bytes)
{
    /* From pageable host memory the runtime stages the bytes before it
     * returns, so the caller may reuse `host` at once. */
    SR_CUDA(cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, sr_cuda_stream(ctx)));
}

void sr_cuda_dev_download(const sr_ctx *ctx, void *host, const void *src, size_t bytes)
{
    SR_CUDA(cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, sr_cuda_stream(ctx)));
    SR_CUDA(cudaStreamSynchronize(sr_cuda_stream(ctx)));
}

void sr_cuda_dev_copy(const sr_ctx *ctx, void *dst, const void *src, size_t bytes)
{
    SR_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, sr_cuda_stream(ctx)));
}

void sr_cuda_dev_zero(const sr_ctx *ctx, void *dst, size_t bytes)
{
    SR_CUDA(cudaMemsetAsync(dst, 0, bytes, sr_cuda_stream(ctx)));
}

void sr_cuda_dev_sync(const sr_ctx *ctx)
{
    SR_CUDA(cudaStreamSynchronize(sr_cuda_stream(ctx)));
}

/* ---- scratch ------------------------------------------------------------ */

/* Makes *buf at least `bytes` long. Growing frees the old buffer, which work
 * queued earlier may still read: the stream is drained first. Sizes grow by
 * half again so that a run of slowly growing requests reallocates rarely. */
static void *grow(const sr_ctx *ctx, void **buf, size_t *have, size_t bytes)
{
    if (bytes <= *have && *buf) return *buf;
    size_t want = bytes + bytes / 2;
    if (want < 4096) want = 4096;
    SR_CUDA(cudaStreamSynchronize(sr_cuda_stream(ctx)));
    SR_CUDA(cudaFree(*buf));
    *buf = NULL;
    *have = 0;
    SR_CUDA(cudaMalloc(buf, want));
    *have = want;
    return *buf;
}

void *sr_cuda_meta(const sr_ctx *ctx, const void *host, size_t bytes)
{
    sr_cuda *c = ctx->cuda;
    void *d = grow(ctx, &c->meta, &c->meta_bytes, bytes);
    /* Queued after the work that read the previous metadata, so overwriting
     * the same buffer is safe. */
    if (bytes) sr_cuda_dev_upload(ctx, d, host, bytes);
    return d;
}

void *sr_cuda_scratch(const sr_ctx *ctx, size_t bytes)
{
    sr_cuda *c = ctx->cuda;
    return grow(ctx, &c->scratch, &c->scratch_bytes, bytes);
}
