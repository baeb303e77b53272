/* test_dpo.c — the DPO loss family: closed forms by hand, the trainer's
 * seam (grouping, padding, normalisation), the first step with the policy
 * equal to the reference (exactly log 2), and the gradient of the whole
 * loss through a tiny model against central finite differences and against
 * the closed form of the sigmoid loss's gradient built from per-sequence
 * gradients. */
#include "test.h"
#include "lm/chat.h"
#include "sr/dpo.h"
#include "lm/model.h"
#include "../tools/tinymodel.h"
#include "lm/tokenizer.h"
#include "lm/train.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static char err[512];
static char dir[64];

static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }

/* ---- one pair in closed form ------------------------------------------------------- */

TEST(pair_values_by_hand)
{
    sr_dpo o = SR_DPO_DEFAULT;                  /* sigmoid, beta 0.1 */
    const double pol[2] = { -10.0, -20.0 }, ref[2] = { -12.0, -19.0 };
    const int n[2] = { 4, 5 };
    double d[2], m[SR_DPO_N_METRICS];
    /* h = (−10 + 12) − (−20 + 19) = 3 */
    double L = sr_dpo_pair(&o, pol, ref, n, d, m);
    CHECK_NEAR(L, -log(sigm(0.3)), 1e-15);
    CHECK_NEAR(d[0], -0.1 * sigm(-0.3), 1e-15);
    CHECK_NEAR(d[1], 0.1 * sigm(-0.3), 1e-15);
    CHECK_NEAR(m[SR_DPO_CHOSEN_REWARD], 0.2, 1e-15);
    CHECK_NEAR(m[SR_DPO_REJECTED_REWARD], -0.1, 1e-15);
    CHECK_NEAR(m[SR_DPO_MARGIN], 0.3, 1e-15);
    CHECK(m[SR_DPO_ACCURACY] == 1.0);
    CHECK_NEAR(m[SR_DPO_CHOSEN_LOGP], -10.0, 0);
    CHECK_NEAR(m[SR_DPO_NLL_CHOSEN], 2.5, 1e-15);

    o.kind = SR_DPO_IPO;                        /* (h − 1/(2β))² = (3 − 5)² */
    L = sr_dpo_pair(&o, pol, ref, n, d, m);
    CHECK_NEAR(L, 4.0, 1e-12);
    CHECK_NEAR(d[0], -4.0, 1e-12);
    CHECK_NEAR(d[1], 4.0, 1e-12);

    o.kind = SR_DPO_HINGE;                      /* max(0, 1 − 0.3) */
    L = sr_dpo_pair(&o, pol, ref, n, d, m);
    CHECK_NEAR(L, 0.7, 1e-15);
    CHECK_NEAR(d[0], -0.1, 1e-15);
    o.beta = 0.5;                               /* 1 − 1.5 < 0: no loss, no gradient */
    L = sr_dpo_pair(&o, pol, ref, n, d, m);
    CHECK(L == 0 && d[0] == 0 && d[1] == 0);

    /* length-normalised: h = (−10 + 12)/4 − (−20 + 19)/5 = 0.7 */
    o = (sr_dpo)SR_DPO_DEFAULT;
    o.length_norm = true;
    L = sr_dpo_pair(&o, pol, ref, n, d, m);
    CHECK_NEAR(L, -log(sigm(0.07)), 1e-15);
    CHECK_NEAR(d[0], -0.1 * sigm(-0.07) / 4, 1e-15);
    CHECK_NEAR(d[1], 0.1 * sigm(-0.07) / 5, 1e-15);
    CHECK_NEAR(m[SR_DPO_MARGIN], 0.07, 1e-15);
    CHECK_NEAR(m[SR_DPO_CHOSEN_LOGP], -2.5, 1e-15);

    /* RPO: + α · (−log π(y_w)) / |y_w| */
    o = (sr_dpo)SR_DPO_DEFAULT;
    o.rpo_alpha = 2.0;
    L = sr_dpo_pair(&o, pol, ref, n, d, m);
    CHECK_NEAR(L, -log(sigm(0.3)) + 2.0 * 2.5, 1e-14);
    CHECK_NEAR(d[0], -0.1 * sigm(-0.3) - 2.0 / 4, 1e-15);
    CHECK_NEAR(d[1], 0.1 * sigm(-0.3), 1e-15);
}

