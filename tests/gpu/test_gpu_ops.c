/* test_gpu_ops.c — every op of the CUDA backend except attention against the
 * CPU backend, forward and backward, on random inputs from a fixed seed.
 * Skipped (each test, exit 0) where there is no CUDA device.
 *
 * Tolerances, and why (|a − b| ≤ ATOL + RTOL·|cpu| unless stated):
 *   matmul FP32   |Δ| ≤ 1e-5 · Σ_k |x_k w_k| (+|prior| when accumulating):
 *                 the same fp32 products, summed in another order (cuBLAS's
 *                 vs OpenBLAS's); real differences are ~1e-7 of that sum.
 *   matmul TF32   4e-3 of the same sum: inputs keep 10 mantissa bits (within
 *                 2^-10 relative each if the hardware truncates), so a product
 *                 is within ~2e-3.
 *   matmul BF16   1e-4 of the sum against the CPU's fp32 matmul of the
 *                 inputs rounded to bf16 (elementwise.h's sr_bf16_round):
 *                 bf16·bf16 products are exact in fp32, so only the
 *                 accumulation differs (tensor cores may round inside the
 *                 MMA); and 1e-2 of the sum against the unrounded inputs
 *                 (2^-8 relative per input).
 *   matmul_rows   FP32 bound against the CPU; and bit-identical rows whatever
 *                 n (batch invariance), and between its float4 and scalar paths.
 *   embedding     exact: copies, and the same adds in the same order.
 *   rmsnorm       RTOL 1e-6 (fwd), 1e-5 + ATOL 1e-6 (bwd): the formulas are
 *                 elementwise.h's, unfused; only the double sums' order
 *                 differs, which shows after rounding to float rarely, by 1 ulp.
 *   swiglu        RTOL 4e-6, ATOL 1e-5 (dg): CUDA's expf is within 2 ulp,
 *                 glibc's within 1; dg's 1 + g(1 − s) cancels near g ≈ −1.28,
 *                 hence an absolute part for inputs in [−3, 3].
 *   geglu         RTOL 4e-6, ATOL 1e-5 (dg): as swiglu, with CUDA's tanhf
 *                 (within 2 ulp) for expf.
 *   softcap       RTOL 4e-6, ATOL 1e-6: tanhf's 2 ulp times the cap.
 *   scale, add    exact: one IEEE multiply or add per element.
 *   rope          RTOL 1e-6, ATOL 1e-6 (|x| ≤ 1): angles in double; CUDA's
 *                 double pow/sin/cos are within 2 ulp of glibc's, which moves
 *                 the float cos/sin by 1 ulp at most, rarely.
 *   softmax etc.  RTOL 4e-6 and ATOL 4e-6 for log-probabilities (|y| up to
 *                 ~60: a 1-ulp difference in log Σ exp is ~1e-6), ATOL 1e-9
 *                 for probabilities: expf's 2 ulp, and a double sum's
 *                 order.
 *   adamw         exact: elementwise.h's step is unfused IEEE arithmetic
 *                 (×, +, −, ÷, √ round the same on both), constants on the host.
 *   sum_squares   1e-12 relative (double sums in another order); the GPU's
 *                 result repeats bit for bit. */
#include "../unit/test.h"

#include "elementwise.h"
#include "kernels.h"

#include <stdint.h>

static int have_gpu;
static sr_ctx cpu, gpu;
/* The CUDA context up() and down() use: its stream must be the one that runs
 * the op, since two contexts' streams are not ordered with each other. */
static sr_ctx *dev = &gpu;

#define NEED_GPU() do { if (!have_gpu) { test_skip("no CUDA device"); return; } } while (0)

/* ---- inputs ------------------------------------------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float urand(void)   /* uniform in [-1, 1) */
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
}
static float *rnd(size_t n, float scale)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = urand() * scale;
    return p;
}
static float *copy_of(const float *a, size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    memcpy(p, a, n * sizeof *p);
    return p;
}
static float *abs_of(const float *a, size_t n)
{
    float *p = copy_of(a, n);
    for (size_t i = 0; i < n; i++) p[i] = fabsf(p[i]);
    return p;
}
static float *bf16_of(const float *a, size_t n)
{
    float *p = copy_of(a, n);
    for (size_t i = 0; i < n; i++) p[i] = sr_bf16_round(p[i]);
    return p;
}

/* A device copy of host floats / ints. */
static float *up(const float *h, size_t n)
{
    float *d = sr_dev_alloc(dev, (n ? n : 1) * sizeof *d);
    if (!d) { printf("# out of device memory\n"); exit(1); }
    sr_dev_upload(dev, d, h, n * sizeof *d);
    return d;
}
static int32_t *up_i(const int32_t *h, size_t n)
{
    int32_t *d = sr_dev_alloc(dev, (n ? n : 1) * sizeof *d);
    if (!d) { printf("# out of device memory\n"); exit(1); }
    sr_dev_upload(dev, d, h, n * sizeof *d);
    return d;
}
/* A host copy of device floats (malloc'd). */
static float *down(const float *d, size_t n)
{
    float *h = malloc((n ? n : 1) * sizeof *h);
    sr_dev_download(dev, h, d, n * sizeof *h);
    return h;
}

/* ---- comparisons ------------------------------------------------------- */

