/* winrate.h — a head-to-head result: how often model A's answer beat model
 * B's on the same prompts, as the paper's tables report it (METHOD
 * "Results": M1/M2/M3 against the SFT baseline), with
 *
 *   shares       win, tie and loss of A, over the prompts judged
 *   win rate     (wins + ties / 2) / prompts, the usual single figure
 *   95% interval for each, by the percentile bootstrap over prompts
 *   LC win rate  the length-controlled win rate: a logistic regression of
 *                the outcome on the two answers' length difference, read at
 *                zero difference — what the win rate would be if A's
 *                answers were as long as B's (the idea of AlpacaEval 2.0's
 *                LC win rate). A raw rate well above the LC rate means A
 *                wins by being longer, the drift self-rewarding amplifies.
 *
 * The regression: outcome y (1 win, 1/2 tie, 0 loss) ~ sigmoid(a + b z), z =
 * tanh(d / s), d = len_a - len_b, s = the standard deviation of d over all
 * prompts (tanh bounds the pull of a few very long answers); fitted by
 * Newton's method on the cross-entropy with a small ridge (1e-3 on a and b)
 * so a clean sweep still has a finite fit. LC = sigmoid(a). With every d
 * equal to zero it is the plain win rate (up to the ridge). */
#ifndef SR_WINRATE_H
#define SR_WINRATE_H

#include <stddef.h>
#include <stdint.h>

/* One prompt: A's outcome and both answers' lengths (any unit, the same for
 * both; sr uses tokens). */
typedef struct sr_h2h {
    double outcome;     /* 1 A won, 0.5 tie, 0 B won */
    double len_a, len_b;
} sr_h2h;

typedef struct sr_interval { double value, lo, hi; } sr_interval;

typedef struct sr_winrate {
    size_t n;                       /* prompts */
    sr_interval win, tie, loss;     /* shares of n */
    sr_interval rate;               /* (win + tie / 2) */
    sr_interval lc_rate;            /* length-controlled */
    double length_slope;            /* b: > 0 when the longer answer tends to win */
    double mean_len_a, mean_len_b;
} sr_winrate;

/* The default number of bootstrap resamples. */
#define SR_WINRATE_RESAMPLES 1000

/* Fill *w from n prompts, the intervals from `resamples` bootstrap draws of
 * the stream sr_rng_bootstrap(seed) (resamples 0: intervals equal the
 * value). 0, or -1 when n is 0 or memory runs out. */
int sr_winrate_compute(const sr_h2h *x, size_t n, int resamples, uint64_t seed, sr_winrate *w);

/* The LC fit alone over x[idx[0..n-1]] (idx NULL: x in order) with the
 * length scale s (> 0; 0 makes z = 0): sigmoid(a), and b in *slope (may be
 * NULL). */
double sr_winrate_lc(const sr_h2h *x, const size_t *idx, size_t n, double s, double *slope);

#endif
