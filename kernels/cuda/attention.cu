/* attention.cu — causal grouped-query attention on CUDA: the forward (fused,
 * FlashAttention-style), the decoding step (one query per sequence), and the
 * backward (dq by query blocks, dk/dv by key blocks, no atomics).
 *
 * The contract is kernels.h's: query t of a sequence sits at absolute
 * position p0 + t and sees keys [0, p0 + t] (with a sliding window w, only
 * those after p0 + t − w: tiles wholly before a block's window are never
 * loaded); query head h reads kv head h / (n_head / n_head_kv); scores are
 * scaled by the shape's scale (1/sqrt(head_dim) by default); lse is
 * m + log(sum) of each softmax row, natural log, of the scaled scores.
 *
 * Tiling. The forward never forms the T×T score matrix in global memory. A
 * block owns one (sequence, query head, block of BQ queries); it keeps its
 * queries in shared memory and streams the keys and values it may see
 * through shared memory BK at a time, from key 0 up to the block's last
 * query, so tiles wholly above the causal diagonal are never loaded. Each
 * query row is served by TPR threads of one warp: in the score step thread c
 * of a row takes keys c, c + TPR, ...; in the value step it owns output
 * columns c, c + TPR, ..., kept in registers for the whole key stream. The
 * softmax is the online one: per row a running maximum m and sum l, and when
 * a tile raises the maximum to m', the sum and the partial output are first
 * rescaled by exp(m − m'):
 *     m' = max(m, max_j s_j),  l' = l·e^(m − m') + Σ_j e^(s_j − m'),
 *     o' = o·e^(m − m') + Σ_j e^(s_j − m') v_j,
 * and at the end out = o / l, lse = m + log l.
 *
 * Head dimensions: the kernels are templates on a padded width D (32, 64,
 * 128 or 256); a head_dim below D is zero-padded in shared memory (zeros add
 * nothing to dot products) and the padding is never written out. So any
 * head_dim in [1, 256] works; larger ones stop with a message.
 *
 * Shared-memory rows are D + 1 floats: threads of a warp that read the same
 * column of different rows then hit different banks.
 *
 * Everything here is deterministic: every output element is written by one
 * thread, and every sum runs in a fixed order (no atomics). */
#include "cuda.h"
#include "elementwise.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace {

/* Tile sizes shared by the forward and backward kernels: 32 rows of queries
 * and of keys per tile, 8 threads per row (a row's threads are one aligned
 * group inside a warp, so their reductions are warp shuffles), 256 threads. */
constexpr int TILE = 32;
constexpr int TPR = 8;
constexpr int THREADS = TILE * TPR;
static_assert(32 % TPR == 0, "a row's threads must sit inside one warp");

/* The decoding kernel: 8 warps per (sequence, head). */
constexpr int DEC_WARPS = 8;
constexpr int DEC_THREADS = DEC_WARPS * 32;

/* What every kernel needs to know about the call, passed by value. */
struct attn_args {
    const sr_attn_seq *seqs;        /* device copy of the host array (sr_cuda_meta) */
    const sr_attn_seq_grad *grads;  /* backward only */
    float *drow;                    /* backward only: D = dout·out per query row */
    int n_head, n_head_kv, group, hd;
    int q_stride, kv_stride, out_stride;
    int max_T;                      /* the longest T in the call (drow's row count per sequence) */
    int window;                     /* sliding window, 0 for none */
    float scale;
};

/* Sum / max over the TPR threads of one row (an aligned group of lanes). The
 * xor butterfly leaves every lane of the group with the same bits, since each
 * step adds the same two values (in either order, which IEEE addition does
 * not distinguish). */
