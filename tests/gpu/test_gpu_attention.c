/* test_gpu_attention.c — the CUDA attention kernels against the CPU backend:
 * the forward (out and lse), the decoding step (against the CPU's decode and
 * the CUDA forward, and its batch invariance) and the backward (dq, dk, dv),
 * over the default model's shape (9 heads, 3 kv heads, head_dim 64), other
 * head sizes (32, 128, and odd ones padded inside the kernels), plain
 * multi-head attention, one token, a sequence longer than a tile, cached
 * prefixes (p0 > 0), empty sequences, several sequences of different lengths
 * in one call, and strides wider than the heads (q, k, v as column blocks of
 * one qkv buffer, as lib/lm/model.c lays them out).
 *
 * Every device output buffer starts filled with a sentinel: what the kernels
 * must write is compared with the CPU, and everything else (columns past the
 * heads, the q columns of cached rows, ...) must still hold the sentinel.
 * Both backends' backward gets the CPU forward's out and lse, so that only
 * the backward kernels differ there.
 *
 * Tolerances. Both backends compute in fp32 but add in different orders
 * (OpenBLAS's blocked sgemm against one running sum per thread; a softmax
 * normalised first against an online one divided at the end), so results
 * differ by rounding only: a few ulp per term, growing like the square root
 * of the number of terms (at most a few thousand here). The forward's out is
 * a convex combination of values in [-1, 1]; 2e-5 absolute is ~100 ulp of 1.
 * lse is up to ~10: 2e-5 plus 2e-6 relative. The gradients sum up to
 * (queries × group) products and are compared relative to the largest
 * reference entry of their buffer: 1e-4 of it, ~10× the rounding expected
 * at the longest shape, while a wrong index or mask gives errors of order 1.
 * The decode's batch invariance is bit-for-bit. */
#include "../unit/test.h"
#include "kernels.h"

#include <stdint.h>

static sr_ctx cpu, gpu;
static int have_gpu;

#define SENTINEL (-7777.0f)

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static float urand(void)   /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
}

/* How a case lays out q, k, v (and dq, dk, dv the same way).
 *  WIDE:  one [p0 + T][W] buffer, W = q_dim + 2 kv_dim + 3: k at column
 *         q_dim, v at q_dim + kv_dim, the queries the rows from p0 on —
 *         lib/lm/model.c's qkv buffer (with a little extra width).
 *  TIGHT: q [T][q_dim], k and v [p0 + T][kv_dim], packed.
 *  CACHE: q the first columns of [T][q_dim + 2 kv_dim] rows, k and v
 *         [p0 + T][kv_dim] caches — lib/lm/model.c's cached forward.
 * out and dout are [T][q_dim + 5] in WIDE, [T][q_dim] otherwise. */
enum layout { WIDE, TIGHT, CACHE };

typedef struct {
    const char *name;
    int n_head, n_head_kv, head_dim;
    enum layout layout;
    int n;
    int T[10], p0[10];
} acase;

/* One sequence's buffers: host data (which the CPU backend uses directly)
 * and their device copies. q, k, v live in one buffer `in` at offsets. */
typedef struct {
    int T, p0, len;
    size_t n_in, n_out, n_lse, q_off, k_off, v_off;
    float *in, *dout, *out_c, *lse_c, *grad_c;        /* host: the CPU's */
    float *in_d, *dout_d, *out_d, *lse_d, *grad_d;    /* device */
} tseq;

/* The sliding window and scale every case's shape gets (the window tests
 * set them, then put them back to none and the default). */
static int case_window;
static float case_scale;

static void shape_of(const acase *c, sr_attn_shape *s)
{
    int qd = c->n_head * c->head_dim, kvd = c->n_head_kv * c->head_dim;
    s->window = case_window;
    s->scale = case_scale;
    s->n_head = c->n_head;
    s->n_head_kv = c->n_head_kv;
    s->head_dim = c->head_dim;
    switch (c->layout) {
    case WIDE:  s->q_stride = s->kv_stride = qd + 2 * kvd + 3; s->out_stride = qd + 5; break;
    case TIGHT: s->q_stride = qd; s->kv_stride = kvd; s->out_stride = qd; break;
    case CACHE: s->q_stride = qd + 2 * kvd; s->kv_stride = kvd; s->out_stride = qd; break;
    }
}

static float *dev_copy_of(const float *h, size_t n)
{
    float *d = sr_dev_alloc(&gpu, (n ? n : 1) * sizeof(float));
    if (!d) { printf("# out of device memory\n"); exit(1); }
    sr_dev_upload(&gpu, d, h, n * sizeof(float));
    return d;
}

