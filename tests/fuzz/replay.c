/* replay.c — main() for a harness built as a unit test: every file in
 * tests/fuzz/regress/<target>/ (each a crash once found, now fixed) and in
 * tests/fuzz/corpus/<target>/ goes through LLVMFuzzerTestOneInput, one TAP
 * line per directory. A harness aborts on a wrong answer, and ASan/UBSan
 * (make SAN=1 test) catch the rest, so a pass is: no file stopped it.
 * FUZZ_TARGET names the harness; the tree is $SR_ROOT (tests/run sets it)
 * or the working directory. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET names the harness"
#endif

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv) { (void)argc, (void)argv; return 0; }

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static long replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) { fclose(f); return -1; }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf || fread(buf, 1, n, f) != n) { fclose(f); free(buf); return -1; }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return (long)n;
}

/* Every plain file in dir, in name order; -1 when dir cannot be read. */
static int replay_dir(const char *dir, int *count)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        names = realloc(names, (n + 1) * sizeof *names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        char path[8192];
        int w = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (w < 0 || (size_t)w >= sizeof path || replay_file(path) < 0) { printf("#   cannot read %s\n", path); bad++; }
        free(names[i]);
    }
    free(names);
    *count = (int)n;
    return bad;
}

int main(int argc, char **argv)
{
    const char *root = getenv("SR_ROOT");
    LLVMFuzzerInitialize(&argc, &argv);
    const char *kinds[] = { "regress", "corpus" };
    printf("1..2\n");
    int failed = 0;
    /* as test.h's test_shared_path: a user's clone skips, CI fails */
    const char *ci = getenv("CI");
    bool must = ci && strcmp(ci, "true") == 0;
    const char *skip = fuzz_vocab_missing ? " # SKIP a vocabulary under $SR_SHARED/data/vocab is missing" : "";
    if (fuzz_vocab_missing && must) {
        printf("not ok 1 - %s: %d vocabularies missing, and CI=true makes that a failure\n", FUZZ_TARGET,
               fuzz_vocab_missing);
        printf("not ok 2 - %s: not replayed\n", FUZZ_TARGET);
        return 1;
    }
    for (int k = 0; k < 2; k++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/tests/fuzz/%s/%s", root ? root : ".", kinds[k], FUZZ_TARGET);
        int count = 0, bad = replay_dir(dir, &count);
        if (bad < 0) printf("ok %d - %s: no %s files (no %s)%s\n", k + 1, FUZZ_TARGET, kinds[k], dir, skip);
        else if (bad) printf("not ok %d - %s: %d of %d %s files unreadable\n", k + 1, FUZZ_TARGET, bad, count, kinds[k]);
        else printf("ok %d - %s: %d %s files replayed%s\n", k + 1, FUZZ_TARGET, count, kinds[k], skip);
        failed += bad > 0;
    }
    return failed != 0;
}