__device__ __forceinline__ float group_sum(float v)
{
    for (int off = TPR / 2; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off, TPR);
    return v;
}
__device__ __forceinline__ float group_max(float v)
{
    for (int off = TPR / 2; off > 0; off /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off, TPR));
    return v;
}
__device__ __forceinline__ float warp_sum(float v)
{
    for (int off = 16; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}
__device__ __forceinline__ float warp_max(float v)
{
    for (int off = 16; off > 0; off /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}

/* Copies a tile of TILE rows × D columns into shared memory (row pitch D + 1)
 * from global rows of `stride` floats: rows >= n_rows and columns >= hd
 * become 0, so padding adds nothing to dot products and masked-out rows
 * never hold stale values (0 · garbage could be NaN). Consecutive threads
 * take consecutive columns, so the global reads coalesce along a row. */
template <int D>
__device__ __forceinline__ void load_tile(float *dst, const float *src, int stride, int n_rows, int hd)
{
    constexpr int LD = D + 1;
    for (int idx = threadIdx.x; idx < TILE * D; idx += THREADS) {
        const int row = idx / D, d = idx % D;
        dst[row * LD + d] = row < n_rows && d < hd ? src[(size_t)row * stride + d] : 0.0f;
    }
}

/* ---- forward ------------------------------------------------------------
 * Grid: x = sequence × query head, y = query block, the last blocks (which
 * see the most keys) scheduled first. Block: THREADS; thread (r, c) serves
 * query row r of the block. Shared: Q, K, V tiles (TILE × (D+1) each) and
 * the tile's probabilities P (TILE × (TILE+1)). */
template <int D>
constexpr size_t fwd_smem_floats() { return 3 * (size_t)TILE * (D + 1) + (size_t)TILE * (TILE + 1); }

template <int D>
__global__ void __launch_bounds__(THREADS) attn_fwd_kernel(attn_args a)
{
    constexpr int LD = D + 1, PLD = TILE + 1, E = D / TPR, KPT = TILE / TPR;
    extern __shared__ float smem[];
    float *Qs = smem, *Ks = Qs + TILE * LD, *Vs = Ks + TILE * LD, *Ps = Vs + TILE * LD;

    const int b = blockIdx.x / a.n_head, h = blockIdx.x % a.n_head, g = h / a.group;
    const sr_attn_seq sq = a.seqs[b];
    const int t0 = (int)(gridDim.y - 1 - blockIdx.y) * TILE;
    if (t0 >= sq.T) return;                          /* past this sequence's end (whole block) */
    const int rows = min(TILE, sq.T - t0);
    const int first = sq.p0 + t0, n_keys = first + rows;   /* keys [0, n_keys) are visible to some row */
    const int r = threadIdx.x / TPR, c = threadIdx.x % TPR;
    /* Row r sees keys [0, limit]. Rows past the sequence's end borrow the
     * last real row's limit: they compute finite numbers nobody writes. */
    const int limit = first + min(r, rows - 1), lo = sr_attn_first_key(limit, a.window);

    load_tile<D>(Qs, sq.q + (size_t)t0 * a.q_stride + (size_t)h * a.hd, a.q_stride, rows, a.hd);
    const float *kg = sq.k + (size_t)g * a.hd, *vg = sq.v + (size_t)g * a.hd;

    float m = -INFINITY, l = 0.0f, o[E];
#pragma unroll
    for (int e = 0; e < E; e++) o[e] = 0.0f;

    /* from the tile holding the first key the block's first query sees */
    for (int j0 = sr_attn_first_key(first, a.window) / TILE * TILE; j0 < n_keys; j0 += TILE) {
        const int krows = min(TILE, n_keys - j0);
        __syncthreads();   /* every thread is done with the previous K, V, P tiles */
        load_tile<D>(Ks, kg + (size_t)j0 * a.kv_stride, a.kv_stride, krows, a.hd);
        load_tile<D>(Vs, vg + (size_t)j0 * a.kv_stride, a.kv_stride, krows, a.hd);
        __syncthreads();

        /* Scores of row r against keys c, c + TPR, ... of the tile; masked
         * ones (above the diagonal, or past n_keys) are −inf. */
        float s[KPT];
#pragma unroll
        for (int i = 0; i < KPT; i++) s[i] = 0.0f;
#pragma unroll 8
        for (int d = 0; d < D; d++) {
            const float qv = Qs[r * LD + d];
#pragma unroll
            for (int i = 0; i < KPT; i++) s[i] += qv * Ks[(c + TPR * i) * LD + d];
        }
        float mx = -INFINITY;
#pragma unroll
        for (int i = 0; i < KPT; i++) {
            const int j = j0 + c + TPR * i;
            s[i] = j <= limit && j >= lo ? s[i] * a.scale : -INFINITY;
            mx = fmaxf(mx, s[i]);
        }
        /* The online-softmax step. Without a window the first tile holds
         * key 0, which every row sees, so m' is finite from then on; a later
         * tile that a row sees none of leaves m' = m, alpha = 1 and adds
         * zeros. With one, a row may see nothing of the first tiles (m' =
         * −inf): the reference point is then 0, so alpha and p are 0, not NaN. */
        const float m_new = fmaxf(m, group_max(mx));
        const float m_ref = m_new == -INFINITY ? 0.0f : m_new;
        const float alpha = expf(m - m_ref);           /* 0 on a row's first seen tile (m = −inf) */
        float psum = 0.0f;
#pragma unroll
        for (int i = 0; i < KPT; i++) {
            const float p = expf(s[i] - m_ref);        /* 0 where masked */
            Ps[r * PLD + c + TPR * i] = p;
            psum += p;
        }
        l = l * alpha + group_sum(psum);
        m = m_new;
        __syncwarp();      /* row r's P is written and read by its own TPR lanes only */

#pragma unroll
        for (int e = 0; e < E; e++) o[e] *= alpha;
        for (int j = 0; j < krows; j++) {
            const float p = Ps[r * PLD + j];
#pragma unroll
            for (int e = 0; e < E; e++) o[e] += p * Vs[j * LD + c + TPR * e];
        }
    }

    if (r < rows) {
        float *out = sq.out + (size_t)(t0 + r) * a.out_stride + (size_t)h * a.hd;
        const float inv = 1.0f / l;
#pragma unroll
        for (int e = 0; e < E; e++) {
            const int d = c + TPR * e;
            if (d < a.hd) out[d] = o[e] * inv;
        }
        if (sq.lse && c == 0) sq.lse[(size_t)(t0 + r) * a.n_head + h] = m + logf(l);
    }
}

/* ---- decoding ------------------------------------------------------------
 * One query per sequence. Grid: x = sequence × query head; block: 8 warps.
 * Warp w takes chunks of 32 keys w, w + 8, ... (lane i scores key i of a
 * chunk, reading its row of K), keeping its own online softmax (m, l) and a
 * partial output (lane owns columns lane, lane + 32, ...). The warps' partial
 * results are then combined in warp order in shared memory — a fixed order,
 * and nothing but the sequence's own q, k, v enters a block, so a
 * sequence's result is the same bits whatever else shares the call.
 * Shared: q (D), and per warp m, l and the partial output (8 × D). */
template <int D>
__global__ void __launch_bounds__(DEC_THREADS) attn_decode_kernel(attn_args a)
{
    constexpr int E = D / 32 > 0 ? D / 32 : 1;
    __shared__ float qs[D];
    __shared__ float wm[DEC_WARPS], wl[DEC_WARPS];
    __shared__ float wacc[DEC_WARPS][D];

    const int b = blockIdx.x / a.n_head, h = blockIdx.x % a.n_head, g = h / a.group;
    const sr_attn_seq sq = a.seqs[b];
    if (sq.T < 1) return;
    const int n_keys = sq.p0 + 1, lo = sr_attn_first_key(sq.p0, a.window);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    for (int d = threadIdx.x; d < D; d += DEC_THREADS) qs[d] = d < a.hd ? sq.q[(size_t)h * a.hd + d] : 0.0f;
    __syncthreads();

    const float *kg = sq.k + (size_t)g * a.hd, *vg = sq.v + (size_t)g * a.hd;
    float m = -INFINITY, l = 0.0f, acc[E];
#pragma unroll
    for (int e = 0; e < E; e++) acc[e] = 0.0f;

    for (int c0 = lo + warp * 32; c0 < n_keys; c0 += DEC_WARPS * 32) {
        const int j = c0 + lane;
        float s = -INFINITY;
        if (j < n_keys) {
            const float *kr = kg + (size_t)j * a.kv_stride;
            float dot = 0.0f;
#pragma unroll 8
            for (int d = 0; d < a.hd; d++) dot += qs[d] * kr[d];
            s = dot * a.scale;
        }
        /* lane 0's key c0 < n_keys is real, so m' is finite */
        const float m_new = fmaxf(m, warp_max(s));
        const float alpha = expf(m - m_new);
        const float p = expf(s - m_new);
        l = l * alpha + warp_sum(p);
        m = m_new;
#pragma unroll
        for (int e = 0; e < E; e++) acc[e] *= alpha;
        const int n = min(32, n_keys - c0);
        for (int jj = 0; jj < n; jj++) {
            const float pj = __shfl_sync(0xffffffffu, p, jj);
            const float *vr = vg + (size_t)(c0 + jj) * a.kv_stride;
#pragma unroll
            for (int e = 0; e < E; e++) {
                const int d = lane + 32 * e;
                if (d < a.hd) acc[e] += pj * vr[d];
            }
        }
    }

    /* A warp with no keys keeps m = −inf, l = 0, acc = 0: weight 0 below. */
    if (lane == 0) { wm[warp] = m; wl[warp] = l; }
#pragma unroll
    for (int e = 0; e < E; e++) {
        const int d = lane + 32 * e;
        if (d < D) wacc[warp][d] = acc[e];
    }
    __syncthreads();
    if ((int)threadIdx.x < a.hd) {       /* hd <= D <= DEC_THREADS: one thread per column */
        const int d = threadIdx.x;
        float M = wm[0];
        for (int w = 1; w < DEC_WARPS; w++) M = fmaxf(M, wm[w]);
        float L = 0.0f, O = 0.0f;
        for (int w = 0; w < DEC_WARPS; w++) {
            const float f = expf(wm[w] - M);
            L += wl[w] * f;
            O += wacc[w][d] * f;
        }
        sq.out[(size_t)h * a.hd + d] = O / L;
        if (sq.lse && d == 0) sq.lse[h] = M + logf(L);
    }
}

/* ---- backward ------------------------------------------------------------
 * With P = exp(s·scale − lse) recomputed from the forward's lse, dO the
 * output's gradient and D_i = dO_i · O_i:
 *   dV = Pᵀ dO,  dS = P ∘ (dO Vᵀ − D),  dQ = dS K · scale,  dK = dSᵀ Q · scale.
 * Three launches: D per query row into the workspace; dQ by (sequence,
 * query head, query block), streaming key tiles like the forward; dK and dV
 * by (sequence, kv head, key block), looping over the group's query heads
 * and the query tiles that see those keys. Each dK/dV row then belongs to
 * one block and is summed in a fixed order: no float atomics. */

/* D_i = Σ_c dout[i][c] · out[i][c], one warp per (sequence, query, head),
 * stored at drow[(b·max_T + t)·n_head + h] (the layout of lse per sequence). */
__global__ void attn_bwd_rowdot_kernel(attn_args a, long total)
{
    const long w = (long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (w >= total) return;                          /* whole warps leave together */
    const int h = (int)(w % a.n_head);
    const int t = (int)(w / a.n_head % a.max_T);
    const int b = (int)(w / ((long)a.n_head * a.max_T));
    const sr_attn_seq sq = a.seqs[b];
    if (t >= sq.T) return;
    const float *o = sq.out + (size_t)t * a.out_stride + (size_t)h * a.hd;
    const float *dout = a.grads[b].dout + (size_t)t * a.out_stride + (size_t)h * a.hd;
    float sum = 0.0f;
    for (int d = lane; d < a.hd; d += 32) sum += dout[d] * o[d];
    sum = warp_sum(sum);
    if (lane == 0) a.drow[w] = sum;
}

/* dQ. Grid and block as the forward. Shared: Q and dO tiles of the block's
 * queries, K and V tiles of the streamed keys (TILE × (D+1) each), and dS
 * (TILE × (TILE+1)). */
template <int D>
constexpr size_t dq_smem_floats() { return 4 * (size_t)TILE * (D + 1) + (size_t)TILE * (TILE + 1); }

template <int D>
__global__ void __launch_bounds__(THREADS) attn_bwd_dq_kernel(attn_args a)
{
    constexpr int LD = D + 1, PLD = TILE + 1, E = D / TPR, KPT = TILE / TPR;
    extern __shared__ float smem[];
    float *Qs = smem, *dOs = Qs + TILE * LD, *Ks = dOs + TILE * LD, *Vs = Ks + TILE * LD;
    float *dSs = Vs + TILE * LD;

    const int b = blockIdx.x / a.n_head, h = blockIdx.x % a.n_head, g = h / a.group;
    const sr_attn_seq sq = a.seqs[b];
    const sr_attn_seq_grad gr = a.grads[b];
    const int t0 = (int)(gridDim.y - 1 - blockIdx.y) * TILE;
    if (t0 >= sq.T) return;
    const int rows = min(TILE, sq.T - t0);
    const int first = sq.p0 + t0, n_keys = first + rows;
    const int r = threadIdx.x / TPR, c = threadIdx.x % TPR;
    const bool active = r < rows;
    /* Rows past the end see no key (limit −1): P = dS = 0 there. */
    const int limit = active ? first + r : -1, lo = active ? sr_attn_first_key(limit, a.window) : 0;
    const float lse = active ? sq.lse[(size_t)(t0 + r) * a.n_head + h] : 0.0f;
    const float Dr = active ? a.drow[((size_t)b * a.max_T + t0 + r) * a.n_head + h] : 0.0f;

    load_tile<D>(Qs, sq.q + (size_t)t0 * a.q_stride + (size_t)h * a.hd, a.q_stride, rows, a.hd);
    load_tile<D>(dOs, gr.dout + (size_t)t0 * a.out_stride + (size_t)h * a.hd, a.out_stride, rows, a.hd);
    const float *kg = sq.k + (size_t)g * a.hd, *vg = sq.v + (size_t)g * a.hd;

    float dq[E];
#pragma unroll
    for (int e = 0; e < E; e++) dq[e] = 0.0f;

    for (int j0 = sr_attn_first_key(first, a.window) / TILE * TILE; j0 < n_keys; j0 += TILE) {
        const int krows = min(TILE, n_keys - j0);
        __syncthreads();   /* the previous K tile and dS are no longer read */
        load_tile<D>(Ks, kg + (size_t)j0 * a.kv_stride, a.kv_stride, krows, a.hd);
        load_tile<D>(Vs, vg + (size_t)j0 * a.kv_stride, a.kv_stride, krows, a.hd);
        __syncthreads();

        float s[KPT], dp[KPT];
#pragma unroll
        for (int i = 0; i < KPT; i++) s[i] = dp[i] = 0.0f;
#pragma unroll 8
        for (int d = 0; d < D; d++) {
            const float qv = Qs[r * LD + d], gv = dOs[r * LD + d];
#pragma unroll
            for (int i = 0; i < KPT; i++) {
                s[i] += qv * Ks[(c + TPR * i) * LD + d];
                dp[i] += gv * Vs[(c + TPR * i) * LD + d];
            }
        }
#pragma unroll
        for (int i = 0; i < KPT; i++) {
            const int j = c + TPR * i;
            const float p = j0 + j <= limit && j0 + j >= lo ? expf(s[i] * a.scale - lse) : 0.0f;
            dSs[r * PLD + j] = p * (dp[i] - Dr);
        }
        __syncwarp();      /* row r's dS is written and read by its own lanes */
        for (int j = 0; j < krows; j++) {
            const float ds = dSs[r * PLD + j];
#pragma unroll
            for (int e = 0; e < E; e++) dq[e] += ds * Ks[j * LD + c + TPR * e];
        }
    }

    if (active) {
        float *out = gr.dq + (size_t)(t0 + r) * a.q_stride + (size_t)h * a.hd;
#pragma unroll
        for (int e = 0; e < E; e++) {
            const int d = c + TPR * e;
            if (d < a.hd) out[d] = dq[e] * a.scale;
        }
    }
}

/* dK and dV. Grid: x = sequence × kv head, y = key block (TILE keys of
 * [0, p0 + T)). Block: thread (r, c) serves key row r; it owns columns
 * c, c + TPR, ... of that key's dK and dV in registers while the block walks
 * the group's query heads in order and, for each, the query tiles from the
 * first query that sees the block's first key. Shared: K, V of the block's
 * keys and Q, dO of the current query tile (TILE × (D+1) each), P and dS
 * (TILE × (TILE+1) each, indexed [key][query]), lse and D of the tile. */
template <int D>
constexpr size_t dkdv_smem_floats()
{
    return 4 * (size_t)TILE * (D + 1) + 2 * (size_t)TILE * (TILE + 1) + 2 * (size_t)TILE;
}

template <int D>
__global__ void __launch_bounds__(THREADS) attn_bwd_dkdv_kernel(attn_args a)
{
    constexpr int LD = D + 1, PLD = TILE + 1, E = D / TPR, QPT = TILE / TPR;
    extern __shared__ float smem[];
    float *Ks = smem, *Vs = Ks + TILE * LD, *Qs = Vs + TILE * LD, *dOs = Qs + TILE * LD;
    float *Ps = dOs + TILE * LD, *dSs = Ps + TILE * PLD, *lses = dSs + TILE * PLD, *Ds = lses + TILE;

    const int b = blockIdx.x / a.n_head_kv, g = blockIdx.x % a.n_head_kv;
    const sr_attn_seq sq = a.seqs[b];
    const sr_attn_seq_grad gr = a.grads[b];
    const int len = sq.p0 + sq.T, j0 = blockIdx.y * TILE;
    if (j0 >= len) return;
    const int krows = min(TILE, len - j0);
    const int r = threadIdx.x / TPR, c = threadIdx.x % TPR;
    const int jpos = j0 + r;                 /* this row's key position; >= len (no query sees it) past the end */

    load_tile<D>(Ks, sq.k + (size_t)j0 * a.kv_stride + (size_t)g * a.hd, a.kv_stride, krows, a.hd);
    load_tile<D>(Vs, sq.v + (size_t)j0 * a.kv_stride + (size_t)g * a.hd, a.kv_stride, krows, a.hd);

    float dk[E], dv[E];
#pragma unroll
    for (int e = 0; e < E; e++) dk[e] = dv[e] = 0.0f;

    /* Query t (position p0 + t) sees key j0 only if p0 + t >= j0. */
    const int tq0 = max(0, j0 - sq.p0);
    /* With a window, query t sees the block's last key only while
     * p0 + t < j0 + krows − 1 + window: the later tiles see none of them. */
    const int tq1 = a.window > 0 ? min(sq.T, j0 + krows - 1 + a.window - sq.p0) : sq.T;
    for (int h = g * a.group; h < (g + 1) * a.group; h++) {
        for (int t0 = tq0; t0 < tq1; t0 += TILE) {
            const int qrows = min(TILE, sq.T - t0);
            __syncthreads();   /* the previous query tile, P and dS are no longer read */
            load_tile<D>(Qs, sq.q + (size_t)t0 * a.q_stride + (size_t)h * a.hd, a.q_stride, qrows, a.hd);
            load_tile<D>(dOs, gr.dout + (size_t)t0 * a.out_stride + (size_t)h * a.hd, a.out_stride,
                         qrows, a.hd);
            for (int i = threadIdx.x; i < TILE; i += THREADS) {
                const bool ok = i < qrows;
                lses[i] = ok ? sq.lse[(size_t)(t0 + i) * a.n_head + h] : 0.0f;
                Ds[i] = ok ? a.drow[((size_t)b * a.max_T + t0 + i) * a.n_head + h] : 0.0f;
            }
            __syncthreads();

            /* Key r against queries c, c + TPR, ... of the tile. */
            float s[QPT], dp[QPT];
#pragma unroll
            for (int i = 0; i < QPT; i++) s[i] = dp[i] = 0.0f;
#pragma unroll 8
            for (int d = 0; d < D; d++) {
                const float kv = Ks[r * LD + d], vv = Vs[r * LD + d];
#pragma unroll
                for (int i = 0; i < QPT; i++) {
                    s[i] += kv * Qs[(c + TPR * i) * LD + d];
                    dp[i] += vv * dOs[(c + TPR * i) * LD + d];
                }
            }
#pragma unroll
            for (int i = 0; i < QPT; i++) {
                const int qi = c + TPR * i;
                const int qpos = sq.p0 + t0 + qi;
                const bool seen = qi < qrows && jpos <= qpos && jpos >= sr_attn_first_key(qpos, a.window);
                const float p = seen ? expf(s[i] * a.scale - lses[qi]) : 0.0f;
                Ps[r * PLD + qi] = p;
                dSs[r * PLD + qi] = p * (dp[i] - Ds[qi]);
            }
            __syncwarp();  /* row r's P and dS are written and read by its own lanes */
            for (int i = 0; i < qrows; i++) {
                const float p = Ps[r * PLD + i], ds = dSs[r * PLD + i];
#pragma unroll
                for (int e = 0; e < E; e++) {
                    dv[e] += p * dOs[i * LD + c + TPR * e];
                    dk[e] += ds * Qs[i * LD + c + TPR * e];
                }
            }
        }
    }

    if (r < krows) {
        float *dkr = gr.dk + (size_t)jpos * a.kv_stride + (size_t)g * a.hd;
        float *dvr = gr.dv + (size_t)jpos * a.kv_stride + (size_t)g * a.hd;
#pragma unroll
        for (int e = 0; e < E; e++) {
            const int d = c + TPR * e;
            if (d < a.hd) { dkr[d] = dk[e] * a.scale; dvr[d] = dv[e]; }
        }
    }
}

/* ---- host side ------------------------------------------------------------ */

/* The padded width the kernels use for head_dim, or 0 when unsupported. */
int tile_dim(int hd)
{
    return hd < 1 ? 0 : hd <= 32 ? 32 : hd <= 64 ? 64 : hd <= 128 ? 128 : hd <= 256 ? 256 : 0;
}

void check_shape(const sr_attn_shape *s, const char *who)
{
    char msg[160];
    if (!tile_dim(s->head_dim)) {
        snprintf(msg, sizeof msg, "head_dim %d is not supported (the CUDA attention kernels take 1 to 256)",
                 s->head_dim);
        sr_cuda_fail(who, msg, __FILE__, __LINE__);
    }
    if (s->n_head < 1 || s->n_head_kv < 1 || s->n_head % s->n_head_kv) {
        snprintf(msg, sizeof msg, "n_head %d is not a multiple of n_head_kv %d", s->n_head, s->n_head_kv);
        sr_cuda_fail(who, msg, __FILE__, __LINE__);
    }
}

attn_args make_args(const sr_attn_shape *s)
{
    attn_args a;
    memset(&a, 0, sizeof a);
    a.n_head = s->n_head;
    a.n_head_kv = s->n_head_kv;
    a.group = s->n_head / s->n_head_kv;
    a.hd = s->head_dim;
    a.q_stride = s->q_stride;
    a.kv_stride = s->kv_stride;
    a.out_stride = s->out_stride;
    a.window = s->window;
    a.scale = sr_attn_scale(s);
    return a;
}

/* Launches a kernel that takes `floats` of dynamic shared memory. Above the
 * default 48 KiB a kernel must opt in (up to the device's limit: 227 KiB on
 * H100, 163 KiB on A100); the largest here, the backward at head_dim 256,
 * takes about 137 KiB. */
template <typename K>
void launch(const sr_ctx *ctx, const char *who, K kernel, dim3 grid, size_t floats, attn_args a)
{
    const size_t bytes = floats * sizeof(float);
    if (bytes > 48 * 1024) {
        int limit = 0;
        SR_CUDA(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, ctx->cuda->device));
        if (bytes > (size_t)limit) {
            char msg[200];
            snprintf(msg, sizeof msg, "head_dim %d needs %zu bytes of shared memory per block; this "
                     "device allows %d", a.hd, bytes, limit);
            sr_cuda_fail(who, msg, __FILE__, __LINE__);
        }
        SR_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
    }
    kernel<<<grid, THREADS, bytes, sr_cuda_stream(ctx)>>>(a);
    SR_CUDA_LAUNCHED();
}

template <int D>
void run_fwd(const sr_ctx *ctx, dim3 grid, attn_args a)
{
    launch(ctx, "sr_cuda_attention_fwd", attn_fwd_kernel<D>, grid, fwd_smem_floats<D>(), a);
}

template <int D>
void run_decode(const sr_ctx *ctx, unsigned blocks, attn_args a)
{
    attn_decode_kernel<D><<<blocks, DEC_THREADS, 0, sr_cuda_stream(ctx)>>>(a);
    SR_CUDA_LAUNCHED();
}

template <int D>
void run_bwd(const sr_ctx *ctx, dim3 dq_grid, dim3 dkdv_grid, attn_args a)
{
    if (dq_grid.y)
        launch(ctx, "sr_cuda_attention_bwd", attn_bwd_dq_kernel<D>, dq_grid, dq_smem_floats<D>(), a);
    if (dkdv_grid.y)
        launch(ctx, "sr_cuda_attention_bwd", attn_bwd_dkdv_kernel<D>, dkdv_grid, dkdv_smem_floats<D>(), a);
}

} /* namespace */

/* The forward and the decoding step keep everything in shared memory and
 * registers: no workspace. */
extern "C" size_t sr_cuda_attention_workspace(const sr_ctx *ctx, const sr_attn_shape *s, int max_len)
{
    (void)ctx; (void)s; (void)max_len;
    return 0;
}

/* The backward's D = dout·out, one float per (sequence, query, head). */
extern "C" size_t sr_cuda_attention_bwd_workspace(const sr_ctx *ctx, const sr_attn_shape *s,
                                                  int max_len, int n_seq)
{
    (void)ctx;
    if (max_len < 1 || n_seq < 1) return 0;
    return (size_t)n_seq * (size_t)max_len * (size_t)s->n_head;
}

extern "C" void sr_cuda_attention_fwd(const sr_ctx *ctx, const sr_attn_shape *s,
                                      const sr_attn_seq *seqs, int n_seq, float *work)
{
    (void)work;
    if (n_seq <= 0) return;
    check_shape(s, "sr_cuda_attention_fwd");
    int max_T = 0;
    for (int b = 0; b < n_seq; b++) if (seqs[b].T > max_T) max_T = seqs[b].T;
    if (max_T == 0) return;
    attn_args a = make_args(s);
    a.max_T = max_T;
    a.seqs = (const sr_attn_seq *)sr_cuda_meta(ctx, seqs, (size_t)n_seq * sizeof *seqs);
    const dim3 grid((unsigned)n_seq * (unsigned)s->n_head, (unsigned)((max_T + TILE - 1) / TILE));
    switch (tile_dim(s->head_dim)) {
    case 32:  run_fwd<32>(ctx, grid, a); break;
    case 64:  run_fwd<64>(ctx, grid, a); break;
    case 128: run_fwd<128>(ctx, grid, a); break;
    default:  run_fwd<256>(ctx, grid, a); break;
    }
}

/* Every sequence has T = 1 (kernels.h); a sequence with T < 1 is skipped. */
extern "C" void sr_cuda_attention_decode_fwd(const sr_ctx *ctx, const sr_attn_shape *s,
                                             const sr_attn_seq *seqs, int n_seq, float *work)
{
    (void)work;
    if (n_seq <= 0) return;
    check_shape(s, "sr_cuda_attention_decode_fwd");
    attn_args a = make_args(s);
    a.max_T = 1;
    a.seqs = (const sr_attn_seq *)sr_cuda_meta(ctx, seqs, (size_t)n_seq * sizeof *seqs);
    const unsigned blocks = (unsigned)n_seq * (unsigned)s->n_head;
    switch (tile_dim(s->head_dim)) {
    case 32:  run_decode<32>(ctx, blocks, a); break;
    case 64:  run_decode<64>(ctx, blocks, a); break;
    case 128: run_decode<128>(ctx, blocks, a); break;
    default:  run_decode<256>(ctx, blocks, a); break;
    }
}

extern "C" void sr_cuda_attention_bwd(const sr_ctx *ctx, const sr_attn_shape *s, const sr_attn_seq *seqs,
                                      const sr_attn_seq_grad *grads, int n_seq, float *work)
{
    if (n_seq <= 0) return;
    check_shape(s, "sr_cuda_attention_bwd");
    int max_T = 0, max_len = 0;
    for (int b = 0; b < n_seq; b++) {
        if (seqs[b].T > max_T) max_T = seqs[b].T;
        if (seqs[b].p0 + seqs[b].T > max_len) max_len = seqs[b].p0 + seqs[b].T;
    }
    if (max_len == 0) return;

    /* Both arrays go up in one sr_cuda_meta call (its scratch holds one
     * upload at a time): the sequences, then their gradients. */
    static_assert(sizeof(sr_attn_seq) % alignof(sr_attn_seq_grad) == 0, "gradients follow sequences");
    const size_t seq_bytes = (size_t)n_seq * sizeof *seqs, grad_bytes = (size_t)n_seq * sizeof *grads;
    char *both = (char *)malloc(seq_bytes + grad_bytes);
    if (!both) sr_cuda_fail("malloc", "out of host memory", __FILE__, __LINE__);
    memcpy(both, seqs, seq_bytes);
    memcpy(both + seq_bytes, grads, grad_bytes);
    char *dev = (char *)sr_cuda_meta(ctx, both, seq_bytes + grad_bytes);
    free(both);

    attn_args a = make_args(s);
    a.seqs = (const sr_attn_seq *)dev;
    a.grads = (const sr_attn_seq_grad *)(dev + seq_bytes);
    a.drow = work;
    a.max_T = max_T;

    if (max_T > 0) {
        const long rows = (long)n_seq * max_T * s->n_head;
        const unsigned warps = SR_CUDA_THREADS / 32;
        attn_bwd_rowdot_kernel<<<sr_cuda_blocks((size_t)rows, warps), SR_CUDA_THREADS, 0,
                                 sr_cuda_stream(ctx)>>>(a, rows);
        SR_CUDA_LAUNCHED();
    }
    /* dQ's grid is empty when no sequence has a query; dK and dV are still
     * written (zeros) for the cached positions then. */
    const dim3 dq_grid((unsigned)n_seq * (unsigned)s->n_head, (unsigned)((max_T + TILE - 1) / TILE));
    const dim3 dkdv_grid((unsigned)n_seq * (unsigned)s->n_head_kv, (unsigned)((max_len + TILE - 1) / TILE));
    switch (tile_dim(s->head_dim)) {
    case 32:  run_bwd<32>(ctx, dq_grid, dkdv_grid, a); break;
    case 64:  run_bwd<64>(ctx, dq_grid, dkdv_grid, a); break;
    case 128: run_bwd<128>(ctx, dq_grid, dkdv_grid, a); break;
    default:  run_bwd<256>(ctx, dq_grid, dkdv_grid, a); break;
    }
}
