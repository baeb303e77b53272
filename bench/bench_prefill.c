/* bench_prefill.c — prefill throughput of the model's forward pass on the CPU.
 *
 *   bench_prefill [-m MODEL] [--threads N] [--reps R]
 *
 * Times full forwards (logits at every position) of 1×512 and 8×512 tokens
 * after one warm-up each, and prints tokens per second. The tokens are a
 * fixed pseudo-random sequence: the cost does not depend on which ids. */
#include "model.h"

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

int main(int argc, char **argv)
{
    const char *path = getenv("SR_MODEL");
    if (!path) path = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
    int threads = 0, reps = 3;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) && i + 1 < argc) path = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else { fprintf(stderr, "usage: %s [-m MODEL] [--threads N] [--reps R]\n", argv[0]); return 2; }
    }
    if (reps < 1) reps = 1;
    enum { T = 512, MAX_B = 8 };
    char err[512];
    sr_model m;
    sr_model_opts o = { .max_batch = MAX_B, .max_seq = T, .keep_acts = 0, .threads = threads };
    double t0 = now();
    if (sr_model_load(&m, path, &o, err, sizeof err) < 0) { fprintf(stderr, "bench_prefill: %s\n", err); return 1; }
    printf("model %s: %d layers, dim %d, vocab %d; load %.2f s; %d threads\n", path, m.hp.n_layer,
           m.hp.dim, m.hp.vocab, now() - t0, m.ctx.threads);

    int32_t *tok = malloc(sizeof *tok * MAX_B * T);
    uint64_t s = 12345;
    for (int i = 0; i < MAX_B * T; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        tok[i] = (int32_t)((s >> 33) % (uint64_t)m.hp.vocab);
    }
    const int batches[2] = {1, MAX_B};
    for (int k = 0; k < 2; k++) {
        int B = batches[k];
        double best = 1e30, sum = 0;
        for (int r = 0; r <= reps; r++) {       /* r == 0 warms up */
            t0 = now();
            if (sr_model_forward(&m, tok, B, T, NULL, err, sizeof err) < 0) {
                fprintf(stderr, "bench_prefill: %s\n", err); return 1;
            }
            double dt = now() - t0;
            if (r == 0) continue;
            sum += dt;
            if (dt < best) best = dt;
        }
        printf("prefill %d×%d: %.3f s mean, %.3f s best over %d runs: %.0f tokens/s (best %.0f)\n",
               B, T, sum / reps, best, reps, B * T * reps / sum, B * T / best);
    }
    free(tok);
    sr_model_free(&m);
    return 0;
}
