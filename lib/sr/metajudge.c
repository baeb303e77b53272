/* metajudge.c — judgement ratings from battles, and the caps on judge
 * pairs (metajudge.h). */
#include "sr/metajudge.h"

#include <math.h>
#include <stdlib.h>

#define BT_ITER 500
#define BT_TOL 1e-12

int sr_meta_ratings(const sr_battle *b, size_t nb, size_t n, double *rating)
{
    double *p = malloc(n * sizeof *p), *w = malloc(n * sizeof *w);
    if (!p || !w) { free(p); free(w); return -1; }
    /* Wins (a tie half each), with the prior's half win against an average
     * judgement of strength 1. */
    for (size_t i = 0; i < n; i++) { p[i] = 1; w[i] = 0.5; }
    for (size_t k = 0; k < nb; k++) {
        w[b[k].i] += b[k].outcome;
        w[b[k].j] += 1 - b[k].outcome;
    }
    /* Hunter's MM iteration: p_i = W_i / sum over i's games of 1/(p_i + p_opp),
     * the prior's game against strength 1 included. */
    double *den = rating;       /* scratch until the end */
    for (int it = 0; it < BT_ITER; it++) {
        for (size_t i = 0; i < n; i++) den[i] = 1 / (p[i] + 1);
        for (size_t k = 0; k < nb; k++) {
            double d = 1 / (p[b[k].i] + p[b[k].j]);
            den[b[k].i] += d;
            den[b[k].j] += d;
        }
        double change = 0;
        for (size_t i = 0; i < n; i++) {
            double q = w[i] / den[i];
            change = fmax(change, fabs(log(q / p[i])));
            p[i] = q;
        }
        if (change < BT_TOL) break;
    }
    for (size_t i = 0; i < n; i++) rating[i] = 1000 + 400 * log10(p[i]);
    free(p);
    free(w);
    return 0;
}

typedef struct ranked { uint64_t key; size_t i; } ranked;

static int by_key(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

size_t sr_meta_cap(const sr_meta_cand *c, size_t n, uint64_t actor_pairs, const sr_meta_caps *caps,
                   unsigned char *keep)
{
    for (size_t i = 0; i < n; i++) keep[i] = 0;
    ranked *r = malloc((n ? n : 1) * sizeof *r);
    if (!r) return 0;
    for (size_t i = 0; i < n; i++) r[i] = (ranked){ c[i].key, i };
    qsort(r, n, sizeof *r, by_key);
    double allow = floor(caps->share / (1 - caps->share) * (double)actor_pairs + 1e-9);
    size_t total = allow < (double)n ? (size_t)allow : n;
    /* The bucket cap on what the share cap leaves; a bucket's surplus is
     * given to the next keys in order, so the total is reached when the
     * buckets allow it. */
    size_t per = (size_t)floor(caps->bucket_share * (double)total + 1e-9), kept = 0;
    if (per < 1) per = 1;
    size_t used[SR_META_BUCKETS] = { 0 };
    for (size_t k = 0; k < n && kept < total; k++) {
        const sr_meta_cand *e = &c[r[k].i];
        int bk = e->bucket < 0 ? 0 : e->bucket >= SR_META_BUCKETS ? SR_META_BUCKETS - 1 : e->bucket;
        if (used[bk] >= per) continue;
        used[bk]++;
        keep[r[k].i] = 1;
        kept++;
    }
    free(r);
    return kept;
}
