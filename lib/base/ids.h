/* ids.h — stable ids and shards from XXH64 (DESIGN §2, §4). */
#ifndef SR_IDS_H
#define SR_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint64_t sr_hash(const void *data, size_t n, uint64_t seed);

/* 16 lowercase hex digits and a NUL. */
void sr_hex64(uint64_t h, char out[17]);

/* "K/N" with 0 <= K < N: 0 and the values, or -1 if malformed. */
int sr_shard_parse(const char *s, uint64_t *k, uint64_t *n);
/* Whether the record with this id belongs to shard K of N: XXH64(id) % N == K. */
bool sr_shard_keep(const char *id, size_t n, uint64_t shard_k, uint64_t shard_n);

#endif
