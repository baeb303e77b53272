/* nocuda.c — built instead of kernels/cuda when nvcc was not found: there is
 * no CUDA device to offer, and asking for one says why. */
#include "kernels.h"

#include <stdio.h>

int sr_cuda_device_count(void) { return 0; }

int sr_ctx_init_cuda(sr_ctx *ctx, int device, sr_precision precision, char *err, size_t errlen)
{
    (void)ctx; (void)device; (void)precision;
    snprintf(err, errlen, "this build has no CUDA backend (nvcc was not on PATH when it was built)");
    return -1;
}
