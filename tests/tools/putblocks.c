/* putblocks.c — rebuild a quantized GGUF from its F32 original and blocks (putblocks.h). */
#include "putblocks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "lm/gguf.h"

int sr_put_blocks(const char *src, const char *out, sr_blocks_lookup find, void *ctx, char *err, size_t errlen)
{
    gguf_file g;
    if (gguf_open(&g, src, err, errlen) < 0) return -1;
    gguf_tensor *t = malloc(g.n_tensors * sizeof *t);
    void **bufs = calloc(g.n_tensors, sizeof *bufs);
    int n = 0;
    for (uint64_t i = 0; i < g.n_tensors && n >= 0; i++) {
        t[i] = g.tensors[i];
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)t[i].name.n, t[i].name.p);
        const char *type = NULL, *b64 = NULL;
        if (!find(ctx, name, &type, &b64)) continue;
        int ty = -1;
        for (int k = 0; k < 64 && type; k++) if (!strcmp(gguf_type_name((enum gguf_ttype)k), type)) ty = k;
        size_t len = b64 ? strlen(b64) : 0, bad;
        bufs[i] = malloc(len / 4 * 3 + 1);
        long got = b64 ? sr_base64_decode(bufs[i], b64, len, &bad) : -1;
        if (ty < 0 || got < 0 || (uint64_t)got != gguf_type_size((enum gguf_ttype)ty, t[i].n_elems)) {
            snprintf(err, errlen, "blocks of %s: bad type or length", name);
            n = -1;
            break;
        }
        t[i].type = (enum gguf_ttype)ty;
        t[i].data = bufs[i];
        n++;
    }
    if (n >= 0 && gguf_write(out, g.kv, g.n_kv, t, g.n_tensors, 0, err, errlen) < 0) n = -1;
    for (uint64_t i = 0; i < g.n_tensors; i++) free(bufs[i]);
    free(bufs);
    free(t);
    gguf_close(&g);
    return n;
}
