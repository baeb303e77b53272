/* test_qdot.c — the quantized dot products (kernels/cpu/qdot*.c): every
 * SIMD path the CPU has gives the scalar reference's bits, for every type
 * and odd shapes; outputs do not depend on the other activation rows or
 * weight rows computed with them (batch invariance) nor on threads; and the
 * reference agrees with dequantize-then-dot within a tolerance. Paths the CPU
 * lacks skip, saying so. */
#include "test.h"
#include "cpu/qdot.h"

#include <stdint.h>

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint32_t next32(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}
static float unif(void) { return (float)((next32() >> 8) / 16777216.0 * 2.0 - 1.0); }   /* [-1, 1) */

static const enum gguf_ttype types[] = {
    GGUF_T_Q4_0, GGUF_T_Q4_1, GGUF_T_Q5_0, GGUF_T_Q5_1, GGUF_T_Q8_0, GGUF_T_IQ4_NL,
    GGUF_T_Q2_K, GGUF_T_Q3_K, GGUF_T_Q4_K, GGUF_T_Q5_K, GGUF_T_Q6_K, GGUF_T_IQ4_XS,
};
#define N_TYPES (int)(sizeof types / sizeof types[0])

/* Byte offsets of a block's fp16 scales (d, then dmin/m; -1: none). */
static void scale_fields(enum gguf_ttype t, int *d, int *m)
{
    *m = -1;
    switch (t) {
    case GGUF_T_Q4_1: case GGUF_T_Q5_1: case GGUF_T_Q4_K: case GGUF_T_Q5_K: *d = 0; *m = 2; break;
    case GGUF_T_Q2_K: *d = 80; *m = 82; break;
    case GGUF_T_Q3_K: *d = 108; break;
    case GGUF_T_Q6_K: *d = 208; break;
    default: *d = 0; break;
    }
}

/* rows x k weights: random bytes, with finite random scales. */
static void *rand_weights(enum gguf_ttype t, int rows, int k)
{
    size_t bytes = sr_block_bytes(t), nb = (size_t)rows * k / sr_block_elems(t);
    uint8_t *w = malloc(nb * bytes);
    for (size_t i = 0; i < nb * bytes; i++) w[i] = (uint8_t)next32();
    int od, om;
    scale_fields(t, &od, &om);
    for (size_t b = 0; b < nb; b++) {
        uint16_t d = quant_f32_to_fp16(unif() * 0.05f), m = quant_f32_to_fp16(unif() * 0.02f);
        memcpy(w + b * bytes + od, &d, 2);
        if (om >= 0) memcpy(w + b * bytes + om, &m, 2);
    }
    return w;
}

/* n activation rows of k, quantized for t: a mix of scales, some zero blocks. */
static void *rand_acts(enum gguf_ttype t, int n, int k, float **xf)
{
    float *x = malloc(sizeof(float) * (size_t)n * k);
    for (int i = 0; i < n; i++) {
        float sc = (i % 3 == 0) ? 10.0f : (i % 3 == 1) ? 0.1f : 1.0f;
        for (int j = 0; j < k; j++) x[(size_t)i * k + j] = unif() * sc * (j % 7 == 0 ? 4.0f : 1.0f);
        if (i == 2) memset(x + (size_t)i * k, 0, sizeof(float) * 32);
    }
    size_t rb = sr_qact_row_bytes(t, k);
    uint8_t *q = malloc(rb * n);
    for (int i = 0; i < n; i++) sr_qact_quantize(t, x + (size_t)i * k, q + rb * i, k);
    if (xf) *xf = x; else free(x);
    return q;
}

