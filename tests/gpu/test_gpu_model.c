/* test_gpu_model.c — the whole model on CUDA against the same model on the
 * CPU: full and cached forwards (log-probs), the backward (every parameter's
 * gradient), and the real model's greedy choices. Skipped where there is no
 * CUDA device. The ops' own parity tests are test_gpu_ops.c and
 * test_gpu_attention.c; this checks that lib/lm/model.c drives them on the
 * device the same way (uploads, copies, KV caches, pointer arithmetic). */
#include "../unit/test.h"

#include "lm/model.h"

static int have_gpu;

/* A llama of every feature the model code has: grouped-query heads, untied
 * head, dims that are not multiples of 32. */
static sr_hparams small_hp(void)
{
    return (sr_hparams){ .n_layer = 3, .dim = 72, .ffn_dim = 136, .n_head = 6, .n_head_kv = 2,
                         .head_dim = 12, .n_rot = 12, .vocab = 301, .n_ctx = 256,
                         .norm_eps = 1e-5f, .rope_theta = 10000.0f, .tied = 0 };
}

/* The same with qwen2's math (q/k/v biases, NEOX rope, theta 1e6, tied
 * head) and the output bias a llama file may have. */
static sr_hparams biased_hp(void)
{
    sr_hparams hp = small_hp();
    hp.qkv_bias = hp.out_bias = hp.neox = hp.tied = 1;
    hp.rope_theta = 1e6f;
    return hp;
}

/* The small llama with rope frequency factors (Llama 3.1's rope_freqs). */
static sr_hparams freqs_hp(void)
{
    sr_hparams hp = small_hp();
    hp.rope_freqs = 1;
    return hp;
}

/* qwen3's math: per-head q/k RMSNorms before NEOX rope, tied, theta 1e6,
 * heads of 16 where dim / heads is 12 (its key_length differs too). */
static sr_hparams qk_norm_hp(void)
{
    sr_hparams hp = small_hp();
    hp.qk_norm = hp.neox = hp.tied = 1;
    hp.head_dim = hp.n_rot = 16;
    hp.rope_theta = 1e6f;
    return hp;
}

/* phi3's: fused attn_qkv and gate|up ffn_up (the block's wq|wk|wv and
 * w_gate|w_up as they are), NEOX rope, untied, grouped-query heads. */
static sr_hparams phi3_hp(void)
{
    sr_hparams hp = small_hp();
    hp.fused_qkv = hp.fused_gate_up = hp.neox = 1;
    return hp;
}

/* Gemma 3's math: qwen3's head norms, post-norms, GeGLU, embeddings times
 * sqrt(dim), blocks 0 and 2 local (a window of 5 over sequences of up to 37,
 * RoPE base 1e4) and block 1 global (1e6, scaled linearly by 8), a scale of its own, a soft-cap
 * of 0.3 (about twice the logits' size). Its norm weights are varied
 * (vary_norms) so that a swapped or misapplied norm shows. */
static sr_hparams gemma3_hp(void)
{
    sr_hparams hp = qk_norm_hp();
    hp.post_norm = hp.geglu = hp.embd_scale = 1;
    hp.swa_window = 5;
    hp.swa_pattern = 2;
    hp.rope_theta_swa = 1e4f;
    hp.attn_scale = 0.3f;
    hp.softcap = 0.3f;
    hp.rope_linear = 8.0f;
    return hp;
}

/* Every norm weight of a model set to 1 + a ramp in [-0.4, 0.4], the same
 * on both devices (through the host copy of the parameters). */
static void vary_norms(sr_model *m)
{
    float *host = sr_model_params_host(m);
    sr_layer_params *L = calloc((size_t)m->hp.n_layer, sizeof *L);
    sr_params p;
    sr_params_map(&m->hp, host, &p, L);
    const int d = m->hp.dim, hd = m->hp.head_dim;
    for (int l = 0; l < m->hp.n_layer; l++) {
        float *vs[4] = { L[l].attn_norm, L[l].ffn_norm, L[l].post_attn_norm, L[l].post_ffn_norm };
        for (int v = 0; v < 4; v++)
            for (int j = 0; vs[v] && j < d; j++) vs[v][j] = 1.0f + 0.08f * (float)((j * 7 + l * 3 + v * 5) % 11 - 5);
        for (int j = 0; L[l].q_norm && j < 2 * hd; j++) L[l].q_norm[j] = 1.0f + 0.08f * (float)((j * 3 + l) % 11 - 5);
    }
    for (int j = 0; j < d; j++) p.output_norm[j] = 1.0f + 0.08f * (float)((j * 5) % 11 - 5);
    sr_model_params_set(m, host);
    free(L);
}

