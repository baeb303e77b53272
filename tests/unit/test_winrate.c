/* test_winrate.c — the two-order verdict and the head-to-head statistics:
 * shares worked by hand, bootstrap intervals of a known width, and the
 * length-controlled rate recovered from data drawn from a known model. */
#include "test.h"

#include <math.h>

#include "base/rng.h"
#include "sr/verdict.h"
#include "sr/winrate.h"

TEST(both_orders)
{
    bool dis;
    CHECK(sr_verdict_combine(SR_VERDICT_A, SR_VERDICT_A, &dis) == SR_VERDICT_A && !dis);
    CHECK(sr_verdict_combine(SR_VERDICT_B, SR_VERDICT_B, &dis) == SR_VERDICT_B && !dis);
    CHECK(sr_verdict_combine(SR_VERDICT_TIE, SR_VERDICT_TIE, &dis) == SR_VERDICT_TIE && !dis);
    /* the first position won both times: a disagreement, so a tie */
    CHECK(sr_verdict_combine(SR_VERDICT_A, sr_verdict_swap(SR_VERDICT_A), &dis) == SR_VERDICT_TIE && dis);
    CHECK(sr_verdict_combine(SR_VERDICT_A, SR_VERDICT_TIE, &dis) == SR_VERDICT_TIE && dis);
    CHECK(sr_verdict_combine(SR_VERDICT_TIE, SR_VERDICT_B, &dis) == SR_VERDICT_TIE && dis);
    CHECK(sr_verdict_combine(SR_VERDICT_NONE, SR_VERDICT_A, &dis) == SR_VERDICT_NONE && !dis);
    CHECK(sr_verdict_combine(SR_VERDICT_B, SR_VERDICT_NONE, NULL) == SR_VERDICT_NONE);
    CHECK(sr_verdict_swap(SR_VERDICT_B) == SR_VERDICT_A);
    CHECK(sr_verdict_swap(SR_VERDICT_TIE) == SR_VERDICT_TIE);
    CHECK(sr_verdict_swap(SR_VERDICT_NONE) == SR_VERDICT_NONE);
    for (int v = SR_VERDICT_A; v <= SR_VERDICT_TIE; v++) {
        const char *s = sr_verdict_name((sr_verdict)v);
        CHECK(sr_verdict_parse(s, strlen(s)) == (sr_verdict)v);
    }
    CHECK(sr_verdict_parse("A", 1) == SR_VERDICT_NONE);
    CHECK(sr_verdict_parse("ties", 4) == SR_VERDICT_NONE);
    CHECK(sr_verdict_parse("", 0) == SR_VERDICT_NONE);
}

TEST(shares_by_hand)
{
    /* two wins, a tie, a loss: win 1/2, tie 1/4, loss 1/4, rate 5/8 */
    sr_h2h x[] = { { 1, 10, 10 }, { 1, 20, 20 }, { 0.5, 5, 5 }, { 0, 7, 7 } };
    sr_winrate w;
    CHECK(sr_winrate_compute(x, 4, 0, 1, &w) == 0);
    CHECK(w.n == 4);
    CHECK_NEAR(w.win.value, 0.5, 1e-12);
    CHECK_NEAR(w.tie.value, 0.25, 1e-12);
    CHECK_NEAR(w.loss.value, 0.25, 1e-12);
    CHECK_NEAR(w.rate.value, 0.625, 1e-12);
    CHECK(w.rate.lo == w.rate.value && w.rate.hi == w.rate.value);
    CHECK_NEAR(w.mean_len_a, 10.5, 1e-12);
    /* equal lengths everywhere: the LC rate is the plain rate (the ridge
     * moves it by far less than a thousandth) */
    CHECK_NEAR(w.lc_rate.value, 0.625, 1e-3);
    CHECK(sr_winrate_compute(x, 0, 10, 1, &w) == -1);
}

/* n prompts where A's answer is longer by d ~ U(lo, hi) and A wins with
 * probability sigmoid(a0 + b0 tanh(d / s)), s the spread of d as
 * winrate.c measures it; ties are not drawn. */
