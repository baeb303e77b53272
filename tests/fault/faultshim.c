/* faultshim.c — an LD_PRELOAD library for tests/cli/faults.bats: one chosen
 * I/O call of a tool fails, as it would on a full disk (ENOSPC) or a broken
 * one (EIO). Test code, never linked into a tool.
 *
 *   SR_FAULT=CALL:N[:ERRNO]   the Nth CALL (write, fsync, rename or read;
 *                             N from 1) fails with ERRNO (ENOSPC, the
 *                             default, or EIO); the calls before and after
 *                             it succeed
 *   SR_FAULT_COUNT=FILE       at exit, append "CALL COUNT" lines for the
 *                             four calls, so a test learns how many a clean
 *                             run makes and can aim at the first, a middle
 *                             and the last one
 *   SR_FAULT_TRACE=1          each counted call on stderr, with its file
 *
 * Only a tool's own files count: writes and reads of regular files on
 * descriptors above 2 (not the standard streams, which the tests read, nor
 * /dev/urandom), fsync of any descriptor above 2 (the directory's too), and
 * every rename. glibc's stdio writes through an internal
 * write() that no LD_PRELOAD can replace, so every stream fopen() opens is
 * made here instead, with fopencookie over a descriptor whose reads and
 * writes go through the counting calls below; fileno() answers that
 * descriptor, so fsync(fileno(f)) and ftruncate work as on any stream. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

enum { C_WRITE, C_FSYNC, C_RENAME, C_READ, N_CALLS };
static const char *const NAMES[N_CALLS] = { "write", "fsync", "rename", "read" };

static int fail_call = -1, fail_errno = ENOSPC;
static long fail_n, count[N_CALLS];
static const char *count_file;
static int active, tracing;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_read)(int, void *, size_t);
static int (*real_fsync)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_fileno)(FILE *);
static FILE *(*real_fopen)(const char *, const char *);

/* At exit, with the real calls: the report's own writes are not counted. */
static void report(void)
{
    int fd = open(count_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) return;
    char line[64];
    for (int c = 0; c < N_CALLS; c++) {
        int n = snprintf(line, sizeof line, "%s %ld\n", NAMES[c], count[c]);
        real_write(fd, line, (size_t)n);
    }
    close(fd);
}

__attribute__((constructor)) static void init(void)
{
    real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    real_read = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
    real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    real_rename = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    real_fileno = (int (*)(FILE *))dlsym(RTLD_NEXT, "fileno");
    real_fopen = (FILE *(*)(const char *, const char *))dlsym(RTLD_NEXT, "fopen");
    const char *spec = getenv("SR_FAULT");
    count_file = getenv("SR_FAULT_COUNT");
    if (spec && *spec) {
        char call[16] = "", err[16] = "";
        long n = 0;
        if (sscanf(spec, "%15[a-z]:%ld:%15[A-Z]", call, &n, err) < 2 || n < 1) {
            fprintf(stderr, "faultshim: SR_FAULT='%s': expected CALL:N[:ERRNO]\n", spec);
            _exit(99);
        }
        for (int c = 0; c < N_CALLS; c++) if (strcmp(call, NAMES[c]) == 0) fail_call = c;
        if (fail_call < 0 || (err[0] && strcmp(err, "ENOSPC") && strcmp(err, "EIO"))) {
            fprintf(stderr, "faultshim: SR_FAULT='%s': unknown call or errno\n", spec);
            _exit(99);
        }
        fail_n = n;
        if (strcmp(err, "EIO") == 0) fail_errno = EIO;
    }
    tracing = getenv("SR_FAULT_TRACE") != NULL;
    active = fail_call >= 0 || count_file || tracing;
    if (count_file) atexit(report);
}

/* SR_FAULT_TRACE=1: each counted call on stderr, with the file it is on
 * (for choosing N when writing a test). */
static void trace(int c, int fd)
{
    char link[64], name[256] = "", msg[400];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t k = fd >= 0 ? readlink(link, name, sizeof name - 1) : -1;
    name[k > 0 ? k : 0] = 0;
    int n = snprintf(msg, sizeof msg, "faultshim: %s #%ld %s\n", NAMES[c], count[c], name);
    real_write(2, msg, (size_t)n);
}

