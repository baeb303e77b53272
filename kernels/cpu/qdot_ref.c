/* qdot_ref.c — the scalar reference of the quantized dot products: each
 * type's block decoded to integers (as ggml's dequantize_row_* reads it, the
 * float scales left apart), the integer dot product, and the fixed float
 * expression of qdot_impl.h. The SIMD paths must give the same bits. */
#include "qdot_impl.h"

#include <string.h>

/* ---- decoders ------------------------------------------------------------ */

/* Elements j and j+16 of a 32-block sit in the low and high nibble of byte j. */
static void nibbles32(const uint8_t *qs, int8_t *q, int off)
{
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)((qs[j] & 0x0f) - off);
        q[j + 16] = (int8_t)((qs[j] >> 4) - off);
    }
}

static void dec_q4_0(const void *blk, qout o)
{
    const block_q4_0 *b = blk;
    nibbles32(b->qs, o.q, 8);
    *o.d = quant_fp16_to_f32(b->d);
}

static void dec_q4_1(const void *blk, qout o)
{
    const block_q4_1 *b = blk;
    nibbles32(b->qs, o.q, 0);
    *o.d = quant_fp16_to_f32(b->d);
    *o.m = quant_fp16_to_f32(b->m);
}

/* Q5_0 / Q5_1: bit j of qh is element j's fifth bit. */
static void fives32(const uint8_t *qs, const uint8_t *qh4, int8_t *q, int off)
{
    uint32_t qh;
    memcpy(&qh, qh4, 4);
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)(((qs[j] & 0x0f) | ((qh >> j & 1) << 4)) - off);
        q[j + 16] = (int8_t)(((qs[j] >> 4) | ((qh >> (j + 16) & 1) << 4)) - off);
    }
}

static void dec_q5_0(const void *blk, qout o)
{
    const block_q5_0 *b = blk;
    fives32(b->qs, b->qh, o.q, 16);
    *o.d = quant_fp16_to_f32(b->d);
}

static void dec_q5_1(const void *blk, qout o)
{
    const block_q5_1 *b = blk;
    fives32(b->qs, b->qh, o.q, 0);
    *o.d = quant_fp16_to_f32(b->d);
    *o.m = quant_fp16_to_f32(b->m);
}

static void dec_q8_0(const void *blk, qout o)
{
    const block_q8_0 *b = blk;
    memcpy(o.q, b->qs, 32);
    *o.d = quant_fp16_to_f32(b->d);
}

/* ggml's kvalues_iq4nl: the 16 levels IQ4_NL and IQ4_XS index. */
static const int8_t iq4_levels[16] = {
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
};

static void dec_iq4_nl(const void *blk, qout o)
{
    const block_iq4_nl *b = blk;
    for (int j = 0; j < 16; j++) {
        o.q[j] = iq4_levels[b->qs[j] & 0x0f];
        o.q[j + 16] = iq4_levels[b->qs[j] >> 4];
    }
    *o.d = quant_fp16_to_f32(b->d);
}

/* Q4_K / Q5_K: sub-block j (32 elements, groups 2j and 2j+1) has a 6-bit
 * scale and min; j < 4 in the low 6 bits of bytes j and j+4, j >= 4 in the
 * nibbles of byte j+4 with their top 2 bits in the spare bits of bytes j-4
 * (scale) and j (min). */
void sr_q4k_scales(const uint8_t *p, int16_t *sc, int16_t *mn)
{
    for (int j = 0; j < 8; j++) {
        int s, m;
        if (j < 4) { s = p[j] & 63; m = p[j + 4] & 63; }
        else { s = (p[j + 4] & 0x0f) | (p[j - 4] >> 6) << 4; m = (p[j + 4] >> 4) | (p[j] >> 6) << 4; }
        sc[2 * j] = sc[2 * j + 1] = (int16_t)s;
        mn[2 * j] = mn[2 * j + 1] = (int16_t)m;
    }
}

/* Q3_K: group g's scale has its low 4 bits in byte g (g < 8, low nibble) or
 * g-8 (high nibble), its top 2 bits in byte 8 + g%4 at bit 2*(g/4); minus 32. */
void sr_q3k_scales(const uint8_t *p, int16_t *sc)
{
    for (int g = 0; g < 16; g++) {
        int lo = g < 8 ? p[g] & 0x0f : p[g - 8] >> 4;
        int hi = (p[8 + (g & 3)] >> (2 * (g >> 2))) & 3;
        sc[g] = (int16_t)((lo | hi << 4) - 32);
    }
}

/* Q4_K: each 32 bytes of qs hold sub-blocks 2s (low nibbles) and 2s+1. */
static void dec_q4_K(const void *blk, qout o)
{
    const block_q4_K *b = blk;
    for (int s = 0; s < 4; s++)
        for (int l = 0; l < 32; l++) {
            o.q[64 * s + l] = (int8_t)(b->qs[32 * s + l] & 0x0f);
            o.q[64 * s + 32 + l] = (int8_t)(b->qs[32 * s + l] >> 4);
        }
    sr_q4k_scales(b->scales, o.sc, o.mn);
    *o.d = quant_fp16_to_f32(b->d);
    *o.m = quant_fp16_to_f32(b->dmin);
}

