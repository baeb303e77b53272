/* bench_decode.c — decoding throughput of the generation engine.
 *
 *   bench_decode [-m MODEL | --random smol|1b] [--device cpu|cuda] [--precision P]
 *                [--threads N] [--prompt P] [--new T] [--seqs 1,8,32]
 *
 * For each count S of concurrent sequences: S prompts of P tokens, one
 * sample each, T new tokens each (the end-of-turn token is not a stop, so
 * every sequence runs its full T), S slots; T 0.7, top-p 0.9. Prints the
 * generated tokens per second over the whole run (prefill included) and per
 * decoding step. --seqs 1,64 gives the batch-1 and batch-64 figures. The
 * model and device options are bench_common.h's. */
#include "bench_common.h"
#include "lm/generate.h"

typedef struct job { int next, n, plen, vocab; int32_t *prompt; } job;

static int next(void *ctx, sr_gen_req *r)
{
    job *j = ctx;
    if (j->next >= j->n) return 0;
    uint64_t s = 1000 + (uint64_t)j->next;
    for (int i = 0; i < j->plen; i++) j->prompt[i] = bench_next_token(&s, 17, j->vocab);
    *r = (sr_gen_req){ j->prompt, j->plen, 1, s, NULL };
    j->next++;
    return 1;
}

static int done(void *ctx, const sr_gen_out *o) { (void)ctx; (void)o; return 0; }

int main(int argc, char **argv)
{
    bench_opts b;
    bench_opts_init(&b, "bench_decode");
    int plen = 64, new_tokens = 128;
    char seqs_arg[64] = "1,8,32";
    for (int i = 1; i < argc; i++) {
        if (bench_common_arg(&b, argc, argv, &i)) continue;
        if (!strcmp(argv[i], "--prompt") && i + 1 < argc) plen = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--new") && i + 1 < argc) new_tokens = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seqs") && i + 1 < argc) snprintf(seqs_arg, sizeof seqs_arg, "%s", argv[++i]);
        else return bench_usage(argv[0], argv[i], "[--prompt P] [--new T] [--seqs 1,8,32]",
                                "  --prompt P           prompt tokens per sequence (default 64)\n"
                                "  --new T              new tokens per sequence (default 128)\n"
                                "  --seqs LIST          concurrent sequences, comma-separated (default 1,8,32)\n");
    }
    if (plen < 1 || new_tokens < 1) { fprintf(stderr, "bench_decode: sizes must be positive\n"); return 2; }
    int seqs[16], ns = 0, max_s = 1;
    for (char *tok = strtok(seqs_arg, ","); tok; tok = strtok(NULL, ",")) {
        int S = atoi(tok);
        if (S < 1 || ns == 16) { fprintf(stderr, "bench_decode: --seqs: '%s' is not 1 to 16 positive counts\n", tok); return 2; }
        seqs[ns++] = S;
        if (S > max_s) max_s = S;
    }
    char err[512], label[256], dev[64];
    sr_model m;
    /* A decoding step of S sequences is a forward of S tokens: it needs
     * S <= max(max_batch, max_seq) and S <= max_batch × max_seq (the
     * engine's KV caches are its own). */
    const int cap = plen + new_tokens;
    sr_model_opts o = { .max_batch = max_s <= cap ? 1 : max_s, .max_seq = cap };
    double t0 = bench_now(NULL);
    if (bench_open(&m, &b, &o, label, sizeof label) < 0) return 1;
    printf("model %s: %d layers, dim %d, vocab %d; load %.2f s; %s; prompt %d, new %d tokens\n",
           label, m.hp.n_layer, m.hp.dim, m.hp.vocab, bench_now(&m) - t0,
           bench_device_desc(&m, &b, dev, sizeof dev), plen, new_tokens);
    job j = { 0, 0, plen, m.hp.vocab, malloc(sizeof(int32_t) * (size_t)plen) };
    if (!j.prompt) { fprintf(stderr, "bench_decode: out of memory\n"); return 1; }
    if (m.ctx.device == SR_DEV_CUDA) {
        /* One unmeasured run first: CUDA loads kernels and cuBLAS sets up on
         * first use, which would be charged to the first figure (the CPU
         * figures in bench/RESULTS.md were taken without one). */
        j.next = 0;
        j.n = seqs[0];
        sr_gen_opts go = { SR_SAMPLE_OPTS_DEFAULT, new_tokens, seqs[0], cap, -1, 0 };
        sr_gen_io io = { .next = next, .done = done, .ctx = &j };
        if (sr_generate(&m, &go, &io, NULL, err, sizeof err) < 0) { fprintf(stderr, "bench_decode: %s\n", err); return 1; }
    }
    for (int k = 0; k < ns; k++) {
        const int S = seqs[k];
        j.next = 0;
        j.n = S;
        sr_gen_opts go = { SR_SAMPLE_OPTS_DEFAULT, new_tokens, S, cap, -1, 0 };
        sr_gen_io io = { .next = next, .done = done, .ctx = &j };
        sr_gen_stats st;
        t0 = bench_now(&m);
        if (sr_generate(&m, &go, &io, &st, err, sizeof err) < 0) { fprintf(stderr, "bench_decode: %s\n", err); return 1; }
        double dt = bench_now(&m) - t0;
        printf("%3d sequences: %6llu tokens in %7.2f s = %7.1f tokens/s (%llu steps, %.1f ms/step)\n", S,
               (unsigned long long)st.tokens, dt, st.tokens / dt, (unsigned long long)st.steps,
               1e3 * dt / (double)st.steps);
        fflush(stdout);
    }
    free(j.prompt);
    sr_model_free(&m);
    return 0;
}
