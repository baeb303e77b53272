/* model.h — a transformer of the llama kind in fp32: weights, activations,
 * and the forward pass, written out layer by layer against kernels.h. What
 * one family's files say differently (metadata keys, tensor names, optional
 * tensors) is its row in the architecture table (arch.h).
 *
 * The structs are plain, in the manner of llm.c: every weight and every
 * activation a backward pass will need has a name and lives in one block of
 * memory whose size is computed up front. Sizes below: N = batch × tokens,
 * q_dim = n_head × head_dim, kv_dim = n_head_kv × head_dim. */
#ifndef SR_MODEL_H
#define SR_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "lm/arch.h"
#include "lm/gguf.h"
#include "kernels.h"
#include "lm/kvcache.h"

/* The metadata keys are the architecture's prefix (arch.h) and these. */
typedef struct sr_hparams {
    int n_layer;        /* .block_count */
    int dim;            /* .embedding_length */
    int ffn_dim;        /* .feed_forward_length */
    int n_head;         /* .attention.head_count */
    int n_head_kv;      /* .attention.head_count_kv (default n_head) */
    int head_dim;       /* .attention.key_length (default dim / n_head) */
    int n_rot;          /* .rope.dimension_count (default head_dim) */
    int vocab;          /* rows of token_embd.weight */
    int n_ctx;          /* .context_length: the longest sequence accepted */
    float norm_eps;     /* .attention.layer_norm_rms_epsilon (default 1e-5) */
    float rope_theta;   /* .rope.freq_base (default 10000) */
    int tied;           /* 1: the head reuses token_embd (no output.weight, or the arch ties) */
    int qkv_bias;       /* 1: attn_q/k/v.bias are added after the q/k/v projections */
    int out_bias;       /* 1: attn_output.bias is added after the output projection */
    int neox;           /* 1: RoPE pairs (i, i + n_rot/2) (the row's SR_ROPE_NEOX), else (2i, 2i+1) */
    int rope_freqs;     /* 1: rope_freqs.weight divides RoPE's angles (Llama 3.1); not trained */
    int qk_norm;        /* 1: attn_q_norm/attn_k_norm RMSNorm each head of q and k before RoPE (qwen3) */
    int fused_qkv;      /* 1: wq|wk|wv are read and written as one tensor, attn_qkv (phi3) */
    int fused_gate_up;  /* 1: w_gate|w_up are read and written as one tensor, ffn_up (phi3) */
    int n_swa;          /* .attention.sliding_window, or 0: a window sr does not apply (all
                           positions attend), as llama.cpp does not for phi3 and llama */
    /* Gemma 3 (the row's gemma kinds; 0 elsewhere): */
    int post_norm;      /* 1: post_attention_norm / post_ffw_norm RMSNorm each branch before the residual */
    int geglu;          /* 1: the feed-forward is GeGLU (tanh GELU), not SwiGLU */
    int embd_scale;     /* 1: the embeddings are scaled by sqrt(dim) */
    float attn_scale;   /* the attention scores' scale; 0: 1/sqrt(head_dim) */
    int swa_window;     /* .attention.sliding_window: local layers see that many positions; 0: none */
    int swa_pattern;    /* .attention.sliding_window_pattern (default 6): layer l is local when
                           l % pattern < pattern - 1 (pattern 0: every layer) */
    float rope_theta_swa; /* .rope.freq_base_swa (default 10000): the local layers' RoPE base */
    float softcap;      /* .final_logit_softcapping: logits = cap·tanh(logits/cap); 0: none */
    float rope_linear;  /* .rope.scaling.factor with type linear (Gemma 3 4B+: 8): the global
                           blocks' RoPE angles divided by it; 0: none */
} sr_hparams;

/* Block l's sliding window (0: a global layer, or no windows at all) and
 * its RoPE base. */
int   sr_layer_window(const sr_hparams *hp, int l);
float sr_layer_rope_theta(const sr_hparams *hp, int l);

/* One block's weights. Linear weights are [out][in]. wq, wk, wv are
 * consecutive in memory, as are w_gate and w_up, so the forward makes q, k
 * and v with one matmul over wq, and gate and up with one over w_gate. */
typedef struct sr_layer_params {
    float *attn_norm;     /* [dim] */
    float *wq;            /* [q_dim][dim] */
    float *wk, *wv;       /* [kv_dim][dim] each */
    float *bqkv;          /* [q_dim + 2 kv_dim] bq | bk | bv, or NULL (no qkv_bias) */
    float *q_norm, *k_norm; /* [head_dim] each, back to back, or NULL (no qk_norm) */
    float *wo;            /* [dim][q_dim] */
    float *bo;            /* [dim], or NULL (no out_bias) */
    float *post_attn_norm; /* [dim], or NULL (no post_norm) */
    float *ffn_norm;      /* [dim] */
    float *w_gate, *w_up; /* [ffn_dim][dim] each */
    float *w_down;        /* [dim][ffn_dim] */
    float *post_ffn_norm; /* [dim], or NULL (no post_norm) */
} sr_layer_params;