/* |g − c| ≤ atol + rtol·|c| everywhere; prints the worst and the first bad. */
static void near(const char *what, const float *g, const float *c, size_t n, double atol, double rtol)
{
    int bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)g[i] - c[i]), tol = atol + rtol * fabs(c[i]);
        if (d > worst) worst = d;
        if (!(d <= tol)) {
            if (!bad) printf("#   %s[%zu]: cuda %.9g, cpu %.9g (tolerance %.3g)\n", what, i, g[i], c[i], tol);
            bad++;
        }
    }
    printf("#   %s: %zu values, max |diff| %.3g%s\n", what, n, worst, bad ? " FAILED" : "");
    CHECK(bad == 0);
}

/* |g − c| ≤ rel·scale[i] (scale: Σ|terms| of each element, see the top). */
static void near_scaled(const char *what, const float *g, const float *c, const float *scale, size_t n,
                        double rel)
{
    int bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)g[i] - c[i]), tol = rel * scale[i] + 1e-30;
        if (d / tol > worst) worst = d / tol;
        if (!(d <= tol)) {
            if (!bad) printf("#   %s[%zu]: cuda %.9g, cpu %.9g (tolerance %.3g)\n", what, i, g[i], c[i], tol);
            bad++;
        }
    }
    printf("#   %s: %zu values, worst |diff| / tolerance %.3g%s\n", what, n, worst, bad ? " FAILED" : "");
    CHECK(bad == 0);
}

static void same_bits(const char *what, const float *a, const float *b, size_t n)
{
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0) { if (!bad) first = i; bad++; }
    if (bad) printf("#   %s: %zu of %zu differ, first [%zu]: %.9g vs %.9g\n", what, bad, n, first,
                    a[first], b[first]);
    else printf("#   %s: %zu values bit-identical\n", what, n);
    CHECK(bad == 0);
}

/* ---- context and memory ------------------------------------------------ */

TEST(context_and_memory)
{
    NEED_GPU();
    char err[256] = "";
    sr_ctx bad;
    CHECK(sr_ctx_init_cuda(&bad, sr_cuda_device_count(), SR_PREC_FP32, err, sizeof err) == -1);
    CHECK(strstr(err, "does not exist") != NULL);
    printf("#   past the last device: %s\n", err);
    CHECK(gpu.device == SR_DEV_CUDA && gpu.threads == 1 && gpu.cuda != NULL);

    /* An impossible allocation is NULL, not an exit. */
    CHECK(sr_dev_alloc(&gpu, (size_t)1 << 50) == NULL);

    float h[1000], back[1000];
    for (int i = 0; i < 1000; i++) h[i] = (float)i;
    float *a = up(h, 1000), *b = sr_dev_alloc(&gpu, sizeof h);
    sr_dev_copy(&gpu, b, a, sizeof h);
    sr_dev_zero(&gpu, b + 10, 5 * sizeof(float));
    sr_dev_download(&gpu, back, b, sizeof back);
    int ok = 1;
    for (int i = 0; i < 1000; i++) ok &= back[i] == (i >= 10 && i < 15 ? 0.0f : (float)i);
    CHECK(ok);
    sr_dev_sync(&gpu);
    sr_dev_free(&gpu, a);
    sr_dev_free(&gpu, b);
}

/* ---- matmul ------------------------------------------------------------ */

/* Forward and backward at one shape and precision; tol as at the top. With
 * emulate_bf16 the CPU reference gets its inputs rounded to bf16. */