static float *filled(size_t n, float v)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = v;
    return p;
}

static float *dev_filled(size_t n, float v)
{
    float *h = filled(n, v), *d = dev_copy_of(h, n);
    free(h);
    return d;
}

static void seq_make(tseq *q, const acase *c, const sr_attn_shape *s, int T, int p0)
{
    const size_t qd = (size_t)c->n_head * c->head_dim, kvd = (size_t)c->n_head_kv * c->head_dim;
    memset(q, 0, sizeof *q);
    q->T = T; q->p0 = p0; q->len = p0 + T;
    switch (c->layout) {
    case WIDE:
        q->n_in = (size_t)q->len * s->q_stride;
        q->q_off = (size_t)p0 * s->q_stride; q->k_off = qd; q->v_off = qd + kvd;
        break;
    case TIGHT:
        q->n_in = (size_t)T * qd + 2 * (size_t)q->len * kvd;
        q->q_off = 0; q->k_off = (size_t)T * qd; q->v_off = q->k_off + (size_t)q->len * kvd;
        break;
    case CACHE:
        q->n_in = (size_t)T * s->q_stride + 2 * (size_t)q->len * kvd;
        q->q_off = 0; q->k_off = (size_t)T * s->q_stride; q->v_off = q->k_off + (size_t)q->len * kvd;
        break;
    }
    q->n_out = (size_t)T * s->out_stride;
    q->n_lse = (size_t)T * c->n_head;
    /* Queries and keys in [-2, 2) make softmax rows from flat to peaked
     * (scores up to ~10 at head_dim 64); values and dout in [-1, 1). */
    q->in = malloc((q->n_in ? q->n_in : 1) * sizeof(float));
    for (size_t i = 0; i < q->n_in; i++) q->in[i] = 2 * urand();
    q->dout = malloc((q->n_out ? q->n_out : 1) * sizeof(float));
    for (size_t i = 0; i < q->n_out; i++) q->dout[i] = urand();
    q->out_c = filled(q->n_out, 0);
    q->lse_c = filled(q->n_lse, 0);
    q->grad_c = filled(q->n_in, 0);
    q->in_d = dev_copy_of(q->in, q->n_in);
    q->dout_d = dev_copy_of(q->dout, q->n_out);
    q->out_d = dev_filled(q->n_out, SENTINEL);
    q->lse_d = dev_filled(q->n_lse, SENTINEL);
    q->grad_d = dev_filled(q->n_in, SENTINEL);
}

static void seq_free(tseq *q)
{
    free(q->in); free(q->dout); free(q->out_c); free(q->lse_c); free(q->grad_c);
    sr_dev_free(&gpu, q->in_d); sr_dev_free(&gpu, q->dout_d); sr_dev_free(&gpu, q->out_d);
    sr_dev_free(&gpu, q->lse_d); sr_dev_free(&gpu, q->grad_d);
}

static sr_attn_seq cpu_seq(const tseq *q)
{
    return (sr_attn_seq){ q->in + q->q_off, q->in + q->k_off, q->in + q->v_off, q->out_c, q->lse_c,
                          q->T, q->p0 };
}
static sr_attn_seq gpu_seq(const tseq *q)
{
    return (sr_attn_seq){ q->in_d + q->q_off, q->in_d + q->k_off, q->in_d + q->v_off, q->out_d, q->lse_d,
                          q->T, q->p0 };
}

static float *download(const float *d, size_t n)
{
    float *h = malloc((n ? n : 1) * sizeof(float));
    sr_dev_download(&gpu, h, d, n * sizeof(float));
    return h;
}

/* A block an op writes: rows × cols at `stride`, from float `off`. */
typedef struct { size_t off; int rows, cols, stride; } region;

/* Compares a block of `got` with `want`. Errors are |got − want| /
 * (atol + rtol·|want|), or with norm set |got − want| / (atol · max(1,
 * max |want| over the block)); returns the largest (<= 1 passes). */
