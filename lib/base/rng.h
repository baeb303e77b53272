/* rng.h — the project's one random stream: splitmix64, 64 bits of state.
 *
 * Everything random (a sample's tokens, a record's shots, a training run's
 * shuffle, a random-init model) draws from an sr_rng seeded by a rule in
 * ids.h, so a record's draws depend on its id and --seed alone (DESIGN §4). */
#ifndef SR_RNG_H
#define SR_RNG_H

#include <stdint.h>

typedef struct sr_rng { uint64_t s; } sr_rng;

static inline uint64_t sr_rng_next(sr_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* [0, 1), 53 bits. */
static inline double sr_rng_uniform(sr_rng *r) { return (sr_rng_next(r) >> 11) * 0x1.0p-53; }

#endif
