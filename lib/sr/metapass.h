/* metapass.h — the meta-judge's two record passes (sr-meta), around
 * sr-judge --pairwise --meta (the model comparing two of its judgements):
 *
 *   battles  judged records, with their texts (sr-judge --keep-text:
 *            {id, prompt, response, scores, judgements}) → one battle record
 *            per pair of a reply's judgements whose scores differ:
 *              {id, reply_id, prompt, response_a, response_b, judgement_a,
 *               judgement_b, score_a, score_b}
 *            where prompt is the judge prompt the judgements answered (the
 *            rubric rendered with the reply), response_a/_b the two
 *            judgement texts and judgement_a/_b their indices. Records with
 *            fewer than two scored judgements, or all scores equal, give no
 *            battle (counted).
 *   pairs    battles judged by --pairwise (verdict a, b, tie or nil), all
 *            read first → per reply, ratings of its judgements from its
 *            battles (sr/metajudge.h), the best/worst pick, the caps; one
 *            judge pair per kept reply, in the pair format sr-dpo reads:
 *              {id, reply_id, prompt, chosen, rejected, chosen_score,
 *               rejected_score (the ratings), chosen_judge_score,
 *               rejected_judge_score (the judgements' own scores), kind:
 *               "judge"}
 *            A battle with a nil verdict is counted and left out.
 * Bad records exit 3 or are skipped (record.h); out of memory exits 1. */
#ifndef SR_METAPASS_H
#define SR_METAPASS_H

#include <stdint.h>

#include "io/cli.h"
#include "io/record.h"
#include "sr/judge.h"
#include "sr/metajudge.h"
#include "sr/pairs.h"

typedef struct sr_meta_battle_stats {
    uint64_t records, no_battle, battles;
} sr_meta_battle_stats;

/* The battles pass: cli's input to out; rb's template renders the
 * judge prompts (the one the judgements were made with). */
void sr_meta_battles(sr_cli *cli, sr_writer *out, const sr_rubric *rb, sr_meta_battle_stats *st);

typedef struct sr_meta_pair_opts {
    sr_pick_opts pick;          /* on the ratings; lengths in characters */
    sr_meta_caps caps;
    uint64_t actor_pairs;       /* the iteration's actor pairs, for the share cap */
    uint64_t seed;              /* the caps' cut order */
} sr_meta_pair_opts;

typedef struct sr_meta_pair_stats {
    uint64_t battles, nil;      /* read; with a nil verdict */
    uint64_t replies, no_pair;  /* replies with battles; those giving no pair (all ratings tied) */
    uint64_t candidates, kept;  /* judge pairs picked; kept by the caps */
    uint64_t bucket[SR_META_BUCKETS];   /* the kept pairs by chosen judgement's score */
} sr_meta_pair_stats;

/* The pairs pass: cli's input (every record read first) to out. */
void sr_meta_pairs(sr_cli *cli, sr_writer *out, const sr_meta_pair_opts *o, sr_meta_pair_stats *st);

/* The summaries, on standard error. */
void sr_meta_battles_report(const sr_meta_battle_stats *st);
void sr_meta_pairs_report(const sr_meta_pair_stats *st, const sr_meta_pair_opts *o);

#endif