TEST(pair_derivatives_and_extremes)
{
    /* every variant's derivatives against central differences in double */
    const enum sr_dpo_kind kinds[3] = { SR_DPO_SIGMOID, SR_DPO_IPO, SR_DPO_HINGE };
    const int n[2] = { 7, 3 };
    int bad = 0;
    for (int k = 0; k < 3; k++)
        for (int v = 0; v < 4; v++) {
            sr_dpo o = SR_DPO_DEFAULT;
            o.kind = kinds[k]; o.beta = 0.25; o.length_norm = v & 1; o.rpo_alpha = v & 2 ? 0.5 : 0;
            const double ref[2] = { -30.0, -25.0 };
            for (double off = -9; off <= 9; off += 2.25) {
                double pol[2] = { -30.0 + off, -25.0 - 0.5 * off }, d[2];
                sr_dpo_pair(&o, pol, ref, n, d, NULL);
                for (int j = 0; j < 2; j++) {
                    double p = pol[j], e = 1e-5, dd[2];
                    pol[j] = p + e; double lp = sr_dpo_pair(&o, pol, ref, n, dd, NULL);
                    pol[j] = p - e; double lm = sr_dpo_pair(&o, pol, ref, n, dd, NULL);
                    pol[j] = p;
                    if (fabs((lp - lm) / (2 * e) - d[j]) > 1e-6 * (1 + fabs(d[j]))) bad++;
                }
            }
        }
    CHECK(bad == 0);
    /* far out the sigmoid loss neither overflows nor loses its slope */
    sr_dpo o = SR_DPO_DEFAULT;
    const double ref[2] = { 0, 0 };
    const int one[2] = { 1, 1 };
    double d[2];
    double pol_bad[2] = { -1e5, 0 }, pol_good[2] = { 0, -1e5 };
    double L = sr_dpo_pair(&o, pol_bad, ref, one, d, NULL);        /* z = −1e4 */
    CHECK(isfinite(L) && fabs(L - 1e4) < 1e-6);
    CHECK_NEAR(d[0], -0.1, 1e-12);
    L = sr_dpo_pair(&o, pol_good, ref, one, d, NULL);              /* z = +1e4 */
    CHECK(L >= 0 && L < 1e-300 && d[0] <= 0 && d[0] > -1e-300);
    /* policy = reference: log 2 exactly, margin and accuracy 0 */
    double pol_eq[2] = { -3.25, -7.5 }, ref_eq[2] = { -3.25, -7.5 }, m[SR_DPO_N_METRICS];
    CHECK(sr_dpo_pair(&o, pol_eq, ref_eq, one, d, m) == log(2.0));
    CHECK(m[SR_DPO_MARGIN] == 0 && m[SR_DPO_ACCURACY] == 0);
}

/* ---- the seam: a hand-made micro-batch --------------------------------------------- */

