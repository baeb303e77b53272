/* putblocks.h — a GGUF file again from its F32 original and a reference's
 * quantized blocks kept as data (base64 in the golden JSON files): every
 * tensor the lookup names is replaced by its blocks, the rest and the
 * metadata copied. The goldens track no GGUF file; the tests rebuild them
 * (test_arch, test_arch_scale, test_quant_presets). */
#ifndef SR_TEST_PUTBLOCKS_H
#define SR_TEST_PUTBLOCKS_H

#include <stddef.h>

/* For tensor name: 1 with its ggml type name and base64 blocks, 0 to keep
 * the original's tensor. */
typedef int (*sr_blocks_lookup)(void *ctx, const char *name, const char **type, const char **b64);

/* src with the looked-up tensors replaced, written to out: the number
 * replaced, or -1 with err set (a type unknown, blocks of the wrong size). */
int sr_put_blocks(const char *src, const char *out, sr_blocks_lookup find, void *ctx, char *err, size_t errlen);

#endif
