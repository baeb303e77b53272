/* threadenv.c — start again with the thread settings sr needs (threadenv.h). */
#include "io/threadenv.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sr_thread_env(char **argv)
{
    int again = 0;
    if (!argv) return;
    if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT")) {
        if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
        again = 1;
    }
    const char *blas = getenv("OPENBLAS_NUM_THREADS");
    if (!blas || strcmp(blas, "1") != 0) {
        if (setenv("OPENBLAS_NUM_THREADS", "1", 1) != 0) return;
        again = 1;
    }
    if (!again) return;
    execv("/proc/self/exe", argv);
    /* no /proc, or no exec: run with the settings read at load */
}
