/* test_kernels.c — each CPU op against a plain double-precision reference. */
#include "test.h"
#include "kernels.h"

#include <stdint.h>

static sr_ctx ctx;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float urand(void)   /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
}
static float *rand_buf(size_t n, float scale)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = urand() * scale;
    return p;
}
static double max_abs_diff(const float *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) if (fabs(a[i] - b[i]) > m) m = fabs(a[i] - b[i]);
    return m;
}

TEST(matmul_matches_naive)
{
    int n = 7, in = 33, out = 19;
    float *x = rand_buf((size_t)n * in, 1), *w = rand_buf((size_t)out * in, 1);
    float *y = rand_buf((size_t)n * out, 1), *y0 = malloc(sizeof(float) * n * out);
    double *ref = malloc(sizeof(double) * n * out);
    memcpy(y0, y, sizeof(float) * n * out);
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double s = 0;
            for (int j = 0; j < in; j++) s += (double)x[i * in + j] * w[o * in + j];
            ref[i * out + o] = s;
        }
    sr_matmul_fwd(&ctx, y, x, w, n, in, out, 0);
    CHECK(max_abs_diff(y, ref, (size_t)n * out) < 1e-5);
    /* accumulate adds onto what y held */
    for (int i = 0; i < n * out; i++) ref[i] += y0[i];
    memcpy(y, y0, sizeof(float) * n * out);
    sr_matmul_fwd(&ctx, y, x, w, n, in, out, 1);
    CHECK(max_abs_diff(y, ref, (size_t)n * out) < 1e-5);
    free(x); free(w); free(y); free(y0); free(ref);
}

TEST(embedding_copies_rows)
{
    int vocab = 11, dim = 5;
    float *table = rand_buf((size_t)vocab * dim, 1), out[4 * 5];
    int32_t tok[4] = {3, 0, 10, 3};
    sr_embedding_fwd(&ctx, out, tok, 4, table, dim);
    int same = 1;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < dim; j++) same &= out[i * dim + j] == table[tok[i] * dim + j];
    CHECK(same);
    free(table);
}

TEST(rmsnorm_matches_reference)
{
    int n = 9, dim = 64;
    float *x = rand_buf((size_t)n * dim, 3), *w = rand_buf(dim, 1);
    float *y = malloc(sizeof(float) * n * dim), rstd[9];
    double *ref = malloc(sizeof(double) * n * dim), rref[9];
    for (int i = 0; i < n; i++) {
        double ss = 0;
        for (int j = 0; j < dim; j++) ss += (double)x[i * dim + j] * x[i * dim + j];
        rref[i] = 1.0 / sqrt(ss / dim + 1e-5);
        for (int j = 0; j < dim; j++) ref[i * dim + j] = x[i * dim + j] * rref[i] * w[j];
    }
    sr_rmsnorm_fwd(&ctx, y, rstd, x, w, n, dim, 1e-5f);
    CHECK(max_abs_diff(y, ref, (size_t)n * dim) < 1e-5);
    CHECK(max_abs_diff(rstd, rref, n) < 1e-5);
    /* in place, without rstd */
    sr_rmsnorm_fwd(&ctx, x, NULL, x, w, n, dim, 1e-5f);
    CHECK(max_abs_diff(x, ref, (size_t)n * dim) < 1e-5);
    free(x); free(w); free(y); free(ref);
}

TEST(rope_pairs_adjacent_elements)
{
    /* Hand-computed: head_dim 4, position 1, theta 10000. Pair 0 (elements
     * 0,1) turns by 1 rad, pair 1 (elements 2,3) by 10000^(-2/4) = 0.01 rad. */
    float x[4] = {1, 0, 0, 1};
    int32_t pos = 1;
    sr_rope_fwd(&ctx, x, 1, 4, 1, 4, 4, &pos, 10000.0f, NULL, 0);
    CHECK_NEAR(x[0], cos(1.0), 1e-6);
    CHECK_NEAR(x[1], sin(1.0), 1e-6);
    CHECK_NEAR(x[2], -sin(0.01), 1e-6);
    CHECK_NEAR(x[3], cos(0.01), 1e-6);
    /* position 0 is the identity */
    float y[4] = {0.5f, -2, 3, 7};
    pos = 0;
    sr_rope_fwd(&ctx, y, 1, 4, 1, 4, 4, &pos, 10000.0f, NULL, 0);
    CHECK(y[0] == 0.5f && y[1] == -2 && y[2] == 3 && y[3] == 7);
}

