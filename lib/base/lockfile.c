/* lockfile.c — flock on PATH.lock, with the owner's pid inside. */
#include "base/lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The pid the holder wrote, or 0 when it has not yet (or it is garbage). */
static long holder_pid(int fd)
{
    char buf[32] = { 0 };
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    return n > 0 ? strtol(buf, NULL, 10) : 0;
}

/* Whether fd is still the file at path: a releasing owner unlinks it, and a
 * lock on the unlinked file would exclude nobody. */
static int is_current(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int sr_lockfile_take(sr_lockfile *l, const char *path, char *err, size_t errlen)
{
    l->fd = -1;
    if (asprintf(&l->path, "%s.lock", path) < 0) {
        l->path = NULL;
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (;;) {
        int fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            snprintf(err, errlen, "cannot lock %s: %s: %s", path, l->path, strerror(errno));
            break;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int saved = errno;
            long pid = holder_pid(fd);
            close(fd);
            if (saved == EWOULDBLOCK && pid > 0)
                snprintf(err, errlen, "%s is being written by another run (pid %ld); wait for it, "
                         "or write another file", path, pid);
            else if (saved == EWOULDBLOCK)
                snprintf(err, errlen, "%s is being written by another run; wait for it, "
                         "or write another file", path);
            else
                snprintf(err, errlen, "cannot lock %s: %s: %s", path, l->path, strerror(saved));
            break;
        }
        if (!is_current(fd, l->path)) { close(fd); continue; }
        char pid[32];
        int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
            snprintf(err, errlen, "cannot lock %s: %s: %s", path, l->path, strerror(errno));
            close(fd);
            break;
        }
        l->fd = fd;
        return 0;
    }
    free(l->path);
    l->path = NULL;
    return -1;
}

void sr_lockfile_release(sr_lockfile *l)
{
    /* a zeroed struct (never taken) has no path */
    if (l->path && l->fd >= 0) {
        unlink(l->path);        /* before letting go: the next owner makes a new one */
        close(l->fd);
    }
    free(l->path);
    l->path = NULL;
    l->fd = -1;
}
