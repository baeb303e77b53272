/* sample.c — the sampler's helpers over one row of logits: temperature
 * softmax and the top-k / top-p / min-p cuts. Host memory; the random draw
 * itself is the caller's (lib/lm/sample.c), so every choice here is exact and
 * ordered: the same row gives the same candidates, in the same order. */
#include "cpu.h"

#include <math.h>
#include <stdlib.h>

double sr_sample_probs(float *p, const float *x, int n, float temperature)
{
    float mx = x[0];
    for (int i = 1; i < n; i++) if (x[i] > mx) mx = x[i];
    const float inv = 1.0f / temperature;
    double sum = 0;
    for (int i = 0; i < n; i++) { p[i] = expf((x[i] - mx) * inv); sum += p[i]; }
    return sum;
}

/* Most probable first; equal probabilities by lower id, so the order is total. */
static int by_prob(const void *a, const void *b, void *ctx)
{
    const float *p = ctx;
    int i = *(const int *)a, j = *(const int *)b;
    if (p[i] != p[j]) return p[i] > p[j] ? -1 : 1;
    return (i > j) - (i < j);
}

/* Every id whose probability is at least t, in id order; their mass in *m. */
static int collect(const float *p, int n, float t, int *idx, double *m)
{
    int c = 0;
    double s = 0;
    for (int i = 0; i < n; i++)
        if (p[i] >= t) { idx[c++] = i; s += p[i]; }
    *m = s;
    return c;
}

int sr_sample_filter(const float *p, int n, double total, int top_k, float top_p, float min_p,
                     int *idx, double *mass)
{
    float pmax = p[0];
    for (int i = 1; i < n; i++) if (p[i] > pmax) pmax = p[i];
    const int cut_k = top_k > 0 && top_k < n, cut_p = top_p < 1.0f;
    const float floor_p = min_p > 0 ? min_p * pmax : 0.0f;
    int c;
    double base;
    if (!cut_k && !cut_p) {
        /* No ranking is needed: draw over the survivors in id order. */
        c = collect(p, n, floor_p, idx, mass);
        return c;
    }
    if (cut_k && top_k <= 512) {
        sr_topk(p, n, top_k, idx, NULL);      /* sorted, ties by lower id */
        c = top_k;
        base = 0;
        for (int j = 0; j < c; j++) base += p[idx[j]];
    } else if (cut_k) {
        for (int i = 0; i < n; i++) idx[i] = i;
        qsort_r(idx, (size_t)n, sizeof *idx, by_prob, (void *)p);
        c = top_k;
        base = 0;
        for (int j = 0; j < c; j++) base += p[idx[j]];
    } else {
        /* top-p alone: the kept set is a prefix of the ranking, so only the
         * ids above a threshold that already holds top_p of the mass need
         * sorting — usually a few hundred of the vocabulary. */
        double m;
        float t = pmax * 1e-3f;
        for (;;) {
            c = collect(p, n, t, idx, &m);
            if (m >= top_p * total || t == 0.0f) break;
            t = t > 1e-30f ? t * 1e-3f : 0.0f;
        }
        qsort_r(idx, (size_t)c, sizeof *idx, by_prob, (void *)p);
        base = total;
    }
    if (cut_p) {
        const double target = top_p * base;
        double cum = 0;
        for (int j = 0; j < c; j++) {
            cum += p[idx[j]];
            if (cum >= target) { c = j + 1; break; }
        }
    }
    while (c > 1 && p[idx[c - 1]] < floor_p) c--;   /* min-p: a suffix of the ranking */
    double s = 0;
    for (int j = 0; j < c; j++) s += p[idx[j]];
    *mass = s;
    return c;
}
