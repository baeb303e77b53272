/* plugin.c — kernels.h's CUDA entry points, answered by the CUDA backend
 * loaded at run time: kernels/cuda is built into libsr-cuda.so beside the
 * binaries, and no tool links the CUDA libraries (cuBLAS, cuBLASLt and the
 * runtime are ~600 MB; loading them costs ~0.5 s and 200 MB). A tool on the
 * CPU loads nothing of CUDA, and runs where no CUDA library is installed.
 *
 * The plug-in is $SR_CUDA_PLUGIN when that is set, else libsr-cuda.so in the
 * directory of the running binary (/proc/self/exe). It is loaded once, the
 * first time it is needed, and never unloaded (contexts point into it):
 * - sr_cuda_device_count (--device auto) loads it only where an NVIDIA
 *   driver is present, so a machine without a GPU pays nothing;
 * - sr_ctx_init_cuda (--device cuda) always tries, so that a refusal names
 *   the first thing missing: the plug-in, a library it needs, or a GPU. */
#include "backend.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The process's one plug-in (process-wide by nature, as the loader's own
 * state is), or NULL and the reason it could not be loaded. */
static pthread_once_t loaded = PTHREAD_ONCE_INIT;
static const sr_cuda_plugin *plugin;
static char plugin_why[PATH_MAX + 512];

/* The NVIDIA kernel driver's traces (WSL's GPU device is /dev/dxg). Where
 * none exists cudaGetDeviceCount could only fail, after loading it all. */
static int driver_present(void)
{
    return access("/proc/driver/nvidia", F_OK) == 0 || access("/dev/nvidiactl", F_OK) == 0 ||
           access("/dev/dxg", F_OK) == 0;
}

static void load(void)
{
    char path[PATH_MAX + 32];
    const char *env = getenv("SR_CUDA_PLUGIN");
    if (env && *env) {
        snprintf(path, sizeof path, "%s", env);
    } else {
        ssize_t n = readlink("/proc/self/exe", path, PATH_MAX);
        char *slash = n > 0 ? memrchr(path, '/', (size_t)n) : NULL;
        if (!slash) {
            snprintf(plugin_why, sizeof plugin_why,
                     "cannot find the CUDA plug-in: /proc/self/exe: %s (set SR_CUDA_PLUGIN)",
                     n < 0 ? strerror(errno) : "no directory");
            return;
        }
        snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "%s", SR_CUDA_PLUGIN_FILE);
    }
    if (access(path, F_OK) != 0) {
        if (env && *env)
            snprintf(plugin_why, sizeof plugin_why, "SR_CUDA_PLUGIN=%s: %s", path, strerror(errno));
        else
            snprintf(plugin_why, sizeof plugin_why, "this build has no CUDA backend: no plug-in "
                     "%s (make builds it where nvcc is on PATH)", path);
        return;
    }
    /* A library the plug-in needs (cuBLAS, the CUDA runtime) that is not
     * installed shows here, named by the loader. */
    void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        snprintf(plugin_why, sizeof plugin_why, "cannot load the CUDA plug-in: %s", dlerror());
        return;
    }
    const sr_cuda_plugin *(*entry)(void);
    *(void **)&entry = dlsym(so, SR_CUDA_PLUGIN_ENTRY);
    const sr_cuda_plugin *p = entry ? entry() : NULL;
    if (!p) {
        snprintf(plugin_why, sizeof plugin_why, "%s is not a CUDA plug-in of sr (no %s)", path,
                 SR_CUDA_PLUGIN_ENTRY);
    } else if (p->abi != SR_BACKEND_ABI || p->ctx_size != sizeof(sr_ctx) ||
               p->ops_size != sizeof(sr_ops) || p->plugin_size != sizeof(sr_cuda_plugin)) {
        snprintf(plugin_why, sizeof plugin_why,
                 "the CUDA plug-in %s was built from other sources (backend ABI %d, "
                 "this binary's %d): rebuild both with make", path, p->abi, SR_BACKEND_ABI);
    } else {
        plugin = p;
        return;
    }
    dlclose(so);
}

static const sr_cuda_plugin *get_plugin(void)
{
    pthread_once(&loaded, load);
    return plugin;
}

int sr_cuda_device_count(void)
{
    if (!driver_present() || !get_plugin()) return 0;
    return plugin->device_count();
}

int sr_ctx_init_cuda(sr_ctx *ctx, int device, sr_precision precision, char *err, size_t errlen)
{
    memset(ctx, 0, sizeof *ctx);
    if (!get_plugin()) {
        snprintf(err, errlen, "%s", plugin_why);
        return -1;
    }
    return plugin->ctx_init(ctx, device, precision, err, errlen);
}