/* SmolLM2-135M's shape (tied, 9/3 heads of 64), random weights. */
static sr_hparams smol_hp(void)
{
    sr_hparams hp;
    sr_hparams_preset("smol", &hp);
    return hp;
}

static int make_pair(sr_model *cpu, sr_model *gpu, const sr_hparams *hp, sr_model_opts o,
                     sr_precision prec)
{
    char err[256];
    o.device = SR_DEV_CPU;
    if (sr_model_init_random(cpu, hp, 42, &o, err, sizeof err) < 0) { printf("# cpu: %s\n", err); return -1; }
    o.device = SR_DEV_CUDA;
    o.precision = prec;
    if (sr_model_init_random(gpu, hp, 42, &o, err, sizeof err) < 0) {
        printf("# cuda: %s\n", err);
        sr_model_free(cpu);
        return -1;
    }
    if (hp->post_norm) { vary_norms(cpu); vary_norms(gpu); }
    return 0;
}

/* Largest |a - b| over n, and where. */
static double max_diff(const float *a, const float *b, size_t n, size_t *at)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= m)) { m = d; if (at) *at = i; }   /* NaN counts as the largest */
    }
    return m;
}

/* Rows' log-softmax in place (host), so logits compare as log-probs. */
static void log_softmax_rows(float *x, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        float *row = x + (size_t)r * cols, mx = row[0];
        for (int j = 1; j < cols; j++) if (row[j] > mx) mx = row[j];
        double s = 0;
        for (int j = 0; j < cols; j++) s += exp((double)row[j] - mx);
        float lse = mx + (float)log(s);
        for (int j = 0; j < cols; j++) row[j] -= lse;
    }
}

static float *logprobs(sr_model *m, int rows)
{
    const float *l = sr_model_logits(m, rows);
    float *out = malloc(sizeof(float) * (size_t)rows * m->hp.vocab);
    memcpy(out, l, sizeof(float) * (size_t)rows * m->hp.vocab);
    log_softmax_rows(out, rows, m->hp.vocab);
    return out;
}

static void fill_tokens(int32_t *tok, int n, int vocab, int salt)
{
    for (int i = 0; i < n; i++) tok[i] = (int32_t)(((long)i * 7919 + salt * 104729 + 17) % vocab);
}

/* Full forward, two right-padded sequences: log-probs of every real row.
 * FP32 on both sides; the sums run in other orders (cuBLAS, the tiled
 * attention), so the rows agree to rounding, compounded over the layers:
 * 2e-3 in log-prob on 30 layers is far below any decision the tools make. */
static void forward_parity(const sr_hparams *hp, double tol)
{
    enum { B = 2, T = 37 };
    sr_model c, g;
    sr_model_opts o = { .max_batch = B, .max_seq = T + 8 };
    if (make_pair(&c, &g, hp, o, SR_PREC_FP32) < 0) { CHECK(0); return; }
    int32_t tok[B * T];
    int lens[B] = { T, 23 };
    fill_tokens(tok, B * T, hp->vocab, 1);
    char err[256];
    CHECK(sr_model_forward(&c, tok, B, T, lens, err, sizeof err) == 0);
    CHECK(sr_model_forward(&g, tok, B, T, lens, err, sizeof err) == 0);
    float *lc = logprobs(&c, B * T), *lg = logprobs(&g, B * T);
    double worst = 0;
    for (int b = 0; b < B; b++) {
        double d = max_diff(lc + (size_t)b * T * hp->vocab, lg + (size_t)b * T * hp->vocab,
                            (size_t)lens[b] * hp->vocab, NULL);
        if (d > worst) worst = d;
    }
    printf("# %d layers, dim %d: full forward, max |log-prob diff| %.3g (tolerance %.3g)\n",
           hp->n_layer, hp->dim, worst, tol);
    CHECK(worst <= tol);
    free(lc); free(lg);
    sr_model_free(&c); sr_model_free(&g);
}

