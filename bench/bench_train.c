/* bench_train.c — training throughput and peak memory of one full
 * fine-tuning step (forward, loss, backward, clipping, AdamW).
 *
 *   bench_train [-m MODEL | --random smol|1b] [--device cpu|cuda] [--precision P]
 *               [--threads N] [--batch B] [--seq T] [--reps R] [--peak-tflops X]
 *
 * One optimizer step of B sequences of T tokens, all in one micro-batch,
 * the loss on every next-token prediction (as a causal-LM step in PyTorch
 * computes it), timed over R steps after one warm-up step. Peak RSS is the
 * process's (host memory), so run one shape per process. The model and
 * device options are bench_common.h's.
 *
 * With --random, --device, --precision or --peak-tflops a second line gives
 * the step's model FLOPs (train_flops below) and the rate they were done
 * at; with --peak-tflops also the MFU, that rate over the peak. */
#include "bench_common.h"
#include "lm/train.h"

#include <sys/resource.h>

/* Model FLOPs of one training step over B sequences of T tokens, the usual
 * accounting (Kaplan et al. 2020; PaLM's MFU, Chowdhery et al. 2022): a
 * multiply-add is 2 FLOPs, the backward costs twice the forward, so 6 FLOPs
 * per matmul weight per token, plus attention's score and value products:
 *
 *   6 · (Wm + vocab·dim) · B·T  +  6 · n_layer · q_dim · B · T(T+1)
 *
 * Wm = n_layer · (dim·(q_dim + 2·kv_dim) + q_dim·dim + 3·dim·ffn_dim), the
 * blocks' matmul weights; vocab·dim is the output head's matmul (counted
 * whether or not it is tied to the embedding; the embedding lookup and the
 * norm weights do no matmul and are not counted). The attention term is
 * 12 · n_layer · q_dim per (query, key) pair, over the causal half only:
 * position t sees t + 1 keys, T(T+1)/2 pairs per sequence. Recomputation in
 * the backward (sr recomputes attention probabilities) is not counted:
 * these are the model's FLOPs, not the hardware's. */
static double train_flops(const sr_hparams *hp, int B, int T)
{
    const double d = hp->dim, qd = (double)hp->n_head * hp->head_dim,
                 kvd = (double)hp->n_head_kv * hp->head_dim, f = hp->ffn_dim;
    const double wm = hp->n_layer * (d * (qd + 2 * kvd) + qd * d + 3 * d * f);
    const double head = (double)hp->vocab * d;
    return 6 * (wm + head) * B * T + 6.0 * hp->n_layer * qd * B * (double)T * (T + 1);
}

int main(int argc, char **argv)
{
    bench_opts b;
    bench_opts_init(&b, "bench_train");
    int B = 1, T = 512, reps = 3;
    double peak_tflops = 0;
    for (int i = 1; i < argc; i++) {
        if (bench_common_arg(&b, argc, argv, &i)) continue;
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) B = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seq") && i + 1 < argc) T = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--peak-tflops") && i + 1 < argc) peak_tflops = atof(argv[++i]);
        else return bench_usage(argv[0], argv[i], "[--batch B] [--seq T] [--reps R] [--peak-tflops X]",
                                "  --batch B            sequences per step, one micro-batch (default 1)\n"
                                "  --seq T              tokens per sequence (default 512)\n"
                                "  --reps R             timed steps, after one warm-up (default 3)\n"
                                "  --peak-tflops X      the device's peak in TFLOP/s, to print the MFU\n"
                                "                       (989 for an H100 SXM's dense bf16; 312 for an A100)\n");
    }
    if (reps < 1 || B < 1 || T < 2 || peak_tflops < 0) {
        fprintf(stderr, "bench_train: --reps, --batch, --peak-tflops must be positive and --seq at least 2\n");
        return 2;
    }
    char err[512], label[256], dev[64];
    sr_model m;
    sr_model_opts o = { .max_batch = B, .max_seq = T, .keep_acts = 1 };
    if (bench_open(&m, &b, &o, label, sizeof label) < 0) return 1;
    if (b.extended)
        printf("model %s: %d layers, dim %d, vocab %d; %s\n", label, m.hp.n_layer, m.hp.dim,
               m.hp.vocab, bench_device_desc(&m, &b, dev, sizeof dev));

    /* B pseudo-random sequences; resp = 1: every prediction is a target */
    sr_train_data d = { .seqs_per_ex = 1 };
    uint64_t s = 12345;
    for (int e = 0; e < B; e++) {
        sr_train_seq q = { malloc(sizeof(int32_t) * T), T, 1 };
        if (!q.ids) { fprintf(stderr, "bench_train: out of memory\n"); return 1; }
        for (int i = 0; i < T; i++) q.ids[i] = bench_next_token(&s, 0, m.hp.vocab);
        if (sr_train_data_add(&d, &q, err, sizeof err) < 0) { fprintf(stderr, "bench_train: %s\n", err); return 1; }
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
        double t0 = bench_now(&m);
        if (sr_trainer_step(&t, &st, err, sizeof err) < 0) { fprintf(stderr, "bench_train: %s\n", err); return 1; }
        double dt = bench_now(&m) - t0;   /* after the queued AdamW update has run */
        fprintf(stderr, "step %d: %.3f s, loss %.4f\n", r, dt, st.loss);
        if (r == 0) continue;   /* warm-up */
        sum += dt;
        if (dt < best) best = dt;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("sr %d×%d: %s, %.3f s/step mean (best %.3f) over %d steps: %.0f tokens/s; peak RSS %.2f GiB\n",
           B, T, bench_device_desc(&m, &b, dev, sizeof dev), sum / reps, best, reps,
           (double)B * T * reps / sum, ru.ru_maxrss / 1048576.0);
    if (b.extended || peak_tflops > 0) {
        const double flops = train_flops(&m.hp, B, T), rate = flops * reps / sum;
        printf("sr %d×%d: %.4g TFLOP/step = 6·(block matmul weights + vocab·dim)·B·T + "
               "6·n_layer·q_dim·B·T(T+1); %.3g TFLOP/s", B, T, flops * 1e-12, rate * 1e-12);
        if (peak_tflops > 0) printf("; MFU %.1f%% of %g TFLOP/s", 100 * rate / (peak_tflops * 1e12), peak_tflops);
        printf("\n");
    }
    sr_trainer_free(&t);
    sr_train_data_free(&d);
    sr_model_free(&m);
    return 0;
}
