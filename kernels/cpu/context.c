/* context.c — the CPU execution context: how many threads the ops use. */
#include "kernels.h"

#include <cblas.h>
#include <omp.h>

void sr_ctx_init_cpu(sr_ctx *ctx, int threads)
{
    if (threads <= 0) threads = omp_get_num_procs();
    if (threads <= 0) threads = 1;
    ctx->device = SR_DEV_CPU;
    ctx->threads = threads;
    /* All parallelism is OpenMP's: the ops split their work over OpenMP
     * threads, each calling a single-threaded sgemm. Letting OpenBLAS run its
     * own thread pool as well makes the two pools spin against each other
     * (a forward ran 6× slower on 2 cores). OpenBLAS keeps this setting
     * process-wide, so it is set here rather than per call. */
    openblas_set_num_threads(1);
}
