/* waitpolicy.c — start again with OpenMP's passive wait policy (waitpolicy.h). */
#include "io/waitpolicy.h"

#include <stdlib.h>
#include <unistd.h>

void sr_wait_policy_passive(char **argv)
{
    if (!argv || getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
    execv("/proc/self/exe", argv);
    /* no /proc, or no exec: run with the policy libgomp read at load */
}
