/* test_atomic.c — base/atomic: a file appears whole at commit, not before;
 * abort and every failure leave nothing behind; errors are returned. */
#include "test.h"
#include "base/atomic.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64], path[128], err[512];

/* Entries in dir besides . and .. */
static int entries(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

TEST(commit_renames_into_place)
{
    sr_atomic a;
    CHECK(sr_atomic_open(&a, path, err, sizeof err) == 0);
    CHECK(strstr(a.tmp, path) == a.tmp && strstr(a.tmp, ".tmp."));
    fputs("whole", a.f);
    CHECK(access(path, F_OK) != 0);     /* not there before the commit */
    CHECK(sr_atomic_commit(&a, err, sizeof err) == 0);
    char buf[16] = { 0 };
    FILE *f = fopen(path, "rb");
    CHECK(f && fread(buf, 1, sizeof buf - 1, f) == 5);
    if (f) fclose(f);
    CHECK_STR(buf, "whole");
    CHECK(entries() == 1);              /* the file, no temporary */
    unlink(path);
}

TEST(abort_leaves_nothing)
{
    sr_atomic a;
    CHECK(sr_atomic_open(&a, path, err, sizeof err) == 0);
    fputs("partial", a.f);
    sr_atomic_abort(&a);
    CHECK(entries() == 0);
    sr_atomic_abort(&a);                /* a second time: nothing to do */
}

TEST(failures_are_returned)
{
    sr_atomic a;
    errno = 0;
    CHECK(sr_atomic_open(&a, "/nonexistent-dir/x", err, sizeof err) == -1 && errno == ENOENT);
    /* the name the caller gave, not the temporary's */
    CHECK(strstr(err, "cannot write /nonexistent-dir/x: ") != NULL && !strstr(err, ".tmp."));
    /* the rename fails when the target is a directory with something in it */
    char sub[160], inner[200];
    snprintf(sub, sizeof sub, "%s/d", dir);
    snprintf(inner, sizeof inner, "%s/f", sub);
    CHECK(mkdir(sub, 0777) == 0);
    FILE *f = fopen(inner, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
    CHECK(sr_atomic_open(&a, sub, err, sizeof err) == 0);
    CHECK(sr_atomic_commit(&a, err, sizeof err) == -1 && strstr(err, "cannot write ") &&
          strstr(err, "/d: renaming") && !strstr(err, ".tmp."));
    CHECK(entries() == 1);              /* the directory; the temporary is gone */
    unlink(inner);
    rmdir(sub);
}

/* A pid that was running a moment ago and is not now. */
static long dead_pid(void)
{
    pid_t p = fork();
    if (p == 0) _exit(0);
    int st;
    waitpid(p, &st, 0);
    return (long)p;
}

static void touch(const char *fmt, long pid)
{
    char name[256];
    snprintf(name, sizeof name, fmt, path, pid);
    FILE *f = fopen(name, "w");
    if (f) { fputs("partial", f); fclose(f); }
}

static int exists(const char *fmt, long pid)
{
    char name[256];
    snprintf(name, sizeof name, fmt, path, pid);
    return access(name, F_OK) == 0;
}

/* A killed writer's temporary of this output goes when the next one opens;
 * a live writer's, another output's and a look-alike name stay. */
TEST(stale_temporaries_are_removed)
{
    long dead = dead_pid(), live = (long)getppid();
    touch("%s.tmp.%ld", dead);
    touch("%s.tmp.%ld", live);
    touch("%s.state.tmp.%ld", dead);     /* another output's */
    touch("%s.tmp.%ldx", dead);          /* not a pid */
    CHECK(entries() == 4);
    sr_atomic a;
    CHECK(sr_atomic_open(&a, path, err, sizeof err) == 0);
    CHECK(!exists("%s.tmp.%ld", dead));
    CHECK(exists("%s.tmp.%ld", live));
    CHECK(exists("%s.state.tmp.%ld", dead));
    CHECK(exists("%s.tmp.%ldx", dead));
    CHECK(sr_atomic_commit(&a, err, sizeof err) == 0);
    CHECK(sr_atomic_clean_stale(path) == 0);
    char name[256];
    const char *left[] = { "%s.tmp.%ld", "%s.state.tmp.%ld", "%s.tmp.%ldx" };
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, left[i], path, i == 0 ? live : dead);
        unlink(name);
    }
    unlink(path);
    CHECK(entries() == 0);
}

/* A writer killed with its parent is a zombie until init reaps it; kill()
 * still finds it, but its temporary is stale all the same. */
TEST(a_zombie_writers_temporary_is_stale)
{
    pid_t z = fork();
    if (z == 0) _exit(0);
    CHECK(z > 0);
    for (int i = 0; i < 200; i++) {              /* until it has exited */
        char st[64], buf[256] = { 0 };
        snprintf(st, sizeof st, "/proc/%ld/stat", (long)z);
        FILE *f = fopen(st, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) fclose(f);
        const char *p = n ? strrchr(buf, ')') : NULL;
        if (p && p[2] == 'Z') break;
        usleep(5000);
    }
    CHECK(kill(z, 0) == 0);                       /* not reaped: kill finds it */
    touch("%s.tmp.%ld", (long)z);
    CHECK(sr_atomic_clean_stale(path) == 1);
    CHECK(!exists("%s.tmp.%ld", (long)z));
    waitpid(z, NULL, 0);
    CHECK(entries() == 0);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/sr-test-atomic-XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    snprintf(path, sizeof path, "%s/out.bin", dir);
    RUN(commit_renames_into_place);
    RUN(abort_leaves_nothing);
    RUN(failures_are_returned);
    RUN(stale_temporaries_are_removed);
    RUN(a_zombie_writers_temporary_is_stale);
    rmdir(dir);
    return test_done();
}
