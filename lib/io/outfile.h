/* outfile.h — where a stage's output goes: standard output, or a file that
 * appears only when complete.
 *
 * `-o FILE` is written atomically (base/atomic.h: "FILE.tmp.PID" beside it,
 * renamed on success), so an interrupted stage never leaves a truncated file
 * that make would take as done; this is the wrapper that exits on failure.
 * Temporary files still open at exit or on SIGINT/SIGTERM/SIGHUP are
 * removed. A closed pipe downstream (EPIPE) is a quiet, successful end. */
#ifndef SR_OUTFILE_H
#define SR_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base/atomic.h"

typedef struct sr_outfile {
    FILE *f;
    char *path;     /* NULL for standard output */
    char *tmp;      /* the temporary's name while open, as the exit handlers see it */
    sr_atomic file; /* the temporary itself */
    bool device;    /* a device or FIFO, written in place (path is NULL then) */
} sr_outfile;

/* Open path (NULL or "-": standard output). On failure: exit 1 with a message. */
void sr_outfile_open(sr_outfile *o, const char *path);
/* Flush, close and rename into place. On failure: exit 1 with a message. */
void sr_outfile_commit(sr_outfile *o);
/* Remove the temporary file (error paths). */
void sr_outfile_abort(sr_outfile *o);

/* Write bytes; a failed write exits (0 for EPIPE, 1 otherwise). */
void sr_outfile_write(sr_outfile *o, const void *buf, size_t len);

/* The whole of path at once: open, write n bytes, commit (a report). */
void sr_outfile_put(const char *path, const void *buf, size_t n);

/* Call after a failed write to FILE *f that belongs to o: exits 0 quietly on
 * EPIPE, else 1 with the error. */
_Noreturn void sr_outfile_failed(const sr_outfile *o);

#endif
