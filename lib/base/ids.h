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

/* The stream a random-init model (lm/model.h) fills its weights from: the
 * seed itself, so a preset and a seed name one model on every machine. */
sr_rng sr_rng_for_init(uint64_t seed);

#endif
