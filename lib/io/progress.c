/* progress.c — see progress.h. */
#include "io/progress.h"

#include <math.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "io/cli.h"

double sr_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

void sr_progress_init(sr_progress *p, bool quiet, uint64_t total, const char *unit)
{
    double t = sr_now();
    *p = (sr_progress){ quiet, isatty(STDERR_FILENO), t, t, 0, total, 0, unit };
}

double sr_progress_elapsed(const sr_progress *p) { return sr_now() - p->t0; }

void sr_progress_show(sr_progress *p, bool last)
{
    if (p->quiet) return;
    double t = sr_now(), el = t - p->t0;
    if (!last && t - p->last < (p->tty ? 0.5 : 30.0)) return;
    if (last && !p->tty) return;        /* a log has the stage's summary line instead */
    p->last = t;
    char eta[32] = "";
    if (p->done > 0 && p->total > p->done) {
        double left = el / p->done * (p->total - p->done);
        snprintf(eta, sizeof eta, ", ETA %dm%02ds", (int)(left / 60), (int)fmod(left, 60));
    }
    fprintf(stderr, "%s%s: %llu/%llu %s, %llu tokens, %.1f tokens/s%s%s", p->tty ? "\r" : "",
            sr_progname, (unsigned long long)p->done, (unsigned long long)p->total, p->unit,
            (unsigned long long)p->tokens, el > 0 ? p->tokens / el : 0.0, eta,
            p->tty ? (last ? "\n" : "\033[K") : "\n");
}
