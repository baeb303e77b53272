/* judging.h — the judging stage of sr-judge (METHOD step 3): each record's
 * response scored k times by the model with a rubric (sr/judge.h), on the
 * ordered driver (sr/ordered.h).
 *
 * A record's judge prompt is rendered once and prefilled once; its k
 * judgements are samples of that one request, drawn from
 * sr_record_seed(id, seed). A judgement ends once a line holding a score is
 * complete (what a small model writes after it is not read). One that ends
 * with no score is, by default, continued where it stopped with the
 * rubric's forced score line (an engine follow-up, the KV cache kept; seed
 * sr_judge_force_seed) and scored from that line alone; with no_force it is
 * not. A judgement still with no score (with forcing: the forced line gave
 * none either) is drawn again, whole, up to `retries` times (seed
 * sr_judge_retry_seed of the attempt; a retry's forced line draws from
 * sr_judge_force_seed of that seed).
 * With expected (--score expected), a judgement's score is not the digit
 * drawn but the probability-weighted mean of the scale's digits where it
 * was drawn (sr/judge_expected.h; the sampled digit where that cannot be
 * read), and scores are reals.
 * Each record goes out in input order with
 *
 *   score       the mean of the judgements that have one, or nil
 *   scores      the k scores (nil where none)
 *   judgements  the k texts (keep_text; else an earlier judge's are removed)
 */
#ifndef SR_JUDGING_H
#define SR_JUDGING_H

#include <stdbool.h>
#include <stdint.h>

#include "io/cli.h"
#include "lm/generate.h"
#include "lm/llm.h"
#include "sr/judge.h"

typedef struct sr_judging_opts {
    long k;                   /* judgements per record, 1..64 */
    long retries;             /* resamples of a judgement left without a score */
    long max_prompt_tokens;   /* longest judge prompt, chat template included */
    uint64_t seed;            /* --seed */
    uint64_t shard_k, shard_n;
    bool keep_text, no_force, quiet;
    bool expected;            /* --score expected; eo->logprobs must then be SR_GEN_MAX_LOGPROBS */
} sr_judging_opts;

/* The engine's cap (generate.h) for judgements of max_tokens: the judge
 * prompt, the judgement, and room for the forced score line after it. */
int sr_judging_cap(const sr_judging_opts *o, int max_tokens);

/* Judge every record of cli's input with llm (a bad record exits 3, or is
 * skipped) and write them to cli's output; the summary on standard error
 * unless quiet. eo->cap must be sr_judging_cap's. Exits 1 on failure. */
void sr_judging_run(sr_cli *cli, sr_llm *llm, const sr_rubric *rb, const sr_judging_opts *o,
                    const sr_gen_opts *eo);

#endif
