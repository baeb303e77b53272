/* atomic.c — write beside, sync, rename, sync the directory. */
#include "base/atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The pid of a temporary of base ("BASE.tmp.PID", digits only), or 0 when
 * name is not one. */
static long tmp_pid(const char *name, const char *base)
{
    size_t n = strlen(base);
    if (strncmp(name, base, n) != 0 || strncmp(name + n, ".tmp.", 5) != 0) return 0;
    const char *d = name + n + 5;
    if (!*d || strspn(d, "0123456789") != strlen(d) || strlen(d) > 9) return 0;
    return strtol(d, NULL, 10);
}

/* Whether pid's process is gone. kill(pid, 0) says ESRCH for that; a live
 * one (EPERM: someone else's) is not. A zombie is gone too, though kill()
 * still finds it: a writer killed with its parent (kill -9 of a make's
 * process group) stays one until init reaps it, and a run resumed at once
 * would keep its temporary for good. */
static int gone(long pid)
{
    if (kill((pid_t)pid, 0) != 0) return errno == ESRCH;
    char stat[64], buf[256];
    snprintf(stat, sizeof stat, "/proc/%ld/stat", pid);
    FILE *f = fopen(stat, "re");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *paren = strrchr(buf, ')');      /* the name may hold spaces */
    return paren && paren[1] == ' ' && paren[2] == 'Z';
}

int sr_atomic_clean_stale(const char *path)
{
    char *dcopy = strdup(path), *bcopy = strdup(path);
    DIR *dir = dcopy && bcopy ? opendir(dirname(dcopy)) : NULL;
    int removed = 0;
    if (dir) {
        const char *base = basename(bcopy);
        for (struct dirent *e; (e = readdir(dir));) {
            long pid = tmp_pid(e->d_name, base);
            /* only a writer that is gone; a live one keeps its temporary */
            if (pid <= 0 || pid == (long)getpid() || !gone(pid)) continue;
            removed += unlinkat(dirfd(dir), e->d_name, 0) == 0;
        }
        closedir(dir);
    }
    free(dcopy);
    free(bcopy);
    return removed;
}

int sr_atomic_open(sr_atomic *a, const char *path, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    sr_atomic_clean_stale(path);
    a->path = strdup(path);
    if (!a->path || asprintf(&a->tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) {
        free(a->path);
        memset(a, 0, sizeof *a);
        errno = ENOMEM;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    a->f = fopen(a->tmp, "wbe");
    if (!a->f) {
        int saved = errno;
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(saved));
        free(a->tmp);
        free(a->path);
        memset(a, 0, sizeof *a);
        errno = saved;
        return -1;
    }
    return 0;
}

int sr_atomic_commit(sr_atomic *a, char *err, size_t errlen)
{
    errno = 0;
    int bad = fflush(a->f) != 0 || ferror(a->f) || fsync(fileno(a->f)) != 0;
    int saved = errno;
    if (fclose(a->f) != 0 && !bad) { bad = 1; saved = errno; }
    a->f = NULL;
    if (bad) {
        snprintf(err, errlen, "write %s: %s", a->path, strerror(saved ? saved : EIO));
    } else if (rename(a->tmp, a->path) != 0) {
        bad = 1;
        saved = errno;
        snprintf(err, errlen, "cannot write %s: renaming its temporary into place: %s", a->path,
                 strerror(saved));
    } else {
        sr_sync_parent_dir(a->path);
    }
    if (bad) unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof *a);
    if (bad) errno = saved ? saved : EIO;
    return bad ? -1 : 0;
}

void sr_atomic_abort(sr_atomic *a)
{
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof *a);
}

void sr_sync_parent_dir(const char *path)
{
    char *dir = strdup(path);
    if (!dir) return;
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(dir);
}