TEST(rope_matches_reference)
{
    /* 5 tokens, rows of 3 heads × 8 plus 4 floats the op must not touch,
     * partial rotation (n_rot 6 of 8), odd positions, theta 500000. */
    int n = 5, nh = 3, hd = 8, nrot = 6, stride = nh * hd + 4;
    int32_t pos[5] = {0, 7, 3, 1000, 4095};
    float *x = rand_buf((size_t)n * stride, 1);
    double *ref = malloc(sizeof(double) * n * stride);
    for (int j = 0; j < n; j++)
        for (int c = 0; c < stride; c++) ref[j * stride + c] = x[j * stride + c];
    for (int j = 0; j < n; j++)
        for (int h = 0; h < nh; h++)
            for (int i = 0; i < nrot / 2; i++) {
                double a = pos[j] * pow(500000.0, -2.0 * i / nrot);
                double *p = ref + j * stride + h * hd + 2 * i;
                double x0 = p[0], x1 = p[1];
                p[0] = x0 * cos(a) - x1 * sin(a);
                p[1] = x0 * sin(a) + x1 * cos(a);
            }
    sr_rope_fwd(&ctx, x, n, stride, nh, hd, nrot, pos, 500000.0f, NULL, 0);
    CHECK(max_abs_diff(x, ref, (size_t)n * stride) < 1e-5);
    free(x); free(ref);
}

TEST(rope_neox_pairs_half_apart)
{
    /* qwen2's pairing: element i with i + n_rot/2, here with partial
     * rotation (6 of 8) so elements 6 and 7 of each head stay put. */
    int n = 3, nh = 2, hd = 8, nrot = 6, stride = nh * hd + 3;
    int32_t pos[3] = {0, 5, 2047};
    float *x = rand_buf((size_t)n * stride, 1);
    double *ref = malloc(sizeof(double) * n * stride);
    for (int k = 0; k < n * stride; k++) ref[k] = x[k];
    for (int j = 0; j < n; j++)
        for (int h = 0; h < nh; h++)
            for (int i = 0; i < nrot / 2; i++) {
                double a = pos[j] * pow(1000000.0, -2.0 * i / nrot);
                double *p = ref + j * stride + h * hd + i;
                double x0 = p[0], x1 = p[nrot / 2];
                p[0] = x0 * cos(a) - x1 * sin(a);
                p[nrot / 2] = x0 * sin(a) + x1 * cos(a);
            }
    sr_rope_fwd(&ctx, x, n, stride, nh, hd, nrot, pos, 1000000.0f, NULL, 1);
    CHECK(max_abs_diff(x, ref, (size_t)n * stride) < 1e-5);
    free(x); free(ref);
}

TEST(rope_dot_depends_on_distance_only)
{
    /* The point of RoPE: <rope(q, m), rope(k, n)> depends on m - n only. */
    int hd = 16;
    float *q = rand_buf(hd, 1), *k = rand_buf(hd, 1);
    float a[2][16], b[2][16];
    int32_t pa[2] = {5, 105}, pb[2] = {2, 102};
    for (int r = 0; r < 2; r++) { memcpy(a[r], q, sizeof a[r]); memcpy(b[r], k, sizeof b[r]); }
    sr_rope_fwd(&ctx, a[0], 2, hd, 1, hd, hd, pa, 10000.0f, NULL, 0);
    sr_rope_fwd(&ctx, b[0], 2, hd, 1, hd, hd, pb, 10000.0f, NULL, 0);
    double d0 = 0, d1 = 0;
    for (int i = 0; i < hd; i++) { d0 += a[0][i] * b[0][i]; d1 += a[1][i] * b[1][i]; }
    CHECK_NEAR(d0, d1, 1e-4);
    free(q); free(k);
}

/* Naive causal GQA attention for one sequence, in double: every key within
 * the window (if any) scored, then the earlier ones dropped. */