static double compare(const char *what, const float *got, const float *want, region g,
                      double atol, double rtol, int norm)
{
    double scale = 1, worst = 0;
    size_t worst_i = g.off;
    for (int r = 0; r < g.rows; r++)
        for (int c = 0; c < g.cols; c++) {
            size_t i = g.off + (size_t)r * g.stride + c;
            if (fabs(want[i]) > scale) scale = fabs(want[i]);
        }
    for (int r = 0; r < g.rows; r++)
        for (int c = 0; c < g.cols; c++) {
            size_t i = g.off + (size_t)r * g.stride + c;
            double e = fabs((double)got[i] - want[i]);
            e = norm ? e / (atol * scale) : e / (atol + rtol * fabs(want[i]));
            if (!(e <= worst)) { worst = e; worst_i = i; }   /* NaN wins too */
        }
    if (!(worst <= 1))
        printf("#   %s: error %.3g of its tolerance at float %zu: got %.9g, want %.9g\n", what, worst,
               worst_i, got[worst_i], want[worst_i]);
    CHECK(worst <= 1);
    return worst;
}

/* Every element of got[n] outside the blocks still holds the sentinel. */
static void check_untouched(const char *what, const float *got, size_t n, const region *reg, int n_reg)
{
    unsigned char *mask = calloc(n ? n : 1, 1);
    for (int k = 0; k < n_reg; k++)
        for (int r = 0; r < reg[k].rows; r++)
            memset(mask + reg[k].off + (size_t)r * reg[k].stride, 1, (size_t)reg[k].cols);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += !mask[i] && got[i] != SENTINEL;
    if (bad) printf("#   %s: %zu elements written outside the op's region\n", what, bad);
    CHECK(bad == 0);
    free(mask);
}

/* The forward of one case on both backends (out and lse compared), then
 * its backward, both given the CPU's out and lse so that only the backward
 * kernels differ (dq, dk, dv compared). */
static void check_case(const acase *c)
{
    sr_attn_shape s;
    shape_of(c, &s);
    const int qd = c->n_head * c->head_dim, kvd = c->n_head_kv * c->head_dim;
    tseq q[10];
    sr_attn_seq cs[10], gs[10];
    sr_attn_seq_grad cg[10], gg[10];
    int max_len = 1;
    for (int b = 0; b < c->n; b++) {
        seq_make(&q[b], c, &s, c->T[b], c->p0[b]);
        cs[b] = cpu_seq(&q[b]);
        gs[b] = gpu_seq(&q[b]);
        if (q[b].len > max_len) max_len = q[b].len;
    }

    float *cw = malloc(sizeof(float) * sr_attention_workspace(&cpu, &s, max_len) + 1);
    float *gw = sr_dev_alloc(&gpu, sizeof(float) * sr_attention_workspace(&gpu, &s, max_len));
    CHECK(cw && gw);
    sr_attention_fwd(&cpu, &s, cs, c->n, cw);
    sr_attention_fwd(&gpu, &s, gs, c->n, gw);
    double w_out = 0, w_lse = 0;
    for (int b = 0; b < c->n; b++) {
        float *out = download(q[b].out_d, q[b].n_out), *lse = download(q[b].lse_d, q[b].n_lse);
        char what[96];
        region ro = { 0, q[b].T, qd, s.out_stride }, rl = { 0, q[b].T, c->n_head, c->n_head };
        snprintf(what, sizeof what, "%s seq %d (T %d, p0 %d) out", c->name, b, q[b].T, q[b].p0);
        double e = compare(what, out, q[b].out_c, ro, 2e-5, 0, 0);
        if (e > w_out) w_out = e;
        check_untouched(what, out, q[b].n_out, &ro, 1);
        snprintf(what, sizeof what, "%s seq %d (T %d, p0 %d) lse", c->name, b, q[b].T, q[b].p0);
        e = compare(what, lse, q[b].lse_c, rl, 2e-5, 2e-6, 0);
        if (e > w_lse) w_lse = e;
        free(out); free(lse);
    }
    sr_dev_free(&gpu, gw);
    free(cw);

    /* Backward from the same out and lse on both sides. */
    for (int b = 0; b < c->n; b++) {
        sr_dev_upload(&gpu, q[b].out_d, q[b].out_c, q[b].n_out * sizeof(float));
        sr_dev_upload(&gpu, q[b].lse_d, q[b].lse_c, q[b].n_lse * sizeof(float));
        cg[b] = (sr_attn_seq_grad){ q[b].dout, q[b].grad_c + q[b].q_off, q[b].grad_c + q[b].k_off,
                                    q[b].grad_c + q[b].v_off };
        gg[b] = (sr_attn_seq_grad){ q[b].dout_d, q[b].grad_d + q[b].q_off, q[b].grad_d + q[b].k_off,
                                    q[b].grad_d + q[b].v_off };
    }
    cw = malloc(sizeof(float) * sr_attention_bwd_workspace(&cpu, &s, max_len, c->n) + 1);
    gw = sr_dev_alloc(&gpu, sizeof(float) * sr_attention_bwd_workspace(&gpu, &s, max_len, c->n));
    CHECK(cw && gw);
    sr_attention_bwd(&cpu, &s, cs, cg, c->n, cw);
    sr_attention_bwd(&gpu, &s, gs, gg, c->n, gw);
    double w_grad = 0;
    for (int b = 0; b < c->n; b++) {
        float *grad = download(q[b].grad_d, q[b].n_in);
        char what[96];
        /* dq, dk, dv share the buffer (as q, k, v do): each compared relative
         * to its own largest entry. */
        region rq = { q[b].q_off, q[b].T, qd, s.q_stride };
        region rk = { q[b].k_off, q[b].len, kvd, s.kv_stride };
        region rv = { q[b].v_off, q[b].len, kvd, s.kv_stride };
        region all[3] = { rq, rk, rv };
        const char *names[3] = { "dq", "dk", "dv" };
        for (int k = 0; k < 3; k++) {
            snprintf(what, sizeof what, "%s seq %d (T %d, p0 %d) %s", c->name, b, q[b].T, q[b].p0, names[k]);
            double e = compare(what, grad, q[b].grad_c, all[k], 1e-4, 0, 1);
            if (e > w_grad) w_grad = e;
        }
        snprintf(what, sizeof what, "%s seq %d (T %d, p0 %d) gradients", c->name, b, q[b].T, q[b].p0);
        check_untouched(what, grad, q[b].n_in, all, 3);
        free(grad);
    }
    /* Deterministic: a second backward gives the same bits. */
    {
        int same = 1;
        float **before = malloc(sizeof(float *) * c->n);
        for (int b = 0; b < c->n; b++) before[b] = download(q[b].grad_d, q[b].n_in);
        sr_attention_bwd(&gpu, &s, gs, gg, c->n, gw);
        for (int b = 0; b < c->n; b++) {
            float *again = download(q[b].grad_d, q[b].n_in);
            same &= memcmp(again, before[b], q[b].n_in * sizeof(float)) == 0;
            free(again); free(before[b]);
        }
        free(before);
        CHECK(same);
    }
    printf("#   %s: out %.2g, lse %.2g, grads %.2g of their tolerances\n", c->name, w_out, w_lse, w_grad);
    sr_dev_free(&gpu, gw);
    free(cw);
    for (int b = 0; b < c->n; b++) seq_free(&q[b]);
}

