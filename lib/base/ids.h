/* ids.h — stable ids and shards from XXH64 (DESIGN §2, §4). */
#ifndef SR_IDS_H
#define SR_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rng.h"

uint64_t sr_hash(const void *data, size_t n, uint64_t seed);

/* 16 lowercase hex digits and a NUL. */
void sr_hex64(uint64_t h, char out[17]);

/* "K/N" with 0 <= K < N: 0 and the values, or -1 if malformed. */
int sr_shard_parse(const char *s, uint64_t *k, uint64_t *n);
/* Whether the record with this id belongs to shard K of N: XXH64(id) % N == K. */
bool sr_shard_keep(const char *id, size_t n, uint64_t shard_k, uint64_t shard_n);

/* --- seeds (DESIGN §4): every random draw for a record starts here --- */

/* XXH64(record id, seed): the seed of everything random about one record. */
uint64_t sr_record_seed(const char *id, size_t id_len, uint64_t seed);
/* The stream of sample `sample` of the record whose seed is record_seed. */
sr_rng sr_rng_for(uint64_t record_seed, uint64_t sample);

/* --- training (DESIGN §5, §8): the data order and what a state must match --- */

/* The stream that shuffles epoch `epoch` of a training run seeded by seed. */
sr_rng sr_rng_epoch(uint64_t seed, int64_t epoch);
/* What a training state is tied to: the parent model's and the data's
 * hashes (sr-sft), and also the reference log-probs' and the loss
 * settings' (sr-dpo: settings is their text). */
uint64_t sr_train_inputs_hash(uint64_t parent_hash, uint64_t data_hash);
uint64_t sr_dpo_inputs_hash(uint64_t parent_hash, uint64_t data_hash, uint64_t ref_hash,
                            const char *settings, size_t settings_len);

/* --- generation and judging (lib/sr/candidates, selfinstruct, judging) --- */

/* A candidate's id: XXH64 of "<prompt id>/<sample index>", in hex. */
void sr_candidate_id(const char *prompt_id, size_t n, long sample, char hex[17]);
/* A self-instruct prompt's key (dedup) and, in hex, its id: XXH64 of its
 * normalised text (sr_si_normalise). */
uint64_t sr_text_key(const char *normalised, size_t n);
/* The seed of self-instruct request g (0, 1, ... over the whole run): the
 * record seed of the id "self-instruct/<g>". */
uint64_t sr_si_request_seed(uint64_t g, uint64_t seed);
/* The stream that picks request g's few-shot examples, from its seed: stream
 * 2^30, apart from the sampler's streams 0, 1, ... of the same seed. */
sr_rng sr_si_shots_rng(uint64_t request_seed);
/* The seed of a judged record's a-th retry (a >= 1): apart from its first
 * attempt's, and from the record alone, so a retry draws the same for any
 * batch or shard. */
uint64_t sr_judge_retry_seed(uint64_t record_seed, int attempt);
/* The seed of the forced score line of a record's judgement s: like a
 * retry's, with hash seeds 2^32 + s that no attempt number reaches. */
uint64_t sr_judge_force_seed(uint64_t record_seed, int s);

/* The seed of order `order` of a pairwise judgement (sr-judge --pairwise):
 * the record's own for the first (0), a rehash with 2^33 + order, which
 * neither a retry nor a forced line reaches, for the swapped one (1). Its
 * forced verdict line draws from sr_judge_force_seed(this, 0). */
uint64_t sr_pairwise_order_seed(uint64_t record_seed, int order);

/* --- sr-pairs (lib/sr/pairs.c, lib/sr/eft.c): pair ids and EFT example ids --- */

/* A preference pair's id: XXH64 (seed 0) of its prompt id, chosen id and
 * rejected id joined by NUL bytes, in hex. */
void sr_pair_id(const char *prompt_id, size_t prompt_id_len, const char *chosen_id, size_t chosen_id_len,
                const char *rejected_id, size_t rejected_id_len, char out[17]);
/* The id of the EFT example made from judgement `judgement` (0-based) of a
 * judged reply: XXH64 of the reply id with the judgement index as the seed. */
void sr_eft_example_id(const char *reply_id, size_t reply_id_len, uint32_t judgement, char out[17]);
/* The key that orders EFT examples when a score bucket is cut to size:
 * XXH64 of the example's 16 hex digits with --seed as the seed, so the
 * choice does not depend on input order. */
uint64_t sr_eft_balance_key(const char example_id[17], uint64_t seed);

/* --- sr-meta (lib/sr/metapass.c): the meta-judge's battles and judge pairs --- */

/* A judgement's id is sr_eft_example_id(reply id, index); a battle's and a
 * judge pair's are sr_pair_id(reply id, the two judgements' ids). The key
 * that orders judge pairs when the caps cut them: XXH64 of the pair id's 16
 * hex digits with --seed as the seed. */
uint64_t sr_meta_cut_key(const char pair_id[17], uint64_t seed);

/* --- sr-filter-oasst (lib/sr/oasst.c): the --keep split of OASST trees --- */

/* Where a tree falls in the split, 0..99: XXH64(tree id, XXH64(salt)) % 100.
 * --keep P keeps the trees below P; --held-out the others. */
unsigned sr_split_percentile(const char *tree_id, size_t n, const char *salt, size_t salt_len);

/* --- evaluation (lib/sr/winrate.c) --- */

/* The stream that draws a head-to-head report's bootstrap resamples: XXH64
 * of "bootstrap" with --seed as the seed, so an interval is the same on
 * every run of the same records. */
sr_rng sr_rng_bootstrap(uint64_t seed);

/* The stream a random-init model (lm/model.h) fills its weights from: the
 * seed itself, so a preset and a seed name one model on every machine. */
sr_rng sr_rng_for_init(uint64_t seed);

#endif
