/* attention_decode.c — attention for decoding steps: one new query per
 * sequence against its cache.
 *
 * sr_attention_fwd runs two sgemms per (sequence, head); with a single query
 * row OpenBLAS spends more time packing the cache than multiplying. Here each
 * (sequence, head) is a direct pass: scores by dot products, a softmax, and
 * the weighted sum of values. Each item depends on its own sequence only, so
 * a sequence's result is the same whatever shares the step. */
#include "cpu.h"
#include "elementwise.h"

#include <math.h>
#include <omp.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TGT __attribute__((target("avx2,fma")))

static TGT float dot_avx2(const float *a, const float *b, int n)
{
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    float r = _mm_cvtss_f32(s);
    for (; i < n; i++) r += a[i] * b[i];
    return r;
}

static TGT void axpy_avx2(float *y, float a, const float *x, int n)
{
    __m256 av = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}
#define HAVE_AVX2_PATH 1
#else
#define HAVE_AVX2_PATH 0
#endif

static float dot_plain(const float *a, const float *b, int n)
{
    float r = 0;
    for (int i = 0; i < n; i++) r += a[i] * b[i];
    return r;
}

static void axpy_plain(float *y, float a, const float *x, int n)
{
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

void sr_cpu_attention_decode_fwd(const sr_ctx *ctx, const sr_attn_shape *s,
                             const sr_attn_seq *seqs, int n_seq, float *work)
{
    int max_len = 1;
    for (int b = 0; b < n_seq; b++) if (seqs[b].p0 + 1 > max_len) max_len = seqs[b].p0 + 1;
#if HAVE_AVX2_PATH
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    float (*dot)(const float *, const float *, int) = avx2 ? dot_avx2 : dot_plain;
    void (*axpy)(float *, float, const float *, int) = avx2 ? axpy_avx2 : axpy_plain;
#else
    float (*dot)(const float *, const float *, int) = dot_plain;
    void (*axpy)(float *, float, const float *, int) = axpy_plain;
#endif
    const int hd = s->head_dim, group = s->n_head / s->n_head_kv;
    const float scale = sr_attn_scale(s);
    const long n_items = (long)n_seq * s->n_head;
    #pragma omp parallel num_threads(ctx->threads)
    {
        float *sc = work + (size_t)omp_get_thread_num() * max_len;
        #pragma omp for schedule(dynamic, 4)
        for (long it = 0; it < n_items; it++) {
            const sr_attn_seq *q = &seqs[it / s->n_head];
            const int h = (int)(it % s->n_head), g = h / group, n_keys = q->p0 + 1;
            const int lo = sr_attn_first_key(q->p0, s->window);   /* keys before it are outside the window */
            const float *qh = q->q + (size_t)h * hd;
            float m = -INFINITY;
            for (int j = lo; j < n_keys; j++) {
                sc[j] = dot(qh, q->k + (size_t)j * s->kv_stride + (size_t)g * hd, hd) * scale;
                if (sc[j] > m) m = sc[j];
            }
            double sum = 0;
            for (int j = lo; j < n_keys; j++) { sc[j] = expf(sc[j] - m); sum += sc[j]; }
            const float inv = (float)(1.0 / sum);
            float *out = q->out + (size_t)h * hd;
            for (int i = 0; i < hd; i++) out[i] = 0;
            for (int j = lo; j < n_keys; j++)
                axpy(out, sc[j] * inv, q->v + (size_t)j * s->kv_stride + (size_t)g * hd, hd);
            if (q->lse) q->lse[h] = m + (float)log(sum);
        }
    }
}