TEST(full_forward_small) { if (!have_gpu) { test_skip("no CUDA device"); return; } sr_hparams hp = small_hp(); forward_parity(&hp, 2e-4); }
TEST(full_forward_biased) { if (!have_gpu) { test_skip("no CUDA device"); return; } sr_hparams hp = biased_hp(); forward_parity(&hp, 2e-4); }
TEST(full_forward_rope_freqs) { if (!have_gpu) { test_skip("no CUDA device"); return; } sr_hparams hp = freqs_hp(); forward_parity(&hp, 2e-4); }
TEST(full_forward_qk_norm) { if (!have_gpu) { test_skip("no CUDA device"); return; } sr_hparams hp = qk_norm_hp(); forward_parity(&hp, 2e-4); }
TEST(full_forward_phi3) { if (!have_gpu) { test_skip("no CUDA device"); return; } sr_hparams hp = phi3_hp(); forward_parity(&hp, 2e-4); }
TEST(full_forward_gemma3) { if (!have_gpu) { test_skip("no CUDA device"); return; } sr_hparams hp = gemma3_hp(); forward_parity(&hp, 2e-4); }
TEST(full_forward_smol_shape) { if (!have_gpu) { test_skip("no CUDA device"); return; } sr_hparams hp = smol_hp(); forward_parity(&hp, 2e-3); }

/* Prefill one prompt into a cache, fork it, decode 6 steps on 3 sequences
 * with the batch-invariant path: each step's last-token logits, CUDA vs
 * CPU; and the CUDA decode rows equal a CUDA full forward of the same text. */
static void cached_case(const sr_hparams hp)
{
    enum { S = 3, P = 11, STEPS = 6, CAP = P + STEPS + 1 };
    sr_model c, g;
    sr_model_opts o = { .max_batch = S, .max_seq = CAP };
    if (make_pair(&c, &g, &hp, o, SR_PREC_FP32) < 0) { CHECK(0); return; }
    sr_model *ms[2] = { &c, &g };
    float *last[2];
    int32_t text[S][CAP];
    char err[256];
    for (int s = 0; s < S; s++) fill_tokens(text[s], CAP, hp.vocab, 5);   /* shared prompt */
    for (int s = 0; s < S; s++)
        for (int k = 0; k < STEPS; k++) text[s][P + k] = (int32_t)((s * 31 + k * 7 + 3) % hp.vocab);
    for (int w = 0; w < 2; w++) {
        sr_model *m = ms[w];
        sr_kv_cache kc[S], *cp[S];
        for (int s = 0; s < S; s++) {
            CHECK(sr_kv_cache_init(&kc[s], &m->ctx, hp.n_layer, hp.n_head_kv * hp.head_dim, CAP, err,
                                   sizeof err) == 0);
            cp[s] = &kc[s];
        }
        int n_p = P;
        CHECK(sr_model_forward_cached(m, cp, text[0], &n_p, 1, SR_FWD_LAST_LOGITS, err, sizeof err) == 0);
        for (int s = 1; s < S; s++) CHECK(sr_kv_cache_copy(&kc[s], &kc[0], P) == 0);
        last[w] = malloc(sizeof(float) * (size_t)STEPS * S * hp.vocab);
        for (int k = 0; k < STEPS; k++) {
            int32_t tok[S];
            int ones[S];
            for (int s = 0; s < S; s++) { tok[s] = text[s][P + k]; ones[s] = 1; }
            CHECK(sr_model_forward_cached(m, cp, tok, ones, S, SR_FWD_LAST_LOGITS | SR_FWD_BATCH_INVARIANT,
                                          err, sizeof err) == 0);
            memcpy(last[w] + (size_t)k * S * hp.vocab, sr_model_logits(m, S), sizeof(float) * S * hp.vocab);
        }
        for (int s = 0; s < S; s++) sr_kv_cache_free(&kc[s]);
    }
    log_softmax_rows(last[0], STEPS * S, hp.vocab);
    log_softmax_rows(last[1], STEPS * S, hp.vocab);
    double d = max_diff(last[0], last[1], (size_t)STEPS * S * hp.vocab, NULL);
    printf("# cached decode: max |log-prob diff| CUDA vs CPU %.3g\n", d);
    CHECK(d <= 2e-4);

    /* the CUDA decode rows of sequence 2 against one CUDA full forward of its text */
    const int T = P + STEPS;
    CHECK(sr_model_forward(&g, text[2], 1, T, NULL, err, sizeof err) == 0);
    float *full = logprobs(&g, T);
    double worst = 0;
    for (int k = 0; k < STEPS; k++) {
        double e = max_diff(last[1] + ((size_t)k * S + 2) * hp.vocab, full + (size_t)(P + k) * hp.vocab,
                            (size_t)hp.vocab, NULL);
        if (e > worst) worst = e;
    }
    printf("# CUDA decode vs CUDA full forward: %.3g\n", worst);
    CHECK(worst <= 2e-4);
    free(full); free(last[0]); free(last[1]);
    sr_model_free(&c); sr_model_free(&g);
}