/* Q5_K: as Q4_K, sub-block j's fifth bits being bit j of qh[0..32). */
static void dec_q5_K(const void *blk, qout o)
{
    const block_q5_K *b = blk;
    for (int s = 0; s < 4; s++)
        for (int l = 0; l < 32; l++) {
            uint8_t v = b->qs[32 * s + l], h = b->qh[l];
            o.q[64 * s + l] = (int8_t)((v & 0x0f) | (h >> (2 * s) & 1) << 4);
            o.q[64 * s + 32 + l] = (int8_t)((v >> 4) | (h >> (2 * s + 1) & 1) << 4);
        }
    sr_q4k_scales(b->scales, o.sc, o.mn);
    *o.d = quant_fp16_to_f32(b->d);
    *o.m = quant_fp16_to_f32(b->dmin);
}

/* Q6_K: per half of 128, element 32i + l (i < 4) takes the low (i < 2) or
 * high (i >= 2) nibble of ql[l + 32*(i&1)] and bits 2i..2i+1 of qh[l]; minus 32. */
static void dec_q6_K(const void *blk, qout o)
{
    const block_q6_K *b = blk;
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
        int8_t *q = o.q + 128 * h;
        for (int l = 0; l < 32; l++) {
            q[l] = (int8_t)(((ql[l] & 0x0f) | (qh[l] & 3) << 4) - 32);
            q[l + 32] = (int8_t)(((ql[l + 32] & 0x0f) | (qh[l] >> 2 & 3) << 4) - 32);
            q[l + 64] = (int8_t)(((ql[l] >> 4) | (qh[l] >> 4 & 3) << 4) - 32);
            q[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (qh[l] >> 6 & 3) << 4) - 32);
        }
    }
    for (int g = 0; g < 16; g++) o.sc[g] = b->scales[g];
    *o.d = quant_fp16_to_f32(b->d);
}

/* Q2_K: element 128h + 32s + l (s < 4, l < 32) is bits 2s..2s+1 of qs[32h + l];
 * group g has scale scales[g] & 15 and min scales[g] >> 4. */
static void dec_q2_K(const void *blk, qout o)
{
    const block_q2_K *b = blk;
    for (int h = 0; h < 2; h++)
        for (int s = 0; s < 4; s++)
            for (int l = 0; l < 32; l++)
                o.q[128 * h + 32 * s + l] = (int8_t)(b->qs[32 * h + l] >> (2 * s) & 3);
    for (int g = 0; g < 16; g++) {
        o.sc[g] = b->scales[g] & 0x0f;
        o.mn[g] = b->scales[g] >> 4;
    }
    *o.d = quant_fp16_to_f32(b->d);
    *o.m = quant_fp16_to_f32(b->dmin);
}

/* Q3_K: as Q2_K's 2-bit fields, minus 4 where hmask bit 4h + s of byte l is clear. */
static void dec_q3_K(const void *blk, qout o)
{
    const block_q3_K *b = blk;
    for (int h = 0; h < 2; h++)
        for (int s = 0; s < 4; s++)
            for (int l = 0; l < 32; l++) {
                int v = b->qs[32 * h + l] >> (2 * s) & 3;
                if (!(b->hmask[l] >> (4 * h + s) & 1)) v -= 4;
                o.q[128 * h + 32 * s + l] = (int8_t)v;
            }
    sr_q3k_scales(b->scales, o.sc);
    *o.d = quant_fp16_to_f32(b->d);
}

/* IQ4_XS: sub-block j of 32 as an IQ4_NL block, with the 6-bit scale whose low
 * 4 bits are nibble j%2 of scales_l[j/2] and top 2 bits bits 2j.. of scales_h; minus 32. */
static void dec_iq4_xs(const void *blk, qout o)
{
    const block_iq4_xs *b = blk;
    for (int j = 0; j < 8; j++) {
        const uint8_t *qs = b->qs + 16 * j;
        for (int l = 0; l < 16; l++) {
            o.q[32 * j + l] = iq4_levels[qs[l] & 0x0f];
            o.q[32 * j + 16 + l] = iq4_levels[qs[l] >> 4];
        }
        int ls = ((b->scales_l[j / 2] >> 4 * (j % 2)) & 0x0f) | ((b->scales_h >> 2 * j) & 3) << 4;
        o.sc[2 * j] = o.sc[2 * j + 1] = (int16_t)(ls - 32);
    }
    *o.d = quant_fp16_to_f32(b->d);
}

/* ---- the types ------------------------------------------------------------ */