static void matmul_case(sr_ctx *g, int n, int in, int out, double tol, int emulate_bf16)
{
    const size_t nx = (size_t)n * in, nw = (size_t)out * in, ny = (size_t)n * out;
    float *x = rnd(nx, 1), *w = rnd(nw, 0.5f), *y0 = rnd(ny, 1), *dy = rnd(ny, 1);
    float *dx0 = rnd(nx, 1), *dw0 = rnd(nw, 1);
    float *rx = emulate_bf16 ? bf16_of(x, nx) : copy_of(x, nx);
    float *rw = emulate_bf16 ? bf16_of(w, nw) : copy_of(w, nw);
    float *rdy = emulate_bf16 ? bf16_of(dy, ny) : copy_of(dy, ny);
    float *ax = abs_of(x, nx), *aw = abs_of(w, nw), *ady = abs_of(dy, ny);
    char what[96];

    float *dx_ = up(x, nx), *dw_ = up(w, nw), *ddy = up(dy, ny);
    for (int acc = 0; acc <= 1; acc++) {
        /* forward: y (=, or += onto y0) */
        float *yc = copy_of(y0, ny), *sc = abs_of(y0, ny);
        sr_matmul_fwd(&cpu, yc, rx, rw, n, in, out, acc);
        if (!acc) memset(sc, 0, ny * sizeof *sc);
        sr_matmul_fwd(&cpu, sc, ax, aw, n, in, out, 1);   /* Σ|x w| (+|y0|) */
        float *yd = up(y0, ny);
        sr_matmul_fwd(g, yd, dx_, dw_, n, in, out, acc);
        float *yg = down(yd, ny);
        snprintf(what, sizeof what, "fwd y n=%d in=%d out=%d acc=%d", n, in, out, acc);
        near_scaled(what, yg, yc, sc, ny, tol);
        free(yc); free(sc); free(yg); sr_dev_free(g, yd);

        /* backward: dx (=, or += onto dx0) and dw (+= onto dw0) */
        float *dxc = copy_of(dx0, nx), *dwc = copy_of(dw0, nw);
        sr_matmul_bwd(&cpu, dxc, dwc, rdy, rx, rw, n, in, out, acc);
        float *sdx = abs_of(dx0, nx), *sdw = abs_of(dw0, nw);
        if (!acc) memset(sdx, 0, nx * sizeof *sdx);
        sr_matmul_bwd(&cpu, sdx, sdw, ady, ax, aw, n, in, out, 1);
        float *ddx = up(dx0, nx), *ddw = up(dw0, nw);
        sr_matmul_bwd(g, ddx, ddw, ddy, dx_, dw_, n, in, out, acc);
        float *dxg = down(ddx, nx), *dwg = down(ddw, nw);
        snprintf(what, sizeof what, "bwd dx n=%d in=%d out=%d acc=%d", n, in, out, acc);
        near_scaled(what, dxg, dxc, sdx, nx, tol);
        snprintf(what, sizeof what, "bwd dw n=%d in=%d out=%d", n, in, out);
        near_scaled(what, dwg, dwc, sdw, nw, tol);

        /* Only one gradient wanted: the other buffer is not touched. */
        sr_dev_upload(g, ddx, dx0, nx * sizeof(float));
        sr_dev_upload(g, ddw, dw0, nw * sizeof(float));
        sr_matmul_bwd(g, NULL, ddw, ddy, dx_, dw_, n, in, out, acc);
        float *dwg2 = down(ddw, nw);
        same_bits("dw alone = dw with dx", dwg2, dwg, nw);
        sr_matmul_bwd(g, ddx, NULL, ddy, dx_, dw_, n, in, out, acc);
        float *dxg2 = down(ddx, nx);
        same_bits("dx alone = dx with dw", dxg2, dxg, nx);

        free(dxc); free(dwc); free(sdx); free(sdw); free(dxg); free(dwg); free(dwg2); free(dxg2);
        sr_dev_free(g, ddx); sr_dev_free(g, ddw);
    }
    sr_dev_free(g, dx_); sr_dev_free(g, dw_); sr_dev_free(g, ddy);
    free(x); free(w); free(y0); free(dy); free(dx0); free(dw0);
    free(rx); free(rw); free(rdy); free(ax); free(aw); free(ady);
}

static const int mm_shapes[][3] = {
    { 1, 37, 53 }, { 7, 64, 96 }, { 33, 576, 130 }, { 64, 200, 1 }, { 130, 576, 1536 }, { 5, 1536, 576 },
};
enum { N_MM = sizeof mm_shapes / sizeof mm_shapes[0] };

TEST(matmul_fp32)
{
    NEED_GPU();
    for (int s = 0; s < N_MM; s++)
        matmul_case(&gpu, mm_shapes[s][0], mm_shapes[s][1], mm_shapes[s][2], 1e-5, 0);
}

static void matmul_prec(sr_precision p, double tol, int emulate)
{
    char err[256];
    sr_ctx g;
    if (sr_ctx_init_cuda(&g, 0, p, err, sizeof err) < 0) { printf("# %s\n", err); CHECK(0); return; }
    dev = &g;
    for (int s = 0; s < N_MM; s++) matmul_case(&g, mm_shapes[s][0], mm_shapes[s][1], mm_shapes[s][2], tol, emulate);
    dev = &gpu;
    sr_ctx_free(&g);
}

TEST(matmul_tf32) { NEED_GPU(); matmul_prec(SR_PREC_TF32, 4e-3, 0); }
TEST(matmul_bf16_vs_rounded_inputs) { NEED_GPU(); matmul_prec(SR_PREC_BF16, 1e-4, 1); }
TEST(matmul_bf16_vs_fp32) { NEED_GPU(); matmul_prec(SR_PREC_BF16, 1e-2, 0); }

/* ---- matmul_rows ------------------------------------------------------- */

