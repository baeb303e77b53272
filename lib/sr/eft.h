/* eft.h — judge-training (EFT) examples from judged human-ranked replies
 * (METHOD "Seed data"): sr-pairs --eft.
 *
 * A prompt's replies, judged k times each (sr-judge --keep-text), give
 * examples only when the judge agrees with the humans on that prompt: every
 * pair of scored replies with different human ranks is ordered the same way
 * by mean score (a score tie disagrees; replies with a nil score are left
 * out of the check, and a prompt with no such pair is unchecked, not kept).
 * The judgements of an agreeing prompt whose score is a whole point of the
 * judge's scale must then each agree with the humans on their own: while
 * some kept judgement is ordered wrong (or tied) against a kept judgement
 * of a reply with another rank, the one with the most such conflicts is
 * dropped (ties: the one farther from its reply's mean, then the larger
 * example id). Of what is left, the first per_reply of each reply (0: all)
 * become examples: {id, the reply's other keys, prompt: the judge prompt,
 * response: the judgement, score, source: "eft", reply_id}. The examples
 * are then balanced over the scale's points. */
#ifndef SR_EFT_H
#define SR_EFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/groupby.h"
#include "io/record.h"
#include "sr/judge.h"
#include "sr/pairs.h"

/* ---- balancing --------------------------------------------------------------
 * Every bucket larger than the mean size of the non-empty buckets (rounded
 * to the nearest whole number, halves up) is cut to that size, keeping the
 * judgements with the smallest key (sr_eft_balance_key: the choice does not
 * depend on input order), ties by position. */
#define SR_EFT_MAX_BUCKETS SR_SCALE_MAX_POINTS

typedef struct sr_eft_balance {
    uint64_t before[SR_EFT_MAX_BUCKETS], after[SR_EFT_MAX_BUCKETS];
    size_t target;         /* the size buckets were cut to (0 when there were none) */
} sr_eft_balance;

/* bucket[i] in 0..nbuckets-1 (nbuckets <= SR_EFT_MAX_BUCKETS) and key[i]
 * for n judgements; keep[i] is set to whether judgement i stays. Returns 0,
 * or -1 when out of memory. */
int sr_eft_balance_keep(const int *bucket, const uint64_t *key, size_t n, int nbuckets, bool *keep,
                        sr_eft_balance *stats);

/* ---- records ------------------------------------------------------------------
 * Bad records are reported as record.h reports them (exit 3, or skipped and
 * counted under --skip-bad); running out of memory exits 1. */

/* A judged ranked reply: the keys of sr_judged_check, human_rank, and
 * scores[] (numbers or nil) and judgements[] (strings) of one length. */
bool sr_eft_check(const sr_rec *r, sr_str *prompt_id);

typedef struct sr_eft_stats {
    uint64_t replies, nil;                 /* replies read; with a nil mean score */
    size_t prompts;
    uint64_t agreeing, disagreeing, unchecked;   /* prompts */
    uint64_t judgements, unparsed, off_scale;    /* judgements: all, nil, not a whole point of the scale */
    uint64_t on_scale;                     /* judgements of agreeing prompts on the scale */
    uint64_t conflicting, over_cap;        /* of those: dropped as disagreeing alone; over per_reply */
    size_t candidates;                     /* examples from agreeing prompts, before balancing */
    size_t per_reply;
    uint64_t written;
    int score_min, score_max;
    uint64_t seed;
    sr_eft_balance balance;                /* bucket b: the score score_min + b */
} sr_eft_stats;

/* The examples of every group of g (one prompt's checked replies), at most
 * per_reply of each reply (0: no cap), the judge prompt rendered with t,
 * balanced with seed, written to out; the judge's scale is
 * score_min..score_max (sr_scale_ok). Counts go to *st. */
void sr_eft_write(const sr_groups *g, sr_writer *out, const sr_judge_tmpl *t, uint64_t seed, int score_min,
                  int score_max, size_t per_reply, sr_eft_stats *st);
/* The summary of a pass, on standard error. */
void sr_eft_report(const sr_eft_stats *st);

#endif
