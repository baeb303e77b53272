/* arch.h — what one model family's GGUF files say differently: the table
 * the loader looks general.architecture up in (DESIGN §5).
 *
 * A row names the family's metadata key prefix, its tensor names, which
 * optional tensors it carries and how its head and RoPE work. The math is
 * written once per kind (model.c, model_backward.c); a row only says which
 * kinds a family uses. Rows: llama (optional q/k/v/o biases, optional rope
 * frequency factors), qwen2 (q/k/v biases, NEOX rope), qwen3 (per-head
 * q/k RMSNorms, NEOX rope), phi3 (fused q|k|v and gate|up tensors, NEOX
 * rope) and gemma3 (those head norms, post-norms, GeGLU, scaled embeddings,
 * sliding-window layers, a logit soft-cap). */
#ifndef SR_ARCH_H
#define SR_ARCH_H

#include <stddef.h>

/* Whether a family's files carry an optional tensor. The loader refuses a
 * file holding a tensor its row marks SR_ABSENT, rather than ignore it and
 * compute something else than the model is. */
typedef enum sr_presence { SR_ABSENT = 0, SR_OPTIONAL = 1, SR_REQUIRED = 2 } sr_presence;

/* Which pairs of a head RoPE rotates together: NORM (2i, 2i+1), as GGUF
 * llama tensors are laid out; NEOX (i, i + n_rot/2), as qwen2/3 and phi3. */
typedef enum sr_rope_style { SR_ROPE_NORM = 0, SR_ROPE_NEOX = 1 } sr_rope_style;

/* The output head: output.weight when the file has it, else token_embd
 * reused (llama); always token_embd (gemma); always output.weight. */
/* The feed-forward's gate: silu (llama, qwen) or tanh-approximated GELU (Gemma). */
typedef enum sr_ffn { SR_FFN_SWIGLU = 0, SR_FFN_GEGLU = 1 } sr_ffn;

typedef enum sr_head { SR_HEAD_TIED_IF_ABSENT = 0, SR_HEAD_TIED = 1, SR_HEAD_SEPARATE = 2 } sr_head;

/* Tensor names without the ".weight" / ".bias" suffix; the per-block ones
 * are printf patterns over the block index ("blk.%d.attn_q"). */
typedef struct sr_arch_names {
    const char *token_embd, *output_norm, *output, *rope_freqs;
    const char *attn_norm, *attn_q, *attn_k, *attn_v, *attn_output;
    const char *attn_q_norm, *attn_k_norm;
    const char *attn_qkv;      /* the fused q|k|v weight of a row with fused_qkv */
    const char *post_attn_norm, *post_ffn_norm;
    const char *ffn_norm, *ffn_gate, *ffn_up, *ffn_down;
} sr_arch_names;

typedef struct sr_arch {
    const char *name;          /* general.architecture */
    const char *prefix;        /* metadata keys are "<prefix>.block_count", ... */
    sr_arch_names t;
    sr_presence qkv_bias;      /* attn_q/k/v.bias (qwen2) */
    sr_presence out_bias;      /* attn_output.bias */
    sr_presence qk_norm;       /* attn_q_norm/attn_k_norm.weight, RMSNorm per head (qwen3) */
    sr_presence rope_factors;  /* rope_freqs.weight, per-frequency divisors (Llama 3.1) */
    sr_presence post_norm;     /* post_attention_norm/post_ffw_norm.weight, RMSNorm of each
                                  branch's output before the residual add (gemma3) */
    sr_ffn ffn;
    int gemma;                 /* 1: Gemma's extras: embeddings scaled by sqrt(dim), the
                                  sliding-window keys, final_logit_softcapping */
    sr_head head;
    sr_rope_style rope;
    /* phi3: q|k|v is one tensor, attn_qkv [dim, q_dim + 2 kv_dim] (rows q,
     * then k, then v), and gate|up one, ffn_up [dim, 2 ffn_dim] (gate the
     * first half); the model's block holds them so already (model.h). */
    int fused_qkv, fused_gate_up;
} sr_arch;

/* The row for an architecture name of n bytes (not NUL-terminated), or NULL. */
const sr_arch *sr_arch_find(const char *name, size_t n);

/* The family random-init models have (model.h's presets): llama. */
const sr_arch *sr_arch_default(void);

/* Every row's name, quoted and comma-separated ("\"llama\""), for messages. */
void sr_arch_list(char *buf, size_t len);

/* "<prefix>.<key>" into buf. */
void sr_arch_key(const sr_arch *a, const char *key, char *buf, size_t len);

/* A tensor's name: pattern (a field of a->t) for block `layer` (ignored by
 * the global names) with suffix ".weight" or ".bias", into buf. */
void sr_arch_tensor(const char *pattern, int layer, const char *suffix, char *buf, size_t len);

#endif
