/* qact_cases.h — the activation rows the 8-bit quantizers are checked on,
 * made the same way by tests/golden/qact/qact_ref.c (against libggml) and
 * tests/unit/test_qact.c (against sr): case i is 256 floats from a
 * generator seeded by i alone. The golden file records a hash of each row,
 * so a change here shows up as a hash mismatch, not as a wrong quantizer.
 *
 * Kinds (i % QACT_KINDS): gaussian-like rows at scales from 1e-30 to 1e30;
 * rows with exact ties (k + 1/2 after scaling, which roundf and
 * round-to-even treat differently); zero blocks; a lone value; a block whose
 * largest magnitude appears with both signs; an outlier among small values;
 * -0.0; values at multiples of max/127; the smallest maxima allowed (1e-36);
 * the largest floats. Never NaN or inf (undefined in ggml's reference). */
#ifndef QACT_CASES_H
#define QACT_CASES_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define QACT_N 256
#define QACT_KINDS 12

static uint64_t qact_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float qact_unit(uint64_t *s)   /* uniform in [-1, 1) */
{
    return (float)((double)(qact_next(s) >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static float qact_gauss(uint64_t *s)   /* a sum of four uniforms */
{
    return (qact_unit(s) + qact_unit(s) + qact_unit(s) + qact_unit(s)) * 0.5f;
}

static void qact_case(int i, float *x)
{
    uint64_t s = 0x5eed0000ull + (uint64_t)i;
    static const float scales[] = { 1e-30f, 1e-6f, 0.01f, 1.0f, 3.0f, 100.0f, 1e4f, 1e30f };
    float sc = scales[qact_next(&s) % 8];
    for (int j = 0; j < QACT_N; j++) x[j] = qact_gauss(&s) * sc;
    int kind = i % QACT_KINDS, at = (int)(qact_next(&s) % QACT_N);
    switch (kind) {
    case 1:   /* ties: with max 127 (d = 1), values k + 0.5 */
        for (int j = 0; j < QACT_N; j++) x[j] = (float)((int)(qact_next(&s) % 254) - 127) + 0.5f;
        for (int b = 0; b < QACT_N; b += 32) x[b + (int)(qact_next(&s) % 32)] = (i & 1) ? 127.0f : -127.0f;
        break;
    case 2:   /* zero blocks, alternately */
        for (int j = 0; j < QACT_N; j++) if ((j / 32) % 2 == 0) x[j] = 0.0f;
        if (i % 24 == 2) memset(x, 0, sizeof(float) * QACT_N);
        break;
    case 3:   /* a lone value */
        memset(x, 0, sizeof(float) * QACT_N);
        x[at] = qact_unit(&s) * sc;
        break;
    case 4:   /* largest magnitude with both signs, in either order */
        x[at] = sc * 4; x[(at + 1 + (int)(qact_next(&s) % 255)) % QACT_N] = -sc * 4;
        break;
    case 5:   /* an outlier */
        x[at] = sc * 1000.0f * ((i & 1) ? 1 : -1);
        break;
    case 6:   /* signed zeros among values */
        for (int j = 0; j < QACT_N; j += 3) x[j] = -0.0f;
        break;
    case 7:   /* multiples of max/127 and halfway points between them */
        for (int j = 0; j < QACT_N; j++) x[j] = sc * (float)((int)(qact_next(&s) % 255) - 127) / 127.0f
                                               * ((j & 1) ? 1.0f : 1.0f + 1.0f / 254.0f);
        break;
    case 8:   /* the smallest maxima allowed */
        for (int j = 0; j < QACT_N; j++) x[j] = qact_unit(&s) * 1e-36f;
        x[at] = 1e-36f * ((i & 1) ? 1 : -1);
        break;
    case 9:   /* the largest floats */
        for (int j = 0; j < QACT_N; j++) x[j] = qact_unit(&s) * 3.0e38f;
        break;
    case 10:  /* small integers (exact products) */
        for (int j = 0; j < QACT_N; j++) x[j] = (float)((int)(qact_next(&s) % 17) - 8);
        break;
    default:  /* plain */
        break;
    }
}

#endif