TEST(seam_groups_pairs_and_normalises)
{
    /* two pairs (rows 0,1 and 2,3) of T = 5, padded; the step has 4 pairs */
    enum { T = 5, B = 4 };
    const int32_t tg[B * T] = { -1, 7, 7, -1, -1,   -1, -1, 3, 3, 3,
                                -1, -1, -1, 1, -1,   -1, 2, 2, -1, -1 };
    const float lp[B * T] = { 0, -1, -2, 0, 0,   0, 0, -1, -1, -1,
                              0, 0, 0, -4, 0,    0, -1, -1.5f, 0, 0 };
    const int lens[B] = { 4, 5, 5, 3 };
    const size_t ex[2] = { 1, 0 };
    const double ref[4] = { -2.0, -2.5,  -3.0, -4.0 };   /* pair 0, pair 1 in the data */
    sr_loss_batch b = { 2, 2, B, T, ex, lens, tg, lp, 9, 4 };
    sr_dpo o = SR_DPO_DEFAULT;
    o.beta = 0.5;
    o.ref = ref;
    float dlp[B * T];
    double metrics[SR_DPO_N_METRICS] = { 0 };
    double L = sr_loss_dpo(&o, &b, dlp, metrics);
    /* example 1 (ref −3, −4): pol −3, −3 → h = 0 − 1 = −1; example 0 (ref −2, −2.5): pol −4, −2.5 → h = −2 */
    const double z1 = 0.5 * -1, z0 = 0.5 * -2;
    CHECK_NEAR(L, (-log(sigm(z1)) - log(sigm(z0))) / 4, 1e-12);
    int zero_ok = 1;
    for (int i = 0; i < B * T; i++) zero_ok &= tg[i] >= 0 || dlp[i] == 0.0f;
    CHECK(zero_ok);
    CHECK_NEAR(dlp[1], -0.5 * sigm(-z1) / 4, 1e-7);     /* chosen of example 1 */
    CHECK_NEAR(dlp[7], 0.5 * sigm(-z1) / 4, 1e-7);      /* its rejected */
    CHECK_NEAR(dlp[13], -0.5 * sigm(-z0) / 4, 1e-7);
    CHECK_NEAR(dlp[17], 0.5 * sigm(-z0) / 4, 1e-7);
    CHECK_NEAR(metrics[SR_DPO_MARGIN], (0.5 * -1 + 0.5 * -2) / 4, 1e-12);
    CHECK_NEAR(metrics[SR_DPO_ACCURACY], 0, 0);
    CHECK_NEAR(metrics[SR_DPO_CHOSEN_REWARD], (0.5 * 0 + 0.5 * -2) / 4, 1e-12);
    CHECK_NEAR(metrics[SR_DPO_NLL_CHOSEN], (3.0 / 2 + 4.0 / 1) / 4, 1e-12);
}

/* ---- a tiny model --------------------------------------------------------------------- */

/* Synthetic pairs over a random model's vocabulary: a shared prompt, then
 * two responses of different lengths. */
static void synth_pairs(sr_train_data *d, int n, int vocab)
{
    memset(d, 0, sizeof *d);
    d->seqs_per_ex = 2;
    for (int e = 0; e < n; e++) {
        sr_train_seq s[2];
        const int prompt = 3 + e % 3;
        for (int j = 0; j < 2; j++) {
            s[j].len = prompt + 2 + (e + 2 * j) % 4;
            s[j].resp = prompt;
            s[j].ids = malloc((size_t)s[j].len * sizeof(int32_t));
            for (int p = 0; p < s[j].len; p++)
                s[j].ids[p] = (int32_t)(p < prompt ? (e * 11 + p * 5 + 1) % vocab
                                                   : (e * 29 + p * 13 + j * 41 + 7) % vocab);
        }
        sr_train_data_add(d, s, err, sizeof err);
    }
}

static int random_model(sr_model *m, int tied, int max_batch, int max_seq, float spread)
{
    sr_hparams hp = { .n_layer = 2, .dim = 32, .ffn_dim = 64, .n_head = 4, .n_head_kv = 2,
                      .head_dim = 8, .n_rot = 8, .vocab = 96, .n_ctx = 64, .norm_eps = 1e-5f,
                      .rope_theta = 10000.0f, .tied = tied };
    sr_model_opts o = { .max_batch = max_batch, .max_seq = max_seq, .keep_acts = 1, .threads = 0 };
    if (sr_model_init_random(m, &hp, 11 + tied, &o, err, sizeof err) < 0) { printf("#   %s\n", err); return -1; }
    /* std 0.02 makes a nearly uniform model with tiny gradients: spread the
     * weights so every path matters (as test_grad does) */
    for (size_t i = 0; i < m->n_params; i++) m->params_mem[i] *= spread;
    return 0;
}

/* The analytic gradient of the step's DPO loss over all pairs (lr 0: the
 * weights stay), left in t->g. */
static int analytic_grad(sr_trainer *t, sr_model *m, const sr_train_data *d, const sr_loss *loss,
                         int micro, double *step_loss)
{
    sr_train_opts o = SR_TRAIN_OPTS_DEFAULT;
    o.lr = 0; o.lr_final = 0; o.clip = 0; o.batch = (int)d->n_ex; o.micro_batch = micro; o.max_steps = 1;
    if (sr_trainer_init(t, m, d, &o, loss, err, sizeof err) < 0) { printf("#   %s\n", err); return -1; }
    sr_step_stats st;
    if (sr_trainer_step(t, &st, err, sizeof err) < 0) { printf("#   %s\n", err); return -1; }
    *step_loss = st.loss;
    return 0;
}

