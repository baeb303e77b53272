/* test_pairwise.c — the pairwise judge's text: the verdict parser on lines
 * a model writes, and its template's placeholders. */
#include "test.h"

#include <unistd.h>

#include "sr/pairwise.h"

static sr_verdict parse(const char *s) { return sr_pairwise_parse(s, strlen(s)); }

TEST(verdict_lines)
{
    CHECK(parse("Verdict: A") == SR_VERDICT_A);
    CHECK(parse("Both are fine.\nVerdict: B\n") == SR_VERDICT_B);
    CHECK(parse("verdict: tie") == SR_VERDICT_TIE);
    CHECK(parse("VERDICT: Tie.") == SR_VERDICT_TIE);
    CHECK(parse("Final verdict: [[A]]") == SR_VERDICT_A);
    CHECK(parse("**Verdict:** **B**") == SR_VERDICT_B);
    CHECK(parse("My final verdict is Answer B.") == SR_VERDICT_B);
    CHECK(parse("Verdict: Assistant A is better") == SR_VERDICT_A);
    CHECK(parse("Verdict: equal") == SR_VERDICT_TIE);
    CHECK(parse("Verdict: neither") == SR_VERDICT_TIE);
    CHECK(parse("### Verdict: A") == SR_VERDICT_A);
    /* the last verdict line wins */
    CHECK(parse("Verdict: A\nOn reflection...\nVerdict: B") == SR_VERDICT_B);
    /* a bad line does not hide an earlier good one */
    CHECK(parse("Verdict: A\nVerdict: A or B") == SR_VERDICT_A);
}

TEST(not_verdicts)
{
    CHECK(parse("") == SR_VERDICT_NONE);
    CHECK(parse("A is better.") == SR_VERDICT_NONE);
    CHECK(parse("Verdict:") == SR_VERDICT_NONE);
    CHECK(parse("Verdict: C") == SR_VERDICT_NONE);
    CHECK(parse("Verdict: Alpha") == SR_VERDICT_NONE);    /* a word, not the letter */
    CHECK(parse("Verdict: A or B") == SR_VERDICT_NONE);
    CHECK(parse("Verdict: A/B") == SR_VERDICT_NONE);
    CHECK(parse("The verdict A") == SR_VERDICT_NONE);     /* no separator */
    CHECK(parse("one two three four verdict: A") == SR_VERDICT_NONE);
    CHECK(parse("Verdicts: A") == SR_VERDICT_NONE);
}

TEST(forced_line)
{
    char err[256];
    sr_pairwise pw;
    CHECK(sr_pairwise_load(&pw, NULL, false, err, sizeof err) == 0);
    /* the forced line and a typical completion make a verdict */
    char buf[64];
    snprintf(buf, sizeof buf, "%s A", pw.force);
    CHECK(parse(buf) == SR_VERDICT_A);
    snprintf(buf, sizeof buf, "%s tie\n", pw.force);
    CHECK(parse(buf) == SR_VERDICT_TIE);
    sr_pairwise_free(&pw);
}

TEST(template)
{
    char err[256];
    sr_pairwise pw;
    CHECK(sr_pairwise_load(&pw, NULL, false, err, sizeof err) == 0);
    size_t n;
    char *r = sr_pairwise_render(&pw, "Q?", 2, "first {x}", 9, "second", 6, &n);
    CHECK(r && n == strlen(r));
    const char *a = strstr(r, "first {x}"), *b = strstr(r, "second");
    CHECK(a && b && a < b);            /* the first answer is shown as A */
    CHECK(strstr(r, "Q?") && !strstr(r, "{prompt}"));
    free(r);
    sr_pairwise_free(&pw);

    /* a user's template must show both answers */
    CHECK(sr_tmpl_init(&pw.tmpl, "{prompt} {response_a}", 21, (const char *const[]){ "prompt", "response_a",
                       "response_b" }, 3, err, sizeof err) == SR_TMPL_EBAD);
    CHECK(strstr(err, "{response_b} is missing") != NULL);
    /* a pointwise template's {response} is not a placeholder here */
    char path[] = "/tmp/test_pairwise_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *text = "{prompt}\n{response}\n{response_a} {response_b}\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    CHECK(sr_pairwise_load(&pw, path, false, err, sizeof err) == SR_TMPL_EBAD);
    CHECK(strstr(err, "line 2: unknown placeholder \"{response}\"") != NULL);
    CHECK(strstr(err, path) != NULL);
    CHECK(strstr(err, "{prompt}, {response_a} and {response_b}") != NULL);
    unlink(path);
}

int main(void)
{
    RUN(verdict_lines);
    RUN(not_verdicts);
    RUN(forced_line);
    RUN(template);
    return test_done();
}
