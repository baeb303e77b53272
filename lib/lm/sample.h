/* sample.h — drawing the next token from a row of logits: temperature,
 * top-k, top-p, min-p and a repetition penalty, from a random stream that
 * belongs to one sample of one record (DESIGN §4).
 *
 * The stream of sample s of a record is seeded from XXH64(record id, --seed)
 * and s, never shared between slots, so what a record gets does not depend
 * on batch size, slot order, threads or shards. */
#ifndef SR_SAMPLE_H
#define SR_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "base/ids.h"     /* sr_rng, sr_rng_for, sr_record_seed */

typedef struct sr_sample_opts {
    float temperature;      /* <= 0: greedy (argmax, ties to the lowest id) */
    float top_p;            /* >= 1: off */
    float min_p;            /* <= 0: off */
    float repeat_penalty;   /* 1: off; > 1 discourages tokens already in the prompt or reply */
    int top_k;              /* <= 0: off */
} sr_sample_opts;

/* The paper's candidate settings (METHOD step 2). */
#define SR_SAMPLE_OPTS_DEFAULT { 0.7f, 0.9f, 0.0f, 1.0f, 0 }


/* Check options: 0, or -1 with the reason (a NaN, a top-p outside (0, 1], ...). */
int sr_sample_check(const sr_sample_opts *o, char *err, size_t errlen);

/* The sampler's two steps before the draw, over host memory (exposed for
 * tests). p[i] = exp((x[i] - max x) / temperature) for i < n (temperature
 * > 0): the unnormalised probabilities, the largest exactly 1. Returns their
 * sum, added in index order. */
double sr_sample_probs(float *p, const float *x, int n, float temperature);

/* The tokens a sampler may draw from p[n] (from sr_sample_probs, summing to
 * total), into idx (room for n): the top_k most probable (top_k <= 0: no
 * cut), then the fewest of those, most probable first, whose mass reaches
 * top_p of theirs (top_p >= 1: no cut), then those with p >= min_p times the
 * largest (min_p <= 0: no cut). Ties order by lower id. Returns the count
 * (at least 1); *mass receives the kept mass, added in the order of idx.
 * When no cut applies idx is every id in order, without sorting. */
int sr_sample_filter(const float *p, int n, double total, int top_k, float top_p, float min_p,
                     int *idx, double *mass);

/* The next token from logits[n]. The penalty, when on, rewrites logits of
 * the ids in history[n_hist] in place. p and idx are workspace of n each.
 * Deterministic: the same logits, history and stream give the same token.
 * Any non-finite logit (NaN, +inf or -inf) returns -1, nothing drawn: even
 * one infinity means the model's numbers have broken down, and a -inf
 * "mask" is no part of sr's models, so refusing the row is simplest and
 * safest. */
int32_t sr_sample_next(const sr_sample_opts *o, float *logits, int n,
                       const int32_t *history, size_t n_hist, sr_rng *rng,
                       float *p, int *idx);

/* The model's distribution at one step, as OpenAI's and llama.cpp's
 * logprobs report it: the log-softmax of the raw logits[n] (no penalty,
 * temperature or cuts). The k most probable ids (k <= n), most probable
 * first, ties to the lower id, into ids[k] with their natural-log
 * probabilities in lp[k]. Returns log(sum exp(logits)), so that the
 * logprob of any id i is logits[i] minus it. */
double sr_sample_logprobs(const float *logits, int n, int k, int32_t *ids, float *lp);

#endif
