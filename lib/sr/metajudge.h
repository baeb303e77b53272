/* metajudge.h — the meta-judge (Meta-Rewarding, Wu et al. 2024), the parts
 * that are arithmetic: the model, having judged a response k times, judges
 * its own judgements two at a time (sr-judge --pairwise with the meta-judge
 * prompt, both orders); the battles rank the judgements, and the best and
 * the worst become a preference pair for the judge role — input the judge
 * prompt, chosen and rejected two judgement texts — so DPO trains the judge
 * as well as the actor.
 *
 *   battles   the pairs of one response's judgements whose scores differ
 *             (judgements that agree on the score teach the judge nothing
 *             about scoring; comparing them would reward style alone)
 *   ratings   Bradley-Terry strengths fitted to the battles' outcomes (a
 *             tie is half a win each), shown on the Elo scale (1000 + 400
 *             log10 strength): "Elo-style", but from a fit, so they do not
 *             depend on the order of the battles as sequential Elo would. A
 *             prior of one tie against an average judgement keeps a clean
 *             sweep finite.
 *   the pair  chosen the highest rating, rejected the lowest, by sr-pairs'
 *             rule (sr/pairs.h sr_pairs_pick, the ratings as scores) — so
 *             --length-control works on judgements as on replies, against
 *             the judge learning that longer judgements win.
 *   caps      (the paper's safeguards against the judge pairs taking over)
 *             the judge pairs are at most a share F of the iteration's DPO
 *             data (actor pairs + judge pairs), and at most a share B of the
 *             judge pairs may have a chosen judgement of one score value —
 *             the bucket, the score on the judge's 0..5 scale — so a judge
 *             that likes giving 5 does not learn mostly to give 5. What is
 *             cut goes by a hash of the pair's id and --seed, not by input
 *             order. */
#ifndef SR_METAJUDGE_H
#define SR_METAJUDGE_H

#include <stddef.h>
#include <stdint.h>

/* One battle of judgements i and j of a response: outcome 1 when i won,
 * 0.5 a tie, 0 when j won. */
typedef struct sr_battle {
    uint32_t i, j;
    double outcome;
} sr_battle;

/* The Elo-scale ratings of n judgements from nb battles (i, j < n), in
 * rating[n]. 0, or -1 when out of memory. */
int sr_meta_ratings(const sr_battle *b, size_t nb, size_t n, double *rating);

/* One candidate judge pair, for the caps: its bucket (the chosen
 * judgement's score, a whole point 0..SR_META_BUCKETS-1) and its key
 * (the cut order: the lowest keys are kept). */
#define SR_META_BUCKETS 101
typedef struct sr_meta_cand {
    int bucket;
    uint64_t key;
} sr_meta_cand;

typedef struct sr_meta_caps {
    double share;           /* F in (0, 1): judge pairs / all pairs at most */
    double bucket_share;    /* B in (0, 1]: one bucket / judge pairs at most */
} sr_meta_caps;

/* Which of n candidate judge pairs to keep beside `actor_pairs` actor pairs:
 * keep[i] set to 1 or 0; the number kept returned. The share cap allows
 * floor(F / (1 - F) * actor_pairs) judge pairs; the bucket cap, applied to
 * what the share cap leaves, floor(B * kept) per bucket, at least 1. */
size_t sr_meta_cap(const sr_meta_cand *c, size_t n, uint64_t actor_pairs, const sr_meta_caps *caps,
                   unsigned char *keep);

#endif
