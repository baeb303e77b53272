/* kvcache.c — per-sequence key/value caches (see kvcache.h). */
#include "lm/kvcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sr_kv_cache_init(sr_kv_cache *c, const sr_ctx *ctx, int n_layer, int kv_dim, int cap,
                     char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (n_layer <= 0 || kv_dim <= 0 || cap <= 0) {
        snprintf(err, errlen, "kv cache: %d layers × %d floats × %d positions: sizes must be positive",
                 n_layer, kv_dim, cap);
        return -1;
    }
    size_t n = (size_t)n_layer * 2 * cap * kv_dim;
    /* Not zeroed: on the CPU a large block is mapped lazily, so the
     * positions never reached cost no memory. */
    c->mem = sr_dev_alloc(ctx, n * sizeof(float));
    if (!c->mem) {
        snprintf(err, errlen, "out of %s memory for a kv cache of %d positions (%zu MiB)",
                 sr_device_name(ctx), cap, n * sizeof(float) >> 20);
        return -1;
    }
    c->ctx = ctx;
    c->n_layer = n_layer;
    c->kv_dim = kv_dim;
    c->cap = cap;
    return 0;
}

void sr_kv_cache_free(sr_kv_cache *c)
{
    if (c->ctx) sr_dev_free(c->ctx, c->mem);
    memset(c, 0, sizeof *c);
}

int sr_kv_cache_copy(sr_kv_cache *dst, const sr_kv_cache *src, int n)
{
    if (n < 0 || n > src->len || n > dst->cap || dst->n_layer != src->n_layer ||
        dst->kv_dim != src->kv_dim)
        return -1;
    size_t row = (size_t)n * src->kv_dim * sizeof(float);
    for (int l = 0; l < src->n_layer; l++) {
        sr_dev_copy(src->ctx, sr_kv_k(dst, l), sr_kv_k(src, l), row);
        sr_dev_copy(src->ctx, sr_kv_v(dst, l), sr_kv_v(src, l), row);
    }
    dst->len = n;
    return 0;
}
