/* test_pairs.c — EFT score balancing (sr_eft_balance_keep) as a property
 * over many random score mixes: every bucket ends at the target (the
 * rounded mean of the non-empty buckets) or keeps all it had, so the kept
 * counts differ by at most 1 except where a score has too few judgements to
 * reach the others; a cut bucket keeps its smallest keys; the choice does
 * not depend on input order. The hand-made cases are in tests/cli/pairs.bats. */
#include "test.h"
#include "base/ids.h"
#include "sr/eft.h"

#include <stdbool.h>
#include <stdint.h>

enum { NB = 6 };                           /* the scores 0..5 */

static sr_rng rng;                         /* deterministic test data */

static uint64_t next_u64(void) { return sr_rng_next(&rng); }

enum { MAXN = 400 };

/* n judgements with scores drawn from a skewed mix (4 most common, as the
 * SFT judge writes them; some scores often absent). */
static size_t draw_case(int *bucket, uint64_t *key)
{
    size_t n = next_u64() % MAXN;
    unsigned weight[NB];
    unsigned total = 0;
    for (int b = 0; b < NB; b++) {
        weight[b] = next_u64() % 3 == 0 ? 0 : (unsigned)(next_u64() % 10 + 1);
        if (b == 4) weight[b] *= 5;
        total += weight[b];
    }
    if (total == 0) { weight[4] = 1; total = 1; }
    for (size_t i = 0; i < n; i++) {
        unsigned r = (unsigned)(next_u64() % total), b = 0;
        while (r >= weight[b]) r -= weight[b++];
        bucket[i] = (int)b;
        key[i] = next_u64();
    }
    return n;
}

TEST(eft_balance_properties)
{
    static int bucket[MAXN], pbucket[MAXN];
    static uint64_t key[MAXN], pkey[MAXN];
    static bool keep[MAXN], pkeep[MAXN];
    size_t cut_cases = 0;
    rng = sr_rng_for(12345, 0);
    for (int trial = 0; trial < 500; trial++) {
        size_t n = draw_case(bucket, key);
        sr_eft_balance st;
        CHECK(sr_eft_balance_keep(bucket, key, n, NB, keep, &st) == 0);
        size_t total = 0, nonempty = 0, kept[NB] = { 0 };
        for (int b = 0; b < NB; b++) { total += st.before[b]; nonempty += st.before[b] > 0; }
        CHECK(total == n);
        /* the target: total / nonempty rounded, halves up */
        if (nonempty) CHECK(st.target == (size_t)floor((double)total / (double)nonempty + 0.5));
        for (size_t i = 0; i < n; i++) kept[bucket[i]] += keep[i];
        int cut = 0;
        for (int b = 0; b < NB; b++) {
            size_t want = st.before[b] < st.target ? st.before[b] : st.target;
            CHECK(st.after[b] == want && kept[b] == want);
            cut |= st.before[b] > st.target;
        }
        cut_cases += cut;
        /* at most 1 apart, unless the smaller bucket kept everything it had */
        for (int a = 0; a < NB; a++)
            for (int b = 0; b < NB; b++)
                if (kept[a] > kept[b] + 1) CHECK(kept[b] == st.before[b]);
        /* a cut bucket keeps its smallest keys */
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                if (bucket[i] == bucket[j] && keep[i] && !keep[j]) CHECK(key[i] <= key[j]);
        /* the same judgements kept from the input reversed */
        for (size_t i = 0; i < n; i++) { pbucket[i] = bucket[n - 1 - i]; pkey[i] = key[n - 1 - i]; }
        CHECK(sr_eft_balance_keep(pbucket, pkey, n, NB, pkeep, &st) == 0);
        for (size_t i = 0; i < n; i++) CHECK(pkeep[i] == keep[n - 1 - i]);
    }
    printf("#   500 random score mixes, %zu of them with a bucket cut\n", cut_cases);
    CHECK(cut_cases > 100);
}

TEST(eft_balance_empty)
{
    sr_eft_balance st;
    bool keep[1];
    CHECK(sr_eft_balance_keep(NULL, NULL, 0, NB, keep, &st) == 0);
    CHECK(st.target == 0);
    for (int b = 0; b < NB; b++) CHECK(st.before[b] == 0 && st.after[b] == 0);
}

int main(void)
{
    RUN(eft_balance_properties);
    RUN(eft_balance_empty);
    return test_done();
}