static void rows_case(int n, int in, int out)
{
    const size_t nx = (size_t)n * in, nw = (size_t)out * in, ny = (size_t)n * out;
    float *x = rnd(nx, 1), *w = rnd(nw, 0.5f), *y0 = rnd(ny, 1);
    float *ax = abs_of(x, nx), *aw = abs_of(w, nw);
    float *dxx = up(x, nx), *dww = up(w, nw);
    char what[96];
    for (int acc = 0; acc <= 1; acc++) {
        float *yc = copy_of(y0, ny), *sc = abs_of(y0, ny);
        sr_matmul_rows_fwd(&cpu, yc, x, w, n, in, out, acc);
        if (!acc) memset(sc, 0, ny * sizeof *sc);
        sr_matmul_fwd(&cpu, sc, ax, aw, n, in, out, 1);
        float *yd = up(y0, ny);
        sr_matmul_rows_fwd(&gpu, yd, dxx, dww, n, in, out, acc);
        float *yg = down(yd, ny);
        snprintf(what, sizeof what, "rows n=%d in=%d out=%d acc=%d vs cpu", n, in, out, acc);
        near_scaled(what, yg, yc, sc, ny, 1e-5);

        /* Batch invariance: each row computed alone, from its own place in x. */
        float *one = malloc(ny * sizeof *one);
        float *y1 = sr_dev_alloc(&gpu, (size_t)out * sizeof(float));
        for (int r = 0; r < n; r++) {
            sr_dev_upload(&gpu, y1, y0 + (size_t)r * out, (size_t)out * sizeof(float));
            sr_matmul_rows_fwd(&gpu, y1, dxx + (size_t)r * in, dww, 1, in, out, acc);
            sr_dev_download(&gpu, one + (size_t)r * out, y1, (size_t)out * sizeof(float));
        }
        snprintf(what, sizeof what, "rows n=%d in=%d acc=%d: row alone = row in batch", n, in, acc);
        same_bits(what, one, yg, ny);

        /* The scalar path (x one float off 16-byte alignment) = the float4 path. */
        float *xs = sr_dev_alloc(&gpu, (nx + 1) * sizeof(float));
        sr_dev_upload(&gpu, xs + 1, x, nx * sizeof(float));
        sr_dev_upload(&gpu, yd, y0, ny * sizeof(float));
        sr_matmul_rows_fwd(&gpu, yd, xs + 1, dww, n, in, out, acc);
        float *ys = down(yd, ny);
        snprintf(what, sizeof what, "rows n=%d in=%d acc=%d: unaligned x = aligned x", n, in, acc);
        same_bits(what, ys, yg, ny);

        free(yc); free(sc); free(yg); free(one); free(ys);
        sr_dev_free(&gpu, yd); sr_dev_free(&gpu, y1); sr_dev_free(&gpu, xs);
    }
    sr_dev_free(&gpu, dxx); sr_dev_free(&gpu, dww);
    free(x); free(w); free(y0); free(ax); free(aw);
}

TEST(matmul_rows_parity_and_batch_invariance)
{
    NEED_GPU();
    rows_case(7, 576, 1000);
    rows_case(7, 37, 53);       /* in % 4 != 0: the scalar path throughout */
    rows_case(1, 130, 9);
    rows_case(64, 576, 300);    /* a full decoding batch: 8 row tiles */
    rows_case(13, 2048, 77);
}

/* ---- embedding --------------------------------------------------------- */

static void embedding_case(int vocab, int dim, int n)
{
    int32_t *tok = malloc(n * sizeof *tok);
    for (int i = 0; i < n; i++) tok[i] = (int32_t)((urand() + 1) * 0.5f * vocab) % vocab;
    tok[n - 1] = tok[0];   /* at least one repeat */
    const size_t nt = (size_t)vocab * dim, no = (size_t)n * dim;
    float *table = rnd(nt, 1), *dout = rnd(no, 1);
    int32_t *dtok = up_i(tok, n);
    float *dtab = up(table, nt), *dout_d = up(dout, no), *od = sr_dev_alloc(&gpu, no * sizeof(float));

    float *oc = malloc(no * sizeof *oc);
    sr_embedding_fwd(&cpu, oc, tok, n, table, dim);
    sr_embedding_fwd(&gpu, od, dtok, n, dtab, dim);
    float *og = down(od, no);
    same_bits("embedding fwd", og, oc, no);

    float *tc = copy_of(table, nt);
    sr_embedding_bwd(&cpu, tc, dout, tok, n, dim);
    sr_embedding_bwd(&gpu, dtab, dout_d, dtok, n, dim);
    float *tg = down(dtab, nt);
    same_bits("embedding bwd", tg, tc, nt);

    free(tok); free(table); free(dout); free(oc); free(og); free(tc); free(tg);
    sr_dev_free(&gpu, dtok); sr_dev_free(&gpu, dtab); sr_dev_free(&gpu, dout_d); sr_dev_free(&gpu, od);
}

TEST(embedding)
{
    NEED_GPU();
    embedding_case(10, 37, 1);
    embedding_case(7, 37, 50);      /* many rows per token */
    embedding_case(1000, 576, 300);
}

/* ---- rmsnorm ----------------------------------------------------------- */

