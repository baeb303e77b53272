/* agreement.c — judge scores against human rankings. Prompts have a handful
 * of replies, so everything here is a plain O(n^2) walk over pairs. */
#include "sr/agreement.h"

#include <math.h>
#include <stdlib.h>

static int sign(double d) { return (d > 0) - (d < 0); }

/* +1 when humans ranked i better than j, -1 worse, 0 alike (rank 0 is best). */
static int rank_order(const int64_t *rank, size_t i, size_t j) { return (rank[i] < rank[j]) - (rank[i] > rank[j]); }

size_t sr_agree_pairs(const int64_t *human_rank, const double *score, size_t n,
                      size_t *agree, size_t *tied)
{
    size_t pairs = 0, ag = 0, ti = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (human_rank[i] == human_rank[j]) continue;
            pairs++;
            /* the better (lower) rank should have the higher score */
            int want = human_rank[i] < human_rank[j] ? 1 : -1;
            int got = sign(score[i] - score[j]);
            ag += got == want;
            ti += got == 0;
        }
    if (agree) *agree = ag;
    if (tied) *tied = ti;
    return pairs;
}

/* Ranks 1..n of v, ties given the mean of the ranks they span. */
static void average_ranks(const double *v, size_t n, double *r)
{
    for (size_t i = 0; i < n; i++) {
        size_t below = 0, equal = 0;
        for (size_t j = 0; j < n; j++) {
            below += v[j] < v[i];
            equal += v[j] == v[i];
        }
        r[i] = (double)below + (double)(equal + 1) / 2.0;
    }
}

double sr_spearman(const double *x, const double *y, size_t n)
{
    if (n < 2) return NAN;
    double *rx = malloc(2 * n * sizeof *rx);
    if (!rx) return NAN;
    double *ry = rx + n;
    average_ranks(x, n, rx);
    average_ranks(y, n, ry);
    double mean = (double)(n + 1) / 2.0;     /* the mean of average ranks is always this */
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        double a = rx[i] - mean, b = ry[i] - mean;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    free(rx);
    if (sxx == 0 || syy == 0) return NAN;
    return sxy / sqrt(sxx * syy);
}

double sr_kendall_tau_b(const double *x, const double *y, size_t n)
{
    if (n < 2) return NAN;
    double n0 = (double)n * (double)(n - 1) / 2.0, tx = 0, ty = 0, s = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            int a = sign(x[i] - x[j]), b = sign(y[i] - y[j]);
            tx += a == 0;
            ty += b == 0;
            s += a * b;              /* +1 concordant, -1 discordant, 0 tied in either */
        }
    if (tx == n0 || ty == n0) return NAN;
    return s / sqrt((n0 - tx) * (n0 - ty));
}

void sr_agree_add(sr_agree *a, const int64_t *human_rank, const double *score, const double *length,
                  size_t n)
{
    if (n < 2) {
        a->single++;
        return;
    }
    a->prompts++;
    a->replies += n;

    size_t agree, tied, pairs = sr_agree_pairs(human_rank, score, n, &agree, &tied);
    a->pairs += pairs;
    a->pairs_agree += agree;
    a->pairs_tied += tied;

    int64_t best = human_rank[0];
    for (size_t i = 1; i < n; i++)
        if (human_rank[i] < best) best = human_rank[i];
    for (size_t i = 0; i < n; i++)
        if (score[i] >= SR_AGREE_FIVE) {
            a->fives++;
            a->fives_best += human_rank[i] == best;
        }

    /* Exact: every pair ordered alike, a score tie matching only a rank tie. */
    int exact = 1;
    for (size_t i = 0; i < n && exact; i++)
        for (size_t j = i + 1; j < n && exact; j++)
            exact = sign(score[i] - score[j]) == rank_order(human_rank, i, j);
    a->exact += exact;

    /* Length preference: who favours the longer of two replies, the judge
     * (higher score) or the humans (better rank), where each tells them apart. */
    for (size_t i = 0; length && i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            int longer = sign(length[i] - length[j]);
            if (longer == 0) continue;
            int by_score = sign(score[i] - score[j]);
            int by_rank = rank_order(human_rank, i, j);
            a->judge_len_pairs += by_score != 0;
            a->judge_longer += by_score == longer;
            a->human_len_pairs += by_rank != 0;
            a->human_longer += by_rank == longer;
        }

    /* Correlate the scores with the human order as "higher is better". */
    double *goodness = malloc(n * sizeof *goodness);
    if (!goodness) return;
    for (size_t i = 0; i < n; i++) goodness[i] = -(double)human_rank[i];
    double rho = sr_spearman(score, goodness, n), tau = sr_kendall_tau_b(score, goodness, n);
    free(goodness);
    if (!isnan(rho) && !isnan(tau)) {
        a->corr_prompts++;
        a->spearman_sum += rho;
        a->kendall_sum += tau;
    }
}

static double ratio(uint64_t num, uint64_t den) { return den ? (double)num / (double)den : NAN; }

void sr_agree_summarise(const sr_agree *a, sr_agree_report *r)
{
    r->pairwise = ratio(a->pairs_agree, a->pairs);
    r->tie_share = ratio(a->pairs_tied, a->pairs);
    r->five_best = ratio(a->fives_best, a->fives);
    r->exact = ratio(a->exact, a->prompts);
    r->spearman = a->corr_prompts ? a->spearman_sum / (double)a->corr_prompts : NAN;
    r->kendall = a->corr_prompts ? a->kendall_sum / (double)a->corr_prompts : NAN;
    r->judge_longer = ratio(a->judge_longer, a->judge_len_pairs);
    r->human_longer = ratio(a->human_longer, a->human_len_pairs);
}
