/* llama_logprobs.c — llama.cpp's log-probabilities at every position of a
 * prompt, then optionally a greedy continuation. Built and run only by
 * tests/golden/make_arch_scale_golden.py against libllama (never by make).
 *
 *   llama_logprobs MODEL K N_GREEDY ID...
 *
 * The prompt goes in as one batch with logits asked for at every position
 * (the scale check's prompts are up to 700 tokens; one token per decode
 * would take minutes). Each position writes one line
 *
 *   P ARGMAX ID:LOGPROB ... (K pairs, likeliest first)
 *
 * then each of N_GREEDY greedy steps (argmax, ties to the lower id, fed
 * back one token per decode) one line
 *
 *   G CHOSEN ID:LOGPROB ... (K pairs)
 *
 * The log-probabilities are the log-softmax of the raw logits in double.
 * CPU only, one thread, KV cache in F32, flash attention off (as sr runs). */
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

/* One row's line (tag P or G); returns the argmax. */
static llama_token report(char tag, const float *lg, int nv, int k)
{
    int top[64];
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
    printf("%c %d", tag, top[0]);
    for (int j = 0; j < k; j++) printf(" %d:%.9g", top[j], (double)lg[top[j]] - lse);
    putchar('\n');
    return top[0];
}

int main(int argc, char **argv)
{
    if (argc < 5) { fprintf(stderr, "usage: llama_logprobs MODEL K N_GREEDY ID...\n"); return 2; }
    const int k = atoi(argv[2]), ng = atoi(argv[3]), n = argc - 4;
    if (k < 2 || k > 64) { fprintf(stderr, "K: 2 to 64\n"); return 2; }
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    /* no repacked weights: the plain CPU kernels (the batched repacked
     * Q8_0 path stops on an illegal instruction on the build machine) */
    mp.use_extra_bufts = false;
    struct llama_model *m = llama_model_load_from_file(argv[1], mp);
    if (!m) { fprintf(stderr, "%s: cannot load\n", argv[1]); return 1; }
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (unsigned)(n + ng + 16), cp.n_batch = cp.n_ubatch = (unsigned)n;
    cp.n_threads = 1, cp.n_threads_batch = 1;
    cp.type_k = GGML_TYPE_F32, cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    struct llama_context *ctx = llama_init_from_model(m, cp);
    if (!ctx) { fprintf(stderr, "cannot make a context\n"); return 1; }
    const int nv = llama_vocab_n_tokens(llama_model_get_vocab(m));
    struct llama_batch b = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        b.token[i] = (llama_token)atoi(argv[4 + i]);
        b.pos[i] = i, b.n_seq_id[i] = 1, b.seq_id[i][0] = 0, b.logits[i] = 1;
    }
    b.n_tokens = n;
    if (llama_decode(ctx, b) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
    llama_token t = 0;
    for (int i = 0; i < n; i++) t = report('P', llama_get_logits_ith(ctx, i), nv, k);
    llama_batch_free(b);
    for (int s = 0; s < ng; s++) {
        if (llama_decode(ctx, llama_batch_get_one(&t, 1)) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
        t = report('G', llama_get_logits_ith(ctx, -1), nv, k);
    }
    llama_free(ctx);
    llama_model_free(m);
    return 0;
}
