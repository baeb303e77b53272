/* bench_prefill.c — prefill throughput of the model's forward pass.
 *
 *   bench_prefill [-m MODEL | --random smol|1b] [--device cpu|cuda] [--precision P]
 *                 [--threads N] [--reps R] [--batches 1,8] [--seq T]
 *
 * Times full forwards (logits at every position) of B×T tokens for each B
 * of --batches (default 1 and 8, T 512) after one warm-up each, and prints
 * tokens per second. The tokens are a fixed pseudo-random sequence: the cost
 * does not depend on which ids. The model and device options are
 * bench_common.h's. */
#include "bench_common.h"

int main(int argc, char **argv)
{
    bench_opts b;
    bench_opts_init(&b, "bench_prefill");
    int reps = 3, T = 512;
    char batches_arg[128] = "1,8";
    for (int i = 1; i < argc; i++) {
        if (bench_common_arg(&b, argc, argv, &i)) continue;
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batches") && i + 1 < argc)
            snprintf(batches_arg, sizeof batches_arg, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--seq") && i + 1 < argc) T = atoi(argv[++i]);
        else return bench_usage(argv[0], argv[i], "[--reps R] [--batches 1,8] [--seq T]",
                                "  --reps R             timed runs per shape, after one warm-up (default 3)\n"
                                "  --batches LIST       sequences per forward, comma-separated (default 1,8)\n"
                                "  --seq T              tokens per sequence (default 512)\n");
    }
    if (reps < 1) reps = 1;
    int batches[16], nb = 0, max_b = 0;
    for (char *tok = strtok(batches_arg, ","); tok; tok = strtok(NULL, ",")) {
        int B = atoi(tok);
        if (B < 1 || nb == 16) { fprintf(stderr, "bench_prefill: --batches: '%s' is not 1 to 16 positive counts\n", tok); return 2; }
        batches[nb++] = B;
        if (B > max_b) max_b = B;
    }
    if (nb == 0 || T < 1) { fprintf(stderr, "bench_prefill: --batches and --seq must be positive\n"); return 2; }
    char err[512], label[256], dev[64];
    sr_model m;
    sr_model_opts o = { .max_batch = max_b, .max_seq = T, .keep_acts = 0 };
    double t0 = bench_now(NULL);
    if (bench_open(&m, &b, &o, label, sizeof label) < 0) return 1;
    printf("model %s: %d layers, dim %d, vocab %d; load %.2f s; %s\n", label, m.hp.n_layer,
           m.hp.dim, m.hp.vocab, bench_now(&m) - t0, bench_device_desc(&m, &b, dev, sizeof dev));
    if (T > m.hp.n_ctx) { fprintf(stderr, "bench_prefill: --seq %d is beyond the model's context %d\n", T, m.hp.n_ctx); return 2; }

    int32_t *tok = malloc(sizeof *tok * (size_t)max_b * T);
    if (!tok) { fprintf(stderr, "bench_prefill: out of memory\n"); return 1; }
    uint64_t s = 12345;
    for (size_t i = 0; i < (size_t)max_b * T; i++) tok[i] = bench_next_token(&s, 0, m.hp.vocab);
    for (int k = 0; k < nb; k++) {
        int B = batches[k];
        double best = 1e30, sum = 0;
        for (int r = 0; r <= reps; r++) {       /* r == 0 warms up */
            t0 = bench_now(&m);
            if (sr_model_forward(&m, tok, B, T, NULL, err, sizeof err) < 0) {
                fprintf(stderr, "bench_prefill: %s\n", err); return 1;
            }
            double dt = bench_now(&m) - t0;
            if (r == 0) continue;
            sum += dt;
            if (dt < best) best = dt;
        }
        printf("prefill %d×%d: %.3f s mean, %.3f s best over %d runs: %.0f tokens/s (best %.0f)\n",
               B, T, sum / reps, best, reps, (double)B * T * reps / sum, (double)B * T / best);
        fflush(stdout);
    }
    free(tok);
    sr_model_free(&m);
    return 0;
}
