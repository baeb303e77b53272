/* elementwise.h — the per-element arithmetic that the CPU backend
 * (kernels/cpu) and the CUDA backend (kernels/cuda) share, so that
 * both compute the same formula in the same order and the CPU unit tests
 * cover the GPU's arithmetic too.
 *
 * Every function is SR_HD static inline: __host__ __device__ under nvcc,
 * plain static inline in C.
 *
 * Rounding: nvcc fuses a*b + c into one fma by default (one rounding instead
 * of two), gcc in ISO C mode (-std=c11) never does. Where a formula is meant
 * to give the same bits on both backends, it is written with sr_fmul /
 * sr_fadd / ... , which are the plain operators on the host and the
 * round-to-nearest intrinsics (never fused) on the device. Single-precision
 * division and square root are IEEE-exact on both (nvcc's defaults
 * -prec-div=true, -prec-sqrt=true; the intrinsics say so explicitly), so
 * such a formula is bit-identical on CPU and GPU. expf/exp/pow/sin/cos are
 * not: CUDA's are within 1-2 ulp of glibc's, which the parity tests allow. */
#ifndef SR_ELEMENTWISE_H
#define SR_ELEMENTWISE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"

#ifdef __CUDACC__
#define SR_HD __host__ __device__
#else
#define SR_HD
#endif

/* ---- unfused arithmetic --------------------------------------------------- */

SR_HD static inline float sr_fmul(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}
SR_HD static inline float sr_fadd(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}
SR_HD static inline float sr_fsub(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fsub_rn(a, b);
#else
    return a - b;
#endif
}
SR_HD static inline float sr_fdiv(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fdiv_rn(a, b);
#else
    return a / b;
#endif
}
SR_HD static inline float sr_fsqrt(float a)
{
#ifdef __CUDA_ARCH__
    return __fsqrt_rn(a);
#else
    return sqrtf(a);
#endif
}
SR_HD static inline double sr_dmul(double a, double b)
{
#ifdef __CUDA_ARCH__
    return __dmul_rn(a, b);
#else
    return a * b;
#endif
}
SR_HD static inline double sr_dadd(double a, double b)
{
#ifdef __CUDA_ARCH__
    return __dadd_rn(a, b);
#else
    return a + b;
#endif
}

/* ---- SwiGLU ---------------------------------------------------------------- */

/* h = silu(g) · u, silu(g) = g σ(g) = g / (1 + e^-g). */
SR_HD static inline float sr_swiglu(float g, float u)
{
    return sr_fmul(sr_fdiv(g, sr_fadd(1.0f, expf(-g))), u);
}

/* Backward of sr_swiglu for the output gradient d: with s = σ(g),
 * ∂h/∂u = g s and ∂h/∂g = u s (1 + g (1 − s)) (silu' = s (1 + g (1 − s))). */
SR_HD static inline void sr_swiglu_grad(float d, float g, float u, float *dg, float *du)
{
    const float s = sr_fdiv(1.0f, sr_fadd(1.0f, expf(-g)));
    *du = sr_fmul(sr_fmul(d, g), s);
    *dg = sr_fmul(sr_fmul(sr_fmul(d, u), s), sr_fadd(1.0f, sr_fmul(g, sr_fsub(1.0f, s))));
}

/* ---- GeGLU (Gemma) --------------------------------------------------------- */

/* GELU with the tanh approximation, as Gemma's gelu_pytorch_tanh and
 * ggml_gelu: 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))). */
#define SR_GELU_C 0.7978845608028654f   /* √(2/π) */
#define SR_GELU_A 0.044715f

/* The tanh's argument, u = √(2/π) x (1 + a x²). */
SR_HD static inline float sr_gelu_u(float x)
{
    return sr_fmul(sr_fmul(SR_GELU_C, x), sr_fadd(1.0f, sr_fmul(sr_fmul(SR_GELU_A, x), x)));
}

/* h = gelu_tanh(g) · u. */
SR_HD static inline float sr_geglu(float g, float u)
{
    const float t = tanhf(sr_gelu_u(g));
    return sr_fmul(sr_fmul(sr_fmul(0.5f, g), sr_fadd(1.0f, t)), u);
}

/* Backward of sr_geglu for the output gradient d: ∂h/∂u = gelu(g), and with
 * t = tanh(u(g)), gelu'(g) = 0.5 (1 + t) + 0.5 g (1 − t²) √(2/π) (1 + 3a g²). */