/* Count a call of kind c on fd (-1: none); 1 when this one is to fail
 * (errno set). */
static int hit(int c, int fd)
{
    ++count[c];
    if (tracing) trace(c, fd);
    if (count[c] != fail_n || c != fail_call) return 0;
    char msg[96];
    int n = snprintf(msg, sizeof msg, "faultshim: %s #%ld fails with %s\n", NAMES[c], fail_n,
                     fail_errno == EIO ? "EIO" : "ENOSPC");
    real_write(2, msg, (size_t)n);
    errno = fail_errno;
    return 1;
}

/* A tool's own file: above the standard streams, and a regular file (not
 * /dev/urandom that a library seeds itself from, nor a pipe). */
static int own_file(int fd)
{
    struct stat st;
    return fd > 2 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    if (own_file(fd) && hit(C_WRITE, fd)) return -1;
    return real_write(fd, buf, n);
}

ssize_t read(int fd, void *buf, size_t n)
{
    if (own_file(fd) && hit(C_READ, fd)) return -1;
    return real_read(fd, buf, n);
}

int fsync(int fd)
{
    if (fd > 2 && hit(C_FSYNC, fd)) return -1;
    return real_fsync(fd);
}

int rename(const char *from, const char *to)
{
    if (hit(C_RENAME, -1)) return -1;
    return real_rename(from, to);
}

/* ---- streams over counted descriptors ----------------------------------------- */

typedef struct cookie { int fd; FILE *f; struct cookie *next; } cookie;
static cookie *streams;   /* the tools open few streams; a list will do */

static ssize_t ck_read(void *c, char *buf, size_t n)
{
    ssize_t r = read(((cookie *)c)->fd, buf, n);
    return r < 0 ? -1 : r;
}

static ssize_t ck_write(void *c, const char *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = write(((cookie *)c)->fd, buf + done, n - done);
        if (r <= 0) return 0;   /* glibc: a short count marks the stream's error */
        done += (size_t)r;
    }
    return (ssize_t)n;
}

static int ck_seek(void *c, off64_t *pos, int whence)
{
    off64_t r = lseek64(((cookie *)c)->fd, *pos, whence);
    if (r < 0) return -1;
    *pos = r;
    return 0;
}

static int ck_close(void *c)
{
    cookie *k = c;
    for (cookie **p = &streams; *p; p = &(*p)->next)
        if (*p == k) { *p = k->next; break; }
    int r = close(k->fd);
    free(k);
    return r;
}

static int mode_flags(const char *mode)
{
    int rw = strchr(mode, '+') != NULL, fl = 0;
    switch (mode[0]) {
    case 'r': fl = rw ? O_RDWR : O_RDONLY; break;
    case 'w': fl = (rw ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC; break;
    case 'a': fl = (rw ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND; break;
    default: return -1;
    }
    if (strchr(mode, 'e')) fl |= O_CLOEXEC;
    if (strchr(mode, 'x')) fl |= O_EXCL;
    return fl;
}

FILE *fopen(const char *path, const char *mode)
{
    if (!active) return real_fopen(path, mode);
    int fl = mode_flags(mode);
    if (fl < 0) { errno = EINVAL; return NULL; }
    int fd = open(path, fl, 0666);
    if (fd < 0) return NULL;
    cookie *k = malloc(sizeof *k);
    char m[4] = { mode[0], strchr(mode, '+') ? '+' : 0, 0, 0 };
    FILE *f = k ? fopencookie(k, m, (cookie_io_functions_t){ ck_read, ck_write, ck_seek, ck_close })
                : NULL;
    if (!f) { free(k); close(fd); errno = ENOMEM; return NULL; }
    *k = (cookie){ fd, f, streams };
    streams = k;
    return f;
}

FILE *fopen64(const char *path, const char *mode) { return fopen(path, mode); }

int fileno(FILE *f)
{
    for (cookie *k = streams; k; k = k->next)
        if (k->f == f) return k->fd;
    return real_fileno(f);
}

int fileno_unlocked(FILE *f) { return fileno(f); }