#define Q8_0B ((int)sizeof(block_q8_0))
#define Q8_1B ((int)sizeof(block_q8_1))
#define Q8_KB ((int)sizeof(block_q8_K))
static const qtype qtypes[] = {
    { GGUF_T_Q4_0, 32, 18, QF_PLAIN, GGUF_T_Q8_0, Q8_0B, dec_q4_0 },
    { GGUF_T_Q4_1, 32, 20, QF_MIN1, GGUF_T_Q8_1, Q8_1B, dec_q4_1 },
    { GGUF_T_Q5_0, 32, 22, QF_PLAIN, GGUF_T_Q8_0, Q8_0B, dec_q5_0 },
    { GGUF_T_Q5_1, 32, 24, QF_MIN1, GGUF_T_Q8_1, Q8_1B, dec_q5_1 },
    { GGUF_T_Q8_0, 32, 34, QF_PLAIN, GGUF_T_Q8_0, Q8_0B, dec_q8_0 },
    { GGUF_T_IQ4_NL, 32, 18, QF_PLAIN, GGUF_T_Q8_0, Q8_0B, dec_iq4_nl },
    { GGUF_T_Q2_K, 256, 84, QF_KMIN, GGUF_T_Q8_K, Q8_KB, dec_q2_K },
    { GGUF_T_Q3_K, 256, 110, QF_PLAIN, GGUF_T_Q8_K, Q8_KB, dec_q3_K },
    { GGUF_T_Q4_K, 256, 144, QF_KMIN, GGUF_T_Q8_K, Q8_KB, dec_q4_K },
    { GGUF_T_Q5_K, 256, 176, QF_KMIN, GGUF_T_Q8_K, Q8_KB, dec_q5_K },
    { GGUF_T_Q6_K, 256, 210, QF_PLAIN, GGUF_T_Q8_K, Q8_KB, dec_q6_K },
    { GGUF_T_IQ4_XS, 256, 136, QF_PLAIN, GGUF_T_Q8_K, Q8_KB, dec_iq4_xs },
};

const qtype *sr_qtype(enum gguf_ttype t)
{
    for (size_t i = 0; i < sizeof qtypes / sizeof qtypes[0]; i++)
        if (qtypes[i].t == t) return &qtypes[i];
    return NULL;
}

void sr_qact_block(int act, const void *blk, float *A, float *S, const int8_t **qs,
                   const int16_t **bsums)
{
    *S = 0.0f;
    *bsums = NULL;
    if (act == GGUF_T_Q8_0) {
        const block_q8_0 *a = blk;
        *A = quant_fp16_to_f32(a->d);
        *qs = a->qs;
    } else if (act == GGUF_T_Q8_1) {
        const block_q8_1 *a = blk;
        *A = quant_fp16_to_f32(a->d);
        *S = quant_fp16_to_f32(a->s);
        *qs = a->qs;
    } else {
        const block_q8_K *a = blk;
        *A = a->d;
        *qs = a->qs;
        *bsums = a->bsums;
    }
}

/* ---- the scalar path ------------------------------------------------------ */

/* One output: blocks in order into one accumulator (qdot_impl.h's forms). */
static float dot_row(const qtype *T, const uint8_t *w, const uint8_t *a, int nb)
{
    int8_t q[QK_K];
    int16_t sc[16], mn[16];
    float d, m = 0.0f;
    const qout o = { q, sc, mn, &d, &m };
    float acc = 0.0f;
    for (int b = 0; b < nb; b++, w += T->bytes, a += T->act_bytes) {
        float A, S;
        const int8_t *x;
        const int16_t *bsums;
        sr_qact_block(T->act, a, &A, &S, &x, &bsums);
        T->dec(w, o);
        int32_t isum = 0, msum = 0;
        for (int g = 0; g < T->bs / 16; g++) {
            int32_t s = 0;
            for (int l = 0; l < 16; l++) s += q[16 * g + l] * x[16 * g + l];
            isum += T->bs == QK_K ? s * sc[g] : s;
            if (T->form == QF_KMIN) msum += mn[g] * bsums[g];
        }
        /* One operation per statement: no compiler may fuse a multiply into
         * an add here (clang does within an expression), as the SIMD paths
         * do not. */
        float ad = A * d;
        float t = ad * (float)isum;
        if (T->form == QF_MIN1) {
            float u = m * S;
            t = t + u;
        } else if (T->form == QF_KMIN) {
            float am = A * m;
            float u = am * (float)msum;
            t = t - u;
        }
        acc = acc + t;
    }
    return acc;
}

void sr_qrows_scalar(const qtype *T, const void *w, int k, const void *xq, int n,
                     float *y, int ldy, int r0, int r1)
{
    const int nb = k / T->bs;
    const size_t wrow = (size_t)nb * T->bytes, arow = (size_t)nb * T->act_bytes;
    for (int r = r0; r < r1; r++)
        for (int i = 0; i < n; i++)
            y[(size_t)i * ldy + r] = dot_row(T, (const uint8_t *)w + r * wrow,
                                             (const uint8_t *)xq + i * arow, nb);
}
