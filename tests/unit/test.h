/* test.h — the unit-test harness: TAP on stdout, one file per tested piece.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_NEAR(a, b, 1e-6); }
 *   int main(void) { RUN(name); ...; return test_done(); }
 *
 * Each RUN prints "ok N - name" or "not ok N - name" (with the failed checks
 * as "#" lines before it), and test_skip() marks a test skipped with a
 * reason; tests/run counts the lines of every suite together. */
#ifndef SR_TEST_H
#define SR_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_n, test_failed_total, test_cur_failed;
static const char *test_skip_reason;

#define TEST(name) static void name(void)

#define CHECK(cond) do { if (!(cond)) { test_cur_failed++; \
    printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); } } while (0)

#define CHECK_NEAR(a, b, tol) do { double a_ = (a), b_ = (b); \
    if (!(fabs(a_ - b_) <= (tol))) { test_cur_failed++; \
    printf("#   %s:%d: %s = %.9g, %s = %.9g, |diff| %.3g > %.3g\n", __FILE__, __LINE__, \
           #a, a_, #b, b_, fabs(a_ - b_), (double)(tol)); } } while (0)

#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) { test_cur_failed++; \
    printf("#   %s:%d: %s = \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, \
           a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } } while (0)

/* Mark the running test skipped (call it, then return from the test). */
static inline void test_skip(const char *why) { test_skip_reason = why; }

static inline void test_report(const char *name)
{
    test_n++;
    if (test_skip_reason) {
        printf("ok %d - %s # skip %s\n", test_n, name, test_skip_reason);
    } else if (test_cur_failed) {
        test_failed_total++;
        printf("not ok %d - %s\n", test_n, name);
    } else {
        printf("ok %d - %s\n", test_n, name);
    }
    fflush(stdout);
}

#define RUN(name) do { test_cur_failed = 0; test_skip_reason = NULL; name(); test_report(#name); } while (0)

static inline int test_done(void) { printf("1..%d\n", test_n); return test_failed_total ? 1 : 0; }

/* Real data from ../shared: present in CI, absent in a user's clone. Returns
 * the path, or NULL after marking the test skipped; under CI=true absence is
 * a failure, so CI cannot pass by skipping. */
static inline const char *test_shared_path(const char *rel) {
    static char buf[4096];
    const char *root = getenv("SR_SHARED");
    snprintf(buf, sizeof buf, "%s/%s", root ? root : "../shared", rel);
    FILE *f = fopen(buf, "rb");
    if (f) { fclose(f); return buf; }
    const char *ci = getenv("CI");
    if (ci && strcmp(ci, "true") == 0) {
        printf("#   %s is missing, and CI=true makes that a failure\n", buf);
        test_cur_failed++;
    } else {
        test_skip("no ../shared/data (a user's clone): real-data test skipped");
    }
    return NULL;
}

/* The default model (make model), or $SR_TEST_MODEL. Skipped when absent,
 * a failure under CI=true (.ci/run fetches it first). */
static inline const char *test_model_path(void) {
    const char *p = getenv("SR_TEST_MODEL");
    if (!p) p = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
    FILE *f = fopen(p, "rb");
    if (f) { fclose(f); return p; }
    const char *ci = getenv("CI");
    if (ci && strcmp(ci, "true") == 0) {
        printf("#   model %s is missing (make model), and CI=true makes that a failure\n", p);
        test_cur_failed++;
    } else {
        test_skip("no model (run make model): test skipped");
    }
    return NULL;
}

/* Under AddressSanitizer the model's own loops run a few times slower, so the
 * real-model tests check a subset there (sgemm, most of the time, is not
 * instrumented). */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

/* GPT-2's byte-level BPE character for byte b (UTF-8 into o, 1 or 2 bytes),
 * written out from its definition, independently of the library. */
static inline size_t test_byte_char(int b, char *o)
{
    int n = 0, c = b;
    int keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    if (!keep) {
        for (int x = 0; x < b; x++)
            if (!((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE)) n++;
        c = 256 + n;
    }
    if (c < 0x80) { o[0] = (char)c; return 1; }
    o[0] = (char)(0xC0 | c >> 6); o[1] = (char)(0x80 | (c & 0x3F));
    return 2;
}

#endif
