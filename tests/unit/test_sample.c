/* test_sample.c — the sampler: which tokens each cut keeps, greedy, the
 * per-sample streams, and the frequencies of draws on a small distribution. */
#include "test.h"
#include "kernels.h"
#include "lm/sample.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static int filter(const float *logits, int n, float temp, int top_k, float top_p, float min_p,
                  int *idx)
{
    float p[64];
    double mass, total = sr_sample_probs(p, logits, n, temp);
    return sr_sample_filter(p, n, total, top_k, top_p, min_p, idx, &mass);
}

/* probabilities 0.4 0.3 0.2 0.1 (ids 2, 0, 3, 1) from logits log(p) */
static const float L4[4] = { -1.2039728f, -2.3025851f, -0.9162907f, -1.6094379f };

TEST(cuts_keep_the_right_sets)
{
    int idx[64], c;
    c = filter(L4, 4, 1, 0, 1, 0, idx);                       /* no cut: every id in id order */
    CHECK(c == 4 && idx[0] == 0 && idx[3] == 3);
    c = filter(L4, 4, 1, 2, 1, 0, idx);                       /* top-k 2 */
    CHECK(c == 2 && idx[0] == 2 && idx[1] == 0);
    c = filter(L4, 4, 1, 0, 0.5f, 0, idx);                    /* 0.4 < 0.5 <= 0.7: two */
    CHECK(c == 2 && idx[0] == 2 && idx[1] == 0);
    c = filter(L4, 4, 1, 0, 0.4f, 0, idx);                    /* 0.4 reaches it: one */
    CHECK(c == 1 && idx[0] == 2);
    c = filter(L4, 4, 1, 0, 0.95f, 0, idx);                   /* 0.9 < 0.95: all four, ranked */
    CHECK(c == 4 && idx[0] == 2 && idx[1] == 0 && idx[2] == 3 && idx[3] == 1);
    c = filter(L4, 4, 1, 0, 1, 0.45f, idx);                   /* min-p: p >= 0.18 */
    CHECK(c == 3 && idx[0] == 0 && idx[1] == 2 && idx[2] == 3);
    c = filter(L4, 4, 1, 3, 0.6f, 0, idx);                    /* top-k 3 (0.9), then 0.6 of 0.9 = 0.54 */
    CHECK(c == 2);
    c = filter(L4, 4, 1, 3, 1, 0.6f, idx);                    /* top-k then min-p 0.24: 0.4, 0.3 */
    CHECK(c == 2 && idx[0] == 2 && idx[1] == 0);
    /* ties rank by lower id */
    const float tie[5] = { 1, 3, 3, 0, 3 };
    c = filter(tie, 5, 1, 2, 1, 0, idx);
    CHECK(c == 2 && idx[0] == 1 && idx[1] == 2);
    c = filter(tie, 5, 1, 0, 0.5f, 0, idx);
    CHECK(c == 2 && idx[0] == 1 && idx[1] == 2);
    /* a low temperature sharpens: top-p 0.9 keeps only the best */
    c = filter(L4, 4, 0.05f, 0, 0.9f, 0, idx);
    CHECK(c == 1 && idx[0] == 2);
}

TEST(top_p_over_a_large_vocabulary)
{
    /* 5000 ids with a few likely ones: the threshold search must give what a
     * full sort gives. */
    enum { N = 5000 };
    static float x[N], p[N];
    static int idx[N];
    for (int i = 0; i < N; i++) x[i] = -10.0f + (float)((i * 7919) % 101) / 50.0f;
    x[17] = 4; x[4000] = 3.5f; x[123] = 3;
    double mass, total = sr_sample_probs(p, x, N, 1.0f);
    int c = sr_sample_filter(p, N, total, 0, 0.9f, 0, idx, &mass);
    /* reference: the sorted prefix reaching 0.9 */
    double cum = 0;
    int want = 0;
    static int order[N];
    for (int i = 0; i < N; i++) order[i] = i;
    for (int i = 0; i < N; i++)          /* selection sort of the first few hundred is enough */
        for (int j = i + 1; j < N && i < c + 2; j++)
            if (p[order[j]] > p[order[i]] || (p[order[j]] == p[order[i]] && order[j] < order[i])) {
                int t = order[i]; order[i] = order[j]; order[j] = t;
            }
    while (cum < 0.9 * total) cum += p[order[want++]];
    CHECK(c == want);
    for (int j = 0; j < c && j < want; j++) CHECK(idx[j] == order[j]);
    CHECK(idx[0] == 17 && idx[1] == 4000 && idx[2] == 123);
}

