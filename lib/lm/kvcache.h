/* kvcache.h — the keys and values of one sequence, every layer, so that
 * decoding forwards only the new token (DESIGN §7).
 *
 * One cache holds one sequence: layer l's keys are k(l)[0 .. len) rows of
 * kv_dim floats (after RoPE), its values v(l) likewise. Memory is reserved
 * for cap positions up front but only touched as the sequence grows, so a
 * slot sized for the longest sequence costs what its sequence uses. A fork
 * (sr_kv_cache_copy) starts several samples from one prefilled prompt. */
#ifndef SR_KVCACHE_H
#define SR_KVCACHE_H

#include <stddef.h>

#include "kernels.h"

typedef struct sr_kv_cache {
    const sr_ctx *ctx;   /* the model's: the cache lives on its device */
    int n_layer, kv_dim;
    int cap;          /* positions reserved */
    int len;          /* positions filled */
    float *mem;       /* [n_layer][2][cap][kv_dim]: layer l's keys, then its values */
} sr_kv_cache;

/* Reserve cap positions on ctx's device for a model of n_layer layers and
 * kv_dim = n_head_kv × head_dim. Returns 0, or -1 with err set. */
int  sr_kv_cache_init(sr_kv_cache *c, const sr_ctx *ctx, int n_layer, int kv_dim, int cap,
                      char *err, size_t errlen);
void sr_kv_cache_free(sr_kv_cache *c);

static inline float *sr_kv_k(const sr_kv_cache *c, int l)
{
    return c->mem + (size_t)l * 2 * c->cap * c->kv_dim;
}
static inline float *sr_kv_v(const sr_kv_cache *c, int l)
{
    return sr_kv_k(c, l) + (size_t)c->cap * c->kv_dim;
}

/* dst = the first n positions of src (n <= src->len, n <= dst->cap): a
 * prompt's prefill shared by its samples. Returns 0, or -1 when it does not fit. */
int  sr_kv_cache_copy(sr_kv_cache *dst, const sr_kv_cache *src, int n);

#endif
