/* lockfile.h — one writer at a time for a file that is written over a long
 * run (a training checkpoint, its state and its log).
 *
 * The lock is an flock(2) on "PATH.lock", which holds the owner's pid for
 * the message a second writer gets. The kernel drops it when the owner dies
 * (kill -9 too), so a stale lock file never blocks a resumed run; the owner
 * removes the file when done. Every failure is returned, never exits. */
#ifndef SR_LOCKFILE_H
#define SR_LOCKFILE_H

#include <stddef.h>

typedef struct sr_lockfile {
    int fd;                     /* -1: not held */
    char *path;                 /* "PATH.lock" */
} sr_lockfile;

/* Take PATH's lock without waiting. Returns 0, or -1 with err set: "PATH is
 * being written by another run (pid N)" when another process holds it, or
 * why the lock file could not be made. */
int  sr_lockfile_take(sr_lockfile *l, const char *path, char *err, size_t errlen);

/* Remove the lock file and let go; a no-op on a lock not held (a zeroed
 * struct included). */
void sr_lockfile_release(sr_lockfile *l);

#endif
