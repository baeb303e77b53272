/* rope.c — rotary position embedding, in either pairing.
 *
 * llama.cpp's converter permutes the rows of llama's Q and K weights so that
 * the two halves of each rotated pair sit next to each other (2i, 2i+1); that
 * is ggml's "normal" mode. Other families (qwen2) keep Hugging Face's
 * rotate_half layout, pairs half a rotation apart (i, i + n_rot/2): neox. */
#include "cpu.h"
#include "elementwise.h"

#include <math.h>

/* Rotates each pair by sign × its angle: +1 is the forward, -1 its inverse,
 * which (the rotation being orthogonal) is also its backward. */
static void rotate(const sr_ctx *ctx, float *x, int n, int stride, int n_heads, int head_dim,
                   int n_rot, const int32_t *pos, float theta, const float *ff, int neox, float sign)
{
    const int gap = sr_rope_gap(n_rot, neox);
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int j = 0; j < n; j++) {
        float *row = x + (size_t)j * stride;
        for (int i = 0; i < n_rot / 2; i++) {
            /* One angle (in double: sr_rope_angle) serves the same pair of
             * every head. */
            double a = sr_rope_angle(pos[j], i, n_rot, theta, ff);
            float c = (float)cos(a), s = sign * (float)sin(a);
            for (int h = 0; h < n_heads; h++) sr_rope_rotate(row + (size_t)h * head_dim + sr_rope_first(i, neox), gap, c, s);
        }
    }
}

void sr_cpu_rope_fwd(const sr_ctx *ctx, float *x, int n, int stride, int n_heads,
                 int head_dim, int n_rot, const int32_t *pos, float theta, const float *freq_factors, int neox)
{
    rotate(ctx, x, n, stride, n_heads, head_dim, n_rot, pos, theta, freq_factors, neox, 1.0f);
}

void sr_cpu_rope_bwd(const sr_ctx *ctx, float *dx, int n, int stride, int n_heads,
                 int head_dim, int n_rot, const int32_t *pos, float theta, const float *freq_factors, int neox)
{
    rotate(ctx, dx, n, stride, n_heads, head_dim, n_rot, pos, theta, freq_factors, neox, -1.0f);
}