TEST(greedy_is_argmax_with_ties_to_lowest)
{
    sr_sample_opts o = { 0, 0.9f, 0, 1, 0 };
    float x[6] = { 1, 5, 2, 5, -1, 0 }, p[6];
    int idx[6];
    sr_rng r = sr_rng_for(1, 0);
    CHECK(sr_sample_next(&o, x, 6, NULL, 0, &r, p, idx) == 1);
    /* the repetition penalty can move the argmax: 5 / 2 < 3 */
    float y[3] = { 3, 5, 1 };
    int32_t hist[2] = { 1, 1 };
    o.repeat_penalty = 2;
    CHECK(sr_sample_next(&o, y, 3, hist, 2, &r, p, idx) == 0);
    CHECK(y[1] == 2.5f);                                       /* applied once, not twice */
}

/* A broken model's row — all NaN, one NaN, one +inf or -inf among finite
 * logits — is refused (-1) under greedy decoding and under every cut, never
 * drawn from: an all-NaN row once kept no candidate and read idx[-1]. The
 * workspace is on the heap so that read shows under ASan. */
TEST(non_finite_logits_are_refused)
{
    enum { N = 8 };
    const sr_sample_opts cuts[] = {
        /* temperature, top-p, min-p, repeat penalty, top-k */
        { 0, 0.9f, 0, 1, 0 }, SR_SAMPLE_OPTS_DEFAULT, { 1, 1, 0, 1, 0 }, { 1, 1, 0, 1, 3 },
        { 1, 0.5f, 0, 1, 0 }, { 1, 1, 0.1f, 1, 0 }, { 0.7f, 0.9f, 0.05f, 1.1f, 5 },
    };
    float *x = malloc(N * sizeof *x), *p = malloc(N * sizeof *p);
    int *idx = malloc(N * sizeof *idx);
    int32_t hist[2] = { 1, 5 };
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++)
        for (int kind = 0; kind < 4; kind++) {
            for (int i = 0; i < N; i++) x[i] = kind == 0 ? NAN : (float)i * 0.25f;
            if (kind == 1) x[3] = NAN;
            if (kind == 2) x[6] = INFINITY;
            if (kind == 3) x[0] = -INFINITY;
            sr_rng r = sr_rng_for(5, (uint64_t)c);
            int32_t t = sr_sample_next(&cuts[c], x, N, hist, 2, &r, p, idx);
            if (t != -1) printf("#   cut set %zu, row kind %d: got %d\n", c, kind, (int)t);
            CHECK(t == -1);
        }
    /* finite rows still draw an id */
    for (int i = 0; i < N; i++) x[i] = (float)i;
    sr_rng r = sr_rng_for(5, 0);
    int32_t t = sr_sample_next(&cuts[1], x, N, NULL, 0, &r, p, idx);
    CHECK(t >= 0 && t < N);
    free(x); free(p); free(idx);
}

TEST(same_seed_same_draws_and_streams_differ)
{
    sr_sample_opts o = SR_SAMPLE_OPTS_DEFAULT;
    o.top_p = 1;
    float x[16], w[16], p[16];
    int idx[16];
    for (int i = 0; i < 16; i++) x[i] = (float)(i % 5) * 0.3f;
    uint64_t seed = sr_record_seed("abc", 3, 7);
    CHECK(seed == sr_record_seed("abc", 3, 7));
    CHECK(seed != sr_record_seed("abc", 3, 8));
    sr_rng a = sr_rng_for(seed, 0), b = sr_rng_for(seed, 0), c = sr_rng_for(seed, 1);
    int same = 1, differ = 0;
    for (int k = 0; k < 200; k++) {
        memcpy(w, x, sizeof x);
        int ta = sr_sample_next(&o, w, 16, NULL, 0, &a, p, idx);
        memcpy(w, x, sizeof x);
        int tb = sr_sample_next(&o, w, 16, NULL, 0, &b, p, idx);
        memcpy(w, x, sizeof x);
        int tc = sr_sample_next(&o, w, 16, NULL, 0, &c, p, idx);
        same &= ta == tb;
        differ += ta != tc;
    }
    CHECK(same);
    CHECK(differ > 50);
}

