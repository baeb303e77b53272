/* llama_logits.c — llama.cpp's logits for a token sequence, one line per
 * position, each logit as its float32 bit pattern in hex. Built and run only
 * by tests/golden/make_quant_golden.py against libllama (never by make).
 *
 *   llama_logits MODEL.gguf ID...
 *
 * Tokens are fed one per llama_decode call so every position's logits come
 * back through llama_get_logits_ith(ctx, -1); CPU only, one thread, so the
 * numbers do not depend on the machine's core count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

static void quiet(enum ggml_log_level level, const char *text, void *user)
{
    (void)user;
    if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: llama_logits MODEL ID...\n"); return 2; }
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *m = llama_model_load_from_file(argv[1], mp);
    if (!m) { fprintf(stderr, "%s: cannot load\n", argv[1]); return 1; }
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 64, cp.n_batch = 64, cp.n_threads = 1, cp.n_threads_batch = 1;
    /* sr keeps its cache in fp32 and runs plain attention */
    cp.type_k = GGML_TYPE_F32, cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    struct llama_context *ctx = llama_init_from_model(m, cp);
    if (!ctx) { fprintf(stderr, "cannot make a context\n"); return 1; }
    int nv = llama_vocab_n_tokens(llama_model_get_vocab(m));
    for (int i = 2; i < argc; i++) {
        llama_token t = (llama_token)atoi(argv[i]);
        if (llama_decode(ctx, llama_batch_get_one(&t, 1)) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
        const float *lg = llama_get_logits_ith(ctx, -1);
        for (int v = 0; v < nv; v++) {
            unsigned u;
            memcpy(&u, &lg[v], 4);
            printf("%08x", u);
        }
        putchar('\n');
    }
    llama_free(ctx);
    llama_model_free(m);
    return 0;
}
