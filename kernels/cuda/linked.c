/* linked.c — the CUDA backend linked into a binary instead of loaded as a
 * plug-in (kernels/plugin.c): for the GPU tests and the benchmarks, which
 * live away from the tools' directory, and for the emulator (make
 * test-gpu-emu). kernels.h's two CUDA entry points go straight to the
 * plug-in's entry; put before libsr.a, this file keeps plugin.c out. */
#include "backend.h"

int sr_cuda_device_count(void) { return sr_cuda_plugin_entry()->device_count(); }

int sr_ctx_init_cuda(sr_ctx *ctx, int device, sr_precision precision, char *err, size_t errlen)
{
    return sr_cuda_plugin_entry()->ctx_init(ctx, device, precision, err, errlen);
}