static void attention_ref(const sr_attn_shape *s, const sr_attn_seq *q, double *out, double *lse)
{
    const double scale = s->scale > 0 ? s->scale : 1 / sqrt(s->head_dim);
    int hd = s->head_dim, group = s->n_head / s->n_head_kv, n_keys = q->p0 + q->T;
    double *sc = malloc(sizeof(double) * n_keys);
    for (int t = 0; t < q->T; t++)
        for (int h = 0; h < s->n_head; h++) {
            int g = h / group, last = q->p0 + t;
            int lo = s->window > 0 && last - s->window + 1 > 0 ? last - s->window + 1 : 0;
            double m = -INFINITY, sum = 0;
            for (int j = 0; j <= last; j++) {
                double d = 0;
                for (int c = 0; c < hd; c++)
                    d += (double)q->q[t * s->q_stride + h * hd + c] * q->k[j * s->kv_stride + g * hd + c];
                sc[j] = j < lo ? -INFINITY : d * scale;
                if (sc[j] > m) m = sc[j];
            }
            for (int j = 0; j <= last; j++) { sc[j] = exp(sc[j] - m); sum += sc[j]; }
            for (int c = 0; c < hd; c++) {
                double o = 0;
                for (int j = 0; j <= last; j++) o += sc[j] / sum * q->v[j * s->kv_stride + g * hd + c];
                out[t * s->n_head * hd + h * hd + c] = o;
            }
            lse[t * s->n_head + h] = m + log(sum);
        }
    free(sc);
}

static void check_attention_w(int n_head, int n_kv, int hd, int T, int p0, int window, float scale)
{
    sr_attn_shape s = { n_head, n_kv, hd, n_head * hd + 3, n_kv * hd + 1, n_head * hd, window, scale };
    int n_keys = p0 + T;
    float *q = rand_buf((size_t)T * s.q_stride, 2);
    float *k = rand_buf((size_t)n_keys * s.kv_stride, 2), *v = rand_buf((size_t)n_keys * s.kv_stride, 1);
    float *out = malloc(sizeof(float) * T * s.out_stride), *lse = malloc(sizeof(float) * T * n_head);
    double *ref = malloc(sizeof(double) * T * s.out_stride), *rlse = malloc(sizeof(double) * T * n_head);
    float *work = malloc(sizeof(float) * sr_attention_workspace(&ctx, &s, n_keys));
    sr_attn_seq seq = { q, k, v, out, lse, T, p0 };
    sr_attention_fwd(&ctx, &s, &seq, 1, work);
    attention_ref(&s, &seq, ref, rlse);
    double d = max_abs_diff(out, ref, (size_t)T * s.out_stride), dl = max_abs_diff(lse, rlse, (size_t)T * n_head);
    if (!(d < 2e-5 && dl < 2e-5))
        printf("#   attention h%d kv%d hd%d T%d p0 %d window %d: max|out diff| %.3g, max|lse diff| %.3g\n",
               n_head, n_kv, hd, T, p0, window, d, dl);
    CHECK(d < 2e-5);
    CHECK(dl < 2e-5);
    if (T == 1) {   /* the decoding kernel, the same up to rounding */
        float *out2 = malloc(sizeof(float) * T * s.out_stride), *lse2 = malloc(sizeof(float) * T * n_head);
        sr_attn_seq s2 = { q, k, v, out2, lse2, T, p0 };
        sr_attention_decode_fwd(&ctx, &s, &s2, 1, work);
        CHECK(max_abs_diff(out2, ref, (size_t)T * s.out_stride) < 2e-5);
        CHECK(max_abs_diff(lse2, rlse, (size_t)T * n_head) < 2e-5);
        free(out2); free(lse2);
    }
    free(q); free(k); free(v); free(out); free(lse); free(ref); free(rlse); free(work);
}

static void check_attention(int n_head, int n_kv, int hd, int T, int p0)
{
    check_attention_w(n_head, n_kv, hd, T, p0, 0, 0);
}

TEST(attention_matches_naive)
{
    check_attention(6, 2, 8, 5, 0);      /* grouped-query: 3 query heads per kv head */
    check_attention(4, 4, 16, 1, 0);     /* one token sees only itself */
    check_attention(6, 3, 8, 3, 9);      /* a decoding step over a cache of 9 positions */
    check_attention(2, 1, 8, 300, 0);    /* longer than one query block */
    check_attention(2, 2, 4, 130, 50);   /* blocks with an offset */
}

/* Sliding windows (Gemma's local layers): query p sees keys (p − w, p]; the
 * window smaller and larger than a query block, after a cache; and a scale
 * other than 1/sqrt(head_dim). */
