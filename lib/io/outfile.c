/* outfile.c — atomic output files and quiet ends on closed pipes. */
#include "io/outfile.h"
#include "io/cli.h"

#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The temporary files now open, so exit and signal handlers can remove them.
 * A process has few outputs; a small fixed table keeps the signal handler
 * free of anything but unlink(). */
enum { MAX_OPEN = 16 };
static char *volatile open_tmp[MAX_OPEN];

static void remove_all(void)
{
    for (int i = 0; i < MAX_OPEN; i++)
        if (open_tmp[i]) unlink(open_tmp[i]);
}

static void on_signal(int sig)
{
    remove_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void track(char *tmp)
{
    static int installed;
    if (!installed) {
        installed = 1;
        atexit(remove_all);
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGHUP, on_signal);
    }
    for (int i = 0; i < MAX_OPEN; i++)
        if (!open_tmp[i]) { open_tmp[i] = tmp; return; }
    sr_die(SR_EXIT_FAIL, "too many output files open at once");
}

static void untrack(const char *tmp)
{
    for (int i = 0; i < MAX_OPEN; i++)
        if (open_tmp[i] == tmp) open_tmp[i] = NULL;
}

void sr_outfile_open(sr_outfile *o, const char *path)
{
    memset(o, 0, sizeof *o);
    if (!path || strcmp(path, "-") == 0) {
        o->f = stdout;
        return;
    }
    /* A device or FIFO (-o /dev/null, a named pipe) is written in place:
     * renaming over it would replace the device with a regular file. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        o->f = fopen(path, "wb");
        if (!o->f) sr_die(SR_EXIT_FAIL, "cannot write %s: %s", path, strerror(errno));
        o->device = true;
        return;
    }
    char err[PATH_MAX + 256];
    if (sr_atomic_open(&o->file, path, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
    /* copies of the names: the handlers must never see memory commit frees */
    o->path = strdup(path);
    o->tmp = strdup(o->file.tmp);
    if (!o->path || !o->tmp) sr_die(SR_EXIT_FAIL, "out of memory");
    o->f = o->file.f;
    track(o->tmp);
}

void sr_outfile_failed(const sr_outfile *o)
{
    if (errno == EPIPE)
        exit(SR_EXIT_OK);
    sr_die(SR_EXIT_FAIL, "write %s: %s", o->path ? o->path : "standard output",
           strerror(errno ? errno : EIO));
}

void sr_outfile_write(sr_outfile *o, const void *buf, size_t len)
{
    if (len && fwrite(buf, 1, len, o->f) != len)
        sr_outfile_failed(o);
}

void sr_outfile_commit(sr_outfile *o)
{
    errno = 0;
    if (fflush(o->f) != 0)
        sr_outfile_failed(o);
    if (!o->path) {
        /* stdout stays open for the runtime to close; errors surfaced above. */
        if (ferror(o->f)) sr_outfile_failed(o);
        if (o->device && fclose(o->f) != 0) sr_outfile_failed(o);
        o->f = NULL;
        return;
    }
    char err[2 * PATH_MAX + 256];
    int rc = sr_atomic_commit(&o->file, err, sizeof err);
    o->f = NULL;
    untrack(o->tmp);
    if (rc < 0) {
        if (errno == EPIPE) exit(SR_EXIT_OK);
        sr_die(SR_EXIT_FAIL, "%s", err);
    }
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
}

void sr_outfile_abort(sr_outfile *o)
{
    if (o->device && o->f) fclose(o->f);
    if (o->path) {
        sr_atomic_abort(&o->file);
        untrack(o->tmp);
        free(o->tmp);
        free(o->path);
    }
    memset(o, 0, sizeof *o);
}

void sr_outfile_put(const char *path, const void *buf, size_t n)
{
    sr_outfile f;
    sr_outfile_open(&f, path);
    sr_outfile_write(&f, buf, n);
    sr_outfile_commit(&f);
}
