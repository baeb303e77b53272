/* headermodel.h — GGUF files that are a big model's header and nothing
 * else, for the tests that a bad file is refused from its header, before a
 * byte of weights is allocated: the metadata and tensor table of (by default)
 * a 70B llama, the data region a hole (a sparse file, so it takes no disk),
 * and at most one defect. Test code, not part of libsr; behind
 * sr-tiny-model --header-only for the bats suites. */
#ifndef SR_HEADERMODEL_H
#define SR_HEADERMODEL_H

#include <stddef.h>

#include "lm/gguf.h"

/* One thing wrong with the file, each of which sr must refuse by name. */
typedef enum sr_header_defect {
    SR_DEFECT_NONE,
    SR_DEFECT_ARCH,            /* general.architecture "mamba" */
    SR_DEFECT_TOK_MODEL,       /* tokenizer.ggml.model "rwkv" */
    SR_DEFECT_TOK_PRE,         /* tokenizer.ggml.pre "no-such-pre" */
    SR_DEFECT_UNKNOWN_TENSOR,  /* an extra blk.3.ffn_gate_exps.weight */
    SR_DEFECT_BIAS,            /* an extra blk.3.attn_q.bias, a tensor llama's row marks absent */
    SR_DEFECT_TYPE,            /* blk.5.ffn_down.weight stored as IQ2_XXS */
    SR_DEFECT_SHAPE,           /* blk.7.attn_k.weight [dim, dim], not [dim, kv_dim] */
    SR_DEFECT_VOCAB_ROWS,      /* token_embd/output with 256 rows fewer than the tokenizer's tokens */
    SR_DEFECT_MISSING,         /* no blk.<last>.ffn_up.weight */
    SR_DEFECT_TRUNCATED,       /* the file ends halfway through the data */
    SR_DEFECT_HEAD_ROWS,       /* output.weight with 256 rows fewer than token_embd and the tokens */
} sr_header_defect;

/* The defect of a name ("none", "arch", "tok-model", "tok-pre", "unknown-tensor",
 * "bias", "type", "shape", "vocab-rows", "missing", "truncated"): 0, or -1. */
int sr_header_defect_parse(const char *name, sr_header_defect *out);

typedef struct sr_header_opts {
    int n_layer, dim, ffn_dim, n_head, n_head_kv, n_vocab, n_ctx;
    enum gguf_ttype type;      /* of the matrices; the norms are F32 */
    sr_header_defect defect;
} sr_header_opts;

/* Llama 3 70B: 80 layers, dim 8192, ffn 28672, 64 heads / 8 kv heads,
 * vocabulary 128256, context 8192, F16 (about 141 GB of data). */
#define SR_HEADER_70B { 80, 8192, 28672, 64, 8, 128256, 8192, GGUF_T_F16, SR_DEFECT_NONE }
/* TinyLlama 1.1B's shape (sr_hparams_preset "1b"): 22 layers, dim 2048, ffn
 * 5632, 32 heads / 4 kv heads, vocabulary 32000, context 2048, F16 (2.2 GB). */
#define SR_HEADER_1B { 22, 2048, 5632, 32, 4, 32000, 2048, GGUF_T_F16, SR_DEFECT_NONE }

/* Write it to path: a byte-level BPE tokenizer of n_vocab tokens (the bytes,
 * ChatML's specials, reserved ones), a ChatML template, every tensor of the
 * llama row, the data a hole. Returns 0, or -1 with err set. */
int sr_header_model_write(const char *path, const sr_header_opts *o, char *err, size_t errlen);

#endif