static void rmsnorm_case(int n, int dim)
{
    const size_t nx = (size_t)n * dim;
    float *x = rnd(nx, 2), *w = rnd(dim, 1), *dy = rnd(nx, 1), *dx0 = rnd(nx, 1), *dw0 = rnd(dim, 1);
    float *yc = malloc(nx * sizeof *yc), *rc = malloc(n * sizeof *rc);
    sr_rmsnorm_fwd(&cpu, yc, rc, x, w, n, dim, 1e-5f);
    float *dxc = copy_of(dx0, nx), *dwc = copy_of(dw0, dim);
    sr_rmsnorm_bwd(&cpu, dxc, dwc, dy, x, w, rc, n, dim);

    float *xd = up(x, nx), *wd = up(w, dim), *dyd = up(dy, nx), *dxd = up(dx0, nx), *dwd = up(dw0, dim);
    float *yd = sr_dev_alloc(&gpu, nx * sizeof(float)), *rd = sr_dev_alloc(&gpu, n * sizeof(float));
    sr_rmsnorm_fwd(&gpu, yd, rd, xd, wd, n, dim, 1e-5f);
    float *yg = down(yd, nx), *rg = down(rd, n);
    /* The backward from the CPU's rstd, so that it is tested on its own. */
    sr_dev_upload(&gpu, rd, rc, n * sizeof(float));
    sr_rmsnorm_bwd(&gpu, dxd, dwd, dyd, xd, wd, rd, n, dim);
    float *dxg = down(dxd, nx), *dwg = down(dwd, dim);
    char what[64];
    snprintf(what, sizeof what, "rmsnorm y n=%d dim=%d", n, dim);
    near(what, yg, yc, nx, 0, 1e-6);
    near("rmsnorm rstd", rg, rc, n, 0, 1e-6);
    near("rmsnorm dx", dxg, dxc, nx, 1e-6, 1e-5);
    near("rmsnorm dw", dwg, dwc, dim, 1e-6, 1e-5);

    /* rstd may be NULL; dx or dw may be NULL. */
    sr_rmsnorm_fwd(&gpu, yd, NULL, xd, wd, n, dim, 1e-5f);
    float *yg2 = down(yd, nx);
    same_bits("rmsnorm y without rstd", yg2, yg, nx);
    sr_dev_upload(&gpu, dwd, dw0, dim * sizeof(float));
    sr_rmsnorm_bwd(&gpu, NULL, dwd, dyd, xd, wd, rd, n, dim);
    float *dwg2 = down(dwd, dim);
    same_bits("rmsnorm dw alone", dwg2, dwg, dim);

    free(x); free(w); free(dy); free(dx0); free(dw0); free(yc); free(rc); free(dxc); free(dwc);
    free(yg); free(rg); free(dxg); free(dwg); free(yg2); free(dwg2);
    sr_dev_free(&gpu, xd); sr_dev_free(&gpu, wd); sr_dev_free(&gpu, dyd); sr_dev_free(&gpu, dxd);
    sr_dev_free(&gpu, dwd); sr_dev_free(&gpu, yd); sr_dev_free(&gpu, rd);
}

TEST(rmsnorm)
{
    NEED_GPU();
    rmsnorm_case(1, 37);
    rmsnorm_case(5, 576);
    rmsnorm_case(70, 100);    /* more rows than one dw chunk */
    rmsnorm_case(3, 2000);
}

/* ---- swiglu ------------------------------------------------------------ */

static void swiglu_case(int n, int f)
{
    const size_t ng = (size_t)n * 2 * f, nh = (size_t)n * f;
    float *gu = rnd(ng, 3), *dh = rnd(nh, 1);
    float *hc = malloc(nh * sizeof *hc), *dgc = malloc(ng * sizeof *dgc);
    sr_swiglu_fwd(&cpu, hc, gu, n, f);
    sr_swiglu_bwd(&cpu, dgc, dh, gu, n, f);
    float *gud = up(gu, ng), *dhd = up(dh, nh);
    float *hd = sr_dev_alloc(&gpu, nh * sizeof(float)), *dgd = sr_dev_alloc(&gpu, ng * sizeof(float));
    sr_swiglu_fwd(&gpu, hd, gud, n, f);
    sr_swiglu_bwd(&gpu, dgd, dhd, gud, n, f);
    float *hg = down(hd, nh), *dgg = down(dgd, ng);
    char what[64];
    snprintf(what, sizeof what, "swiglu h n=%d f=%d", n, f);
    near(what, hg, hc, nh, 1e-7, 4e-6);
    near("swiglu dgu", dgg, dgc, ng, 1e-5, 4e-6);
    free(gu); free(dh); free(hc); free(dgc); free(hg); free(dgg);
    sr_dev_free(&gpu, gud); sr_dev_free(&gpu, dhd); sr_dev_free(&gpu, hd); sr_dev_free(&gpu, dgd);
}

TEST(swiglu)
{
    NEED_GPU();
    swiglu_case(1, 37);
    swiglu_case(3, 37);
    swiglu_case(8, 1536);
}

/* ---- GeGLU, soft-cap, scale, add (Gemma) -------------------------------- */

static void geglu_case(int n, int f)
{
    const size_t ng = (size_t)n * 2 * f, nh = (size_t)n * f;
    float *gu = rnd(ng, 3), *dh = rnd(nh, 1);
    float *hc = malloc(nh * sizeof *hc), *dgc = malloc(ng * sizeof *dgc);
    sr_geglu_fwd(&cpu, hc, gu, n, f);
    sr_geglu_bwd(&cpu, dgc, dh, gu, n, f);
    float *gud = up(gu, ng), *dhd = up(dh, nh);
    float *hd = sr_dev_alloc(&gpu, nh * sizeof(float)), *dgd = sr_dev_alloc(&gpu, ng * sizeof(float));
    sr_geglu_fwd(&gpu, hd, gud, n, f);
    sr_geglu_bwd(&gpu, dgd, dhd, gud, n, f);
    float *hg = down(hd, nh), *dgg = down(dgd, ng);
    char what[64];
    snprintf(what, sizeof what, "geglu h n=%d f=%d", n, f);
    near(what, hg, hc, nh, 1e-7, 4e-6);
    near("geglu dgu", dgg, dgc, ng, 1e-5, 4e-6);
    free(gu); free(dh); free(hc); free(dgc); free(hg); free(dgg);
    sr_dev_free(&gpu, gud); sr_dev_free(&gpu, dhd); sr_dev_free(&gpu, hd); sr_dev_free(&gpu, dgd);
}

