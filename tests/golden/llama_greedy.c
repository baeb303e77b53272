/* llama_greedy.c — llama.cpp's greedy continuation of a prompt given as
 * token ids, with the log-probabilities of each step's likeliest tokens.
 * Built and run only by tests/golden/make_arch_greedy_golden.py against
 * libllama (never by make).
 *
 *   llama_greedy MODEL N K ID...
 *
 * The prompt is fed one token per llama_decode call, then N tokens are
 * chosen by argmax (ties to the lower id) and fed back, end-of-generation
 * tokens included (nothing stops early). Each step writes one line:
 *
 *   CHOSEN MARGIN ID:LOGPROB ... (K pairs, likeliest first)
 *
 * the log-probabilities those of the softmax of the raw logits, computed
 * in double; MARGIN is the gap between the two largest logits, so a golden
 * can show that no step is a near tie. CPU only, one thread. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

static void quiet(enum ggml_log_level level, const char *text, void *user)
{
    (void)user;
    if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

/* One step's line, and the token chosen. */
static llama_token report(const float *lg, int nv, int k)
{
    int top[32];
    int m = 0;
    for (int v = 0; v < nv; v++) {
        if (m == k && !(lg[v] > lg[top[k - 1]])) continue;
        int j = m < k ? m++ : k - 1;
        while (j > 0 && lg[v] > lg[top[j - 1]]) { top[j] = top[j - 1]; j--; }
        top[j] = v;
    }
    double mx = lg[top[0]], sum = 0;
    for (int v = 0; v < nv; v++) sum += exp((double)lg[v] - mx);
    double lse = mx + log(sum);
    printf("%d %.9g", top[0], (double)lg[top[0]] - (double)lg[top[1]]);
    for (int j = 0; j < k; j++) printf(" %d:%.9g", top[j], (double)lg[top[j]] - lse);
    putchar('\n');
    return top[0];
}

int main(int argc, char **argv)
{
    if (argc < 5) { fprintf(stderr, "usage: llama_greedy MODEL N K ID...\n"); return 2; }
    int n = atoi(argv[2]), k = atoi(argv[3]);
    if (k < 2 || k > 32) { fprintf(stderr, "K: 2 to 32\n"); return 2; }
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *m = llama_model_load_from_file(argv[1], mp);
    if (!m) { fprintf(stderr, "%s: cannot load\n", argv[1]); return 1; }
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 256, cp.n_batch = 256, cp.n_threads = 1, cp.n_threads_batch = 1;
    /* sr keeps its cache in fp32 and runs plain attention */
    cp.type_k = GGML_TYPE_F32, cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    struct llama_context *ctx = llama_init_from_model(m, cp);
    if (!ctx) { fprintf(stderr, "cannot make a context\n"); return 1; }
    int nv = llama_vocab_n_tokens(llama_model_get_vocab(m));
    for (int i = 4; i < argc; i++) {
        llama_token t = (llama_token)atoi(argv[i]);
        if (llama_decode(ctx, llama_batch_get_one(&t, 1)) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
    }
    for (int s = 0; s < n; s++) {
        llama_token t = report(llama_get_logits_ith(ctx, -1), nv, k);
        if (llama_decode(ctx, llama_batch_get_one(&t, 1)) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
    }
    llama_free(ctx);
    llama_model_free(m);
    return 0;
}
