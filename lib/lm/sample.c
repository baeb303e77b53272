/* sample.c — the per-sample random stream and the sampler (see sample.h). */
#include "lm/sample.h"

#include <math.h>
#include <stdio.h>

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

int32_t sr_sample_next(const sr_sample_opts *o, float *logits, int n,
                       const int32_t *history, size_t n_hist, sr_rng *rng,
                       float *p, int *idx)
{
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
