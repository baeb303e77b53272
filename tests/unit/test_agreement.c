/* test_agreement.c — judge-vs-human agreement measures against values
 * computed by hand (the working is in the comments). */
#include "test.h"

#include "sr/agreement.h"

TEST(spearman_and_kendall)
{
    double a[] = { 1, 2, 3 }, b[] = { 1, 2, 3 }, rev[] = { 3, 2, 1 };
    CHECK_NEAR(sr_spearman(a, b, 3), 1.0, 1e-12);
    CHECK_NEAR(sr_kendall_tau_b(a, b, 3), 1.0, 1e-12);
    CHECK_NEAR(sr_spearman(a, rev, 3), -1.0, 1e-12);
    CHECK_NEAR(sr_kendall_tau_b(a, rev, 3), -1.0, 1e-12);

    /* x = 3 1 2 against 1 2 3: rank deviations (1,-1) (-1,0) (0,1): sxy = -1,
     * sxx = syy = 2, rho = -1/2; pairs: two discordant, one concordant: tau = -1/3 */
    double x[] = { 3, 1, 2 };
    CHECK_NEAR(sr_spearman(x, a, 3), -0.5, 1e-12);
    CHECK_NEAR(sr_kendall_tau_b(x, a, 3), -1.0 / 3, 1e-12);

    /* A tie: x = 1 2 2 3 (ranks 1 2.5 2.5 4) against 1 2 3 4: deviations from
     * 2.5: x -1.5 0 0 1.5, y -1.5 -.5 .5 1.5: sxy 4.5, sxx 4.5, syy 5:
     * rho = 4.5 / sqrt(22.5) = 3 / sqrt(10). Kendall: 6 pairs, one tied in x,
     * five concordant: tau-b = 5 / sqrt((6 - 1)(6 - 0)) = 5 / sqrt(30). */
    double xt[] = { 1, 2, 2, 3 }, y4[] = { 1, 2, 3, 4 };
    CHECK_NEAR(sr_spearman(xt, y4, 4), 3 / sqrt(10), 1e-12);
    CHECK_NEAR(sr_kendall_tau_b(xt, y4, 4), 5 / sqrt(30), 1e-12);
    /* symmetric in its arguments */
    CHECK_NEAR(sr_kendall_tau_b(y4, xt, 4), 5 / sqrt(30), 1e-12);

    /* undefined: a constant side, or fewer than two values */
    double c[] = { 2, 2, 2 };
    CHECK(isnan(sr_spearman(c, a, 3)));
    CHECK(isnan(sr_kendall_tau_b(a, c, 3)));
    CHECK(isnan(sr_spearman(a, b, 1)));
    CHECK(isnan(sr_kendall_tau_b(a, b, 0)));
}

TEST(pairs_of_one_prompt)
{
    size_t agree, tied;
    /* ranks 0 1 2, scores 4 4 5: (0,1) tie; (0,2) and (1,2) reversed */
    int64_t r[] = { 0, 1, 2 };
    double s[] = { 4, 4, 5 };
    CHECK(sr_agree_pairs(r, s, 3, &agree, &tied) == 3);
    CHECK(agree == 0 && tied == 1);
    /* equal human ranks make no pair */
    int64_t r2[] = { 1, 1, 3 };
    double s2[] = { 2, 2, 1 };
    CHECK(sr_agree_pairs(r2, s2, 3, &agree, &tied) == 2);
    CHECK(agree == 2 && tied == 0);
    /* extreme ranks do not overflow anything */
    int64_t r3[] = { INT64_MIN, INT64_MAX };
    double s3[] = { 1, 0 };
    CHECK(sr_agree_pairs(r3, s3, 2, &agree, NULL) == 1 && agree == 1);
}

/* The five prompts of tests/cli/judge.bats, by hand:
 *   A ranks 0 1 2, scores 5 4 3:  3 pairs agree; one 5, the best; exact;
 *                                 rho 1, tau 1
 *   B ranks 0 1 2, scores 4 4 5:  (0,1) tied, two reversed; one 5, rank 2
 *                                 (not best); not exact; score ranks 1.5 1.5 3
 *                                 against 3 2 1: rho = -1.5 / sqrt(1.5 * 2)
 *                                 = -sqrt(3)/2; tau-b = -2 / sqrt(2 * 3)
 *   C ranks 0 1,   scores 3 3:    one pair, tied; not exact; scores constant:
 *                                 no correlation
 *   D rank 0 alone                left out (single)
 *   E ranks 1 1 3, scores 14/3 5 2: pairs (0,2) (1,2) agree, (0,1) same rank;
 *                                 two 5s (mean >= 4.5), both of the best rank
 *                                 1; not exact (5 > 14/3 but equal ranks);
 *                                 rho = +sqrt(3)/2, tau-b = 2 / sqrt(3 * 2)
 * Totals: 4 prompts, 11 replies, 9 pairs, 5 agree, 2 tied; 4 fives, 3 best;
 * 1 exact; correlations over A B E: rho (1 - .866 + .866) / 3 = 1/3, tau 1/3. */
