/* atomic.h — a file that appears whole or not at all (DESIGN §2).
 *
 * The data goes to "PATH.tmp.PID" beside the target (so rename() stays on
 * one file system), which is synced, closed and renamed over PATH only once
 * complete; then the directory is synced, so the rename survives a crash.
 * An interrupted writer leaves a stray temporary (which the next writer of
 * PATH removes), never a truncated PATH that make would take as done. Every failure is returned, never exits:
 * io/outfile.h is the exiting wrapper the tools' -o uses. */
#ifndef SR_ATOMIC_H
#define SR_ATOMIC_H

#include <stddef.h>
#include <stdio.h>

typedef struct sr_atomic {
    FILE *f;                    /* write here between open and commit */
    char *path, *tmp;
} sr_atomic;

/* Create the temporary, after removing path's stale ones
 * (sr_atomic_clean_stale). Returns 0, or -1 with errno kept and err set
 * ("cannot write PATH: reason" — the name the caller gave, never the
 * temporary's). */
int  sr_atomic_open(sr_atomic *a, const char *path, char *err, size_t errlen);

/* Flush, fsync and close the temporary, rename it over path and sync the
 * directory. Returns 0, or -1 with errno kept, err set ("write PATH:
 * reason", "cannot write PATH: renaming its temporary into place: reason")
 * and the temporary removed.
 * Either way a is done with; sr_atomic_abort on it is then a no-op. */
int  sr_atomic_commit(sr_atomic *a, char *err, size_t errlen);

/* Close and remove the temporary (error paths). */
void sr_atomic_abort(sr_atomic *a);

/* Remove the temporaries of path that a killed writer left ("PATH.tmp.PID"
 * whose PID is no longer running: kill(PID, 0) fails with ESRCH), so
 * repeated crashes cannot fill a disk. Another output's temporaries, and a
 * live writer's, are left alone. Called by sr_atomic_open; a run that writes
 * path only later calls it at its start. Returns the number removed. */
int  sr_atomic_clean_stale(const char *path);

/* fsync path's directory, so a rename into it survives a crash. Failure
 * loses nothing already written, so it is not reported. */
void sr_sync_parent_dir(const char *path);

#endif
