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

/* --- sr-filter-oasst (lib/sr/oasst.c): the --keep split of OASST trees --- */

/* Where a tree falls in the split, 0..99: XXH64(tree id, XXH64(salt)) % 100.
 * --keep P keeps the trees below P; --held-out the others. */
unsigned sr_split_percentile(const char *tree_id, size_t n, const char *salt, size_t salt_len);

#endif
