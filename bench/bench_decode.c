/* bench_decode.c — decoding throughput of the generation engine on the CPU.
 *
 *   bench_decode [-m MODEL] [--threads N] [--prompt P] [--new T] [--seqs 1,8,32]
 *
 * For each count S of concurrent sequences: S prompts of P tokens, one
 * sample each, T new tokens each (the end-of-turn token is not a stop, so
 * every sequence runs its full T), S slots; T 0.7, top-p 0.9. Prints the
 * generated tokens per second over the whole run (prefill included) and per
 * decoding step. */
#include "generate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct job { int next, n, plen, vocab; int32_t *prompt; } job;

static int next(void *ctx, sr_gen_req *r)
{
    job *j = ctx;
    if (j->next >= j->n) return 0;
    uint64_t s = 1000 + (uint64_t)j->next;
    for (int i = 0; i < j->plen; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        j->prompt[i] = (int32_t)(17 + (s >> 33) % (uint64_t)(j->vocab - 17));   /* no control tokens */
    }
    *r = (sr_gen_req){ j->prompt, j->plen, 1, s, NULL };
    j->next++;
    return 1;
}

static int done(void *ctx, const sr_gen_out *o) { (void)ctx; (void)o; return 0; }

int main(int argc, char **argv)
{
    const char *path = getenv("SR_MODEL");
    if (!path) path = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
    int threads = 0, plen = 64, new_tokens = 128;
    char seqs_arg[64] = "1,8,32";
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) && i + 1 < argc) path = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--prompt") && i + 1 < argc) plen = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--new") && i + 1 < argc) new_tokens = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seqs") && i + 1 < argc) snprintf(seqs_arg, sizeof seqs_arg, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: %s [-m MODEL] [--threads N] [--prompt P] [--new T] [--seqs 1,8,32]\n", argv[0]);
            return 2;
        }
    }
    if (plen < 1 || new_tokens < 1) { fprintf(stderr, "bench_decode: sizes must be positive\n"); return 2; }
    char err[512];
    sr_model m;
    const int cap = plen + new_tokens;
    sr_model_opts o = { .max_batch = 1, .max_seq = cap, .threads = threads };
    double t0 = now();
    if (sr_model_load(&m, path, &o, err, sizeof err) < 0) { fprintf(stderr, "bench_decode: %s\n", err); return 1; }
    printf("model %s: %d layers, dim %d, vocab %d; load %.2f s; %d threads; prompt %d, new %d tokens\n",
           path, m.hp.n_layer, m.hp.dim, m.hp.vocab, now() - t0, m.ctx.threads, plen, new_tokens);
    job j = { 0, 0, plen, m.hp.vocab, malloc(sizeof(int32_t) * (size_t)plen) };
    for (char *tok = strtok(seqs_arg, ","); tok; tok = strtok(NULL, ",")) {
        int S = atoi(tok);
        if (S < 1 || S > cap) continue;
        j.next = 0;
        j.n = S;
        sr_gen_opts go = { SR_SAMPLE_OPTS_DEFAULT, new_tokens, S, cap, -1 };
        sr_gen_io io = { next, done, NULL, &j };
        sr_gen_stats st;
        t0 = now();
        if (sr_generate(&m, &go, &io, &st, err, sizeof err) < 0) { fprintf(stderr, "bench_decode: %s\n", err); return 1; }
        double dt = now() - t0;
        printf("%3d sequences: %6llu tokens in %7.2f s = %7.1f tokens/s (%llu steps, %.1f ms/step)\n", S,
               (unsigned long long)st.tokens, dt, st.tokens / dt, (unsigned long long)st.steps,
               1e3 * dt / (double)st.steps);
        fflush(stdout);
    }
    free(j.prompt);
    sr_model_free(&m);
    return 0;
}
