/* threadenv.h — start the tool again with the thread settings sr needs in
 * the environment of the libraries that read it before main.
 *
 * Two libraries read their threading from the environment when they are
 * loaded, before main runs, so a setting takes the process being started
 * again with it: sr_thread_env does that once, at the start of main.
 *
 * - libgomp's idle workers spin between parallel regions (up to
 *   GOMP_SPINCOUNT iterations, ~0.1 s) unless OMP_WAIT_POLICY says passive.
 *   On a machine whose cores other work also wants — a shared server, CI,
 *   make -j beside a run — the spinners take the cores from the thread doing
 *   the work: on 2 cores with one busy, sr-gen --threads 2 took 154 s
 *   against 14 s with --threads 1 (issue 16). Sleeping costs a futex wake
 *   per region, a few percent on an idle machine. A user's OMP_WAIT_POLICY
 *   or GOMP_SPINCOUNT is left as it is (OMP_WAIT_POLICY=active spins).
 * - OpenBLAS (the pthreads build Debian links by default) starts its own
 *   pool of worker threads when it is loaded. sr never uses it — every sgemm
 *   is called single-threaded from OpenMP threads (kernels/cpu/context.c) —
 *   and under a small `ulimit -v` a pool worker that cannot get its memory
 *   retries forever, so the tool printed its out-of-memory message and then
 *   hung in exit() waiting to join it (issue 20). OPENBLAS_NUM_THREADS=1
 *   keeps the pool from being made; it is set whatever the user asked, as
 *   sr sets one OpenBLAS thread at run time anyway. */
#ifndef SR_THREADENV_H
#define SR_THREADENV_H

/* Re-execute the program (/proc/self/exe, same argv) with
 * OMP_WAIT_POLICY=passive (unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set)
 * and OPENBLAS_NUM_THREADS=1 when either is not already so; returns only
 * when nothing was to be done, or the exec failed (then the tool runs with
 * the settings the libraries read at load). */
void sr_thread_env(char **argv);

#endif