TEST(draw_frequencies_follow_the_distribution)
{
    /* p = 0.4 0.3 0.2 0.1 at T = 1; 20000 draws; chi-square with 3 degrees
     * of freedom must stay below 16.27 (p = 0.001). And with top-k 2 only
     * ids 2 and 0 appear, in the ratio 4:3. */
    sr_sample_opts o = { 1, 1, 0, 1, 0 };
    const double want[4] = { 0.3, 0.1, 0.4, 0.2 };
    float w[4], p[4];
    int idx[4];
    long cnt[4] = { 0 }, cnt2[4] = { 0 };
    sr_rng r = sr_rng_for(99, 3);
    enum { DRAWS = 20000 };
    for (int k = 0; k < DRAWS; k++) { memcpy(w, L4, sizeof w); cnt[sr_sample_next(&o, w, 4, NULL, 0, &r, p, idx)]++; }
    double chi = 0;
    for (int i = 0; i < 4; i++) chi += (cnt[i] - DRAWS * want[i]) * (cnt[i] - DRAWS * want[i]) / (DRAWS * want[i]);
    printf("#   counts %ld %ld %ld %ld, chi-square %.2f (3 dof)\n", cnt[0], cnt[1], cnt[2], cnt[3], chi);
    CHECK(chi < 16.27);
    o.top_k = 2;
    for (int k = 0; k < DRAWS; k++) { memcpy(w, L4, sizeof w); cnt2[sr_sample_next(&o, w, 4, NULL, 0, &r, p, idx)]++; }
    CHECK(cnt2[1] == 0 && cnt2[3] == 0);
    double e0 = DRAWS * 3.0 / 7, e2 = DRAWS * 4.0 / 7;
    double chi2 = (cnt2[0] - e0) * (cnt2[0] - e0) / e0 + (cnt2[2] - e2) * (cnt2[2] - e2) / e2;
    CHECK(chi2 < 10.83);                                       /* 1 dof, p = 0.001 */
}

TEST(options_are_checked)
{
    char err[128];
    sr_sample_opts o = SR_SAMPLE_OPTS_DEFAULT;
    CHECK(sr_sample_check(&o, err, sizeof err) == 0);
    o.top_p = 0;
    CHECK(sr_sample_check(&o, err, sizeof err) < 0);
    o = (sr_sample_opts)SR_SAMPLE_OPTS_DEFAULT;
    o.temperature = NAN;
    CHECK(sr_sample_check(&o, err, sizeof err) < 0);
}

/* The raw softmax's top k: most probable first, ties to the lower id,
 * log-probabilities that match a direct computation; the whole vocabulary
 * (k = n) sums to one. */
TEST(logprobs_top_k_of_the_raw_softmax)
{
    const float x[] = { 1.0f, 3.0f, -2.0f, 3.0f, 0.5f, 2.0f };
    const int n = 6;
    int32_t ids[6];
    float lp[6];
    double lse = sr_sample_logprobs(x, n, 3, ids, lp);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += exp((double)x[i]);
    CHECK(fabs(lse - log(sum)) < 1e-9);
    CHECK(ids[0] == 1 && ids[1] == 3 && ids[2] == 5);
    CHECK(fabs(lp[0] - (3.0 - log(sum))) < 1e-6 && lp[0] == lp[1] && lp[2] < lp[1]);
    sr_sample_logprobs(x, n, n, ids, lp);
    double total = 0;
    for (int j = 0; j < n; j++) {
        total += exp((double)lp[j]);
        CHECK(lp[j] <= 0 && (j == 0 || lp[j] <= lp[j - 1]));
    }
    CHECK(ids[5] == 2 && fabs(total - 1.0) < 1e-6);
    sr_sample_logprobs(x, n, 1, ids, lp);
    CHECK(ids[0] == sr_argmax(x, n));
}

int main(void)
{
    RUN(cuts_keep_the_right_sets);
    RUN(top_p_over_a_large_vocabulary);
    RUN(greedy_is_argmax_with_ties_to_lowest);
    RUN(non_finite_logits_are_refused);
    RUN(same_seed_same_draws_and_streams_differ);
    RUN(draw_frequencies_follow_the_distribution);
    RUN(options_are_checked);
    RUN(logprobs_top_k_of_the_raw_softmax);
    return test_done();
}