#define NEED_GPU() do { if (!have_gpu) { test_skip("no CUDA device"); return; } } while (0)

TEST(default_shape_batch_of_lengths)
{
    NEED_GPU();
    /* SmolLM2's heads; one token, an odd length, beyond one tile, an empty
     * sequence (a padded batch row), all in one call, in the qkv layout. */
    acase c = { "h9/kv3/hd64 wide", 9, 3, 64, WIDE, 5, { 1, 17, 300, 0, 45 }, { 0, 0, 0, 0, 0 } };
    check_case(&c);
}

TEST(default_shape_cached_prefix)
{
    NEED_GPU();
    /* p0 > 0: queries at the end of longer key ranges, tiles that straddle
     * the diagonal at offsets that are not multiples of 32; an empty
     * sequence with a prefix (dk, dv of its cached rows are zero). */
    acase c = { "h9/kv3/hd64 cached", 9, 3, 64, TIGHT, 5, { 17, 70, 1, 0, 33 }, { 40, 5, 100, 7, 31 } };
    check_case(&c);
    acase w = { "h9/kv3/hd64 cached wide", 9, 3, 64, WIDE, 2, { 40, 3 }, { 64, 29 } };
    check_case(&w);
}

TEST(head_dim_32_multi_head)
{
    NEED_GPU();
    acase c = { "h4/kv4/hd32 wide", 4, 4, 32, WIDE, 3, { 33, 64, 1 }, { 0, 3, 0 } };
    check_case(&c);
}

TEST(head_dim_128)
{
    NEED_GPU();
    acase c = { "h6/kv2/hd128 wide", 6, 2, 128, WIDE, 2, { 300, 40 }, { 0, 10 } };
    check_case(&c);
}

