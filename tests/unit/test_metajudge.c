/* test_metajudge.c — the meta-judge's arithmetic on hand-made judgements:
 * ratings that satisfy the Bradley-Terry equations and do not depend on the
 * battles' order, the best/worst pick through sr-pairs' rule, the caps. */
#include "test.h"

#include <math.h>

#include "sr/metajudge.h"
#include "sr/pairs.h"

/* The fitted strengths must solve W_i = p_i * sum over i's games of
 * 1 / (p_i + p_opponent), the prior's game against strength 1 included. */
static double residual(const sr_battle *b, size_t nb, size_t n, const double *rating)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double p = pow(10, (rating[i] - 1000) / 400), w = 0.5, s = p / (p + 1);
        for (size_t k = 0; k < nb; k++) {
            if (b[k].i != i && b[k].j != i) continue;
            size_t o = b[k].i == i ? b[k].j : b[k].i;
            double q = pow(10, (rating[o] - 1000) / 400);
            w += b[k].i == i ? b[k].outcome : 1 - b[k].outcome;
            s += p / (p + q);
        }
        worst = fmax(worst, fabs(w - s));
    }
    return worst;
}

TEST(ratings)
{
    /* 0 beats 1 and 2, 1 beats 2, and a tie between 1 and 2 (the other order) */
    sr_battle b[] = { { 0, 1, 1 }, { 0, 2, 1 }, { 1, 2, 1 }, { 2, 1, 0.5 } };
    double r[3];
    CHECK(sr_meta_ratings(b, 4, 3, r) == 0);
    CHECK(r[0] > r[1] && r[1] > r[2]);
    CHECK(residual(b, 4, 3, r) < 1e-9);
    /* the battles' order does not matter */
    sr_battle rev[] = { b[3], b[2], b[1], b[0] };
    double q[3];
    CHECK(sr_meta_ratings(rev, 4, 3, q) == 0);
    for (int i = 0; i < 3; i++) CHECK_NEAR(q[i], r[i], 1e-9);
    /* all ties: all equal, at 1000 */
    sr_battle t[] = { { 0, 1, 0.5 }, { 1, 2, 0.5 } };
    CHECK(sr_meta_ratings(t, 2, 3, r) == 0);
    for (int i = 0; i < 3; i++) CHECK_NEAR(r[i], 1000, 1e-9);
    /* a clean sweep stays finite; a judgement in no battle sits at 1000 */
    sr_battle s[] = { { 0, 1, 1 }, { 0, 1, 1 }, { 0, 1, 1 } };
    CHECK(sr_meta_ratings(s, 3, 3, r) == 0);
    CHECK(isfinite(r[0]) && isfinite(r[1]) && r[0] > 1000 && r[1] < 1000);
    CHECK_NEAR(r[2], 1000, 1e-9);
    CHECK(residual(s, 3, 3, r) < 1e-9);
}

TEST(pick_by_rating)
{
    /* the ratings as scores: chosen the best, rejected the worst; with length
     * control, the shortest judgement within the band of the best */
    sr_battle b[] = { { 0, 1, 1 }, { 0, 2, 1 }, { 1, 2, 1 }, { 3, 2, 1 }, { 0, 3, 0.5 } };
    double r[4];
    CHECK(sr_meta_ratings(b, 5, 4, r) == 0);
    sr_cand c[4];
    const uint64_t len[] = { 400, 120, 300, 90 };
    const char *ids[] = { "j0", "j1", "j2", "j3" };
    for (int i = 0; i < 4; i++)
        c[i] = (sr_cand){ r[i], len[i], i, { ids[i], 2 }, (size_t)i, 0 };
    size_t ch, rj;
    sr_pick_opts plain = { .min_gap = 0 };
    CHECK(sr_pairs_pick(c, 4, &plain, &ch, &rj) == SR_PICK_OK);
    CHECK(ch == 0 && rj == 2);
    sr_pick_opts lc = { .rho = 0.3, .length_control = true };
    CHECK(sr_pairs_pick(c, 4, &lc, &ch, &rj) == SR_PICK_OK);
    CHECK(ch == 3 && rj == 2);     /* j3 is within 30% of the range of j0's rating, and shorter */
}

TEST(caps)
{
    /* 20 candidates: keys 0, 7, ..., 133 in input order; bucket 5 for the first 15, 3 after */
    sr_meta_cand c[20];
    for (int i = 0; i < 20; i++) c[i] = (sr_meta_cand){ i < 15 ? 5 : 3, (uint64_t)i * 7 };
    unsigned char keep[20];
    /* share 1/2 beside 10 actor pairs: 10 judge pairs; at most 60% of them (6) of bucket 5 */
    sr_meta_caps caps = { 0.5, 0.6 };
    CHECK(sr_meta_cap(c, 20, 10, &caps, keep) == 10);
    int five = 0, three = 0;
    for (int i = 0; i < 20; i++) { five += keep[i] && c[i].bucket == 5; three += keep[i] && c[i].bucket == 3; }
    CHECK(five == 6 && three == 4);
    /* the lowest keys first: bucket 5's six lowest (0..5), then, bucket 5
     * full, bucket 3's four lowest (15..18) */
    CHECK(keep[0] && keep[5] && !keep[6] && !keep[14]);
    CHECK(keep[15] && keep[18] && !keep[19]);
    /* share 0.2 beside 8 actor pairs: floor(0.25 * 8) = 2 */
    caps = (sr_meta_caps){ 0.2, 1.0 };
    CHECK(sr_meta_cap(c, 20, 8, &caps, keep) == 2);
    /* no actor pairs: no judge pairs */
    CHECK(sr_meta_cap(c, 20, 0, &caps, keep) == 0);
    /* a tiny bucket share still lets one of each bucket through */
    caps = (sr_meta_caps){ 0.9, 0.01 };
    CHECK(sr_meta_cap(c, 20, 100, &caps, keep) == 2);
    /* the input order does not change the choice */
    sr_meta_cand rc[20];
    unsigned char rkeep[20];
    caps = (sr_meta_caps){ 0.5, 0.6 };
    sr_meta_cap(c, 20, 10, &caps, keep);
    for (int i = 0; i < 20; i++) rc[i] = c[19 - i];
    sr_meta_cap(rc, 20, 10, &caps, rkeep);
    for (int i = 0; i < 20; i++) CHECK(keep[i] == rkeep[19 - i]);
}

int main(void)
{
    RUN(ratings);
    RUN(pick_by_rating);
    RUN(caps);
    return test_done();
}