SR_HD static inline void sr_geglu_grad(float d, float g, float u, float *dg, float *du)
{
    const float t = tanhf(sr_gelu_u(g));
    const float gelu = sr_fmul(sr_fmul(0.5f, g), sr_fadd(1.0f, t));
    const float du_dg = sr_fmul(SR_GELU_C, sr_fadd(1.0f, sr_fmul(sr_fmul(3.0f * SR_GELU_A, g), g)));
    const float slope = sr_fadd(sr_fmul(0.5f, sr_fadd(1.0f, t)),
                                sr_fmul(sr_fmul(sr_fmul(0.5f, g), sr_fsub(1.0f, sr_fmul(t, t))), du_dg));
    *du = sr_fmul(d, gelu);
    *dg = sr_fmul(sr_fmul(d, u), slope);
}

/* ---- soft-capping ---------------------------------------------------------- */

/* y = cap · tanh(x / cap), with inv = 1 / cap computed once by the caller
 * (llama.cpp multiplies by the reciprocal too): bounds the logits to
 * (−cap, cap) smoothly (Gemma's final_logit_softcapping). */
SR_HD static inline float sr_softcap(float x, float cap, float inv)
{
    return sr_fmul(cap, tanhf(sr_fmul(x, inv)));
}

/* Its backward from the input x: dy · (1 − tanh²(x / cap)). */
SR_HD static inline float sr_softcap_grad(float dy, float x, float inv)
{
    const float t = tanhf(sr_fmul(x, inv));
    return sr_fmul(dy, sr_fsub(1.0f, sr_fmul(t, t)));
}

/* ---- attention windows and scale ------------------------------------------ */

/* The first key position a query at qpos sees: with a sliding window of w
 * positions (w > 0) it sees keys (qpos − w, qpos], as llama.cpp's standard
 * SWA mask (a key is masked when qpos − kpos >= w); without (w = 0) all of
 * [0, qpos]. */
SR_HD static inline int sr_attn_first_key(int qpos, int window)
{
    return window > 0 && qpos >= window ? qpos - window + 1 : 0;
}

/* The scores' scale: the shape's, or 1/√head_dim when it leaves it 0. */
static inline float sr_attn_scale(const sr_attn_shape *s)
{
    return s->scale > 0 ? s->scale : 1.0f / sqrtf((float)s->head_dim);
}

/* ---- rotary position embedding --------------------------------------------- */

/* The angle of pair i (i < n_rot/2) at position pos: pos · theta^(-2i/n_rot),
 * divided by ff[i] when there are frequency factors (ff non-NULL: Llama
 * 3.1's rope_freqs, which slow the low frequencies down), in double because
 * positions run into the thousands and a float angle would lose the low bits
 * that sin and cos depend on. */
SR_HD static inline double sr_rope_angle(int32_t pos, int i, int n_rot, float theta, const float *ff)
{
    const double a = pos * pow((double)theta, -2.0 * i / n_rot);
    return ff ? a / ff[i] : a;
}

/* Rotates the pair (p[0], p[gap]) by the angle whose cosine is c and sine s
 * (s negated for the inverse rotation, which is also the backward). */
SR_HD static inline void sr_rope_rotate(float *p, int gap, float c, float s)
{
    const float x0 = p[0], x1 = p[gap];
    p[0] = sr_fsub(sr_fmul(x0, c), sr_fmul(x1, s));
    p[gap] = sr_fadd(sr_fmul(x0, s), sr_fmul(x1, c));
}

/* Where pair i of a head starts, and how far its second element lies:
 * (2i, 2i+1) in the llama layout, (i, i + n_rot/2) in the NEOX one. */
SR_HD static inline int sr_rope_first(int i, int neox) { return neox ? i : 2 * i; }
SR_HD static inline int sr_rope_gap(int n_rot, int neox) { return neox ? n_rot / 2 : 1; }

/* ---- RMSNorm ------------------------------------------------------------ */

/* 1 / sqrt(mean of squares + eps), from the row's sum of squares in double. */
SR_HD static inline float sr_rmsnorm_rstd(double sum_sq, int dim, float eps)
{
    return (float)(1.0 / sqrt(sum_sq / dim + eps));
}

/* The part of ∂x_j from row constants r = rstd and c = r³/dim · Σ dy w x:
 * r w_j dy_j − c x_j. */
SR_HD static inline float sr_rmsnorm_dx(float r, float w, float dy, float c, float x)
{
    return sr_fsub(sr_fmul(sr_fmul(r, w), dy), sr_fmul(c, x));
}

