/* pairwise_judging.h — the pairwise judging stage of sr-judge --pairwise:
 * for each record {id, prompt, response_a, response_b}, the model judges
 * which reply is better in both orders (response_a shown first, then
 * response_b first), on the ordered driver (sr/ordered.h), and one verdict
 * is kept (sr/verdict.h: orders that disagree make a tie).
 *
 * One judgement per order, drawn from sr_pairwise_order_seed(record seed,
 * order). A judgement ends once a line holding a verdict is complete; one
 * that ends without a verdict is continued with the judge's forced line
 * ("Verdict:"), as sr-judge does with its score line. Each record goes out
 * in input order with
 *
 *   verdict     "a", "b" or "tie" — or nil when an order gave no verdict
 *   verdicts    the two orders' verdicts, named as the record names the
 *               replies (nil where none): [response_a first, response_b first]
 *   judgements  the two texts (keep_text; else an earlier judge's are removed)
 *
 * and the summary on standard error counts the verdicts, the orders that
 * disagreed (the position-disagreement rate) and how often the first
 * position won. */
#ifndef SR_PAIRWISE_JUDGING_H
#define SR_PAIRWISE_JUDGING_H

#include <stdbool.h>
#include <stdint.h>

#include "io/cli.h"
#include "lm/generate.h"
#include "lm/llm.h"
#include "sr/pairwise.h"

typedef struct sr_pairwise_opts {
    long max_prompt_tokens;   /* longest judge prompt (either order), chat template included */
    uint64_t seed;            /* --seed */
    uint64_t shard_k, shard_n;
    bool keep_text, quiet;
} sr_pairwise_opts;

/* The engine's cap (generate.h) for judgements of max_tokens: the judge
 * prompt, the judgement and the forced verdict line after it. */
int sr_pairwise_cap(const sr_pairwise_opts *o, int max_tokens);

/* Judge every record of cli's input (a bad record exits 3, or is skipped)
 * and write them to cli's output. eo->cap must be sr_pairwise_cap's. Exits
 * 1 on failure. */
void sr_pairwise_run(sr_cli *cli, sr_llm *llm, const sr_pairwise *pw, const sr_pairwise_opts *o,
                     const sr_gen_opts *eo);

#endif
