/* test_logits.h — comparing logits with a reference's: the golden files
 * store float32 bit patterns as hex (exact, NaN included), and a difference
 * is judged against the spread of the logits (max - min), which does not
 * depend on the model's scale. Shared by test_quant_presets and test_arch. */
#ifndef SR_TEST_LOGITS_H
#define SR_TEST_LOGITS_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline int test_hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* n floats from their float32 bit patterns, 8 hex digits each; NULL when
 * hex is missing or of another length. */
static inline float *test_unhex_floats(const char *hex, size_t n)
{
    if (!hex || strlen(hex) != 8 * n) return NULL;
    float *f = malloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++) {
        uint32_t u = 0;
        for (int k = 0; k < 8; k++) u = u << 4 | (uint32_t)test_hexval(hex[8 * i + k]);
        memcpy(&f[i], &u, 4);
    }
    return f;
}

/* The largest |a - b|; infinite when either side has a NaN. */
static inline double test_max_abs_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (e != e) return INFINITY;
        if (e > d) d = e;
    }
    return d;
}

static inline double test_spread(const float *a, size_t n)
{
    double lo = a[0], hi = a[0];
    for (size_t i = 1; i < n; i++) { if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i]; }
    return hi - lo;
}

#endif
