/* pairs.h — preference pairs from judged candidates (METHOD step 4): the
 * rule that picks a pair, the pass that applies it to judged records, and
 * what both sr-pairs modes share (the judged record's keys, score counts).
 *
 * Picking a pair from one prompt's scored candidates:
 *   plain           chosen = the highest score, rejected = the lowest;
 *   length control  (Meta-Rewarding) with the prompt's score range [lo, hi]
 *                   and RHO in [0, 1): chosen = the shortest candidate with
 *                   score >= hi - RHO (hi - lo), rejected = the longest with
 *                   score <= lo + RHO (hi - lo).
 *   diverse         (DivPO, Lanchantin et al. 2025) with the same bands:
 *                   chosen = the least similar to the prompt's other
 *                   candidates in the top band, rejected = the most similar
 *                   in the bottom band. Similarity is a candidate's mean
 *                   ROUGE-L F (words as selfinstruct.h splits them) against
 *                   each other scored candidate of the prompt.
 * Ties among equals go, in turn, to (length control and diverse: the higher
 * score for chosen, the lower for rejected), then the lowest sample index (a candidate
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

#include "io/groupby.h"
#include "io/record.h"
#include "sr/selfinstruct.h"

#define SR_PAIRS_EPS 1e-9
#define SR_NO_SAMPLE INT64_MAX

typedef struct sr_cand {
    double score;
    uint64_t length;       /* characters or tokens: what length control compares */
    int64_t sample;        /* SR_NO_SAMPLE when the record has none */
    sr_str id;
    size_t order;          /* input position, the last tie-break */
    double sim;            /* diverse: mean ROUGE-L F against the others */
} sr_cand;

typedef struct sr_pick_opts {
    double min_gap;        /* >= 0 */
    double rho;            /* the band, in [0, 1); ignored unless length_control or diverse */
    bool length_control;
    bool diverse;          /* DivPO; not with length_control */
    bool keep_truncated;   /* sr_pairs_write: keep candidates with finish "length" */
} sr_pick_opts;

enum sr_pick { SR_PICK_OK = 0, SR_PICK_SINGLE, SR_PICK_TIE, SR_PICK_GAP };

/* sim of each of c[0..n) from the n responses' words: its mean ROUGE-L F
 * against the other n - 1 (0 when n < 2). */
void sr_pairs_similarity(sr_cand *c, const sr_words *words, size_t n);

/* Pick chosen and rejected (indices into c) from n candidates. */
enum sr_pick sr_pairs_pick(const sr_cand *c, size_t n, const sr_pick_opts *o,
                           size_t *chosen, size_t *rejected);

/* ---- judged records ------------------------------------------------------
 * Bad records are reported as record.h reports them (exit 3, or skipped and
 * counted under --skip-bad); running out of memory exits 1. */

/* The keys every judged record sr-pairs reads has: id, prompt_id, prompt,
 * response (strings) and score (a finite number, or nil when no judgement
 * gave one). True with *prompt_id when good; false when bad (skipped). */
bool sr_judged_check(const sr_rec *r, sr_str *prompt_id);
/* A judged candidate: the above, and sample and tokens, where present,
 * integers >= 0. */
bool sr_pairs_check(const sr_rec *r, sr_str *prompt_id);
/* The score of a checked record: true with *out, false for nil. */
bool sr_judged_score(const sr_rec *r, double *out);

/* ---- counting scores on the judge's scale --------------------------------
 * A scale is the whole points score_min..score_max of the judge's rubric. */
#define SR_SCALE_MAX_POINTS 101

/* Whether score_min..score_max is a scale these counts can hold. */
bool sr_scale_ok(int score_min, int score_max);
/* sr_scale_ok, or exit 1: a scale the caller built wrong. */
void sr_scale_need(int score_min, int score_max);

typedef struct sr_score_hist {
    int min, max;
    uint64_t bin[SR_SCALE_MAX_POINTS];   /* bin[p - min]: scores nearest to the whole point p */
    uint64_t other;                      /* nearest to no point of the scale */
} sr_score_hist;

void sr_score_hist_init(sr_score_hist *h, int score_min, int score_max);   /* sr_scale_ok */
/* Count a score under its nearest whole point (halves up). */
void sr_score_hist_add(sr_score_hist *h, double score);

/* "TITLE 0:12 1:30 ... 5:4 other:2": nbins counts labelled first, first+1,
 * ...; then other, when given and not 0. Cut short (never overrun) when buf
 * is too small. */
void sr_score_line(char *buf, size_t size, const char *title, int first, const uint64_t *bin, int nbins,
                   const uint64_t *other);

/* ---- the pass ------------------------------------------------------------- */

typedef struct sr_pairs_stats {
    uint64_t records, nil;              /* candidates read; with a nil score */
    uint64_t truncated;                 /* left out: finish "length" (unless keep_truncated) */
    size_t prompts;                     /* groups */
    uint64_t pairs, dropped[4];         /* dropped[enum sr_pick] */
    uint64_t tokens_prompts;            /* prompts whose lengths were in tokens */
    double sum_chosen, sum_rejected;    /* scores of the pairs written */
    double len_chosen, len_rejected;    /* their lengths, in characters */
    double sim_chosen, sim_rejected;    /* diverse: their similarities (sr_cand.sim) */
    sr_score_hist hist;                 /* every candidate's score */
    sr_pick_opts pick;
} sr_pairs_stats;

/* One pair for each group of g (one prompt's checked candidates), written
 * to out. A candidate cut off at its length cap (finish "length") is left
 * out unless o->keep_truncated: its reply is unfinished, so preferring or
 * rejecting it teaches DPO about the cap, not about quality. Each pair is the chosen record's keys less a candidate's own (response, score,
 * scores, judgements, sample, finish, tokens, human_rank), its id replaced
 * by sr_pair_id, then chosen, rejected, chosen_score, rejected_score,
 * chosen_id, rejected_id. Diverse fills each candidate's sim from its
 * response. Length control measures tokens
 * when every scored candidate of the prompt has them, else characters.
 * The counts, over the judge's scale score_min..score_max, go to *st. */
void sr_pairs_write(const sr_groups *g, sr_writer *out, const sr_pick_opts *o, int score_min, int score_max,
                    sr_pairs_stats *st);
/* The summary of a pass, on standard error. */
void sr_pairs_report(const sr_pairs_stats *st);

#endif
