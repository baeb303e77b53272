/* ids.c — XXH64-based ids, shards and seeds: every rule of DESIGN §2 and §4. */
#include "base/ids.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#define XXH_STATIC_LINKING_ONLY     /* XXH64_state_t on the stack, for ids hashed in parts */
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

sr_rng sr_rng_epoch(uint64_t seed, int64_t epoch)
{
    return (sr_rng){ sr_hash(&epoch, sizeof epoch, seed) };
}

sr_rng sr_rng_bootstrap(uint64_t seed)
{
    return (sr_rng){ sr_hash("bootstrap", 9, seed) };
}

/* Odd multipliers keep two hashes from cancelling when they are equal. */
uint64_t sr_train_inputs_hash(uint64_t parent_hash, uint64_t data_hash)
{
    return parent_hash ^ (data_hash * 0x9e3779b97f4a7c15ull);
}

uint64_t sr_dpo_inputs_hash(uint64_t parent_hash, uint64_t data_hash, uint64_t ref_hash,
                            const char *settings, size_t settings_len)
{
    return sr_train_inputs_hash(parent_hash, data_hash) ^ (ref_hash * 0xc2b2ae3d27d4eb4full) ^
           sr_hash(settings, settings_len, 1);
}

/* --- generation and judging (lib/sr/candidates, selfinstruct, judging) --- */

void sr_candidate_id(const char *prompt_id, size_t n, long sample, char hex[17])
{
    char key[24];
    int kn = snprintf(key, sizeof key, "/%ld", sample);
    XXH64_state_t st;    /* on the stack: XXH_STATIC_LINKING_ONLY, as sr_pair_id */
    XXH64_reset(&st, 0);
    XXH64_update(&st, prompt_id, n);
    XXH64_update(&st, key, (size_t)kn);
    sr_hex64(XXH64_digest(&st), hex);
}

uint64_t sr_text_key(const char *normalised, size_t n) { return sr_hash(normalised, n, 0); }

uint64_t sr_si_request_seed(uint64_t g, uint64_t seed)
{
    char id[32];
    int n = snprintf(id, sizeof id, "self-instruct/%llu", (unsigned long long)g);
    return sr_record_seed(id, (size_t)n, seed);
}

sr_rng sr_si_shots_rng(uint64_t request_seed) { return sr_rng_for(request_seed, 1u << 30); }

/* The record seed's 8 bytes hashed with seed h. */
static uint64_t rehash(uint64_t record_seed, uint64_t h)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(record_seed >> (8 * i));
    return sr_hash(b, sizeof b, h);
}

uint64_t sr_judge_retry_seed(uint64_t record_seed, int attempt) { return rehash(record_seed, (uint64_t)attempt); }

uint64_t sr_judge_force_seed(uint64_t record_seed, int s)
{
    return rehash(record_seed, ((uint64_t)1 << 32) + (uint64_t)s);
}

uint64_t sr_pairwise_order_seed(uint64_t record_seed, int order)
{
    return order == 0 ? record_seed : rehash(record_seed, ((uint64_t)1 << 33) + (uint64_t)order);
}

/* --- sr-pairs (lib/sr/pairs.c, lib/sr/eft.c): pair ids and EFT example ids --- */

void sr_pair_id(const char *prompt_id, size_t prompt_id_len, const char *chosen_id, size_t chosen_id_len,
                const char *rejected_id, size_t rejected_id_len, char out[17])
{
    /* In parts, so no buffer need hold the three ids at once; the same hash
     * as XXH64 of the whole. An empty id may come as NULL. */
    XXH64_state_t st;
    XXH64_reset(&st, 0);
    XXH64_update(&st, prompt_id_len ? prompt_id : "", prompt_id_len);
    XXH64_update(&st, "", 1);
    XXH64_update(&st, chosen_id_len ? chosen_id : "", chosen_id_len);
    XXH64_update(&st, "", 1);
    XXH64_update(&st, rejected_id_len ? rejected_id : "", rejected_id_len);
    sr_hex64(XXH64_digest(&st), out);
}

void sr_eft_example_id(const char *reply_id, size_t reply_id_len, uint32_t judgement, char out[17])
{
    sr_hex64(sr_hash(reply_id_len ? reply_id : "", reply_id_len, judgement), out);
}

uint64_t sr_eft_balance_key(const char example_id[17], uint64_t seed)
{
    return sr_hash(example_id, 16, seed);
}

uint64_t sr_meta_cut_key(const char pair_id[17], uint64_t seed) { return sr_hash(pair_id, 16, seed); }

/* --- sr-filter-oasst (lib/sr/oasst.c): the --keep split of OASST trees --- */

unsigned sr_split_percentile(const char *tree_id, size_t n, const char *salt, size_t salt_len)
{
    return (unsigned)(sr_hash(tree_id, n, sr_hash(salt, salt_len, 0)) % 100);
}

/* Random init: the seed is the state, as the benchmarks and GPU tests have
 * always drawn their models (a new rule would change every such model). */
sr_rng sr_rng_for_init(uint64_t seed)
{
    return (sr_rng){ seed };
}
