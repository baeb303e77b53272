/* pairs.c — picking chosen/rejected, and balancing EFT scores. */
#include "sr/pairs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The neutral tie-break: lower sample index, then smaller id, then earlier. */
static int neutral(const sr_cand *a, const sr_cand *b)
{
    if (a->sample != b->sample) return a->sample < b->sample ? -1 : 1;
    size_t n = a->id.n < b->id.n ? a->id.n : b->id.n;
    int c = n ? memcmp(a->id.p, b->id.p, n) : 0;
    if (c) return c;
    if (a->id.n != b->id.n) return a->id.n < b->id.n ? -1 : 1;
    return (a->order > b->order) - (a->order < b->order);
}

/* Whether a should be chosen over b (sign -1: prefer higher scores) or
 * rejected over b (sign +1: prefer lower scores). */
static bool better_plain(const sr_cand *a, const sr_cand *b, int sign)
{
    if (a->score != b->score) return sign * (a->score - b->score) < 0;
    return neutral(a, b) < 0;
}

/* Length control: chosen prefers shorter (sign -1), rejected longer (+1),
 * then the score rule above. */
static bool better_length(const sr_cand *a, const sr_cand *b, int sign)
{
    if (a->length != b->length) return sign < 0 ? a->length < b->length : a->length > b->length;
    return better_plain(a, b, sign);
}

enum sr_pick sr_pairs_pick(const sr_cand *c, size_t n, const sr_pick_opts *o,
                           size_t *chosen, size_t *rejected)
{
    if (n < 2) return SR_PICK_SINGLE;
    double hi = c[0].score, lo = c[0].score;
    for (size_t i = 1; i < n; i++) {
        if (c[i].score > hi) hi = c[i].score;
        if (c[i].score < lo) lo = c[i].score;
    }
    if (hi == lo) return SR_PICK_TIE;

    size_t ch = n, rj = n;
    if (!o->length_control) {
        for (size_t i = 0; i < n; i++) {
            if (ch == n || better_plain(&c[i], &c[ch], -1)) ch = i;
            if (rj == n || better_plain(&c[i], &c[rj], +1)) rj = i;
        }
    } else {
        double band = o->rho * (hi - lo);
        for (size_t i = 0; i < n; i++) {
            if (c[i].score >= hi - band - SR_PAIRS_EPS && (ch == n || better_length(&c[i], &c[ch], -1))) ch = i;
            if (c[i].score <= lo + band + SR_PAIRS_EPS && (rj == n || better_length(&c[i], &c[rj], +1))) rj = i;
        }
    }
    *chosen = ch;
    *rejected = rj;
    double gap = c[ch].score - c[rj].score;
    if (ch == rj || gap <= 0 || gap < o->min_gap - SR_PAIRS_EPS) return SR_PICK_GAP;
    return SR_PICK_OK;
}

/* ---- EFT balancing ---------------------------------------------------------- */

typedef struct keyed { uint64_t key; size_t pos; } keyed;

static int by_key(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

int sr_eft_balance_keep(const int *bucket, const uint64_t *key, size_t n, bool *keep,
                        sr_eft_balance *st)
{
    memset(st, 0, sizeof *st);
    for (size_t i = 0; i < n; i++) st->before[bucket[i]]++;
    size_t total = 0, nonempty = 0;
    for (int b = 0; b < SR_EFT_BUCKETS; b++) {
        total += st->before[b];
        nonempty += st->before[b] > 0;
    }
    st->target = nonempty ? (2 * total + nonempty) / (2 * nonempty) : 0;   /* round(total / nonempty) */

    keyed *k = malloc((n ? n : 1) * sizeof *k);
    if (!k) return -1;
    for (int b = 0; b < SR_EFT_BUCKETS; b++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (bucket[i] == b) k[m++] = (keyed){ key[i], i };
        if (m > st->target) qsort(k, m, sizeof *k, by_key);
        for (size_t j = 0; j < m; j++) keep[k[j].pos] = j < st->target || m <= st->target;
        st->after[b] = m > st->target ? st->target : m;
    }
    free(k);
    return 0;
}
