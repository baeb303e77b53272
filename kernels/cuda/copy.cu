/* copy.cu — moving rows between places on the device: one launch for what
 * would otherwise be a cudaMemcpyAsync per row (a decoding step appends a
 * key and a value row per sequence per layer). */
#include "cuda.h"

#include <stdlib.h>
#include <string.h>

/* Block i copies row i; its threads stride across the row. */
__global__ static void copy_rows_kernel(float *const *dst, const float *const *src, int width)
{
    float *d = dst[blockIdx.x];
    const float *s = src[blockIdx.x];
    for (int j = threadIdx.x; j < width; j += blockDim.x) d[j] = s[j];
}

extern "C" void sr_cuda_copy_rows(const sr_ctx *ctx, float *const *dst, const float *const *src,
                                  int n, int width)
{
    /* Both pointer arrays go up in one sr_cuda_meta call (its scratch holds
     * one upload at a time): destinations first, then sources. */
    const size_t half = (size_t)n * sizeof(float *);
    void **both = (void **)malloc(2 * half);
    if (!both) sr_cuda_fail("malloc", "out of host memory", __FILE__, __LINE__);
    memcpy(both, dst, half);
    memcpy(both + n, src, half);
    void **dev = (void **)sr_cuda_meta(ctx, both, 2 * half);
    free(both);
    copy_rows_kernel<<<n, 128, 0, sr_cuda_stream(ctx)>>>((float *const *)dev, (const float *const *)(dev + n),
                                                        width);
    SR_CUDA_LAUNCHED();
}
