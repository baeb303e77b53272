/* candidates.h — N candidate replies per prompt record (METHOD step 2), on
 * the ordered driver (sr/ordered.h): each prompt record {id, prompt,
 * [system]} is rendered with the model's chat template and sampled n times
 * from one prefill; its candidates go out in input order, sample by sample,
 * every key of the prompt record kept:
 *
 *   {id, prompt_id, prompt, response, sample, finish, tokens}
 *
 * A candidate's id is sr_candidate_id(prompt id, sample); its samples draw
 * from sr_record_seed(prompt id, seed) (base/ids.h). */
#ifndef SR_CANDIDATES_H
#define SR_CANDIDATES_H

#include <stdbool.h>
#include <stdint.h>

#include "io/cli.h"
#include "lm/generate.h"
#include "lm/llm.h"

typedef struct sr_cand_opts {
    long n;                   /* samples per prompt */
    long max_prompt_tokens;   /* longest prompt accepted, chat template included */
    uint64_t seed;            /* --seed */
    uint64_t shard_k, shard_n;
    bool quiet;               /* no progress or summary */
    bool emit_ids;            /* response_ids: the reply's ids (tokens of them) */
    int logprobs;             /* k > 0: top_logprobs (k {id, logprob} per reply token) and
                                 response_logprobs (the chosen token's); as eo->logprobs */
} sr_cand_opts;

/* Read cli's prompt records (a bad one exits 3, or is skipped), generate
 * with engine options eo and write the candidates to cli's output; the
 * summary on standard error unless quiet. */
void sr_candidates_run(sr_cli *cli, sr_llm *llm, const sr_cand_opts *o, const sr_gen_opts *eo);

#endif
