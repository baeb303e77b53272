/* tinymodel.h — tiny random-init llama GGUF files for tests, so training
 * tests take seconds: linked into the unit tests, and behind
 * sr-tiny-model for the bats tests. Test code, not part of libsr. The tokenizer is the real model's (its tokenizer.*
 * metadata copied) when that file is given and readable, otherwise a small
 * fixture: byte-level BPE over the 256 byte tokens, a few merges, and the
 * ChatML special tokens, with a ChatML chat template. */
#ifndef SR_TINYMODEL_H
#define SR_TINYMODEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct sr_tiny_opts {
    int n_layer, dim, ffn_dim, n_head, n_head_kv, n_ctx;
    int tied;
    uint64_t seed;
    const char *tokenizer_from;   /* a GGUF whose tokenizer to copy, or NULL: the fixture */
    const char *arch;             /* "llama" (NULL), "qwen2" (q/k/v biases, NEOX rope, theta 1e6),
                                     "qwen3" (q/k head norms, NEOX rope, theta 1e6), "phi3" (fused
                                     attn_qkv and gate|up ffn_up, NEOX rope, theta 1e4) or "gemma3"
                                     (qwen3's head norms, post-norms, GeGLU, scaled embeddings,
                                     global theta 1e6, local 1e4) */
    int biases;                   /* llama: with q/k/v and output biases */
    int rope_freqs;               /* llama: with rope_freqs.weight (a ramp of factors 1 to 8) */
    int head_dim;                 /* 0: dim / n_head; else written as attention.key_length/value_length */
    int swa_window;               /* attention.sliding_window: gemma3's local layers (0: not written,
                                     no local layers); phi3's, not applied (0: Phi-3-mini-4k's 2047) */
    double softcap;               /* gemma3: final_logit_softcapping (0: not written) */
    double rope_scale;            /* gemma3: rope.scaling.type "linear" with this factor (0: none) */
} sr_tiny_opts;

/* 2 layers, dim 32, 4 heads / 2 kv heads, ffn 64, context 256, tied, llama. */
#define SR_TINY_OPTS_DEFAULT { 2, 32, 64, 4, 2, 256, 1, 1, NULL, NULL, 0, 0, 0, 0, 0, 0 }

/* Write the model (F32) to path. Returns 0, or -1 with err set. When
 * tokenizer_from cannot be opened the fixture is used, and *used_real
 * (may be NULL) says which it was. */
int sr_tiny_model_write(const char *path, const sr_tiny_opts *o, int *used_real, char *err, size_t errlen);

#endif