static double eval_loss(sr_model *m, const sr_train_data *d, const sr_dpo *o)
{
    double L, met[SR_DPO_N_METRICS];
    if (sr_dpo_eval(m, d, o, &L, met, err, sizeof err) < 0) return NAN;
    return L;
}

/* The reference: the model's own log-probs shifted per pair, so that β·h
 * spreads over both sides of 0 (and, for the hinge, of its kink at 1). */
static void shifted_ref(sr_model *m, const sr_train_data *d, double *ref, double beta)
{
    sr_dpo_logps(m, d, 0, d->n_ex, ref, err, sizeof err);
    const double hs[6] = { -1.7, 0.6, 2.9, -4.0, 0.2, 1.4 };
    for (size_t e = 0; e < d->n_ex; e++) ref[2 * e] -= hs[e % 6] / beta;
}

static void fd_case(const char *name, enum sr_dpo_kind kind, bool length_norm, double rpo, int tied)
{
    sr_model m;
    sr_train_data d;
    if (random_model(&m, tied, 4, 16, 4.0f) < 0) { CHECK(0); return; }
    synth_pairs(&d, 5, m.hp.vocab);
    double ref[10];
    sr_dpo o = SR_DPO_DEFAULT;
    o.kind = kind; o.beta = 0.2; o.length_norm = length_norm; o.rpo_alpha = rpo; o.ref = ref;
    shifted_ref(&m, &d, ref, o.beta);
    sr_loss loss = sr_dpo_loss(&o);
    sr_trainer t;
    double step_loss;
    if (analytic_grad(&t, &m, &d, &loss, 2, &step_loss) < 0) { CHECK(0); return; }
    const double L0 = eval_loss(&m, &d, &o);
    CHECK_NEAR(step_loss, L0, 1e-5 * fabs(L0) + 1e-7);

    const sr_layer_params *W = m.w.layer, *G = t.g.g.layer;
    struct { const char *name; float *w, *g; size_t n; } kinds[] = {
        { "token_embd", m.w.token_embd, t.g.g.token_embd, (size_t)m.hp.vocab * m.hp.dim },
        { "output", m.w.output, t.g.g.output, (size_t)m.hp.vocab * m.hp.dim },
        { "output_norm", m.w.output_norm, t.g.g.output_norm, (size_t)m.hp.dim },
        { "blk.0.attn_q", W[0].wq, G[0].wq, 32 * 32 },
        { "blk.0.attn_v", W[0].wv, G[0].wv, 16 * 32 },
        { "blk.1.attn_output", W[1].wo, G[1].wo, 32 * 32 },
        { "blk.1.ffn_norm", W[1].ffn_norm, G[1].ffn_norm, 32 },
        { "blk.1.ffn_down", W[1].w_down, G[1].w_down, 32 * 64 },
    };
    /* The forward is float: the difference quotient carries rounding of
     * about 1e-7 × |the summed log-probs| / ε, a floor set by the loss's
     * scale rather than by each weight's gradient. The tolerance is
     * 2e-2·|an| plus 1e-3 of the largest gradient anywhere. */
    double gall = 0;
    for (size_t i = 0; i < t.g.n; i++) gall = fmax(gall, fabs(t.g.mem[i]));
    const double floor_ = 1e-3 * gall;
    int total = 0, bad = 0;
    double worst = 0, gmax = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        if (tied && k == 1) continue;
        /* the 2 largest |gradient| elements, then 3 spread over the tensor */
        size_t pick[5];
        int np = 0;
        for (int r = 0; r < 2; r++) {
            size_t best = 0;
            float bv = -1;
            for (size_t i = 0; i < kinds[k].n; i++)
                if ((np == 0 || i != pick[0]) && fabsf(kinds[k].g[i]) > bv) { bv = fabsf(kinds[k].g[i]); best = i; }
            pick[np++] = best;
        }
        for (int r = 0; r < 3; r++) pick[np++] = (kinds[k].n * (2 * r + 1)) / 7;
        for (int q = 0; q < np; q++) {
            float *w = &kinds[k].w[pick[q]], w0 = *w, e = 1e-3f * fmaxf(1.0f, fabsf(w0));
            *w = w0 + e; double lp = eval_loss(&m, &d, &o);
            *w = w0 - e; double lm = eval_loss(&m, &d, &o);
            *w = w0;
            double fd = (lp - lm) / ((double)(w0 + e) - (w0 - e)), an = kinds[k].g[pick[q]];
            double dd = fabs(fd - an);
            if (fabs(an) > gmax) gmax = fabs(an);
            if (dd / (fabs(an) + floor_ / 2e-2) > worst) worst = dd / (fabs(an) + floor_ / 2e-2);
            if (dd > 2e-2 * fabs(an) + floor_) {
                if (bad < 5) printf("#   %s[%zu]: backward %.8g, finite difference %.8g\n", kinds[k].name, pick[q], an, fd);
                bad++;
            }
            total++;
        }
    }
    printf("#   %-28s loss %.5f, %d weights, max |grad| %.3g, worst |fd-an|/(|an|+%.1e) = %.2e\n",
           name, L0, total, gall, floor_ / 2e-2, worst);
    CHECK(bad == 0);
    CHECK(total >= 35);
    CHECK(gmax > 1e-3);          /* a gradient worth checking */
    sr_trainer_free(&t);
    sr_train_data_free(&d);
    sr_model_free(&m);
}