TEST(attention_window_matches_naive)
{
    check_attention_w(6, 2, 8, 20, 0, 4, 0);       /* window 4 inside one block */
    check_attention_w(4, 2, 8, 300, 0, 7, 0);      /* across query blocks: a block starts mid-sequence */
    check_attention_w(2, 1, 8, 200, 0, 150, 0);    /* a window longer than one block */
    check_attention_w(6, 3, 8, 3, 40, 5, 0);       /* after a cache of 40: the oldest keys skipped */
    check_attention_w(6, 3, 8, 1, 40, 5, 0);       /* a decoding step, both kernels */
    check_attention_w(4, 4, 16, 1, 3, 10, 0);      /* a window wider than what there is */
    check_attention_w(4, 2, 16, 9, 0, 0, 0.125f);  /* the scale from the model (Gemma 27B's) */
}

TEST(attention_batches_sequences)
{
    /* Two sequences of different lengths in one call equal two calls. */
    sr_attn_shape s = { 4, 2, 8, 32, 16, 32, 0, 0 };
    int T[2] = {6, 2};
    float *q = rand_buf(8 * 32, 1), *k = rand_buf(8 * 16, 1), *v = rand_buf(8 * 16, 1);
    float both[8 * 32], one[8 * 32];
    float *work = malloc(sizeof(float) * sr_attention_workspace(&ctx, &s, 6));
    sr_attn_seq seqs[2] = {
        { q, k, v, both, NULL, T[0], 0 },
        { q + 6 * 32, k + 6 * 16, v + 6 * 16, both + 6 * 32, NULL, T[1], 0 },
    };
    sr_attention_fwd(&ctx, &s, seqs, 2, work);
    for (int b = 0; b < 2; b++) {
        sr_attn_seq x = seqs[b];
        x.out = one + (b ? 6 * 32 : 0);
        sr_attention_fwd(&ctx, &s, &x, 1, work);
    }
    CHECK(memcmp(both, one, sizeof both) == 0);
    free(q); free(k); free(v); free(work);
}

TEST(softmax_stable_for_large_inputs)
{
    int n = 4, cols = 1000;
    float *x = rand_buf((size_t)n * cols, 1);
    /* rows far outside exp's range: +1e4, -1e4, a spread of 200, and equal values */
    for (int j = 0; j < cols; j++) {
        x[j] = 1e4f + x[j] * 20;
        x[cols + j] = -1e4f + x[cols + j] * 20;
        x[2 * cols + j] *= 100;
        x[3 * cols + j] = 88.0f;
    }
    float *y = malloc(sizeof(float) * n * cols), *ly = malloc(sizeof(float) * n * cols);
    double *ref = malloc(sizeof(double) * n * cols), *lref = malloc(sizeof(double) * n * cols);
    for (int i = 0; i < n; i++) {
        double m = -INFINITY, s = 0;
        for (int j = 0; j < cols; j++) if (x[i * cols + j] > m) m = x[i * cols + j];
        for (int j = 0; j < cols; j++) s += exp(x[i * cols + j] - m);
        for (int j = 0; j < cols; j++) {
            lref[i * cols + j] = x[i * cols + j] - m - log(s);
            ref[i * cols + j] = exp(lref[i * cols + j]);
        }
    }
    sr_softmax_fwd(&ctx, y, x, n, cols);
    sr_logsoftmax_fwd(&ctx, ly, x, n, cols);
    CHECK(max_abs_diff(y, ref, (size_t)n * cols) < 1e-6);
    CHECK(max_abs_diff(ly, lref, (size_t)n * cols) < 2e-5);   /* log-probs down to about -200 */
    int finite = 1;
    for (int i = 0; i < n * cols; i++) finite &= isfinite(y[i]) && isfinite(ly[i]);
    CHECK(finite);
    CHECK_NEAR(y[3 * cols + 17], 1.0 / cols, 1e-9);
    /* per-token log-probabilities pick the target's entry; target -1 gives 0 */
    int32_t tgt[4] = {5, 999, -1, 0};
    float lp[4];
    sr_token_logprob_fwd(&ctx, lp, x, tgt, n, cols);
    CHECK_NEAR(lp[0], lref[5], 2e-5);
    CHECK_NEAR(lp[1], lref[cols + 999], 2e-5);
    CHECK(lp[2] == 0.0f);
    CHECK_NEAR(lp[3], lref[3 * cols], 1e-6);
    /* in place */
    sr_logsoftmax_fwd(&ctx, x, x, n, cols);
    CHECK(max_abs_diff(x, lref, (size_t)n * cols) < 2e-5);
    free(x); free(y); free(ly); free(ref); free(lref);
}

