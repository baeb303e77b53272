/* sample.c — the sampler (see sample.h): the repetition penalty, the
 * temperature softmax and the top-k / top-p / min-p cuts over one host row
 * of logits, then one draw from the sample's stream. Every choice before the
 * draw is exact and ordered: the same row gives the same candidates, in the
 * same order. */
#include "lm/sample.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/ids.h"
#include "kernels.h"

int sr_sample_check(const sr_sample_opts *o, char *err, size_t errlen)
{
    if (!isfinite(o->temperature) || o->temperature > 100) {
        snprintf(err, errlen, "temperature %g: expected a number in [0, 100]", o->temperature);
        return -1;
    }
    if (!(o->top_p > 0 && o->top_p <= 1)) {
        snprintf(err, errlen, "top-p %g: expected a number in (0, 1]", o->top_p);
        return -1;
    }
    if (!(o->min_p >= 0 && o->min_p <= 1)) {
        snprintf(err, errlen, "min-p %g: expected a number in [0, 1]", o->min_p);
        return -1;
    }
    if (!(o->repeat_penalty > 0 && o->repeat_penalty <= 100)) {
        snprintf(err, errlen, "repeat penalty %g: expected a number in (0, 100]", o->repeat_penalty);
        return -1;
    }
    return 0;
}

/* CTRL's penalty, once per distinct id: a positive logit is divided by the
 * penalty, a negative one multiplied, so both move toward less likely. p
 * marks the ids already done (it is overwritten by the sampler later). */
static void penalise(float *logits, const int32_t *hist, size_t n_hist, int n, float pen, float *p)
{
    for (size_t i = 0; i < n_hist; i++) if (hist[i] >= 0 && hist[i] < n) p[hist[i]] = 0;
    for (size_t i = 0; i < n_hist; i++) {
        int32_t t = hist[i];
        if (t < 0 || t >= n || p[t] != 0) continue;
        logits[t] = logits[t] > 0 ? logits[t] / pen : logits[t] * pen;
        p[t] = 1;
    }
}

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

int32_t sr_sample_next(const sr_sample_opts *o, float *logits, int n,
                       const int32_t *history, size_t n_hist, sr_rng *rng,
                       float *p, int *idx)
{
    /* A NaN passes no cut (every comparison is false) and an infinity makes
     * the softmax NaN, so the candidates would be none: a broken model's
     * numbers, refused before they can pick an id. */
    for (int i = 0; i < n; i++)
        if (!isfinite(logits[i])) return -1;
    if (o->repeat_penalty != 1.0f && n_hist)
        penalise(logits, history, n_hist, n, o->repeat_penalty, p);
    if (o->temperature <= 0) return sr_argmax(logits, n);
    double total = sr_sample_probs(p, logits, n, o->temperature), mass;
    int c = sr_sample_filter(p, n, total, o->top_k, o->top_p, o->min_p, idx, &mass);
    /* One uniform per token, whether or not the cuts left a choice, so a
     * stream's later draws do not depend on earlier candidate counts. */
    double r = sr_rng_uniform(rng) * mass, cum = 0;
    for (int j = 0; j < c; j++) {
        cum += p[idx[j]];
        if (r < cum) return idx[j];
    }
    return idx[c - 1];
}

double sr_sample_logprobs(const float *logits, int n, int k, int32_t *ids, float *lp)
{
    float mx = logits[0];
    for (int i = 1; i < n; i++) if (logits[i] > mx) mx = logits[i];
    double sum = 0;
    for (int i = 0; i < n; i++) sum += exp((double)logits[i] - mx);
    const double lse = mx + log(sum);
    /* The top k by insertion: a later id enters only when strictly more
     * probable than the last kept, so ties keep the lower id first. */
    int m = 0;
    for (int i = 0; i < n && k > 0; i++) {
        float x = logits[i];
        if (m == k && !(x > logits[ids[k - 1]])) continue;
        int j = m < k ? m++ : k - 1;
        while (j > 0 && x > logits[ids[j - 1]]) { ids[j] = ids[j - 1]; j--; }
        ids[j] = i;
    }
    for (int j = 0; j < k; j++) lp[j] = (float)((double)logits[ids[j]] - lse);
    return lse;
}