TEST(head_dims_padded_and_256)
{
    NEED_GPU();
    /* head_dims that are not a kernel width (padded inside), and the largest */
    acase a = { "h3/kv1/hd40 tight", 3, 1, 40, TIGHT, 2, { 50, 7 }, { 0, 20 } };
    acase b = { "h2/kv1/hd256 wide", 2, 1, 256, WIDE, 2, { 70, 5 }, { 0, 33 } };
    acase d = { "h4/kv2/hd24 cache", 4, 2, 24, CACHE, 2, { 20, 3 }, { 0, 12 } };
    acase e = { "h2/kv1/hd1 tight", 2, 1, 1, TIGHT, 1, { 9 }, { 2 } };
    acase f = { "h5/kv5/hd80 wide", 5, 5, 80, WIDE, 2, { 37, 1 }, { 0, 0 } };
    check_case(&a);
    check_case(&b);
    check_case(&d);
    check_case(&e);
    check_case(&f);
}

/* Decoding steps (T = 1) for cached lengths around tile and warp-chunk
 * edges: the CUDA decode against the CPU decode and against the CUDA
 * forward of the same sequences. */
static void check_decode(int n_head, int n_head_kv, int hd)
{
    static const int p0s[] = { 0, 1, 31, 32, 33, 255, 256, 1000, 3000 };
    enum { N = sizeof p0s / sizeof p0s[0] };
    acase c = { "decode", n_head, n_head_kv, hd, CACHE, N, { 0 }, { 0 } };
    sr_attn_shape s;
    shape_of(&c, &s);
    const int qd = n_head * hd;
    tseq q[N];
    sr_attn_seq cs[N], gs[N];
    int max_len = 1;
    for (int b = 0; b < N; b++) {
        seq_make(&q[b], &c, &s, 1, p0s[b]);
        cs[b] = cpu_seq(&q[b]);
        gs[b] = gpu_seq(&q[b]);
        if (q[b].len > max_len) max_len = q[b].len;
    }
    float *cw = malloc(sizeof(float) * sr_attention_workspace(&cpu, &s, max_len) + 1);
    float *gw = sr_dev_alloc(&gpu, sizeof(float) * sr_attention_workspace(&gpu, &s, max_len));
    sr_attention_decode_fwd(&cpu, &s, cs, N, cw);
    sr_attention_decode_fwd(&gpu, &s, gs, N, gw);
    float *dec_out[N], *dec_lse[N];
    double w = 0;
    for (int b = 0; b < N; b++) {
        dec_out[b] = download(q[b].out_d, q[b].n_out);
        dec_lse[b] = download(q[b].lse_d, q[b].n_lse);
        region ro = { 0, 1, qd, s.out_stride }, rl = { 0, 1, n_head, n_head };
        char what[96];
        snprintf(what, sizeof what, "decode h%d/kv%d/hd%d p0 %d out vs cpu", n_head, n_head_kv, hd, p0s[b]);
        double e = compare(what, dec_out[b], q[b].out_c, ro, 2e-5, 0, 0);
        if (e > w) w = e;
        check_untouched(what, dec_out[b], q[b].n_out, &ro, 1);
        snprintf(what, sizeof what, "decode h%d/kv%d/hd%d p0 %d lse vs cpu", n_head, n_head_kv, hd, p0s[b]);
        e = compare(what, dec_lse[b], q[b].lse_c, rl, 2e-5, 2e-6, 0);
        if (e > w) w = e;
    }
    /* the CUDA forward over the same sequences (into the same buffers) */
    sr_attention_fwd(&gpu, &s, gs, N, gw);
    for (int b = 0; b < N; b++) {
        float *out = download(q[b].out_d, q[b].n_out), *lse = download(q[b].lse_d, q[b].n_lse);
        region ro = { 0, 1, qd, s.out_stride }, rl = { 0, 1, n_head, n_head };
        char what[96];
        snprintf(what, sizeof what, "decode h%d/kv%d/hd%d p0 %d out vs fwd", n_head, n_head_kv, hd, p0s[b]);
        double e = compare(what, dec_out[b], out, ro, 2e-5, 0, 0);
        if (e > w) w = e;
        snprintf(what, sizeof what, "decode h%d/kv%d/hd%d p0 %d lse vs fwd", n_head, n_head_kv, hd, p0s[b]);
        e = compare(what, dec_lse[b], lse, rl, 2e-5, 2e-6, 0);
        if (e > w) w = e;
        free(out); free(lse); free(dec_out[b]); free(dec_lse[b]);
    }
    printf("#   decode h%d/kv%d/hd%d: %.2g of the tolerance\n", n_head, n_head_kv, hd, w);
    sr_dev_free(&gpu, gw);
    free(cw);
    for (int b = 0; b < N; b++) seq_free(&q[b]);
}