static void draw(sr_h2h *x, size_t n, double lo, double hi, double a0, double b0, uint64_t seed)
{
    sr_rng r = { seed };
    double mean = 0, ss = 0;
    for (size_t i = 0; i < n; i++) {
        x[i].len_b = 100;
        x[i].len_a = 100 + lo + (hi - lo) * sr_rng_uniform(&r);
        mean += x[i].len_a - x[i].len_b;
    }
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) ss += pow(x[i].len_a - x[i].len_b - mean, 2);
    double s = sqrt(ss / (double)n);
    for (size_t i = 0; i < n; i++) {
        double z = s > 0 ? tanh((x[i].len_a - x[i].len_b) / s) : 0;
        double p = 1 / (1 + exp(-(a0 + b0 * z)));
        x[i].outcome = sr_rng_uniform(&r) < p;
    }
}

TEST(length_control_recovers_the_model)
{
    enum { N = 4000 };
    static sr_h2h x[N];
    sr_winrate w;
    /* No real advantage, a strong length effect, A mostly longer: the raw
     * rate is well above 1/2, the LC rate is 1/2. */
    draw(x, N, -100, 300, 0.0, 2.0, 7);
    CHECK(sr_winrate_compute(x, N, 0, 1, &w) == 0);
    CHECK(w.rate.value > 0.65);
    CHECK_NEAR(w.lc_rate.value, 0.5, 0.03);
    CHECK_NEAR(w.length_slope, 2.0, 0.3);
    /* A real advantage (sigmoid(1) = 0.731) and no length effect: both agree. */
    draw(x, N, -100, 300, 1.0, 0.0, 8);
    CHECK(sr_winrate_compute(x, N, 0, 1, &w) == 0);
    CHECK_NEAR(w.lc_rate.value, 0.731, 0.03);
    CHECK_NEAR(w.rate.value, 0.731, 0.03);
    CHECK_NEAR(w.length_slope, 0.0, 0.3);
}

TEST(bootstrap_interval)
{
    enum { N = 400 };
    static sr_h2h x[N];
    draw(x, N, 0, 0, 0.0, 0.0, 11);   /* fair coin, equal lengths */
    sr_winrate w, again, other;
    CHECK(sr_winrate_compute(x, N, SR_WINRATE_RESAMPLES, 5, &w) == 0);
    CHECK(w.rate.lo < w.rate.value && w.rate.value < w.rate.hi);
    /* a 95% interval of a share near 1/2 over 400: about 2 x 1.96 x 0.025 */
    double width = w.rate.hi - w.rate.lo;
    CHECK(width > 0.07 && width < 0.13);
    CHECK(w.win.lo <= w.win.value && w.win.value <= w.win.hi);
    CHECK(w.lc_rate.lo <= w.lc_rate.value && w.lc_rate.value <= w.lc_rate.hi);
    /* the same seed draws the same resamples; another seed others */
    CHECK(sr_winrate_compute(x, N, SR_WINRATE_RESAMPLES, 5, &again) == 0);
    CHECK(again.rate.lo == w.rate.lo && again.rate.hi == w.rate.hi);
    CHECK(sr_winrate_compute(x, N, SR_WINRATE_RESAMPLES, 6, &other) == 0);
    CHECK(other.rate.lo != w.rate.lo || other.rate.hi != w.rate.hi);
}

TEST(clean_sweep_is_finite)
{
    enum { N = 50 };
    sr_h2h x[N];
    for (int i = 0; i < N; i++) x[i] = (sr_h2h){ 1, 100 + i, 100 };
    sr_winrate w;
    CHECK(sr_winrate_compute(x, N, 200, 3, &w) == 0);
    CHECK(w.rate.value == 1 && w.rate.lo == 1 && w.rate.hi == 1);
    CHECK(isfinite(w.lc_rate.value) && w.lc_rate.value > 0.99);
    CHECK(isfinite(w.length_slope));
}

int main(void)
{
    RUN(both_orders);
    RUN(shares_by_hand);
    RUN(length_control_recovers_the_model);
    RUN(bootstrap_interval);
    RUN(clean_sweep_is_finite);
    return test_done();
}
