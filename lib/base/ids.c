/* ids.c — XXH64-based ids, shards and seeds: every rule of DESIGN §2 and §4. */
#include "base/ids.h"

#include <errno.h>
#include <stdlib.h>
#include <xxhash.h>

uint64_t sr_hash(const void *data, size_t n, uint64_t seed) { return XXH64(data, n, seed); }

void sr_hex64(uint64_t h, char out[17])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, h >>= 4) out[i] = digits[h & 15];
    out[16] = 0;
}

int sr_shard_parse(const char *s, uint64_t *k, uint64_t *n)
{
    char *end;
    errno = 0;
    unsigned long long a = strtoull(s, &end, 10);
    if (errno || end == s || *end != '/' || *s == '-') return -1;
    const char *t = end + 1;
    unsigned long long b = strtoull(t, &end, 10);
    if (errno || end == t || *end || *t == '-' || b == 0 || a >= b) return -1;
    *k = a;
    *n = b;
    return 0;
}

bool sr_shard_keep(const char *id, size_t n, uint64_t shard_k, uint64_t shard_n)
{
    return XXH64(id, n, 0) % shard_n == shard_k;
}

uint64_t sr_record_seed(const char *id, size_t id_len, uint64_t seed)
{
    return sr_hash(id, id_len, seed);
}

sr_rng sr_rng_for(uint64_t record_seed, uint64_t sample)
{
    /* Hash rather than add: streams of neighbouring samples must not overlap. */
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(sample >> (8 * i));
    return (sr_rng){ sr_hash(b, sizeof b, record_seed) };
}

/* Random init: the seed is the state, as the benchmarks and GPU tests have
 * always drawn their models (a new rule would change every such model). */
sr_rng sr_rng_for_init(uint64_t seed)
{
    return (sr_rng){ seed };
}
