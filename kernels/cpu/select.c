/* select.c — argmax and top-k over a host vector (tests and lib/lm/sample.c). */
#include "cpu.h"

int sr_argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[best]) best = i;
    return best;
}

void sr_topk(const float *x, int n, int k, int *idx, float *val)
{
    /* Insertion into a sorted list of k: O(n) for the usual small k, since
     * most elements fail the first comparison against the k-th best. */
    if (k <= 0) return;
    int have = 0;
    for (int i = 0; i < n; i++) {
        if (have == k && !(x[i] > x[idx[k - 1]])) continue;
        int p = have < k ? have++ : k - 1;
        while (p > 0 && x[i] > x[idx[p - 1]]) { idx[p] = idx[p - 1]; p--; }
        idx[p] = i;
    }
    if (val) for (int j = 0; j < k; j++) val[j] = x[idx[j]];
}
