/* backend.h — internal to kernels/: the table of entry points a backend
 * provides. Every op of kernels.h is a one-line dispatcher (kernels/ops.c)
 * through ctx->ops; kernels/cpu fills sr_cpu_ops with its sr_cpu_<op>
 * functions, kernels/cuda (when built: a plug-in, below) its own table
 * with sr_cuda_<op>. Each entry has exactly the signature of the kernels.h
 * function it serves, so a backend is checked against the public contract
 * by the compiler. The host-side helpers (argmax, top-k, sampling) are not
 * here: they work on host memory whatever the device. */
#ifndef SR_BACKEND_H
#define SR_BACKEND_H

#include "kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sr_ops {
    const char *name;   /* "cpu", "cuda" */

    /* memory */
    void *(*dev_alloc)(const sr_ctx *, size_t);
    void  (*dev_free)(const sr_ctx *, void *);
    void  (*dev_upload)(const sr_ctx *, void *, const void *, size_t);
    void  (*dev_download)(const sr_ctx *, void *, const void *, size_t);
    void  (*dev_copy)(const sr_ctx *, void *, const void *, size_t);
    void  (*dev_zero)(const sr_ctx *, void *, size_t);
    void  (*dev_sync)(const sr_ctx *);
    void  (*ctx_free)(sr_ctx *);

    /* linear layers and the embedding */
    void (*matmul_fwd)(const sr_ctx *, float *, const float *, const float *, int, int, int, int);
    void (*matmul_bwd)(const sr_ctx *, float *, float *, const float *, const float *,
                       const float *, int, int, int, int);
    void (*matmul_rows_fwd)(const sr_ctx *, float *, const float *, const float *, int, int, int, int);
    void (*embedding_fwd)(const sr_ctx *, float *, const int32_t *, int, const float *, int);
    void (*embedding_bwd)(const sr_ctx *, float *, const float *, const int32_t *, int, int);

    /* normalisation, activations, rotary embedding */
    void (*rmsnorm_fwd)(const sr_ctx *, float *, float *, const float *, const float *, int, int, float);
    void (*rmsnorm_bwd)(const sr_ctx *, float *, float *, const float *, const float *,
                        const float *, const float *, int, int);
    void (*swiglu_fwd)(const sr_ctx *, float *, const float *, int, int);
    void (*swiglu_bwd)(const sr_ctx *, float *, const float *, const float *, int, int);
    void (*geglu_fwd)(const sr_ctx *, float *, const float *, int, int);
    void (*geglu_bwd)(const sr_ctx *, float *, const float *, const float *, int, int);
    void (*scale_fwd)(const sr_ctx *, float *, size_t, float);
    void (*add_fwd)(const sr_ctx *, float *, const float *, size_t);
    void (*dropout_fwd)(const sr_ctx *, float *, size_t, float, uint64_t);
    void (*softcap_fwd)(const sr_ctx *, float *, const float *, size_t, float);
    void (*softcap_bwd)(const sr_ctx *, float *, const float *, const float *, size_t, float);
    void (*rope_fwd)(const sr_ctx *, float *, int, int, int, int, int, const int32_t *, float, const float *, int);
    void (*rope_bwd)(const sr_ctx *, float *, int, int, int, int, int, const int32_t *, float, const float *, int);

    /* attention */
    size_t (*attention_workspace)(const sr_ctx *, const sr_attn_shape *, int);
    void   (*attention_fwd)(const sr_ctx *, const sr_attn_shape *, const sr_attn_seq *, int, float *);
    size_t (*attention_bwd_workspace)(const sr_ctx *, const sr_attn_shape *, int, int);
    void   (*attention_bwd)(const sr_ctx *, const sr_attn_shape *, const sr_attn_seq *,
                            const sr_attn_seq_grad *, int, float *);
    void   (*attention_decode_fwd)(const sr_ctx *, const sr_attn_shape *, const sr_attn_seq *, int,
                                   float *);

    /* softmax and log-probabilities */
    void (*softmax_fwd)(const sr_ctx *, float *, const float *, int, int);
    void (*logsoftmax_fwd)(const sr_ctx *, float *, const float *, int, int);
    void (*softmax_bwd)(const sr_ctx *, float *, const float *, const float *, int, int);
    void (*logsoftmax_bwd)(const sr_ctx *, float *, const float *, const float *, int, int);
    void (*token_logprob_fwd)(const sr_ctx *, float *, const float *, const int32_t *, int, int);
    void (*token_logprob_bwd)(const sr_ctx *, float *, const float *, const int32_t *,
                              const float *, int, int);

    /* optimizer */
    void   (*adamw_update)(const sr_ctx *, float *, const float *, float *, float *, size_t,
                           float, float, const sr_adamw_hp *);
    double (*sum_squares)(const sr_ctx *, const float *, size_t);

    /* moving rows */
    void (*copy_rows)(const sr_ctx *, float *const *, const float *const *, int, int);
};

extern const sr_ops sr_cpu_ops;

/* ---- the CUDA plug-in ------------------------------------------------------
 * kernels/cuda is built into a shared object, libsr-cuda.so beside the
 * binaries, which kernels/plugin.c loads only when a CUDA device is asked
 * for, so that no tool links the CUDA libraries. Its one export,
 * sr_cuda_plugin_entry, returns this table: kernels.h's two CUDA entry
 * points, which fill a context with the plug-in's own sr_ops. The context
 * and the backend table are structs shared across the boundary, so the
 * loader refuses a plug-in built from other headers: bump SR_BACKEND_ABI
 * with any change to sr_ctx, sr_ops or sr_cuda_plugin (the sizes catch a
 * forgotten bump that grew one). */
enum { SR_BACKEND_ABI = 3 };   /* 2: GeGLU, scale, add, soft-cap; attention windows; 3: dropout */
#define SR_CUDA_PLUGIN_FILE  "libsr-cuda.so"
#define SR_CUDA_PLUGIN_ENTRY "sr_cuda_plugin_entry"

typedef struct sr_cuda_plugin {
    int abi;                                  /* SR_BACKEND_ABI */
    unsigned ctx_size, ops_size, plugin_size; /* sizeof sr_ctx, sr_ops, sr_cuda_plugin */
    int (*device_count)(void);                /* sr_cuda_device_count */
    int (*ctx_init)(sr_ctx *, int, sr_precision, char *, size_t);  /* sr_ctx_init_cuda */
} sr_cuda_plugin;

/* kernels/cuda/context.cu. kernels/plugin.c finds it with dlsym;
 * kernels/cuda/linked.c calls it directly where the backend is linked in. */
const sr_cuda_plugin *sr_cuda_plugin_entry(void);

#ifdef __cplusplus
}
#endif

#endif