typedef struct sr_params {
    float *token_embd;          /* [vocab][dim] */
    sr_layer_params *layer;     /* [n_layer] */
    float *output_norm;         /* [dim] */
    float *output;              /* [vocab][dim]; == token_embd when tied */
    float *rope_freqs;          /* [n_rot/2] RoPE frequency factors, or NULL; last in
                                   the block, which lets training leave them out */
} sr_params;

/* Floats in one set of parameters (the same layout serves gradients and
 * optimizer state later), and the pointers into a block of that size.
 * layer must hold n_layer entries. */
size_t sr_params_count(const sr_hparams *hp);
void   sr_params_map(const sr_hparams *hp, float *base, sr_params *p, sr_layer_params *layer);

/* One block's activations for N tokens. Without keep_acts every layer shares
 * one set (inference); with it each layer has its own (training). */
typedef struct sr_layer_acts {
    float *x_in;      /* [N][dim] residual stream entering the block */
    float *ln1;       /* [N][dim] attn_norm(x_in) */
    float *ln1_rstd;  /* [N] */
    float *qkv;       /* [N][q_dim + 2 kv_dim]: q | k | v per token, q and k after RoPE */
    float *qk_raw;    /* qk_norm: [N][q_dim] q then [N][kv_dim] k, as projected (before their norm) */
    float *qk_rstd;   /* qk_norm: [N][n_head] then [N][n_head_kv], each head row's 1/rms */
    float *att_lse;   /* [N][n_head] log-sum-exp of each attention row */
    float *att_out;   /* [N][q_dim] attention output, before wo */
    float *x_mid;     /* [N][dim] x_in + attention */
    float *ln2;       /* [N][dim] ffn_norm(x_mid) */
    float *ln2_rstd;  /* [N] */
    float *gu;        /* [N][2 ffn_dim] gate | up pre-activations */
    float *h;         /* [N][ffn_dim] silu(gate) * up (gelu(gate) * up with geglu) */
    float *att_proj;  /* post_norm: [N][dim] att_out · woᵀ, before post_attention_norm */
    float *ffn_out;   /* post_norm: [N][dim] h · downᵀ, before post_ffw_norm */
    float *post_rstd; /* post_norm: [N] then [N], the two post-norms' 1/rms */
} sr_layer_acts;

typedef struct sr_acts {
    int max_batch, max_seq, keep;
    int B, T;                  /* the shape of the last forward */
    int32_t *tokens, *pos;     /* [N] host: the tokens (padding as 0) and their positions */
    int32_t *d_tokens, *d_pos; /* [N] the same on the model's device, for the ops */
    int *lens;                 /* [max_batch] */
    sr_attn_seq *seqs;         /* [max_batch] the attention call's view of each sequence */
    float **rows;              /* [4 max_batch max_seq] a cached forward's row moves (to, from) */
    sr_layer_acts *layer;      /* [n_layer] */
    float *x_final;            /* [N][dim] residual stream after the last block */
    float *lnf;                /* [N][dim] output_norm(x_final) */
    float *lnf_rstd;           /* [N] */
    float *logits;             /* [N][vocab], sequence b's token t at row b*T + t */
    float *logits_raw;         /* softcap with keep_acts: [N][vocab] the logits before the cap
                                  (a backward overwrites them with their gradient) */
    float *ones;               /* [N] all 1: a bias is added as ones · biasᵀ, a matmul of depth 1 */
    float *rope_linear;        /* rope_linear: [n_rot/2] all the factor, the global blocks'
                                  RoPE divisors (as rope_freqs divide Llama 3.1's) */
    float *att_work;           /* attention workspace */
    float *mem;                /* the arena (on the device) all the float buffers above point into */
    size_t n_floats;
    float *logits_host;        /* sr_model_logits' host copy (CUDA), grown as needed */
    size_t logits_host_rows;
    float **rows_tmp;          /* [4 N] host pointer arrays for sr_copy_rows */
} sr_acts;

typedef struct sr_model_opts {
    int max_batch, max_seq;    /* the largest forward the arena is sized for */
    int keep_acts;             /* keep every layer's activations (for a backward) */
    int threads;               /* <= 0: every core */
    sr_device device;          /* where the weights and activations live (default: the CPU) */
    int gpu;                   /* CUDA device index */
    sr_precision precision;    /* CUDA matmuls */
} sr_model_opts;