TEST(grad_fd_sigmoid) { fd_case("sigmoid", SR_DPO_SIGMOID, false, 0, 0); }
TEST(grad_fd_sigmoid_tied) { fd_case("sigmoid, tied", SR_DPO_SIGMOID, false, 0, 1); }
TEST(grad_fd_ipo_length_norm) { fd_case("ipo, length-norm", SR_DPO_IPO, true, 0, 0); }
TEST(grad_fd_hinge) { fd_case("hinge", SR_DPO_HINGE, false, 0, 0); }
TEST(grad_fd_sigmoid_rpo) { fd_case("sigmoid + rpo 0.5, length-norm", SR_DPO_SIGMOID, true, 0.5, 0); }

/* The closed form: ∂L/∂θ = −(β/N) Σ_i σ(−β h_i) (∇log π(y_w,i) − ∇log π(y_l,i)),
 * assembled from each sequence's own gradient (one sequence per forward,
 * unpadded), against the trainer's (two pairs per micro-batch, padded). */
TEST(grad_closed_form_sigmoid)
{
    sr_model m;
    sr_train_data d;
    if (random_model(&m, 0, 4, 16, 4.0f) < 0) { CHECK(0); return; }
    synth_pairs(&d, 4, m.hp.vocab);
    double ref[8], pol[8];
    sr_dpo o = SR_DPO_DEFAULT;
    o.beta = 0.2; o.ref = ref;
    shifted_ref(&m, &d, ref, o.beta);
    CHECK(sr_dpo_logps(&m, &d, 0, d.n_ex, pol, err, sizeof err) == 0);
    sr_loss loss = sr_dpo_loss(&o);
    sr_trainer t;
    double step_loss;
    if (analytic_grad(&t, &m, &d, &loss, 2, &step_loss) < 0) { CHECK(0); return; }

    sr_grads g;
    CHECK(sr_grads_init(&g, &m, err, sizeof err) == 0);
    const int V = m.hp.vocab, N = (int)d.n_ex;
    float lp[16], c[16];
    int32_t tg[16];
    for (int e = 0; e < N; e++) {
        const double h = (pol[2 * e] - ref[2 * e]) - (pol[2 * e + 1] - ref[2 * e + 1]);
        const double w = -o.beta * sigm(-o.beta * h) / N;
        for (int j = 0; j < 2; j++) {
            const sr_train_seq *s = &d.seq[2 * e + j];
            for (int p = 0; p < s->len; p++) {
                tg[p] = p + 1 < s->len && p + 1 >= s->resp ? s->ids[p + 1] : -1;
                c[p] = tg[p] < 0 ? 0.0f : (float)(j == 0 ? w : -w);
            }
            CHECK(sr_model_forward(&m, s->ids, 1, s->len, NULL, err, sizeof err) == 0);
            sr_token_logprob_fwd(&m.ctx, lp, m.act.logits, tg, s->len, V);
            sr_token_logprob_bwd(&m.ctx, m.act.logits, m.act.logits, tg, c, s->len, V);
            CHECK(sr_model_backward(&m, &g, m.act.logits, err, sizeof err) == 0);
        }
    }
    double e = 0, mx = 0;
    for (size_t i = 0; i < g.n; i++) { e = fmax(e, fabs(g.mem[i] - t.g.mem[i])); mx = fmax(mx, fabs(g.mem[i])); }
    printf("#   closed form vs trainer: max |diff| %.2e, max |grad| %.3g\n", e, mx);
    CHECK(mx > 1e-3);
    CHECK(e <= 1e-4 * mx);
    sr_grads_free(&g);
    sr_trainer_free(&t);
    sr_train_data_free(&d);
    sr_model_free(&m);
}

