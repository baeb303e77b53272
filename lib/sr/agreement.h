/* agreement.h — how well a judge's scores agree with human rankings, the
 * measures of the paper's judge evaluation (METHOD "Results"), over the
 * replies to each prompt:
 *
 *   pairwise accuracy  of the pairs of replies to one prompt with different
 *                      human ranks, the share the scores order the same way
 *                      (higher score for the better rank); a tie in score
 *                      counts as not agreeing, and the tie share is reported
 *   5-best             of the replies the judge scored 5 (a mean score
 *                      >= 4.5), the share humans ranked best of their prompt
 *   exact match        the share of prompts whose whole judge ordering (ties
 *                      included) equals the human ordering
 *   Spearman, Kendall  per prompt, between the scores and the human ranking
 *                      (best = highest), then averaged over the prompts where
 *                      both vary: Spearman's rho on average ranks, Kendall's
 *                      tau-b — both tie-aware
 *   prefers longer     the length bias, beside the humans' own: of the pairs
 *                      of replies of different lengths that the judge scores
 *                      apart, the share where the longer scored higher; of
 *                      those humans rank apart, the share where the longer
 *                      ranked better. A judge well above the humans rewards
 *                      length for itself, the bias self-rewarding amplifies
 *                      (METHOD "Known weaknesses").
 *
 * A prompt counts when it has at least two replies; "best" is the lowest
 * human rank among its replies. Rank 0 is the best (DESIGN §2). */
#ifndef SR_AGREEMENT_H
#define SR_AGREEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "io/cli.h"

/* A mean score at or above this is "scored 5". */
#define SR_AGREE_FIVE 4.5

typedef struct sr_agree {
    uint64_t prompts;           /* prompts with >= 2 replies: the ones measured */
    uint64_t replies;           /* replies of those prompts */
    uint64_t single;            /* prompts left out: fewer than 2 replies */
    uint64_t pairs;             /* pairs with different human ranks */
    uint64_t pairs_agree;       /* ... ordered the same way by score */
    uint64_t pairs_tied;        /* ... with equal scores (not agreeing) */
    uint64_t fives;             /* replies scored >= SR_AGREE_FIVE */
    uint64_t fives_best;        /* ... that humans ranked best */
    uint64_t exact;             /* prompts whose orderings are equal */
    uint64_t corr_prompts;      /* prompts in the Spearman / Kendall means */
    double spearman_sum, kendall_sum;
    uint64_t judge_len_pairs;   /* pairs of different lengths scored apart */
    uint64_t judge_longer;      /* ... the longer with the higher score */
    uint64_t human_len_pairs;   /* pairs of different lengths ranked apart */
    uint64_t human_longer;      /* ... the longer ranked better */
} sr_agree;

/* Add one prompt: the human ranks, the judge's scores and the lengths of its
 * n replies (length NULL: not known, no length measure). */
void sr_agree_add(sr_agree *a, const int64_t *human_rank, const double *score, const double *length,
                  size_t n);

/* The measures as fractions (0..1; coefficients -1..1), NaN when undefined
 * (no pairs, no prompts, no reply scored 5, no prompt where both vary). */
typedef struct sr_agree_report {
    double pairwise, tie_share, five_best, exact, spearman, kendall;
    double judge_longer, human_longer;
} sr_agree_report;
void sr_agree_summarise(const sr_agree *a, sr_agree_report *r);

/* One prompt's pairs with different human ranks: their number, and in
 * *agree / *tied those the scores order the same way / tie (either may be
 * NULL). The EFT filter keeps a prompt when every such pair agrees. */
size_t sr_agree_pairs(const int64_t *human_rank, const double *score, size_t n,
                      size_t *agree, size_t *tied);

/* Spearman's rho (Pearson's r of average ranks) and Kendall's tau-b of
 * x[n] and y[n]; NaN when n < 2 or either is constant. */
double sr_spearman(const double *x, const double *y, size_t n);
double sr_kendall_tau_b(const double *x, const double *y, size_t n);

/* ---- the report (sr-judge --eval) ---------------------------------------------- */

/* Read judged ranked records {prompt_id, human_rank, score (a number or
 * nil), [response]} from cli's input — a bad one exits 3, or is skipped —
 * and write the measures above to cli's output as text, and with json_path
 * (may be NULL) also as one JSON object to that file. A nil score is counted
 * and its reply left out; the length measures need every reply of a prompt
 * to have its response. Exits 1 when an output cannot be written. */
void sr_agree_eval(sr_cli *cli, const char *json_path);

#endif
