/* waitpolicy.h — OpenMP's idle workers sleep instead of spinning.
 *
 * libgomp's workers spin between parallel regions (up to GOMP_SPINCOUNT
 * iterations, ~0.1 s) unless OMP_WAIT_POLICY says passive. On a machine
 * whose cores other work also wants — a shared server, CI, make -j beside a
 * run — the spinners take the cores from the thread doing the work: on 2
 * cores with one busy, sr-gen --threads 2 took 154 s against 14 s with
 * --threads 1 (issue 16). Sleeping costs a futex wake per region, a few
 * percent on an idle machine. libgomp reads its environment when it is
 * loaded, before main, so the setting takes the process being started again
 * with it: sr_wait_policy_passive does that once, at the start of main,
 * unless the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT themselves (which
 * are then left as they are: OMP_WAIT_POLICY=active spins as before). */
#ifndef SR_WAITPOLICY_H
#define SR_WAITPOLICY_H

/* Re-execute the program (/proc/self/exe, same argv) with
 * OMP_WAIT_POLICY=passive when neither variable is set; returns only when
 * nothing was to be done, or the exec failed (then the tool runs as it is). */
void sr_wait_policy_passive(char **argv);

#endif
