/* bench_train.c — training throughput and peak memory of one full
 * fine-tuning step (forward, loss, backward, clipping, AdamW) on the CPU.
 *
 *   bench_train [-m MODEL] [--threads N] [--batch B] [--seq T] [--reps R]
 *
 * One optimizer step of B sequences of T tokens, all in one micro-batch,
 * the loss on every next-token prediction (as a causal-LM step in PyTorch
 * computes it), timed over R steps after one warm-up step. Peak RSS is the
 * process's, so run one shape per process. */
#include "model.h"
#include "train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
    int threads = 0, B = 1, T = 512, reps = 3;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) && i + 1 < argc) path = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) B = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seq") && i + 1 < argc) T = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else { fprintf(stderr, "usage: %s [-m MODEL] [--threads N] [--batch B] [--seq T] [--reps R]\n", argv[0]); return 2; }
    }
    if (reps < 1 || B < 1 || T < 2) return 2;
    char err[512];
    sr_model m;
    sr_model_opts o = { .max_batch = B, .max_seq = T, .keep_acts = 1, .threads = threads };
    if (sr_model_load(&m, path, &o, err, sizeof err) < 0) { fprintf(stderr, "bench_train: %s\n", err); return 1; }

    /* B pseudo-random sequences; resp = 1: every prediction is a target */
    sr_train_data d = { .seqs_per_ex = 1 };
    uint64_t s = 12345;
    for (int b = 0; b < B; b++) {
        sr_train_seq q = { malloc(sizeof(int32_t) * T), T, 1 };
        for (int i = 0; i < T; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            q.ids[i] = (int32_t)((s >> 33) % (uint64_t)m.hp.vocab);
        }
        sr_train_data_add(&d, &q, err, sizeof err);
    }
    sr_train_opts to = SR_TRAIN_OPTS_DEFAULT;
    to.lr = 1e-5; to.lr_final = 1e-5; to.batch = B; to.micro_batch = B; to.max_steps = reps + 1;
    to.weight_decay = 0.01;
    sr_loss loss = { .name = "sft", .fn = sr_loss_sft };
    sr_trainer t;
    if (sr_trainer_init(&t, &m, &d, &to, &loss, err, sizeof err) < 0) { fprintf(stderr, "bench_train: %s\n", err); return 1; }
    double sum = 0, best = 1e30;
    for (int r = 0; r <= reps; r++) {
        sr_step_stats st;
        double t0 = now();
        if (sr_trainer_step(&t, &st, err, sizeof err) < 0) { fprintf(stderr, "bench_train: %s\n", err); return 1; }
        double dt = now() - t0;
        fprintf(stderr, "step %d: %.3f s, loss %.4f\n", r, dt, st.loss);
        if (r == 0) continue;   /* warm-up */
        sum += dt;
        if (dt < best) best = dt;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("sr %d×%d: %d threads, %.3f s/step mean (best %.3f) over %d steps: %.0f tokens/s; peak RSS %.2f GiB\n",
           B, T, m.ctx.threads, sum / reps, best, reps, (double)B * T * reps / sum, ru.ru_maxrss / 1048576.0);
    sr_trainer_free(&t);
    sr_train_data_free(&d);
    sr_model_free(&m);
    return 0;
}