TEST(agreement_over_prompts)
{
    sr_agree a = { 0 };
    int64_t ra[] = { 0, 1, 2 }, rb[] = { 0, 1, 2 }, rc[] = { 0, 1 }, rd[] = { 0 }, re[] = { 1, 1, 3 };
    double sa[] = { 5, 4, 3 }, sb[] = { 4, 4, 5 }, sc[] = { 3, 3 }, sd[] = { 5 }, se[] = { 14.0 / 3, 5, 2 };

    sr_agree one = { 0 };
    sr_agree_add(&one, rb, sb, NULL, 3);
    CHECK_NEAR(one.spearman_sum, -sqrt(3) / 2, 1e-12);
    CHECK_NEAR(one.kendall_sum, -2 / sqrt(6), 1e-12);
    one = (sr_agree){ 0 };
    sr_agree_add(&one, re, se, NULL, 3);
    CHECK_NEAR(one.spearman_sum, sqrt(3) / 2, 1e-12);
    CHECK_NEAR(one.kendall_sum, 2 / sqrt(6), 1e-12);

    sr_agree_add(&a, ra, sa, NULL, 3);
    sr_agree_add(&a, rb, sb, NULL, 3);
    sr_agree_add(&a, rc, sc, NULL, 2);
    sr_agree_add(&a, rd, sd, NULL, 1);
    sr_agree_add(&a, re, se, NULL, 3);
    CHECK(a.prompts == 4 && a.single == 1 && a.replies == 11);
    CHECK(a.pairs == 9 && a.pairs_agree == 5 && a.pairs_tied == 2);
    CHECK(a.fives == 4 && a.fives_best == 3);
    CHECK(a.exact == 1);
    CHECK(a.corr_prompts == 3);

    sr_agree_report r;
    sr_agree_summarise(&a, &r);
    CHECK_NEAR(r.pairwise, 5.0 / 9, 1e-12);
    CHECK_NEAR(r.tie_share, 2.0 / 9, 1e-12);
    CHECK_NEAR(r.five_best, 0.75, 1e-12);
    CHECK_NEAR(r.exact, 0.25, 1e-12);
    CHECK_NEAR(r.spearman, 1.0 / 3, 1e-12);
    CHECK_NEAR(r.kendall, 1.0 / 3, 1e-12);
}

TEST(a_score_of_4_5_counts_as_5)
{
    sr_agree a = { 0 };
    int64_t r[] = { 0, 1, 2, 3 };
    double s[] = { 4.4, 4.5, 4.499, 5 };    /* 4.5 and 5 are "scored 5"; rank 0 is neither */
    sr_agree_add(&a, r, s, NULL, 4);
    CHECK(a.fives == 2 && a.fives_best == 0);
}

TEST(nothing_measured_is_undefined)
{
    sr_agree a = { 0 };
    sr_agree_report r;
    sr_agree_summarise(&a, &r);
    CHECK(isnan(r.pairwise) && isnan(r.tie_share) && isnan(r.five_best));
    CHECK(isnan(r.exact) && isnan(r.spearman) && isnan(r.kendall));
    int64_t rk[] = { 2, 2 };
    double s[] = { 1, 3 };
    sr_agree_add(&a, rk, s, NULL, 2);            /* one prompt, both replies ranked alike */
    sr_agree_summarise(&a, &r);
    CHECK(a.prompts == 1 && a.pairs == 0 && isnan(r.pairwise));
    CHECK(r.exact == 0);                   /* the judge split what humans tied */
    CHECK(isnan(r.spearman));
}

/* Length preference, by hand. One prompt, replies of 10, 30, 20, 30 chars:
 *   ranks  0 1 2 3, scores 2 5 5 1
 *   pairs of different lengths: (0,1) (0,2) (0,3) (1,2) (2,3) — (1,3) are
 *   both 30 and do not count.
 *   judge: scored apart (0,1) (0,2) (0,3) (2,3), (1,2) tie; the longer higher
 *     in (0,1) 30>10 with 5>2, (0,2) 20 with 5, not (0,3) 30 with 1, not
 *     (2,3) 30 with 1: 2 of 4
 *   humans: all five ranked apart; the longer better in none of (0,1) (0,2)
 *     (0,3) (rank 0 is the shortest), in (1,2) (30 ranked 1 over 20 ranked 2),
 *     not (2,3): 1 of 5
 * Without lengths (NULL) nothing is counted. */
TEST(length_preference)
{
    sr_agree a = { 0 };
    int64_t r[] = { 0, 1, 2, 3 };
    double s[] = { 2, 5, 5, 1 }, len[] = { 10, 30, 20, 30 };
    sr_agree_add(&a, r, s, len, 4);
    CHECK(a.judge_len_pairs == 4 && a.judge_longer == 2);
    CHECK(a.human_len_pairs == 5 && a.human_longer == 1);
    sr_agree_add(&a, r, s, NULL, 4);
    CHECK(a.judge_len_pairs == 4 && a.human_len_pairs == 5 && a.prompts == 2);
    sr_agree_report rep;
    sr_agree_summarise(&a, &rep);
    CHECK_NEAR(rep.judge_longer, 0.5, 1e-12);
    CHECK_NEAR(rep.human_longer, 0.2, 1e-12);

    sr_agree none = { 0 };
    sr_agree_add(&none, r, s, NULL, 4);
    sr_agree_summarise(&none, &rep);
    CHECK(isnan(rep.judge_longer) && isnan(rep.human_longer));
}

int main(void)
{
    RUN(spearman_and_kendall);
    RUN(pairs_of_one_prompt);
    RUN(agreement_over_prompts);
    RUN(a_score_of_4_5_counts_as_5);
    RUN(length_preference);
    RUN(nothing_measured_is_undefined);
    return test_done();
}
