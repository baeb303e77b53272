/* winrate.c — head-to-head shares, bootstrap intervals and the
 * length-controlled win rate (winrate.h). */
#include "sr/winrate.h"

#include <math.h>
#include <stdlib.h>

#include "base/ids.h"

#define LC_RIDGE 1e-3
#define LC_MAX_ITER 100

static const sr_h2h *item(const sr_h2h *x, const size_t *idx, size_t i)
{
    return idx ? &x[idx[i]] : &x[i];
}

/* The spread of the length differences: the unit of z. */
static double length_scale(const sr_h2h *x, size_t n)
{
    double mean = 0, ss = 0;
    for (size_t i = 0; i < n; i++) mean += x[i].len_a - x[i].len_b;
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = x[i].len_a - x[i].len_b - mean;
        ss += d * d;
    }
    return sqrt(ss / (double)n);
}

static double sigmoid(double t) { return 1.0 / (1.0 + exp(-t)); }

double sr_winrate_lc(const sr_h2h *x, const size_t *idx, size_t n, double s, double *slope)
{
    double a = 0, b = 0;
    for (int it = 0; it < LC_MAX_ITER; it++) {
        /* Gradient g and Hessian [haa hab; hab hbb] of the ridged
         * cross-entropy; one Newton step solves the 2x2 system. */
        double ga = LC_RIDGE * a, gb = LC_RIDGE * b;
        double haa = LC_RIDGE, hab = 0, hbb = LC_RIDGE;
        for (size_t i = 0; i < n; i++) {
            const sr_h2h *e = item(x, idx, i);
            double z = s > 0 ? tanh((e->len_a - e->len_b) / s) : 0;
            double p = sigmoid(a + b * z), w = p * (1 - p);
            ga += p - e->outcome;
            gb += (p - e->outcome) * z;
            haa += w;
            hab += w * z;
            hbb += w * z * z;
        }
        double det = haa * hbb - hab * hab;
        if (!(det > 0)) break;
        double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
        /* A step is bounded so a near-separable sample cannot overshoot
         * into exp() overflow; the fit is convex, so smaller steps still
         * reach the optimum. */
        double big = fmax(fabs(da), fabs(db));
        if (big > 4) { da *= 4 / big; db *= 4 / big; }
        a -= da;
        b -= db;
        if (big < 1e-10) break;
    }
    if (slope) *slope = b;
    return sigmoid(a);
}

/* win, tie, loss shares and the win rate of x[idx[..]]. */
static void shares(const sr_h2h *x, const size_t *idx, size_t n, double out[4])
{
    double win = 0, tie = 0;
    for (size_t i = 0; i < n; i++) {
        double o = item(x, idx, i)->outcome;
        win += o == 1.0;
        tie += o == 0.5;
    }
    out[0] = win / (double)n;
    out[1] = tie / (double)n;
    out[2] = 1 - out[0] - out[1];
    out[3] = out[0] + out[1] / 2;
}

static int cmp_double(const void *p, const void *q)
{
    double a = *(const double *)p, b = *(const double *)q;
    return (a > b) - (a < b);
}

/* The p-quantile of v[m], sorted in place, by linear interpolation. */
static double quantile(double *v, size_t m, double p)
{
    qsort(v, m, sizeof *v, cmp_double);
    double pos = p * (double)(m - 1);
    size_t k = (size_t)pos;
    if (k + 1 >= m) return v[m - 1];
    return v[k] + (pos - (double)k) * (v[k + 1] - v[k]);
}

/* Draw the resamples: figure f of resample r goes to draws[f * m + r]. */
static int bootstrap(const sr_h2h *x, size_t n, double s, size_t m, uint64_t seed, double *draws)
{
    size_t *idx = malloc(n * sizeof *idx);
    if (!idx) return -1;
    sr_rng rng = sr_rng_bootstrap(seed);
    for (size_t r = 0; r < m; r++) {
        for (size_t i = 0; i < n; i++) idx[i] = (size_t)(sr_rng_uniform(&rng) * (double)n);
        double f[4];
        shares(x, idx, n, f);
        for (int k = 0; k < 4; k++) draws[k * m + r] = f[k];
        draws[4 * m + r] = sr_winrate_lc(x, idx, n, s, NULL);
    }
    free(idx);
    return 0;
}

int sr_winrate_compute(const sr_h2h *x, size_t n, int resamples, uint64_t seed, sr_winrate *w)
{
    if (n == 0) return -1;
    *w = (sr_winrate){ .n = n };
    double s = length_scale(x, n), f[5];
    shares(x, NULL, n, f);
    f[4] = sr_winrate_lc(x, NULL, n, s, &w->length_slope);
    for (size_t i = 0; i < n; i++) {
        w->mean_len_a += x[i].len_a / (double)n;
        w->mean_len_b += x[i].len_b / (double)n;
    }
    sr_interval *out[5] = { &w->win, &w->tie, &w->loss, &w->rate, &w->lc_rate };
    for (int k = 0; k < 5; k++) *out[k] = (sr_interval){ f[k], f[k], f[k] };
    if (resamples <= 0) return 0;

    size_t m = (size_t)resamples;
    double *draws = malloc(5 * m * sizeof *draws);
    if (!draws || bootstrap(x, n, s, m, seed, draws) != 0) {
        free(draws);
        return -1;
    }
    for (int k = 0; k < 5; k++) {
        out[k]->lo = quantile(draws + k * m, m, 0.025);
        out[k]->hi = quantile(draws + k * m, m, 0.975);
    }
    free(draws);
    return 0;
}
