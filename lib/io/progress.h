/* progress.h — a long stage's progress line on standard error: how many
 * units are done of how many, tokens and tokens/s, and an ETA. On a
 * terminal the line is redrawn twice a second; into a file or pipe (a log)
 * a line is written every 30 s instead, so logs stay short.
 *
 *   sr_progress p;
 *   sr_progress_init(&p, quiet, n_records, "records");
 *   ... p.done++; p.tokens += n; sr_progress_show(&p, false); ...
 *   sr_progress_show(&p, true);          // the final redraw, on a terminal
 *   double seconds = sr_progress_elapsed(&p);
 */
#ifndef SR_PROGRESS_H
#define SR_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sr_progress {
    bool quiet, tty;
    double t0, last;            /* sr_now() at the start and at the last line shown */
    uint64_t done, total, tokens;
    const char *unit;           /* "prompts", "records" */
} sr_progress;

/* Seconds on the monotonic clock. */
double sr_now(void);

void   sr_progress_init(sr_progress *p, bool quiet, uint64_t total, const char *unit);
/* Show the line if it is time to (always when last, on a terminal). */
void   sr_progress_show(sr_progress *p, bool last);
double sr_progress_elapsed(const sr_progress *p);

#endif
