/* checkpoint.h — a model written as GGUF (DESIGN §5): what sr-sft and
 * sr-dpo produce, loadable by sr and by llama.cpp as it is.
 *
 * With a parent (the GGUF the model was loaded from), every metadata key of
 * the parent is kept (tokenizer, chat template, everything), in its order,
 * and the tensors are written in the parent's order under its names; a
 * tensor sr does not model is copied through as it was. Q and K weights stay
 * in the layout they were read in (GGUF's rotary layout); tied embeddings
 * stay tied (no output.weight). Matrices are written F32 or BF16; vectors
 * (the norm weights) are always F32, as llama.cpp's converter writes them.
 * general.file_type is set to match (0 all F32, 32 mostly BF16). The extra
 * keys (sr.* provenance) are added, replacing any parent key of the same name. */
#ifndef SR_CHECKPOINT_H
#define SR_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "lm/gguf.h"
#include "lm/model.h"

/* One parameter tensor under its GGUF name: [ne1][ne0] floats (ne1 = 1 for a vector). */
typedef struct sr_named_tensor {
    char name[48];
    float *data;
    uint64_t ne0, ne1;
    int n_dims;
} sr_named_tensor;

/* The tensors of a parameter block p (weights, or gradients mapped the same
 * way), named by the architecture's row a, in the usual GGUF order; out holds sr_model_tensor_count(hp).
 * Returns the count. */
int sr_model_tensor_count(const sr_hparams *hp);
int sr_model_tensors(const sr_arch *a, const sr_hparams *hp, const sr_params *p, sr_named_tensor *out);

/* Write m to path (atomically). parent may be NULL: then extra must carry
 * the architecture's metadata (general.architecture, llama.*, tokenizer.*).
 * dtype: GGUF_T_F32 or GGUF_T_BF16. Returns 0, or -1 with err set. */
int sr_checkpoint_write(const char *path, sr_model *m, const gguf_file *parent,
                        const gguf_kv *extra, size_t n_extra, enum gguf_ttype dtype,
                        char *err, size_t errlen);

/* XXH64 of a whole file (provenance); -1 with err set when it cannot be read. */
int sr_file_xxh64(const char *path, uint64_t *out, char *err, size_t errlen);

#endif
