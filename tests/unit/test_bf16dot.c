/* test_bf16dot.c — bf16 weights x fp32 activations (kernels/cpu/bf16dot*.c):
 * the widening paths (avx2, avx512) give the scalar reference's bits; the
 * vdpbf16ps path (avx512bf16) is within qdot.h's stated tolerance; outputs
 * do not depend on the rows computed with them; and the reference is close
 * to a double-precision dot product. Paths the CPU lacks skip, saying so. */
#include "test.h"
#include "cpu/qdot.h"

#include <stdint.h>

static uint64_t rng = 0x13198a2e03707344ull;
static float unif(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 40) / 16777216.0 * 2.0 - 1.0);
}

static uint16_t *rand_w(int rows, int k)
{
    uint16_t *w = malloc(sizeof *w * (size_t)rows * k + 1);
    for (size_t i = 0; i < (size_t)rows * k; i++) w[i] = quant_f32_to_bf16(unif() * 0.1f);
    return w;
}
static float *rand_x(int n, int k)
{
    float *x = malloc(sizeof *x * (size_t)n * k + 1);
    for (size_t i = 0; i < (size_t)n * k; i++) x[i] = unif() * ((i % 5) ? 1.0f : 30.0f);
    return x;
}

static int differ_bits;   /* outputs of the tolerance path whose bits differ (for the log) */

/* |y - y0| against 2^-8 * sum |w x| + 1e-30, or the bits when tol is 0. */
static int compare(sr_isa isa, int rows, int k, int n, int exact)
{
    uint16_t *w = rand_w(rows, k);
    float *x = rand_x(n, k), *y0 = malloc(sizeof(float) * rows * n), *y1 = malloc(sizeof(float) * rows * n);
    sr_bf16_matmul_range(SR_ISA_SCALAR, w, k, x, n, y0, rows, 0, rows);
    sr_bf16_matmul_range(isa, w, k, x, n, y1, rows, 0, rows);
    int bad = 0;
    for (int i = 0; i < n; i++)
        for (int r = 0; r < rows; r++) {
            float a = y0[i * rows + r], b = y1[i * rows + r];
            double mag = 0;
            for (int p = 0; p < k; p++) mag += fabs(quant_bf16_to_f32(w[(size_t)r * k + p]) * x[(size_t)i * k + p]);
            differ_bits += memcmp(&a, &b, 4) != 0;
            int ok = exact ? memcmp(&a, &b, 4) == 0 : fabs(a - b) <= 0x1p-8 * mag + 1e-30;
            if (!ok && bad++ < 3)
                printf("#   %s rows %d k %d n %d: y[%d][%d] scalar %.9g, %.9g\n", sr_isa_name(isa), rows, k, n, i, r, a, b);
        }
    free(w); free(x); free(y0); free(y1);
    return bad;
}

static void path(sr_isa isa, int exact)
{
    if (!sr_isa_available(isa)) {
        static char why[4][80];
        snprintf(why[isa], sizeof why[isa], "this CPU has no %s", sr_isa_name(isa));
        test_skip(why[isa]);
        return;
    }
    static const int rows_list[] = { 1, 3, 4, 5, 9, 17 }, k_list[] = { 1, 15, 16, 17, 31, 33, 100, 263 };
    int bad = 0, shapes = 0;
    differ_bits = 0;
    for (int ri = 0; ri < 6; ri++)
        for (int ki = 0; ki < 8; ki++)
            for (int n = 1; n <= 9; n += SANITIZED ? 4 : 1, shapes++)
                bad += compare(isa, rows_list[ri], k_list[ki], n, exact);
    printf("#   %s: %d shapes, %d outputs off (%d not bit-equal)\n", sr_isa_name(isa), shapes, bad, differ_bits);
    CHECK(bad == 0);
}

TEST(avx2_equals_scalar) { path(SR_ISA_AVX2, 1); }
TEST(avx512_equals_scalar) { path(SR_ISA_AVX512, 1); }
TEST(avx512bf16_within_tolerance) { path(SR_ISA_AVX512BF16, 0); }

/* Activation row j alone = the same row among 7 others; two row ranges =
 * one call; sr_bf16_matmul on 2 threads = one range call on its path. */
TEST(batch_and_split_invariance)
{
    const int rows = 37, k = 77, n = 8;
    uint16_t *w = rand_w(rows, k);
    float *x = rand_x(n, k), *ya = malloc(sizeof(float) * rows * n), *y1 = malloc(sizeof(float) * rows);
    float *ys = malloc(sizeof(float) * rows * n);
    int bad = 0;
    for (int isa = 0; isa < SR_ISA_COUNT; isa++) {
        if (!sr_isa_available((sr_isa)isa)) continue;
        sr_bf16_matmul_range((sr_isa)isa, w, k, x, n, ya, rows, 0, rows);
        for (int j = 0; j < n; j++) {
            sr_bf16_matmul_range((sr_isa)isa, w, k, x + (size_t)j * k, 1, y1, rows, 0, rows);
            bad += memcmp(y1, ya + (size_t)j * rows, sizeof(float) * rows) != 0;
        }
        sr_bf16_matmul_range((sr_isa)isa, w, k, x, n, ys, rows, 0, 10);
        sr_bf16_matmul_range((sr_isa)isa, w, k, x, n, ys, rows, 10, rows);
        bad += memcmp(ys, ya, sizeof(float) * rows * n) != 0;
    }
    sr_bf16_matmul_range(sr_isa_default(), w, k, x, n, ya, rows, 0, rows);
    sr_bf16_matmul(w, rows, k, x, n, ys, rows, 2);
    bad += memcmp(ys, ya, sizeof(float) * rows * n) != 0;
    CHECK(bad == 0);
    free(w); free(x); free(ya); free(y1); free(ys);
}

/* The reference within 1e-5 * sum |w x| of the dot product in double. */
TEST(reference_close_to_double)
{
    const int rows = 6, k = 300, n = 2;
    uint16_t *w = rand_w(rows, k);
    float *x = rand_x(n, k), *y = malloc(sizeof(float) * rows * n);
    sr_bf16_matmul_range(SR_ISA_SCALAR, w, k, x, n, y, rows, 0, rows);
    for (int i = 0; i < n; i++)
        for (int r = 0; r < rows; r++) {
            double s = 0, mag = 0;
            for (int p = 0; p < k; p++) {
                double t = (double)quant_bf16_to_f32(w[r * k + p]) * x[i * k + p];
                s += t; mag += fabs(t);
            }
            CHECK_NEAR(y[i * rows + r], s, 1e-5 * mag);
        }
    free(w); free(x); free(y);
}

int main(void)
{
    RUN(avx2_equals_scalar);
    RUN(avx512_equals_scalar);
    RUN(avx512bf16_within_tolerance);
    RUN(batch_and_split_invariance);
    RUN(reference_close_to_double);
    return test_done();
}