/* GeGLU against the tanh GELU in double; the scale and soft-cap ops. */
TEST(gemma_ops_match_reference)
{
    int n = 3, f = 50;
    float *gu = rand_buf((size_t)n * 2 * f, 8), *h = malloc(sizeof(float) * n * f);
    double *ref = malloc(sizeof(double) * n * 2 * f);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < f; j++) {
            double g = gu[i * 2 * f + j], u = gu[i * 2 * f + f + j];
            ref[i * f + j] = 0.5 * g * (1 + tanh(sqrt(2 / M_PI) * (g + 0.044715 * g * g * g))) * u;
        }
    sr_geglu_fwd(&ctx, h, gu, n, f);
    CHECK(max_abs_diff(h, ref, (size_t)n * f) < 1e-5);
    float *x = rand_buf(2 * f, 100), *y = malloc(sizeof(float) * 2 * f);
    for (int i = 0; i < 2 * f; i++) ref[i] = 30.0 * tanh(x[i] / 30.0);
    sr_softcap_fwd(&ctx, y, x, 2 * f, 30.0f);
    CHECK(max_abs_diff(y, ref, 2 * f) < 1e-4);
    int bounded = 1;
    for (int i = 0; i < 2 * f; i++) bounded &= fabsf(y[i]) <= 30.0f;
    CHECK(bounded);
    for (int i = 0; i < 2 * f; i++) ref[i] = x[i] + y[i];
    sr_add_fwd(&ctx, y, x, 2 * f);
    CHECK(max_abs_diff(y, ref, 2 * f) < 1e-4);
    for (int i = 0; i < 2 * f; i++) ref[i] = x[i] * sqrt(640.0);
    sr_scale_fwd(&ctx, x, 2 * f, sqrtf(640.0f));
    CHECK(max_abs_diff(x, ref, 2 * f) < 1e-3);
    free(gu); free(h); free(ref); free(x); free(y);
}

TEST(swiglu_matches_reference)
{
    int n = 3, f = 50;
    float *gu = rand_buf((size_t)n * 2 * f, 8), *h = malloc(sizeof(float) * n * f);
    double *ref = malloc(sizeof(double) * n * f);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < f; j++) {
            double g = gu[i * 2 * f + j], u = gu[i * 2 * f + f + j];
            ref[i * f + j] = g / (1 + exp(-g)) * u;
        }
    sr_swiglu_fwd(&ctx, h, gu, n, f);
    CHECK(max_abs_diff(h, ref, (size_t)n * f) < 1e-5);
    free(gu); free(h); free(ref);
}

TEST(argmax_and_topk)
{
    float x[8] = {0.5f, 3, -1, 3, 7, 0, 2, 7};
    CHECK(sr_argmax(x, 8) == 4);          /* the first of equal maxima */
    int idx[8]; float val[4];
    sr_topk(x, 8, 4, idx, val);
    CHECK(idx[0] == 4 && idx[1] == 7 && idx[2] == 1 && idx[3] == 3);
    CHECK(val[0] == 7 && val[3] == 3);
    sr_topk(x, 8, 8, idx, NULL);
    CHECK(idx[7] == 2);
}

int main(void)
{
    if (sr_ctx_init_cpu(&ctx, 0, NULL, 0) < 0) return 1;
    RUN(matmul_matches_naive);
    RUN(embedding_copies_rows);
    RUN(rmsnorm_matches_reference);
    RUN(rope_pairs_adjacent_elements);
    RUN(rope_matches_reference);
    RUN(rope_neox_pairs_half_apart);
    RUN(rope_dot_depends_on_distance_only);
    RUN(attention_matches_naive);
    RUN(attention_window_matches_naive);
    RUN(gemma_ops_match_reference);
    RUN(attention_batches_sequences);
    RUN(softmax_stable_for_large_inputs);
    RUN(swiglu_matches_reference);
    RUN(argmax_and_topk);
    return test_done();
}