typedef struct sr_model {
    const sr_arch *arch;   /* the file's row (loaded), or sr_arch_default() (random init) */
    sr_hparams hp;
    sr_ctx ctx;            /* its threads are fixed at creation: the attention
                              workspace in the arena is sized for them */
    sr_params w;           /* pointers into params_mem, on ctx's device */
    float *params_mem;
    size_t n_params;
    float *params_host;    /* sr_model_params_host's copy (CUDA only) */
    sr_acts act;
    /* Residual dropout of sr_model_forward (training only; 0: off, as for
     * every cached forward): each block's attention branch and feed-forward
     * branch output, after the output projection (and its bias) or w_down
     * and any post-norm, before it joins the residual stream, with
     * probability dropout, the masks drawn from sr_model_dropout_seed(
     * dropout_seed, l, branch). The backward regenerates them. */
    float dropout;
    uint64_t dropout_seed;
} sr_model;

/* The seed of block l's branch (0 attention, 1 feed-forward) dropout mask. */
uint64_t sr_model_dropout_seed(uint64_t seed, int l, int branch);

/* The parameters as host memory, current as of the call: params_mem itself
 * on the CPU, a copy downloaded into params_host on CUDA. NULL when out of
 * memory. Mapped with sr_params_map, it is what checkpoints are written from. */
float *sr_model_params_host(sr_model *m);

/* Replace every parameter with host[n_params] (a resumed training state). */
void sr_model_params_set(sr_model *m, const float *host);

/* The first `rows` rows of the last forward's logits, readable on the host
 * (m->act.logits itself on the CPU). NULL when out of memory. */
const float *sr_model_logits(sr_model *m, int rows);

/* A named shape for random-init models (of sr_arch_default()'s family) (benchmarks, GPU tests):
 * "smol" is SmolLM2-135M's (30 layers, dim 576, FFN 1536, 9 heads / 3 KV
 * heads of 64, vocab 49152, tied, RoPE theta 1e5), "1b" TinyLlama-1.1B's (22
 * layers, dim 2048, FFN 5632, 32 / 4 heads of 64, vocab 32000, untied, theta
 * 1e4); both context 2048, RMSNorm eps 1e-5. Returns 0, or -1 for another name. */
int  sr_hparams_preset(const char *name, sr_hparams *hp);

/* Checks from the header alone (model_check.c), before any weight is
 * allocated; each returns 0, or -1 with err naming the key or tensor. */

/* Hyperparameters from a GGUF file's metadata, read under the keys of its
 * architecture's row (*arch), which must be in the table and must ask for
 * nothing the forward lacks; a tensor the row marks absent is refused. */
int  sr_hparams_from_gguf(sr_hparams *hp, const sr_arch **arch, const gguf_file *g,
                          char *err, size_t errlen);
/* Sizes the model code can hold: positive, heads dividing, bounded. */
int  sr_hparams_check(const sr_hparams *hp, char *err, size_t errlen);
/* The hyperparameters (as sr_hparams_from_gguf, then checked) and every
 * tensor: each one the model reads present, of its shape and of a type sr
 * dequantizes, and no tensor the model would not read. Whether the data
 * lies within the file gguf_open has checked. */
int  sr_model_check_gguf(const gguf_file *g, sr_hparams *hp, const sr_arch **arch,
                         char *err, size_t errlen);
/* The embedding's rows against the tokenizer's token count: they must be
 * equal (as llama.cpp requires), so that no id sampled is one the tokenizer
 * cannot decode and no token id indexes past the embedding. */
int  sr_model_check_vocab(const sr_hparams *hp, const sr_arch *a, uint32_t n_tokens,
                          char *err, size_t errlen);

/* Load every weight (dequantized to fp32), after sr_model_check_gguf, and
 * size the activations for opts. Return 0, or -1 with err set. */
int  sr_model_load(sr_model *m, const char *path, const sr_model_opts *opts,
                   char *err, size_t errlen);
int  sr_model_load_gguf(sr_model *m, const gguf_file *g, const sr_model_opts *opts,
                        char *err, size_t errlen);

/* A model of the given shape with random weights (normal, std 0.02; norm
 * weights 1), the same for the same seed. */
int  sr_model_init_random(sr_model *m, const sr_hparams *hp, uint64_t seed,
                          const sr_model_opts *opts, char *err, size_t errlen);

void sr_model_free(sr_model *m);

/* What a model of shape hp takes, in bytes, from its header alone (before
 * anything is allocated): its parameters as the fp32 the loader makes of any
 * stored type, the activation arena sized for o (the attention workspace,
 * a few MB, aside), and kv_caches KV caches (sr_kv_cache) of kv_cap
 * positions each. The tools print it, so a user sees what a model needs. */