TEST(cached_decode) { if (!have_gpu) { test_skip("no CUDA device"); return; } cached_case(small_hp()); }
TEST(cached_decode_qk_norm) { if (!have_gpu) { test_skip("no CUDA device"); return; } cached_case(qk_norm_hp()); }
TEST(cached_decode_phi3) { if (!have_gpu) { test_skip("no CUDA device"); return; } cached_case(phi3_hp()); }
TEST(cached_decode_gemma3) { if (!have_gpu) { test_skip("no CUDA device"); return; } cached_case(gemma3_hp()); }

/* The backward: a weighted sum of target log-probs as the loss; every
 * parameter's gradient, CUDA vs CPU, as one vector: relative L2 error. */
static void backward_case(const sr_hparams hp)
{
    enum { B = 3, T = 19 };
    sr_model c, g;
    sr_model_opts o = { .max_batch = B, .max_seq = T, .keep_acts = 1 };
    if (make_pair(&c, &g, &hp, o, SR_PREC_FP32) < 0) { CHECK(0); return; }
    int32_t tok[B * T], tg[B * T];
    float coef[B * T];
    int lens[B] = { T, 12, 5 };
    fill_tokens(tok, B * T, hp.vocab, 9);
    for (int i = 0; i < B * T; i++) {
        int b = i / T, t = i % T;
        tg[i] = t >= 2 && t + 1 < lens[b] ? tok[(i + 1) % (B * T)] : -1;
        coef[i] = tg[i] < 0 ? 0.0f : -1.0f / (1 + t % 4);
    }
    sr_model *ms[2] = { &c, &g };
    float *grad[2];
    double lp_sum[2];
    char err[256];
    for (int w = 0; w < 2; w++) {
        sr_model *m = ms[w];
        const size_t N = (size_t)B * T;
        int32_t *d_tg = sr_dev_alloc(&m->ctx, N * sizeof *d_tg);
        float *d_lp = sr_dev_alloc(&m->ctx, N * sizeof *d_lp), *d_c = sr_dev_alloc(&m->ctx, N * sizeof *d_c);
        float lp[B * T];
        sr_dev_upload(&m->ctx, d_tg, tg, sizeof tg);
        sr_dev_upload(&m->ctx, d_c, coef, sizeof coef);
        CHECK(sr_model_forward(m, tok, B, T, lens, err, sizeof err) == 0);
        sr_token_logprob_fwd(&m->ctx, d_lp, m->act.logits, d_tg, B * T, hp.vocab);
        sr_dev_download(&m->ctx, lp, d_lp, sizeof lp);
        lp_sum[w] = 0;
        for (int i = 0; i < B * T; i++) lp_sum[w] += coef[i] * lp[i];
        sr_grads gr;
        CHECK(sr_grads_init(&gr, m, err, sizeof err) == 0);
        sr_token_logprob_bwd(&m->ctx, m->act.logits, m->act.logits, d_tg, d_c, B * T, hp.vocab);
        CHECK(sr_model_backward(m, &gr, m->act.logits, err, sizeof err) == 0);
        grad[w] = malloc(m->n_params * sizeof(float));
        sr_dev_download(&m->ctx, grad[w], gr.mem, m->n_params * sizeof(float));
        sr_grads_free(&gr);
        sr_dev_free(&m->ctx, d_tg); sr_dev_free(&m->ctx, d_lp); sr_dev_free(&m->ctx, d_c);
    }
    double num = 0, den = 0;
    for (size_t i = 0; i < c.n_params; i++) {
        double d = (double)grad[0][i] - grad[1][i];
        num += d * d;
        den += (double)grad[0][i] * grad[0][i];
    }
    double rel = sqrt(num / (den > 0 ? den : 1));
    printf("# loss CPU %.9g CUDA %.9g; gradient relative L2 error %.3g\n", lp_sum[0], lp_sum[1], rel);
    CHECK_NEAR(lp_sum[0], lp_sum[1], 1e-4 * (1 + fabs(lp_sum[0])));
    CHECK(den > 0);
    CHECK(rel <= 1e-4);
    free(grad[0]); free(grad[1]);
    sr_model_free(&c); sr_model_free(&g);
}

