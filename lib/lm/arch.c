/* arch.c — the architecture table (see arch.h). A new family is a row here;
 * what its row turns on must also exist in the loader and the forward and
 * backward (model.c refuses a row that asks for math it lacks). */
#include "lm/arch.h"

#include <stdio.h>
#include <string.h>

/* The names llama.cpp gives these tensors; every family listed in DESIGN §5
 * uses them for the roles it has. */
#define GGML_NAMES { \
    .token_embd = "token_embd", .output_norm = "output_norm", .output = "output", \
    .rope_freqs = "rope_freqs", \
    .attn_norm = "blk.%d.attn_norm", .attn_q = "blk.%d.attn_q", .attn_k = "blk.%d.attn_k", \
    .attn_v = "blk.%d.attn_v", .attn_output = "blk.%d.attn_output", \
    .attn_q_norm = "blk.%d.attn_q_norm", .attn_k_norm = "blk.%d.attn_k_norm", \
    .attn_qkv = "blk.%d.attn_qkv", \
    .post_attn_norm = "blk.%d.post_attention_norm", .post_ffn_norm = "blk.%d.post_ffw_norm", \
    .ffn_norm = "blk.%d.ffn_norm", .ffn_gate = "blk.%d.ffn_gate", .ffn_up = "blk.%d.ffn_up", \
    .ffn_down = "blk.%d.ffn_down" }

static const sr_arch table[] = {
    /* Llama 2/3/3.1/3.2, Mistral, TinyLlama, SmolLM2. Llama 3.1 and 3.2 carry
     * rope_freqs (their rope scaling, as per-pair divisors of the angle).
     * The biases are optional as llama.cpp's llama loader has them. */
    { .name = "llama", .prefix = "llama", .t = GGML_NAMES,
      .qkv_bias = SR_OPTIONAL, .out_bias = SR_OPTIONAL, .qk_norm = SR_ABSENT, .rope_factors = SR_OPTIONAL,
      .head = SR_HEAD_TIED_IF_ABSENT, .rope = SR_ROPE_NORM },
    /* Qwen2, Qwen2.5: q/k/v biases, no output bias, Hugging Face's rotate_half
     * pairing kept by the converter (NEOX), the head tied in the small sizes. */
    { .name = "qwen2", .prefix = "qwen2", .t = GGML_NAMES,
      .qkv_bias = SR_REQUIRED, .out_bias = SR_ABSENT, .qk_norm = SR_ABSENT, .rope_factors = SR_ABSENT,
      .head = SR_HEAD_TIED_IF_ABSENT, .rope = SR_ROPE_NEOX },
    /* Qwen3 (dense): no biases, an RMSNorm over each head of q and of k
     * (attn_q_norm / attn_k_norm, [head_dim]) before RoPE, NEOX rope; its
     * head_dim is attention.key_length, not embedding / heads (0.6B: 128 vs 64). */
    { .name = "qwen3", .prefix = "qwen3", .t = GGML_NAMES,
      .qkv_bias = SR_ABSENT, .out_bias = SR_ABSENT, .qk_norm = SR_REQUIRED, .rope_factors = SR_ABSENT,
      .head = SR_HEAD_TIED_IF_ABSENT, .rope = SR_ROPE_NEOX },
    /* Phi-3 (mini-4k, medium-4k): attn_qkv holds q, k, v (grouped
     * kv heads allowed) and ffn_up holds gate then up, for a SwiGLU over its
     * two halves; no biases, NEOX rope, output.weight separate (tied if
     * absent). LongRoPE's rope_factors_long/short are refused (model_check.c). */
    { .name = "phi3", .prefix = "phi3", .t = GGML_NAMES,
      .qkv_bias = SR_ABSENT, .out_bias = SR_ABSENT, .qk_norm = SR_ABSENT, .rope_factors = SR_ABSENT,
      .head = SR_HEAD_TIED_IF_ABSENT, .rope = SR_ROPE_NEOX, .fused_qkv = 1, .fused_gate_up = 1 },
    /* Gemma 3 (text): qwen3's head norms, an RMSNorm after each branch too
     * (post_attention_norm, post_ffw_norm), GeGLU, embeddings times
     * sqrt(dim), local layers with a sliding window and their own RoPE base
     * (five in six), an optional final-logit soft-cap. Its norm weights are
     * stored with Gemma's +1 already added by the converter: plain x·w here. */
    { .name = "gemma3", .prefix = "gemma3", .t = GGML_NAMES,
      .qkv_bias = SR_ABSENT, .out_bias = SR_ABSENT, .qk_norm = SR_REQUIRED, .rope_factors = SR_ABSENT,
      .post_norm = SR_REQUIRED, .ffn = SR_FFN_GEGLU, .gemma = 1,
      .head = SR_HEAD_TIED_IF_ABSENT, .rope = SR_ROPE_NEOX },
};
#define N_ARCH (sizeof table / sizeof table[0])

const sr_arch *sr_arch_find(const char *name, size_t n)
{
    for (size_t i = 0; i < N_ARCH; i++)
        if (strlen(table[i].name) == n && memcmp(table[i].name, name, n) == 0) return &table[i];
    return NULL;
}

const sr_arch *sr_arch_default(void) { return &table[0]; }

void sr_arch_list(char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < N_ARCH && k < len; i++) {
        int w = snprintf(buf + k, len - k, "%s\"%s\"", i ? ", " : "", table[i].name);
        if (w < 0) break;
        k += (size_t)w;
    }
}

void sr_arch_key(const sr_arch *a, const char *key, char *buf, size_t len)
{
    snprintf(buf, len, "%s.%s", a->prefix, key);
}

void sr_arch_tensor(const char *pattern, int layer, const char *suffix, char *buf, size_t len)
{
    int k = snprintf(buf, len, pattern, layer);
    if (k >= 0 && (size_t)k < len) snprintf(buf + k, len - k, "%s", suffix);
}