TEST(decode_matches_cpu_and_forward)
{
    NEED_GPU();
    check_decode(9, 3, 64);
    check_decode(4, 4, 32);
    check_decode(4, 1, 128);
    check_decode(2, 2, 200);
}

TEST(decode_batch_invariant)
{
    NEED_GPU();
    /* Each sequence decoded alone gives the same bits as in a call with 5
     * others of different lengths. */
    static const int p0s[] = { 700, 3, 64, 1500, 0, 129 };
    enum { N = 6 };
    acase c = { "decode", 9, 3, 64, CACHE, N, { 0 }, { 0 } };
    sr_attn_shape s;
    shape_of(&c, &s);
    tseq q[N];
    sr_attn_seq gs[N];
    for (int b = 0; b < N; b++) {
        seq_make(&q[b], &c, &s, 1, p0s[b]);
        gs[b] = gpu_seq(&q[b]);
    }
    float *gw = sr_dev_alloc(&gpu, sizeof(float) * sr_attention_workspace(&gpu, &s, 1501));
    sr_attention_decode_fwd(&gpu, &s, gs, N, gw);
    int same = 1;
    for (int b = 0; b < N; b++) {
        float *out = download(q[b].out_d, q[b].n_out), *lse = download(q[b].lse_d, q[b].n_lse);
        sr_attn_seq alone = gs[b];
        alone.out = dev_filled(q[b].n_out, SENTINEL);
        alone.lse = dev_filled(q[b].n_lse, SENTINEL);
        sr_attention_decode_fwd(&gpu, &s, &alone, 1, gw);
        float *out1 = download(alone.out, q[b].n_out), *lse1 = download(alone.lse, q[b].n_lse);
        int ok = memcmp(out, out1, q[b].n_out * sizeof(float)) == 0 &&
                 memcmp(lse, lse1, q[b].n_lse * sizeof(float)) == 0;
        if (!ok) printf("#   sequence %d (p0 %d) differs alone\n", b, p0s[b]);
        same &= ok;
        sr_dev_free(&gpu, alone.out); sr_dev_free(&gpu, alone.lse);
        free(out); free(lse); free(out1); free(lse1);
    }
    CHECK(same);
    sr_dev_free(&gpu, gw);
    for (int b = 0; b < N; b++) seq_free(&q[b]);
}

/* Gemma's local layers: a sliding window smaller than a tile, one that
 * ends mid-tile, one longer than several tiles; after cached prefixes; the
 * decoding step over caches around the window's edge; and a scale of the
 * model's own. Forward, backward and decode against the CPU. */
TEST(sliding_window)
{
    NEED_GPU();
    static const int windows[] = { 4, 45, 100 };
    for (int i = 0; i < 3; i++) {
        case_window = windows[i];
        acase a = { "window wide", 9, 3, 64, WIDE, 4, { 1, 17, 300, 45 }, { 0, 0, 0, 0 } };
        acase b = { "window cached", 4, 2, 24, CACHE, 3, { 20, 3, 70 }, { 0, 12, 150 } };
        check_case(&a);
        check_case(&b);
        check_decode(4, 2, 32);
    }
    case_scale = 0.07f;
    acase c = { "window scaled", 6, 2, 128, WIDE, 2, { 90, 5 }, { 0, 33 } };
    check_case(&c);
    case_window = 0;
    check_case(&c);
    case_scale = 0;
}

int main(void)
{
    if (sr_cuda_device_count() == 0) {
        printf("# skip: no CUDA device\n1..0 # skip no CUDA device\n");
        return 0;
    }
    char err[256];
    if (sr_ctx_init_cuda(&gpu, 0, SR_PREC_FP32, err, sizeof err) < 0) {
        printf("# cuda: %s\nBail out! no CUDA context\n", err);
        return 1;
    }
    have_gpu = 1;
    if (sr_ctx_init_cpu(&cpu, 0, NULL, 0) < 0) return 1;
    RUN(default_shape_batch_of_lengths);
    RUN(default_shape_cached_prefix);
    RUN(head_dim_32_multi_head);
    RUN(head_dim_128);
    RUN(head_dims_padded_and_256);
    RUN(decode_matches_cpu_and_forward);
    RUN(decode_batch_invariant);
    RUN(sliding_window);
    sr_ctx_free(&gpu);
    sr_ctx_free(&cpu);
    return test_done();
}
