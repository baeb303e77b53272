/* pairs.h — preference pairs from judged candidates (METHOD step 4), and
 * the score balancing of EFT data; the rules, without the records.
 *
 * Picking a pair from one prompt's scored candidates:
 *   plain           chosen = the highest score, rejected = the lowest;
 *   length control  (Meta-Rewarding) with the prompt's score range [lo, hi]
 *                   and RHO in [0, 1): chosen = the shortest candidate with
 *                   score >= hi - RHO (hi - lo), rejected = the longest with
 *                   score <= lo + RHO (hi - lo).
 * Ties among equals go, in turn, to (length control: the higher score for
 * chosen, the lower for rejected), then the lowest sample index (a candidate
 * without one after those with one), then the smaller id (bytewise), then
 * the earlier input position — never to length in the plain rule.
 * A prompt gives no pair when it has fewer than two candidates (SINGLE), when
 * hi == lo (TIE), or when chosen's score does not exceed rejected's by more
 * than 0 and by at least min_gap (GAP; with RHO >= 0.5 the bands overlap and
 * this can happen). Score comparisons against thresholds allow 1e-9 of
 * rounding (means of k scores are not exact). */
#ifndef SR_PAIRS_H
#define SR_PAIRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/record.h"

#define SR_PAIRS_EPS 1e-9
#define SR_NO_SAMPLE INT64_MAX

typedef struct sr_cand {
    double score;
    uint64_t length;       /* characters or tokens: what length control compares */
    int64_t sample;        /* SR_NO_SAMPLE when the record has none */
    sr_str id;
    size_t order;          /* input position, the last tie-break */
} sr_cand;

typedef struct sr_pick_opts {
    double min_gap;        /* >= 0 */
    double rho;            /* length control's band, in [0, 1); ignored unless length_control */
    bool length_control;
} sr_pick_opts;

enum sr_pick { SR_PICK_OK = 0, SR_PICK_SINGLE, SR_PICK_TIE, SR_PICK_GAP };

/* Pick chosen and rejected (indices into c) from n candidates. */
enum sr_pick sr_pairs_pick(const sr_cand *c, size_t n, const sr_pick_opts *o,
                           size_t *chosen, size_t *rejected);

/* ---- EFT ---------------------------------------------------------------------
 * Balancing judgements over the scores 0..5: every bucket larger than the
 * mean size of the non-empty buckets (rounded to the nearest whole number,
 * halves up) is cut to that size, keeping the judgements with the smallest
 * key (XXH64 of the example id with --seed as the seed, so the choice does
 * not depend on input order), ties by position. */
#define SR_EFT_BUCKETS 6

typedef struct sr_eft_balance {
    size_t before[SR_EFT_BUCKETS], after[SR_EFT_BUCKETS];
    size_t target;         /* the size buckets were cut to (0 when there were none) */
} sr_eft_balance;

/* bucket[i] in 0..5 and key[i] for n judgements; keep[i] is set to whether
 * judgement i stays. Returns 0, or -1 when out of memory. */
int sr_eft_balance_keep(const int *bucket, const uint64_t *key, size_t n, bool *keep,
                        sr_eft_balance *stats);

#endif