/* Micro-batches of 1, 2 and 4 pairs give the same step. */
TEST(accumulation_matches)
{
    sr_model m[3];
    sr_train_data d;
    for (int i = 0; i < 3; i++) if (random_model(&m[i], 1, 8, 16, 4.0f) < 0) { CHECK(0); return; }
    synth_pairs(&d, 4, m[0].hp.vocab);
    double ref[8];
    sr_dpo o = SR_DPO_DEFAULT;
    o.beta = 0.2; o.ref = ref;
    shifted_ref(&m[0], &d, ref, o.beta);
    sr_loss loss = sr_dpo_loss(&o);
    sr_trainer t[3];
    double L[3];
    const int micro[3] = { 1, 2, 4 };
    for (int i = 0; i < 3; i++) if (analytic_grad(&t[i], &m[i], &d, &loss, micro[i], &L[i]) < 0) { CHECK(0); return; }
    double e = 0, mx = 0;
    for (int i = 1; i < 3; i++)
        for (size_t k = 0; k < t[0].g.n; k++) {
            e = fmax(e, fabs(t[i].g.mem[k] - t[0].g.mem[k]));
            mx = fmax(mx, fabs(t[0].g.mem[k]));
        }
    printf("#   loss %.7f / %.7f / %.7f at micro-batch 1 / 2 / 4; gradients differ by %.2e (max %.3g)\n",
           L[0], L[1], L[2], e, mx);
    CHECK_NEAR(L[1], L[0], 1e-6 * L[0]);
    CHECK_NEAR(L[2], L[0], 1e-6 * L[0]);
    CHECK(e <= 1e-5 * mx);
    for (int i = 0; i < 3; i++) { sr_trainer_free(&t[i]); sr_model_free(&m[i]); }
    sr_train_data_free(&d);
}

/* ---- policy = reference, through rendered pairs --------------------------------------- */