TEST(backward_parity) { if (!have_gpu) { test_skip("no CUDA device"); return; } backward_case(small_hp()); }
TEST(backward_parity_biased) { if (!have_gpu) { test_skip("no CUDA device"); return; } backward_case(biased_hp()); }
TEST(backward_parity_rope_freqs) { if (!have_gpu) { test_skip("no CUDA device"); return; } backward_case(freqs_hp()); }
TEST(backward_parity_qk_norm) { if (!have_gpu) { test_skip("no CUDA device"); return; } backward_case(qk_norm_hp()); }
TEST(backward_parity_phi3) { if (!have_gpu) { test_skip("no CUDA device"); return; } backward_case(phi3_hp()); }
TEST(backward_parity_gemma3) { if (!have_gpu) { test_skip("no CUDA device"); return; } backward_case(gemma3_hp()); }

/* The real model, loaded from GGUF on both devices: the greedy choice at
 * every position of a text agrees at fp32 (all of them) and at bf16 (nearly
 * all: rounding the inputs to 8 bits of mantissa can flip near-ties). */
TEST(real_model_greedy)
{
    if (!have_gpu) { test_skip("no CUDA device"); return; }
    const char *path = test_model_path();
    if (!path) return;
    enum { T = 64 };
    sr_precision precs[2] = { SR_PREC_FP32, SR_PREC_BF16 };
    char err[256];
    sr_model c;
    sr_model_opts o = { .max_batch = 1, .max_seq = T };
    CHECK(sr_model_load(&c, path, &o, err, sizeof err) == 0);
    int32_t tok[T];
    fill_tokens(tok, T, c.hp.vocab < 20000 ? c.hp.vocab : 20000, 3);
    CHECK(sr_model_forward(&c, tok, 1, T, NULL, err, sizeof err) == 0);
    float *lc = logprobs(&c, T);
    for (int k = 0; k < 2; k++) {
        sr_model g;
        o.device = SR_DEV_CUDA;
        o.precision = precs[k];
        if (sr_model_load(&g, path, &o, err, sizeof err) < 0) { printf("# %s\n", err); CHECK(0); continue; }
        CHECK(sr_model_forward(&g, tok, 1, T, NULL, err, sizeof err) == 0);
        float *lg = logprobs(&g, T);
        int same = 0;
        for (int t = 0; t < T; t++)
            same += sr_argmax(lc + (size_t)t * c.hp.vocab, c.hp.vocab) ==
                    sr_argmax(lg + (size_t)t * c.hp.vocab, c.hp.vocab);
        double d = max_diff(lc, lg, (size_t)T * c.hp.vocab, NULL);
        printf("# real model, %s: argmax agrees at %d of %d positions, max |log-prob diff| %.3g\n",
               k ? "bf16" : "fp32", same, T, d);
        CHECK(same >= (k ? T - 3 : T));
        CHECK(d <= (k ? 0.5 : 2e-3));
        free(lg);
        sr_model_free(&g);
    }
    free(lc);
    sr_model_free(&c);
}

int main(void)
{
    have_gpu = sr_cuda_device_count() > 0;
    if (!have_gpu) printf("# no CUDA device: every test here is skipped\n");
    RUN(full_forward_small);
    RUN(full_forward_biased);
    RUN(full_forward_rope_freqs);
    RUN(full_forward_qk_norm);
    RUN(full_forward_phi3);
    RUN(full_forward_gemma3);
    RUN(full_forward_smol_shape);
    RUN(cached_decode);
    RUN(cached_decode_qk_norm);
    RUN(cached_decode_phi3);
    RUN(cached_decode_gemma3);
    RUN(backward_parity);
    RUN(backward_parity_biased);
    RUN(backward_parity_rope_freqs);
    RUN(backward_parity_qk_norm);
    RUN(backward_parity_phi3);
    RUN(backward_parity_gemma3);
    RUN(real_model_greedy);
    return test_done();
}