TEST(geglu)
{
    NEED_GPU();
    geglu_case(1, 37);
    geglu_case(8, 1536);
}

/* The soft-cap forward and (in place, as the model runs it) backward; then
 * scale and add, which must be the same bits. */
TEST(softcap_scale_add)
{
    NEED_GPU();
    const size_t n = 5000;
    const float cap = 30.0f;
    float *x = rnd(n, 90), *dy = rnd(n, 1);
    float *yc = malloc(n * sizeof *yc), *dxc = malloc(n * sizeof *dxc);
    sr_softcap_fwd(&cpu, yc, x, n, cap);
    sr_softcap_bwd(&cpu, dxc, dy, x, n, cap);
    float *xd = up(x, n), *dyd = up(dy, n), *yd = sr_dev_alloc(&gpu, n * sizeof(float));
    sr_softcap_fwd(&gpu, yd, xd, n, cap);
    sr_softcap_bwd(&gpu, xd, dyd, xd, n, cap);   /* in place over x */
    float *yg = down(yd, n), *dxg = down(xd, n);
    near("softcap y", yg, yc, n, 1e-6, 4e-6);
    near("softcap dx", dxg, dxc, n, 1e-6, 4e-6);
    /* scale and add: y = (x·s) + dy */
    float *zc = malloc(n * sizeof *zc);
    memcpy(zc, x, n * sizeof *zc);
    sr_scale_fwd(&cpu, zc, n, sqrtf(640.0f));
    sr_add_fwd(&cpu, zc, dy, n);
    float *zd = up(x, n);
    sr_scale_fwd(&gpu, zd, n, sqrtf(640.0f));
    sr_add_fwd(&gpu, zd, dyd, n);
    float *zg = down(zd, n);
    CHECK(memcmp(zg, zc, n * sizeof *zc) == 0);
    free(x); free(dy); free(yc); free(dxc); free(yg); free(dxg); free(zc); free(zg);
    sr_dev_free(&gpu, xd); sr_dev_free(&gpu, dyd); sr_dev_free(&gpu, yd); sr_dev_free(&gpu, zd);
}

/* Dropout: the same mask and the same bits on both (one counter hash, one
 * host-computed scale); about p of the elements dropped; the same call
 * again (the backward) drops the same ones. */
TEST(dropout)
{
    NEED_GPU();
    const size_t n = 100003;
    float *x = rnd(n, 3);
    float *xc = copy_of(x, n);
    sr_dropout_fwd(&cpu, xc, n, 0.1f, 0x1234);
    float *xd = up(x, n);
    sr_dropout_fwd(&gpu, xd, n, 0.1f, 0x1234);
    float *xg = down(xd, n);
    CHECK(memcmp(xg, xc, n * sizeof *xc) == 0);
    size_t zero = 0;
    for (size_t i = 0; i < n; i++) zero += xc[i] == 0.0f && x[i] != 0.0f;
    CHECK(zero > n / 10 - n / 100 && zero < n / 10 + n / 100);
    sr_dropout_fwd(&gpu, xd, n, 0.1f, 0x1234);
    free(xg);
    xg = down(xd, n);
    for (size_t i = 0; i < n; i++) CHECK((xg[i] == 0.0f) == (xc[i] == 0.0f));
    free(x); free(xc); free(xg);
    sr_dev_free(&gpu, xd);
}

/* ---- rope -------------------------------------------------------------- */

/* Rotates the q block of a wider (qkv-like) buffer: columns past the heads
 * must come back untouched, which comparing the whole buffer checks. */
static void rope_case(int n, int n_heads, int head_dim, int n_rot, float theta, int max_pos)
{
    const int stride = n_heads * head_dim + 2 * head_dim + 5;
    const size_t nb = (size_t)n * stride;
    float *x = rnd(nb, 1);
    int32_t *pos = malloc(n * sizeof *pos);
    for (int j = 0; j < n; j++) pos[j] = j == 0 ? max_pos : (int32_t)((urand() + 1) * 0.5f * max_pos);
    int32_t *posd = up_i(pos, n);
    float *xd = up(x, nb);
    /* frequency factors (Llama 3.1's kind, 1 to 8) on the pairs, or none */
    float *ff = malloc((size_t)(n_rot / 2 + 1) * sizeof *ff);
    for (int i = 0; i < n_rot / 2; i++) ff[i] = 1.0f + (float)(i % 8);
    float *ffd = up(ff, (size_t)(n_rot / 2 + 1));
    char what[112];
    for (int f = 0; f <= 1; f++)
    for (int neox = 0; neox <= 1; neox++)
    for (int bwd = 0; bwd <= 1; bwd++) {
        float *xc = copy_of(x, nb);
        const float *fc = f ? ff : NULL, *fg = f ? ffd : NULL;
        sr_dev_upload(&gpu, xd, x, nb * sizeof(float));
        if (bwd) {
            sr_rope_bwd(&cpu, xc, n, stride, n_heads, head_dim, n_rot, pos, theta, fc, neox);
            sr_rope_bwd(&gpu, xd, n, stride, n_heads, head_dim, n_rot, posd, theta, fg, neox);
        } else {
            sr_rope_fwd(&cpu, xc, n, stride, n_heads, head_dim, n_rot, pos, theta, fc, neox);
            sr_rope_fwd(&gpu, xd, n, stride, n_heads, head_dim, n_rot, posd, theta, fg, neox);
        }
        float *xg = down(xd, nb);
        snprintf(what, sizeof what, "rope%s%s %s n=%d heads=%d hd=%d rot=%d theta=%g", neox ? " neox" : "",
                 f ? " factors" : "", bwd ? "bwd" : "fwd", n, n_heads, head_dim, n_rot, theta);
        near(what, xg, xc, nb, 1e-6, 1e-6);
        free(xc); free(xg);
    }
    free(x); free(pos); free(ff);
    sr_dev_free(&gpu, posd); sr_dev_free(&gpu, xd); sr_dev_free(&gpu, ffd);
}