TEST(first_step_is_log2_with_policy_as_reference)
{
    char path[128];
    snprintf(path, sizeof path, "%s/tiny.gguf", dir);
    sr_tiny_opts to = SR_TINY_OPTS_DEFAULT;
    gguf_file g;
    sr_tok *tok = NULL;
    sr_chat chat;
    if (sr_tiny_model_write(path, &to, NULL, err, sizeof err) < 0 || gguf_open(&g, path, err, sizeof err) < 0 ||
        sr_tok_load(&tok, &g, NULL, err, sizeof err) < 0 ||
        sr_chat_load(&chat, tok, &g, SR_CHAT_AUTO, err, sizeof err) < 0) {
        printf("#   %s\n", err); CHECK(0); return;
    }
    const char *p[3][3] = {
        { "What is two plus two?", "Four.", "Five, I think, or maybe six." },
        { "Name a colour.", "Blue is a colour.", "Table." },
        { "Spell cat.", "C, A, T.", "K, A, T, T." },
    };
    sr_train_data d = { .seqs_per_ex = 2 };
    for (int i = 0; i < 3; i++) {
        sr_train_seq s[2];
        for (int j = 0; j < 2; j++)
            CHECK(sr_train_render(&chat, NULL, 0, p[i][0], strlen(p[i][0]), p[i][1 + j], strlen(p[i][1 + j]),
                                  256, SR_OVERLONG_TRUNCATE, &s[j], err, sizeof err) == SR_RENDER_OK);
        sr_train_data_add(&d, s, err, sizeof err);
    }
    sr_model m;
    sr_model_opts mo = { .max_batch = 2, .max_seq = d.max_len, .keep_acts = 1, .threads = 2 };
    CHECK(sr_model_load_gguf(&m, &g, &mo, err, sizeof err) == 0);
    double ref[6];
    CHECK(sr_dpo_logps(&m, &d, 0, d.n_ex, ref, err, sizeof err) == 0);
    const enum sr_dpo_kind kinds[3] = { SR_DPO_SIGMOID, SR_DPO_IPO, SR_DPO_HINGE };
    const double want[3] = { log(2.0), 25.0, 1.0 };     /* β 0.1: (1/(2β))² = 25 */
    for (int k = 0; k < 3; k++) {
        sr_dpo o = SR_DPO_DEFAULT;
        o.kind = kinds[k]; o.ref = ref;
        sr_loss loss = sr_dpo_loss(&o);
        sr_train_opts to2 = SR_TRAIN_OPTS_DEFAULT;
        to2.lr = 1e-3; to2.batch = 2; to2.micro_batch = 1; to2.max_steps = 3;
        sr_trainer t;
        CHECK(sr_trainer_init(&t, &m, &d, &to2, &loss, err, sizeof err) == 0);
        float *w0 = malloc(m.n_params * sizeof(float));
        memcpy(w0, m.params_mem, m.n_params * sizeof(float));
        sr_step_stats st;
        CHECK(sr_trainer_step(&t, &st, err, sizeof err) == 0);
        printf("#   %s: step 1 loss %.17g (want %.17g), margin %g, accuracy %g\n", sr_dpo_kind_name(kinds[k]),
               st.loss, want[k], st.metrics[SR_DPO_MARGIN], st.metrics[SR_DPO_ACCURACY]);
        CHECK(st.loss == want[k]);
        CHECK(st.metrics[SR_DPO_MARGIN] == 0 && st.metrics[SR_DPO_ACCURACY] == 0);
        CHECK(st.metrics[SR_DPO_CHOSEN_REWARD] == 0 && st.metrics[SR_DPO_REJECTED_REWARD] == 0);
        /* and then it learns: the margin grows */
        double margin = 0;
        for (int s = 0; s < 2; s++) { CHECK(sr_trainer_step(&t, &st, err, sizeof err) == 0); margin = st.metrics[SR_DPO_MARGIN]; }
        CHECK(margin > 0);
        memcpy(m.params_mem, w0, m.n_params * sizeof(float));
        free(w0);
        sr_trainer_free(&t);
    }
    /* sr_dpo_eval of the policy against itself: the same numbers */
    sr_dpo o = SR_DPO_DEFAULT;
    o.ref = ref;
    double L, met[SR_DPO_N_METRICS];
    CHECK(sr_dpo_eval(&m, &d, &o, &L, met, err, sizeof err) == 0);
    CHECK(L == log(2.0) && met[SR_DPO_MARGIN] == 0 && met[SR_DPO_ACCURACY] == 0);
    sr_model_free(&m);
    sr_train_data_free(&d);
    sr_chat_free(&chat);
    sr_tok_free(tok);
    gguf_close(&g);
    unlink(path);
}

TEST(kind_names)
{
    enum sr_dpo_kind k;
    CHECK(sr_dpo_kind_parse("ipo", &k) == 0 && k == SR_DPO_IPO);
    CHECK(sr_dpo_kind_parse("hinge", &k) == 0 && k == SR_DPO_HINGE);
    CHECK(sr_dpo_kind_parse("sigmoid", &k) == 0 && k == SR_DPO_SIGMOID);
    CHECK(sr_dpo_kind_parse("dpo", &k) == -1);
    CHECK_STR(sr_dpo_kind_name(SR_DPO_HINGE), "hinge");
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/sr-test-dpo.%ld", (long)getpid());
    if (mkdir(dir, 0700) < 0) { perror(dir); return 1; }
    RUN(pair_values_by_hand);
    RUN(pair_derivatives_and_extremes);
    RUN(seam_groups_pairs_and_normalises);
    RUN(grad_fd_sigmoid);
    RUN(grad_fd_sigmoid_tied);
    RUN(grad_fd_ipo_length_norm);
    RUN(grad_fd_hinge);
    RUN(grad_fd_sigmoid_rpo);
    RUN(grad_closed_form_sigmoid);
    RUN(accumulation_matches);
    RUN(first_step_is_log2_with_policy_as_reference);
    RUN(kind_names);
    rmdir(dir);
    return test_done();
}
