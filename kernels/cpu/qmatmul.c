/* qmatmul.c — the run-time choice of path (cpuid, SR_CPU_ISA) and the entry
 * points of qdot.h that split the weight rows among threads. */
#include "qdot_impl.h"

#include <stdlib.h>
#include <string.h>

static const char *const isa_names[SR_ISA_COUNT] = { "scalar", "avx2", "avx512", "avx512bf16" };

const char *sr_isa_name(sr_isa isa)
{
    return (unsigned)isa < SR_ISA_COUNT ? isa_names[isa] : "unknown";
}

/* cpuid, asked once (racing first calls write the same values). */
static int isa_probe(sr_isa isa)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#if !defined(__clang__)   /* clang cannot ask; every AVX2 CPU has F16C */
    avx2 = avx2 && __builtin_cpu_supports("f16c");
#endif
    int avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                 && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    switch (isa) {
    case SR_ISA_SCALAR: return 1;
    case SR_ISA_AVX2: return avx2;
    case SR_ISA_AVX512: return avx512;
    case SR_ISA_AVX512BF16: return avx512 && __builtin_cpu_supports("avx512bf16");
    default: return 0;
    }
#else
    return isa == SR_ISA_SCALAR;
#endif
}

int sr_isa_available(sr_isa isa)
{
    static int known[SR_ISA_COUNT] = { 0 };   /* 0: not asked yet, 1: no, 2: yes */
    if ((unsigned)isa >= SR_ISA_COUNT) return 0;
    if (!known[isa]) known[isa] = isa_probe(isa) ? 2 : 1;
    return known[isa] == 2;
}

/* The best path the CPU has, or SR_CPU_ISA's if it has that one. Computed
 * once; racing first calls compute the same value. */
sr_isa sr_isa_default(void)
{
    static int chosen = -1;
    if (chosen >= 0) return (sr_isa)chosen;
    int best = SR_ISA_SCALAR;
    for (int i = SR_ISA_COUNT - 1; i > 0; i--)
        if (sr_isa_available((sr_isa)i)) { best = i; break; }
    const char *env = getenv("SR_CPU_ISA");
    for (int i = 0; env && i < SR_ISA_COUNT; i++)
        if (!strcmp(env, isa_names[i]) && sr_isa_available((sr_isa)i)) best = i;
    chosen = best;
    return (sr_isa)best;
}

int sr_qmatmul_supported(enum gguf_ttype t) { return sr_qtype(t) != NULL; }

int sr_qmatmul_range(sr_isa isa, enum gguf_ttype t, const void *w, int k, const void *xq, int n,
                     float *y, int ldy, int r0, int r1)
{
    const qtype *T = sr_qtype(t);
    if (!T || k <= 0 || k % T->bs != 0) return -1;
    if (!sr_isa_available(isa)) isa = sr_isa_default();
    if (isa >= SR_ISA_AVX512) sr_qrows_avx512(T, w, k, xq, n, y, ldy, r0, r1);
    else if (isa == SR_ISA_AVX2) sr_qrows_avx2(T, w, k, xq, n, y, ldy, r0, r1);
    else sr_qrows_scalar(T, w, k, xq, n, y, ldy, r0, r1);
    return 0;
}

/* Threads take slices of 32 rows (a multiple of the SIMD paths' 8). */
int sr_qmatmul_on(sr_isa isa, enum gguf_ttype t, const void *w, int rows, int k, const void *xq,
                  int n, float *y, int ldy, int threads)
{
    const qtype *T = sr_qtype(t);
    if (!T || k <= 0 || k % T->bs != 0) return -1;
    if (!sr_isa_available(isa)) isa = sr_isa_default();
    const int blk = 32, n_blk = (rows + blk - 1) / blk;
    #pragma omp parallel for num_threads(threads > 1 ? threads : 1) schedule(dynamic, 1) if (threads > 1 && n_blk > 1)
    for (int b = 0; b < n_blk; b++) {
        int r0 = b * blk, r1 = r0 + blk < rows ? r0 + blk : rows;
        sr_qmatmul_range(isa, t, w, k, xq, n, y, ldy, r0, r1);
    }
    return 0;
}

int sr_qmatmul(enum gguf_ttype t, const void *w, int rows, int k, const void *xq, int n,
               float *y, int ldy, int threads)
{
    return sr_qmatmul_on(sr_isa_default(), t, w, rows, k, xq, n, y, ldy, threads);
}