TEST(rope)
{
    NEED_GPU();
    rope_case(1, 9, 64, 64, 100000.0f, 0);
    rope_case(5, 9, 64, 64, 100000.0f, 2047);
    rope_case(7, 3, 64, 32, 10000.0f, 4000);   /* partial rotation */
    rope_case(33, 6, 12, 12, 10000.0f, 500);
}

/* ---- softmax and log-probabilities ------------------------------------- */

static void softmax_case(int n, int cols, float scale)
{
    const size_t nx = (size_t)n * cols;
    float *x = rnd(nx, scale), *dy = rnd(nx, 1);
    float *xd = up(x, nx), *dyd = up(dy, nx), *yd = sr_dev_alloc(&gpu, nx * sizeof(float));
    float *dxd = sr_dev_alloc(&gpu, nx * sizeof(float));
    char what[96];
    for (int lg = 0; lg <= 1; lg++) {
        const char *name = lg ? "logsoftmax" : "softmax";
        const double atol = lg ? 4e-6 : 1e-9;
        float *yc = malloc(nx * sizeof *yc), *dxc = malloc(nx * sizeof *dxc);
        if (lg) sr_logsoftmax_fwd(&cpu, yc, x, n, cols); else sr_softmax_fwd(&cpu, yc, x, n, cols);
        if (lg) sr_logsoftmax_fwd(&gpu, yd, xd, n, cols); else sr_softmax_fwd(&gpu, yd, xd, n, cols);
        float *yg = down(yd, nx);
        snprintf(what, sizeof what, "%s fwd n=%d cols=%d scale=%g", name, n, cols, scale);
        near(what, yg, yc, nx, atol, 4e-6);

        /* In place (y == x) gives the same bits. */
        float *inp = sr_dev_alloc(&gpu, nx * sizeof(float));
        sr_dev_copy(&gpu, inp, xd, nx * sizeof(float));
        if (lg) sr_logsoftmax_fwd(&gpu, inp, inp, n, cols); else sr_softmax_fwd(&gpu, inp, inp, n, cols);
        float *yi = down(inp, nx);
        snprintf(what, sizeof what, "%s in place", name);
        same_bits(what, yi, yg, nx);

        /* Backward from the CPU's y, so that it is tested on its own. */
        sr_dev_upload(&gpu, yd, yc, nx * sizeof(float));
        if (lg) sr_logsoftmax_bwd(&cpu, dxc, dy, yc, n, cols); else sr_softmax_bwd(&cpu, dxc, dy, yc, n, cols);
        if (lg) sr_logsoftmax_bwd(&gpu, dxd, dyd, yd, n, cols); else sr_softmax_bwd(&gpu, dxd, dyd, yd, n, cols);
        float *dxg = down(dxd, nx);
        snprintf(what, sizeof what, "%s bwd", name);
        near(what, dxg, dxc, nx, lg ? 1e-6 : 1e-9, 4e-6);
        free(yc); free(dxc); free(yg); free(yi); free(dxg);
        sr_dev_free(&gpu, inp);
    }
    free(x); free(dy);
    sr_dev_free(&gpu, xd); sr_dev_free(&gpu, dyd); sr_dev_free(&gpu, yd); sr_dev_free(&gpu, dxd);
}

TEST(softmax)
{
    NEED_GPU();
    softmax_case(1, 37, 1);
    softmax_case(4, 37, 30);
    softmax_case(3, 49152, 5);
    softmax_case(2, 49152, 30);   /* large logits: the maximum is taken out first */
}