static int same_bits(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

/* y on `isa` for the given shape, against the scalar path. Returns mismatches. */
static int compare_path(sr_isa isa, enum gguf_ttype t, int rows, int k, int n)
{
    void *w = rand_weights(t, rows, k), *xq = rand_acts(t, n, k, NULL);
    float *y0 = malloc(sizeof(float) * rows * n), *y1 = malloc(sizeof(float) * rows * n);
    sr_qmatmul_range(SR_ISA_SCALAR, t, w, k, xq, n, y0, rows, 0, rows);
    sr_qmatmul_range(isa, t, w, k, xq, n, y1, rows, 0, rows);
    int bad = !same_bits(y0, y1, (size_t)rows * n);
    if (bad) {
        for (int i = 0; i < rows * n; i++)
            if (memcmp(&y0[i], &y1[i], 4)) {
                printf("#   %s %s rows %d k %d n %d: y[%d] %.9g scalar, %.9g\n", sr_isa_name(isa),
                       sr_block_type_name(t), rows, k, n, i, y0[i], y1[i]);
                break;
            }
    }
    free(w); free(xq); free(y0); free(y1);
    return bad;
}

static void path_equals_scalar(sr_isa isa)
{
    if (!sr_isa_available(isa)) {
        static char why[80];
        snprintf(why, sizeof why, "this CPU has no %s", sr_isa_name(isa));
        test_skip(why);
        return;
    }
    static const int rows_list[] = { 1, 7, 8, 9, 17, 37 };
    int checked = 0, bad = 0;
    for (int ti = 0; ti < N_TYPES; ti++) {
        int bs = (int)sr_block_elems(types[ti]);
        for (int ri = 0; ri < 6; ri++)
            for (int n = 1; n <= 9; n += SANITIZED ? 4 : 1)
                for (int kb = 1; kb <= 3; kb += 2, checked++)
                    bad += compare_path(isa, types[ti], rows_list[ri], bs * kb * (bs == 32 ? 3 : 1), n);
        /* rows longer than the SIMD paths' chunk of 2048 decoded elements,
         * and more activation rows than their 32 at a time */
        int big = bs == 32 ? 32 * 70 : 256 * 9;
        bad += compare_path(isa, types[ti], 9, big, 3);
        if (!SANITIZED) bad += compare_path(isa, types[ti], 8, big, 33);
        checked += SANITIZED ? 1 : 2;
    }
    printf("#   %s: %d shapes x types, %d differ from scalar\n", sr_isa_name(isa), checked, bad);
    CHECK(bad == 0);
}

TEST(avx2_equals_scalar) { path_equals_scalar(SR_ISA_AVX2); }
TEST(avx512_equals_scalar) { path_equals_scalar(SR_ISA_AVX512); }

/* Activation row j alone gives the bits it gets among 7 others, on every
 * path; rows computed in two ranges, or by sr_qmatmul on 2 threads, the
 * bits of one call. */
TEST(batch_and_split_invariance)
{
    const int rows = 45, n = 8;
    int bad = 0;
    for (int ti = 0; ti < N_TYPES; ti++) {
        enum gguf_ttype t = types[ti];
        int k = 2 * (int)sr_block_elems(t) * ((int)sr_block_elems(t) == 32 ? 4 : 1);
        void *w = rand_weights(t, rows, k), *xq = rand_acts(t, n, k, NULL);
        size_t rb = sr_qact_row_bytes(t, k);
        float *yall = malloc(sizeof(float) * rows * n), *y1 = malloc(sizeof(float) * rows);
        float *ys = malloc(sizeof(float) * rows * n);
        for (int isa = 0; isa < SR_ISA_COUNT; isa++) {
            if (!sr_isa_available((sr_isa)isa)) continue;
            sr_qmatmul_range((sr_isa)isa, t, w, k, xq, n, yall, rows, 0, rows);
            for (int j = 0; j < n; j += 3) {
                sr_qmatmul_range((sr_isa)isa, t, w, k, (const uint8_t *)xq + rb * j, 1, y1, rows, 0, rows);
                bad += !same_bits(y1, yall + (size_t)j * rows, rows);
            }
            sr_qmatmul_range((sr_isa)isa, t, w, k, xq, n, ys, rows, 0, 13);
            sr_qmatmul_range((sr_isa)isa, t, w, k, xq, n, ys, rows, 13, rows);
            bad += !same_bits(ys, yall, (size_t)rows * n);
        }
        sr_qmatmul(t, w, rows, k, xq, n, ys, rows, 2);
        bad += !same_bits(ys, yall, (size_t)rows * n);   /* yall: the last path, the default */
        free(w); free(xq); free(yall); free(y1); free(ys);
    }
    CHECK(bad == 0);
}

/* For Q4_1 / Q5_1: sum over blocks of |m| |S| (S, the activation's fp16
 * d * sum(qs), is off from the exact sum by up to 2^-11 of itself). */
static double min1_slack(enum gguf_ttype t, const uint8_t *w, const uint8_t *a, int k)
{
    if (sr_qact_type(t) != GGUF_T_Q8_1) return 0;
    double s = 0;
    for (int b = 0; b < k / 32; b++) {
        uint16_t m, S;
        memcpy(&m, w + b * sr_block_bytes(t) + 2, 2);
        memcpy(&S, a + b * 36 + 2, 2);
        s += fabs(quant_fp16_to_f32(m) * quant_fp16_to_f32(S));
    }
    return s * 0x1p-10;
}

/* Dequantized activation row i (Q8_0, Q8_1: d, then s for Q8_1, then qs). */
static void dequant_act(int at, const uint8_t *a, float *ad, int k)
{
    if (at == GGUF_T_Q8_K) { quant_dequantize(GGUF_T_Q8_K, a, ad, k); return; }
    for (int b = 0; b < k / 32; b++) {
        const uint8_t *blk = a + b * (at == GGUF_T_Q8_0 ? 34 : 36);
        uint16_t d;
        memcpy(&d, blk, 2);
        const int8_t *qs = (const int8_t *)blk + (at == GGUF_T_Q8_0 ? 2 : 4);
        for (int j = 0; j < 32; j++) ad[32 * b + j] = quant_fp16_to_f32(d) * qs[j];
    }
}

/* The scalar reference against dequantized weights and activations, summed
 * in double: within 1e-5 of sum |w a| (float roundings), plus Q8_1's S
 * slack. A decoder off by one scale step misses by far more. */
TEST(reference_matches_dequantized)
{
    const int rows = 5, n = 3;
    int bad = 0;
    for (int ti = 0; ti < N_TYPES; ti++) {
        enum gguf_ttype t = types[ti];
        int k = 2 * (int)sr_block_elems(t);
        uint8_t *w = rand_weights(t, rows, k), *xq = rand_acts(t, n, k, NULL);
        float *wd = malloc(sizeof(float) * rows * k), *ad = malloc(sizeof(float) * n * k);
        float *y = malloc(sizeof(float) * rows * n);
        quant_dequantize(t, w, wd, (uint64_t)rows * k);
        size_t rb = sr_qact_row_bytes(t, k), wb = sr_block_bytes(t) * k / sr_block_elems(t);
        for (int i = 0; i < n; i++) dequant_act(sr_qact_type(t), xq + rb * i, ad + (size_t)i * k, k);
        sr_qmatmul_range(SR_ISA_SCALAR, t, w, k, xq, n, y, rows, 0, rows);
        for (int i = 0; i < n; i++)
            for (int r = 0; r < rows; r++) {
                double s = 0, sa = 0;
                for (int j = 0; j < k; j++) {
                    double p = (double)wd[(size_t)r * k + j] * ad[(size_t)i * k + j];
                    s += p;
                    sa += fabs(p);
                }
                double tol = 1e-5 * sa + min1_slack(t, w + wb * r, xq + rb * i, k) + 1e-30;
                if (!(fabs(y[i * rows + r] - s) <= tol) && bad++ < 5)
                    printf("#   %s row %d act %d: %.9g, dequantized %.9g\n", sr_block_type_name(t), r, i,
                           y[i * rows + r], s);
            }
        free(w); free(xq); free(wd); free(ad); free(y);
    }
    CHECK(bad == 0);
}

/* SR_CPU_ISA names the default path when the CPU has it. */
TEST(default_path)
{
    sr_isa d = sr_isa_default();
    printf("#   default path: %s (SR_CPU_ISA=%s)\n", sr_isa_name(d), getenv("SR_CPU_ISA") ? getenv("SR_CPU_ISA") : "");
    CHECK(sr_isa_available(d));
    const char *env = getenv("SR_CPU_ISA");
    for (int i = 0; env && i < SR_ISA_COUNT; i++)
        if (!strcmp(env, sr_isa_name((sr_isa)i)) && sr_isa_available((sr_isa)i)) CHECK(d == (sr_isa)i);
    CHECK(sr_qmatmul_supported(GGUF_T_Q4_K) && !sr_qmatmul_supported(GGUF_T_F16));
    float y[1];
    CHECK(sr_qmatmul_range(SR_ISA_SCALAR, GGUF_T_Q4_K, NULL, 100, NULL, 1, y, 1, 0, 0) == -1);
}

int main(void)
{
    RUN(avx2_equals_scalar);
    RUN(avx512_equals_scalar);
    RUN(batch_and_split_invariance);
    RUN(reference_matches_dequantized);
    RUN(default_path);
    return test_done();
}