/* ---- AdamW ------------------------------------------------------------- */

/* The constants of one AdamW update, from its hyperparameters on the host
 * (the bias corrections in double: beta2^t stays close to 1 for many steps). */
typedef struct sr_adamw_k {
    float b1, b2, eps;
    float step1;   /* lr / (1 − beta1^t) */
    float rc2;     /* 1 / sqrt(1 − beta2^t) */
    float shrink;  /* 1 − lr·decay: decoupled weight decay, as PyTorch's AdamW */
    float gscale;  /* folds averaging and clipping into the gradient */
} sr_adamw_k;

static inline sr_adamw_k sr_adamw_consts(const sr_adamw_hp *hp, float gscale, float decay)
{
    const double c1 = 1.0 - pow(hp->beta1, hp->step), c2 = 1.0 - pow(hp->beta2, hp->step);
    sr_adamw_k k;
    k.b1 = hp->beta1;
    k.b2 = hp->beta2;
    k.eps = hp->eps;
    k.step1 = (float)(hp->lr / c1);
    k.rc2 = (float)(1.0 / sqrt(c2));
    k.shrink = 1.0f - hp->lr * decay;
    k.gscale = gscale;
    return k;
}

/* One parameter's update: m ← b1 m + (1−b1) g, v ← b2 v + (1−b2) g²,
 * p ← p·shrink − step1·m / (√v·rc2 + eps), which is lr·m̂/(√v̂ + eps) with
 * m̂ = m/(1−b1^t), √v̂ = √v/√(1−b2^t). Unfused, so CPU and GPU agree bit for bit. */
SR_HD static inline void sr_adamw_step(float *p, float *m, float *v, float g, const sr_adamw_k *k)
{
    const float gi = sr_fmul(g, k->gscale);
    const float mi = sr_fadd(sr_fmul(k->b1, *m), sr_fmul(sr_fsub(1.0f, k->b1), gi));
    const float vi = sr_fadd(sr_fmul(k->b2, *v), sr_fmul(sr_fmul(sr_fsub(1.0f, k->b2), gi), gi));
    *m = mi;
    *v = vi;
    *p = sr_fsub(sr_fmul(*p, k->shrink),
                 sr_fdiv(sr_fmul(k->step1, mi), sr_fadd(sr_fmul(sr_fsqrt(vi), k->rc2), k->eps)));
}

/* ---- bf16 ------------------------------------------------------------------ */

/* fp32 → bf16 bits, rounding to nearest with ties to even (the largest
 * finite values round to infinity); NaN stays a quiet NaN. The same rule as
 * quant_f32_to_bf16 (kernels/cpu/blocks.c) and CUDA's __float2bfloat16_rn. */
SR_HD static inline uint16_t sr_bf16_bits(float f)
{
    uint32_t x;
#ifdef __CUDA_ARCH__
    x = __float_as_uint(f);
#else
    memcpy(&x, &f, sizeof x);
#endif
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

/* f rounded to bf16 and back: what a bf16 matmul sees of an fp32 input. */
SR_HD static inline float sr_bf16_round(float f)
{
    const uint32_t x = (uint32_t)sr_bf16_bits(f) << 16;
#ifdef __CUDA_ARCH__
    return __uint_as_float(x);
#else
    float r;
    memcpy(&r, &x, sizeof r);
    return r;
#endif
}

/* ---- dropout ---------------------------------------------------------------- */

/* Whether element i of a dropout call seeded `seed` is kept: the top 32 bits
 * of a splitmix64 mix of (seed, i) at or above `threshold` (p · 2^32). A
 * counter hash rather than a stream, so the mask depends on nothing but the
 * seed and the index: any thread order or backend draws the same one, and
 * the backward regenerates the forward's mask instead of storing it. */
SR_HD static inline int sr_dropout_keep(uint64_t seed, uint64_t i, uint32_t threshold)
{
    uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (uint32_t)(z >> 32) >= threshold;
}

/* p · 2^32 as the threshold above, and the kept elements' scale 1/(1 - p),
 * computed once on the host so both backends scale by the same float. */
static inline uint32_t sr_dropout_threshold(float p)
{
    const double t = (double)p * 4294967296.0;
    return t >= 4294967295.0 ? 4294967295u : (uint32_t)t;
}
static inline float sr_dropout_scale(float p) { return 1.0f / (1.0f - p); }

#endif