static void token_logprob_case(int n, int cols, float scale)
{
    const size_t nx = (size_t)n * cols;
    float *x = rnd(nx, scale), *dlp = rnd(n, 1);
    int32_t *tg = malloc(n * sizeof *tg);
    for (int i = 0; i < n; i++) tg[i] = (int32_t)((urand() + 1) * 0.5f * cols) % cols;
    if (n > 1) tg[1] = -1;          /* a row without a target */
    if (n > 2) dlp[2] = 0.0f;       /* a row without a gradient */
    tg[0] = cols - 1;
    float *xd = up(x, nx), *dlpd = up(dlp, n), *lpd = sr_dev_alloc(&gpu, n * sizeof(float));
    int32_t *tgd = up_i(tg, n);
    float *lpc = malloc(n * sizeof *lpc);
    sr_token_logprob_fwd(&cpu, lpc, x, tg, n, cols);
    sr_token_logprob_fwd(&gpu, lpd, xd, tgd, n, cols);
    float *lpg = down(lpd, n);
    char what[96];
    snprintf(what, sizeof what, "token_logprob fwd n=%d cols=%d scale=%g", n, cols, scale);
    near(what, lpg, lpc, n, 4e-6, 4e-6);
    if (n > 1) CHECK(lpg[1] == 0.0f);

    float *dc = malloc(nx * sizeof *dc);
    float *dd = sr_dev_alloc(&gpu, nx * sizeof(float));
    sr_dev_upload(&gpu, dd, x, nx * sizeof(float));   /* garbage that must be overwritten */
    sr_token_logprob_bwd(&cpu, dc, x, tg, dlp, n, cols);
    sr_token_logprob_bwd(&gpu, dd, xd, tgd, dlpd, n, cols);
    float *dg = down(dd, nx);
    near("token_logprob bwd", dg, dc, nx, 2e-6, 4e-6);
    /* In place: dlogits == logits. */
    sr_token_logprob_bwd(&gpu, xd, xd, tgd, dlpd, n, cols);
    float *di = down(xd, nx);
    same_bits("token_logprob bwd in place", di, dg, nx);

    free(x); free(dlp); free(tg); free(lpc); free(lpg); free(dc); free(dg); free(di);
    sr_dev_free(&gpu, xd); sr_dev_free(&gpu, dlpd); sr_dev_free(&gpu, lpd); sr_dev_free(&gpu, tgd);
    sr_dev_free(&gpu, dd);
}

TEST(token_logprob)
{
    NEED_GPU();
    token_logprob_case(1, 37, 1);
    token_logprob_case(5, 100, 10);
    token_logprob_case(6, 49152, 5);
    token_logprob_case(3, 49152, 30);
}

/* ---- optimizer --------------------------------------------------------- */

TEST(adamw)
{
    NEED_GPU();
    const size_t n = 100003;
    float *p = rnd(n, 1), *m = rnd(n, 1e-3f), *v = rnd(n, 1e-6f);
    for (size_t i = 0; i < n; i++) v[i] = fabsf(v[i]);
    float *pd = up(p, n), *md = up(m, n), *vd = up(v, n), *gd = sr_dev_alloc(&gpu, n * sizeof(float));
    const int steps[] = { 1, 2, 1000 };
    const float decays[] = { 0.0f, 0.1f, 0.01f };
    for (int s = 0; s < 3; s++) {
        float *g = rnd(n, 0.01f);
        sr_dev_upload(&gpu, gd, g, n * sizeof(float));
        sr_adamw_hp hp = { .lr = 3e-4f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .step = steps[s] };
        sr_adamw_update(&cpu, p, g, m, v, n, 0.5f, decays[s], &hp);
        sr_adamw_update(&gpu, pd, gd, md, vd, n, 0.5f, decays[s], &hp);
        free(g);
    }
    float *pg = down(pd, n), *mg = down(md, n), *vg = down(vd, n);
    same_bits("adamw p", pg, p, n);
    same_bits("adamw m", mg, m, n);
    same_bits("adamw v", vg, v, n);
    free(p); free(m); free(v); free(pg); free(mg); free(vg);
    sr_dev_free(&gpu, pd); sr_dev_free(&gpu, md); sr_dev_free(&gpu, vd); sr_dev_free(&gpu, gd);
}

TEST(sum_squares)
{
    NEED_GPU();
    const size_t sizes[] = { 1, 255, 1000, 262145, 3000017 };
    for (int s = 0; s < 5; s++) {
        const size_t n = sizes[s];
        float *x = rnd(n, 2);
        float *xd = up(x, n);
        double c = sr_sum_squares(&cpu, x, n), a = sr_sum_squares(&gpu, xd, n), b = sr_sum_squares(&gpu, xd, n);
        printf("#   sum_squares n=%zu: cpu %.17g cuda %.17g\n", n, c, a);
        CHECK(fabs(a - c) <= 1e-12 * c);
        CHECK(memcmp(&a, &b, sizeof a) == 0);
        free(x);
        sr_dev_free(&gpu, xd);
    }
    CHECK(sr_sum_squares(&gpu, NULL, 0) == 0.0);
}

int main(void)
{
    char err[256];
    have_gpu = sr_cuda_device_count() > 0;
    if (have_gpu && sr_ctx_init_cuda(&gpu, 0, SR_PREC_FP32, err, sizeof err) < 0) {
        printf("# sr_ctx_init_cuda: %s\n", err);
        printf("not ok 1 - cuda_context\n1..1\n");
        return 1;
    }
    if (!have_gpu) printf("# skip: no CUDA device\n");
    if (sr_ctx_init_cpu(&cpu, 0, NULL, 0) < 0) return 1;
    RUN(context_and_memory);
    RUN(matmul_fp32);
    RUN(matmul_tf32);
    RUN(matmul_bf16_vs_rounded_inputs);
    RUN(matmul_bf16_vs_fp32);
    RUN(matmul_rows_parity_and_batch_invariance);
    RUN(embedding);
    RUN(rmsnorm);
    RUN(swiglu);
    RUN(geglu);
    RUN(softcap_scale_add);
    RUN(dropout);
    RUN(rope);
    RUN(softmax);
    RUN(token_logprob);
    RUN(adamw);
    RUN(sum_squares);
    if (have_gpu) sr_ctx_free(&gpu);
    sr_ctx_free(&cpu);
    return test_done();
}