typedef struct sr_model_mem {
    size_t params, arena, kv;
} sr_model_mem;
void sr_model_mem_estimate(const sr_hparams *hp, const sr_model_opts *o, int kv_caches, int kv_cap,
                           sr_model_mem *out);

/* Forward B sequences of T token ids (tokens[b*T + t]), right-padded:
 * sequence b has lens[b] real tokens (lens NULL: all T). Positions start at
 * 0. The logits land in m->act.logits; a padded row's logits are not
 * meaningful (its token is read as 0). Returns 0, or -1 with err set for a
 * shape beyond the arena or a token id out of range. The activations are the
 * model's own, so one forward runs at a time per model. */
int  sr_model_forward(sr_model *m, const int32_t *tokens, int B, int T, const int *lens,
                      char *err, size_t errlen);

/* The RoPE frequency divisors of block l on m's device: rope_freqs, the
 * linear scaling's (global blocks of a scaled Gemma 3), or NULL. */
const float *sr_model_rope_factors(const sr_model *m, int l);

/* Copies n rows of width floats from src (rows `sstride` apart) to dst
 * (`dstride` apart), on m's device, through m's host pointer array
 * act.rows (which must not be in use): q and k gathered out of the q|k|v
 * rows into contiguous head rows for the head norms, and back. */
void sr_model_copy_strided(const sr_model *m, float *dst, int dstride, const float *src, int sstride,
                           int n, int width);

/* ==== training: the backward pass (lib/model_backward.c) ==================
 *
 * Gradients of every parameter, in the parameters' own layout (sr_params_map
 * over a second block of n_params floats; tied embeddings share one
 * gradient, as they share one weight), and the scratch one backward needs,
 * sized for the model's arena. */
typedef struct sr_grads {
    const sr_ctx *ctx;          /* the model's: where mem and the scratch live */
    float *mem;                 /* [n_params] parameter gradients */
    size_t n;
    sr_params g;                /* named pointers into mem */
    /* scratch, [max_batch × max_seq] rows each */
    float *dres;                /* [N][dim] gradient of the residual stream */
    float *dln;                 /* [N][dim] gradient of a norm's output */
    float *ddrop;               /* [N][dim] a branch's gradient through its dropout mask */
    float *dqkv;                /* [N][q_dim + 2 kv_dim] */
    float *datt;                /* [N][q_dim] */
    float *dgu;                 /* [N][2 ffn_dim] */
    float *dh;                  /* [N][ffn_dim] */
    float *dqk_y, *dqk_x;       /* qk_norm: [N][q_dim] each, a head norm's output and input gradients */
    float *att_work;            /* sr_attention_bwd's workspace */
    sr_attn_seq_grad *seqs;     /* [max_batch] */
    float *scratch;             /* the block the scratch pointers share */
} sr_grads;

/* Allocate gradients (zeroed) and scratch for m, which must have been set up
 * with keep_acts. Returns 0, or -1 with err set. */
int  sr_grads_init(sr_grads *g, const sr_model *m, char *err, size_t errlen);
void sr_grads_zero(sr_grads *g);
void sr_grads_free(sr_grads *g);

/* Backward of the last sr_model_forward: given dlogits[B*T][vocab], the
 * gradient of a loss with respect to the logits (it may be m->act.logits
 * itself, overwritten by the caller; padded rows must be zero), add the
 * loss's gradient to every parameter in g (+=, so micro-batches
 * accumulate). Returns 0, or -1 with err set (no kept activations). */
int  sr_model_backward(sr_model *m, sr_grads *g, const float *dlogits, char *err, size_t errlen);

/* Flags of sr_model_forward_cached. */
enum {
    SR_FWD_LAST_LOGITS = 1,      /* logits for each sequence's last new token only, at row s */
    SR_FWD_BATCH_INVARIANT = 2,  /* row-independent matmuls: a sequence's numbers do not
                                    depend on the others in the call (decoding) */
};

/* Forward n_seq sequences by n_new[s] tokens each, continuing their caches:
 * sequence s's new tokens are packed back to back in tokens (s = 0 first) at
 * positions caches[s]->len, ..., and their keys and values are appended to
 * caches[s] (whose len grows by n_new[s]). A prefill is one sequence with
 * its whole prompt; a decoding step is every active sequence with 1 token.
 * Logits land in m->act.logits: row i for packed token i, or with
 * SR_FWD_LAST_LOGITS row s for sequence s's last token. Each cache may
 * appear once; len + n_new must fit the cache and the model's max_seq, and
 * the tokens together max_batch × max_seq. Returns 0, or -1 with err set
 * (nothing changed). The activations of a full forward are overwritten. */
int  sr_model_forward_cached(sr_model *m, sr_kv_cache *const *caches, const int32_t *tokens,
                             const int *n_new, int n_seq, unsigned flags, char *err, size_t errlen);

#endif
