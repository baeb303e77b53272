/* test_judge.c — the judge prompt: the score parser on what models write,
 * the built-in template, and templates with placeholders. */
#include "test.h"

#include "sr/judge.h"
#include "sr/judge_expected.h"
#include "base/ids.h"
#include "lm/gguf.h"
#include "../tools/tinymodel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One judgement text per line of the table, and the score it gives
 * (-1: no score). */
static const struct { const char *text; int want; } cases[] = {
    /* the form the prompt asks for, and its spelling variants */
    { "Score: 4", 4 },
    { "score:3", 3 },
    { "SCORE: 0", 0 },
    { "Score:5", 5 },
    { "Score =2", 2 },
    { "Score = 2", 2 },
    { "The response is relevant and direct.\nScore: 4", 4 },
    { "Score: 4\n", 4 },
    { "Score: 4\r\n", 4 },
    { "  Score: 1  ", 1 },
    /* markdown */
    { "**Score:** 5", 5 },
    { "**Score: 5**", 5 },
    { "Score: **4**", 4 },
    { "__Score__: 3", 3 },
    { "### Score: 2", 2 },
    { "- Score: 3", 3 },
    { "> Score: 1", 1 },
    { "`Score: 4`", 4 },
    { "Score: [3]", 3 },
    { "Score: <2>", 2 },
    { "Score: (5)", 5 },
    /* what follows the number */
    { "Score: 4/5", 4 },
    { "Score: 4 / 5", 4 },
    { "Score: 5/5", 5 },
    { "Score: 0/5", 0 },
    { "Score: 4.", 4 },
    { "Score: 4.0", 4 },
    { "Score: 4 points", 4 },
    { "Score: 1 point.", 1 },
    { "Score: 3 pts", 3 },
    { "Score: 3 out of 5", 3 },
    { "Score: 3 points out of 5", 3 },
    { "Score: 3 out of five.", 3 },
    { "Score: 4 (a clear, well organized answer)", 4 },
    { "Score: four", 4 },
    { "Score: Two.", 2 },
    /* labels before the keyword */
    { "Total score: 3", 3 },
    { "Final Score: 5", 5 },
    { "**Final score**: 4", 4 },
    { "My total score is 2", 2 },
    { "Overall, the score is 3.", 3 },
    { "The answer meets the first three criteria. Score: 3", 3 },
    { "Score:\n4", 4 },
    { "Score:\n**4**\n", 4 },
    /* several score lines: the last well-formed one wins */
    { "Score: 2\nOn reflection the answer is better.\nScore: 4", 4 },
    { "Score: 4\nScore: 3\nScore: 1", 1 },
    { "Score: 3\nScore: 6", 3 },
    { "Score: 2\nScore: 3.5", 2 },
    { "Score: 5\nScore: 3-4", 5 },
    { "Score: 2 ... Score: 5", 5 },
    /* out of range, not whole, other scales: the line is rejected */
    { "Score: 6", -1 },
    { "Score: -1", -1 },
    { "Score: 10", -1 },
    { "Score: 10/10", -1 },
    { "Score: 8/10", -1 },
    { "Score: 6/5", -1 },
    { "Score: 45", -1 },
    { "Score: 3.5", -1 },
    { "Score: 4.5/5", -1 },
    { "Score: 3-4", -1 },
    { "Score: 3 - 4", -1 },
    { "Score: 3 or 4", -1 },
    { "Score: 3 to 4", -1 },
    { "Score: 4th", -1 },
    { "Score: one of the best answers", -1 },
    /* not score lines at all */
    { "", -1 },
    { "The answer is good.", -1 },
    { "Score:", -1 },
    { "Score: N/A", -1 },
    { "Score: <points>", -1 },
    { "Scores: 4", -1 },
    { "Underscore: 4", -1 },
    { "score 4", -1 },
    { "Points: 4", -1 },
    { "I think a good response deserves a high score: 4", -1 },
    { "Note: score: 2 would be too low", -1 },
    { "Score:\n\n4", -1 },
    { "4", -1 },
};

TEST(score_parser_table)
{
    size_t n = sizeof cases / sizeof cases[0];
    CHECK(n >= 40);
    for (size_t i = 0; i < n; i++) {
        int s = -7;
        int got = sr_judge_parse_score(cases[i].text, strlen(cases[i].text), 0, 5, &s) ? s : -1;
        if (got != cases[i].want) {
            printf("#   case %zu \"%s\": got %d, want %d\n", i, cases[i].text, got, cases[i].want);
            test_cur_failed++;
        }
    }
}

TEST(score_parser_bytes)
{
    int s;
    /* not NUL-terminated: the length is what counts */
    CHECK(sr_judge_parse_score("Score: 4 and more", 8, 0, 5, &s) && s == 4);
    CHECK(!sr_judge_parse_score("Score: 4", 7, 0, 5, &s));
    /* NUL bytes and invalid UTF-8 in the text do not stop or crash it */
    const char nul[] = "a\0b\xff\xfe\nScore: 3";
    CHECK(sr_judge_parse_score(nul, sizeof nul - 1, 0, 5, &s) && s == 3);
    CHECK(!sr_judge_parse_score("Score", 5, 0, 5, &s));
    CHECK(!sr_judge_parse_score(NULL, 0, 0, 5, &s));
    /* a long run of score keywords stays fast and finds the last */
    size_t big = 200000;
    char *t = malloc(big + 16);
    for (size_t i = 0; i < big; i += 10) memcpy(t + i, "score: x\n ", 10);
    memcpy(t + big, "Score: 2", 8);
    CHECK(sr_judge_parse_score(t, big + 8, 0, 5, &s) && s == 2);
    free(t);
    /* a long run of decoration before each keyword stays linear */
    big = 1 << 20;
    t = malloc(big);
    for (size_t i = 0; i < big; i++) t[i] = i % 1000 < 990 ? '*' : "score:x\n"[i % 1000 - 990 < 8 ? i % 1000 - 990 : 7];
    memcpy(t + big - 9, "\nScore: 1", 9);
    CHECK(sr_judge_parse_score(t, big, 0, 5, &s) && s == 1);
    free(t);
}

/* Random texts made of the pieces score lines are made of: the parser never
 * reads out of bounds (run under ASan by make SAN=1 test), and whatever it
 * returns is 0..5. */
TEST(score_parser_random_pieces)
{
    static const char *const pieces[] = {
        "Score", "score", "Score: ", "Score: ", "Total ", ":", "=", " is ", " ", "\n", "**", "#", "[", "]", "4", "5", "6", "10",
        "/", "5", ".", "0", "-", "out of ", "five", "points", "or ", "x", "\xc3\xa9", "(", ")", ",",
    };
    const int np = (int)(sizeof pieces / sizeof pieces[0]);
    unsigned long long st = 12345;
    char buf[512];
    int found = 0;
    for (int iter = 0; iter < 100000; iter++) {
        size_t n = 0;
        int k = 1 + (int)((st >> 33) % 24);
        for (int i = 0; i < k; i++) {
            st = st * 6364136223846793005ULL + 1442695040888963407ULL;
            const char *p = pieces[(st >> 33) % (unsigned)np];
            size_t l = strlen(p);
            if (n + l >= sizeof buf) break;
            memcpy(buf + n, p, l);
            n += l;
        }
        char *exact = malloc(n ? n : 1);   /* exactly n bytes, so ASan sees any overread */
        memcpy(exact, buf, n);
        int s = -1;
        if (sr_judge_parse_score(exact, n, 0, 5, &s)) {
            found++;
            if (s < 0 || s > 5) { test_cur_failed++; printf("#   score %d from \"%.*s\"\n", s, (int)n, buf); }
        }
        free(exact);
    }
    printf("#   %d of 100000 random texts had a score\n", found);
    CHECK(found > 100);
}

/* ---- templates ------------------------------------------------------------------ */

TEST(builtin_template_renders)
{
    char err[256] = "";
    sr_judge_tmpl t;
    CHECK(sr_judge_tmpl_load(&t, NULL, err, sizeof err) == 0);
    size_t len = 0;
    char *r = sr_judge_render(&t, "What is 2+2?", 12, "It is 4.", 8, &len);
    CHECK(r && len == strlen(r));
    CHECK(strstr(r, "\"\"\"\nWhat is 2+2?\n\"\"\"") != NULL);
    CHECK(strstr(r, "\"\"\"\nIt is 4.\n\"\"\"") != NULL);
    CHECK(strstr(r, "{prompt}") == NULL && strstr(r, "{response}") == NULL);
    /* the rubric's shape: five additive points, at most 100 words, a final score line */
    CHECK(strstr(r, "100 words") != NULL);
    /* additive as the paper's: a point for each criterion met, on its own; never gated */
    CHECK(strstr(r, "one point for every criterion it meets, each judged on its own") != NULL);
    CHECK(strstr(r, "points add up") != NULL);
    CHECK(strstr(r, "Stop at the first") == NULL && strstr(r, "on top of all the earlier") == NULL);
    CHECK(strstr(r, "Score: <points>") != NULL);
    for (int k = 1; k <= 5; k++) {
        char item[16];
        snprintf(item, sizeof item, "\n%d. ", k);
        CHECK(strstr(r, item) != NULL);
    }
    /* the prompt is in the template before the response */
    CHECK(strstr(r, "What is 2+2?") < strstr(r, "It is 4."));
    free(r);
    /* and the instruction line the judge is asked to end with is itself not a score */
    int s;
    CHECK(!sr_judge_parse_score(sr_judge_builtin_template(), strlen(sr_judge_builtin_template()), 0, 5, &s));
    sr_judge_tmpl_free(&t);
}

static char *render_with(const char *tmpl, const char *p, const char *resp, char *err, size_t errlen)
{
    sr_judge_tmpl t;
    if (sr_judge_tmpl_init(&t, tmpl, strlen(tmpl), err, errlen)) return NULL;
    char *r = sr_judge_render(&t, p, strlen(p), resp, strlen(resp), NULL);
    sr_judge_tmpl_free(&t);
    return r;
}

TEST(template_placeholders)
{
    char err[256];
    char *r = render_with("Q: {prompt}\nA: {response}\n{{literal}} }}{{", "p", "r", err, sizeof err);
    CHECK_STR(r, "Q: p\nA: r\n{literal} }{");
    free(r);
    /* each placeholder may appear more than once, in any order */
    r = render_with("{response}|{prompt}|{response}", "P", "R", err, sizeof err);
    CHECK_STR(r, "R|P|R");
    free(r);
    /* braces and placeholders inside the texts are not expanded */
    r = render_with("[{prompt}] [{response}]", "{response} {{x}}", "{prompt}}", err, sizeof err);
    CHECK_STR(r, "[{response} {{x}}] [{prompt}}]");
    free(r);
    /* empty texts */
    r = render_with("{prompt}{response}", "", "", err, sizeof err);
    CHECK_STR(r, "");
    free(r);
}

TEST(template_errors)
{
    char err[256];
    CHECK(render_with("Q: {prompt}", "p", "r", err, sizeof err) == NULL);
    CHECK(strstr(err, "{response} is missing") != NULL);
    CHECK(render_with("A: {response}", "p", "r", err, sizeof err) == NULL);
    CHECK(strstr(err, "{prompt} is missing") != NULL);
    CHECK(render_with("", "p", "r", err, sizeof err) == NULL);
    CHECK(render_with("{prompt}\n{response}\n{promt}", "p", "r", err, sizeof err) == NULL);
    CHECK(strstr(err, "line 3: unknown placeholder \"{promt}\"") != NULL);
    CHECK(render_with("{prompt} {response} {", "p", "r", err, sizeof err) == NULL);
    CHECK(strstr(err, "lone '{'") != NULL);
    CHECK(render_with("{prompt} } {response}", "p", "r", err, sizeof err) == NULL);
    CHECK(strstr(err, "line 1: a lone '}'") != NULL);
    CHECK(render_with("{Prompt} {response}", "p", "r", err, sizeof err) == NULL);
    const char bad[] = "{prompt} {response} \xc3";
    sr_judge_tmpl t;
    CHECK(sr_judge_tmpl_init(&t, bad, sizeof bad - 1, err, sizeof err) == SR_JUDGE_EBAD);
    CHECK(strstr(err, "invalid UTF-8") != NULL);
}

TEST(template_files)
{
    char err[512], path[] = "/tmp/test_judge_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *text = "Rate this.\n{prompt}\n---\n{response}\nScore: <0-5>\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    sr_judge_tmpl t;
    CHECK(sr_judge_tmpl_load(&t, path, err, sizeof err) == 0);
    char *r = sr_judge_render(&t, "x", 1, "y", 1, NULL);
    CHECK_STR(r, "Rate this.\nx\n---\ny\nScore: <0-5>\n");
    free(r);
    sr_judge_tmpl_free(&t);

    FILE *f = fopen(path, "w");
    fputs("only {prompt}\n", f);
    fclose(f);
    CHECK(sr_judge_tmpl_load(&t, path, err, sizeof err) == SR_JUDGE_EBAD);
    CHECK(strstr(err, path) != NULL && strstr(err, "{response}") != NULL);
    unlink(path);
    CHECK(sr_judge_tmpl_load(&t, path, err, sizeof err) == SR_JUDGE_EIO);
    CHECK(strstr(err, "cannot open") != NULL);
}

/* ---- the rubric ------------------------------------------------------------------- */

TEST(rubric_builtin)
{
    char err[256] = "";
    sr_rubric r;
    CHECK(sr_rubric_load(&r, NULL, err, sizeof err) == 0);
    CHECK(r.min == 0 && r.max == 5);
    CHECK(r.tmpl.text && strcmp(r.tmpl.text, sr_judge_builtin_template()) == 0);
    CHECK_STR(r.force, "\nScore:");
    CHECK(r.force_tokens == 4);
    int s;
    CHECK(sr_rubric_score(&r, "Score: 5", 8, &s) && s == 5);
    CHECK(!sr_rubric_score(&r, "Score: 6", 8, &s));
    /* the forced line and a digit after it make a score line */
    char line[32];
    snprintf(line, sizeof line, "%s 3", r.force);
    CHECK(sr_rubric_score(&r, line, strlen(line), &s) && s == 3);
    sr_rubric_free(&r);
    CHECK(sr_rubric_load(&r, "/nonexistent/judge.txt", err, sizeof err) == SR_JUDGE_EIO);
}

/* Another scale is the parser's range alone: numbers, number words and the
 * denominator follow min..max. */
TEST(score_parser_other_scales)
{
    int s;
    CHECK(sr_judge_parse_score("Score: 8/10", 11, 1, 10, &s) && s == 8);
    CHECK(sr_judge_parse_score("Score: ten", 10, 1, 10, &s) && s == 10);
    CHECK(sr_judge_parse_score("Score: 7 out of 10", 18, 1, 10, &s) && s == 7);
    CHECK(!sr_judge_parse_score("Score: 0", 8, 1, 10, &s));
    CHECK(!sr_judge_parse_score("Score: 11", 9, 1, 10, &s));
    CHECK(!sr_judge_parse_score("Score: 4/5", 10, 1, 10, &s));
    /* and on 0..5 the words beyond five are no numbers */
    CHECK(!sr_judge_parse_score("Score: six", 10, 0, 5, &s));
    CHECK(!sr_judge_parse_score("Score: 8/10", 11, 0, 5, &s));
    /* a pairwise judge: 1 or 2 */
    CHECK(sr_judge_parse_score("Score: 2", 8, 1, 2, &s) && s == 2);
    CHECK(!sr_judge_parse_score("Score: 3", 8, 1, 2, &s));
}

/* The retry and forced-line seeds: apart from each other and from the record's. */
TEST(judge_seeds)
{
    uint64_t rs = sr_record_seed("id", 2, 0);
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(rs >> (8 * i));
    CHECK(sr_judge_retry_seed(rs, 1) == sr_hash(b, 8, 1));
    CHECK(sr_judge_force_seed(rs, 2) == sr_hash(b, 8, ((uint64_t)1 << 32) + 2));
    CHECK(sr_judge_retry_seed(rs, 1) != sr_judge_retry_seed(rs, 2));
    CHECK(sr_judge_retry_seed(rs, 1) != rs && sr_judge_force_seed(rs, 0) != sr_judge_retry_seed(rs, 0));
}

/* The offset parse_score_at reports: the winning (last) line's number. */
TEST(score_parser_offsets)
{
    int score;
    size_t at;
    const char *t = "Score: 2 first.\nMore words.\n**Score:** 4/5";
    CHECK(sr_judge_parse_score_at(t, strlen(t), 0, 5, &score, &at) == 1);
    CHECK(score == 4 && t[at] == '4');
    t = "Score: four";
    CHECK(sr_judge_parse_score_at(t, strlen(t), 0, 5, &score, &at) == 1 && score == 4 && at == 7);
    t = "Score: 7";
    CHECK(sr_judge_parse_score_at(t, strlen(t), 0, 5, &score, &at) == 0);
}

/* --score expected on a made-up sample: the fixture tokenizer's tokens of a
 * judgement and, at each step, four alternatives with their log-probs. */
TEST(expected_score)
{
    char path[] = "/tmp/sr-test-judge-XXXXXX", err[256];
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    sr_tiny_opts o = SR_TINY_OPTS_DEFAULT;
    gguf_file g;
    sr_tok *tok = NULL;
    if (sr_tiny_model_write(path, &o, NULL, err, sizeof err) < 0 || gguf_open(&g, path, err, sizeof err) < 0 ||
        sr_tok_load(&tok, &g, NULL, err, sizeof err) < 0) { printf("# %s\n", err); CHECK(0); unlink(path); return; }
    const char *text = "Fine.\nScore: 4";
    sr_ids ids = { 0 };
    CHECK(sr_tok_encode(tok, text, strlen(text), &ids, err, sizeof err) == 0);
    int32_t digit[10];
    for (int d = 0; d < 10; d++) {
        char c = (char)('0' + d);
        sr_ids one = { 0 };
        CHECK(sr_tok_encode(tok, &c, 1, &one, err, sizeof err) == 0 && one.n == 1);
        digit[d] = one.v[0];
        sr_ids_free(&one);
    }
    enum { K = SR_GEN_MAX_LOGPROBS };
    const int n = (int)ids.n;
    int32_t *top = calloc((size_t)n * K, sizeof *top);
    float *lp = calloc((size_t)n * K, sizeof *lp);
    for (int t = 0; t < n; t++)
        for (int j = 0; j < K; j++) { top[t * K + j] = ids.v[t]; lp[t * K + j] = -INFINITY; }
    /* the last token is "4": p(4) 0.5, p(5) 0.2, p(3) 0.1, p(9) 0.1 (off the scale), the rest elsewhere */
    const int last = n - 1;
    CHECK(ids.v[last] == digit[4]);
    const int32_t alt[4] = { digit[4], digit[5], digit[3], digit[9] };
    const float pr[4] = { 0.5f, 0.2f, 0.1f, 0.1f };
    for (int j = 0; j < 4; j++) { top[last * K + j] = alt[j]; lp[last * K + j] = logf(pr[j]); }
    sr_gen_out out = { .tokens = ids.v, .n_tokens = n, .top_ids = top, .top_logprobs = lp };
    int score;
    size_t at;
    CHECK(sr_judge_parse_score_at(text, strlen(text), 0, 5, &score, &at) == 1 && score == 4);
    double ev = -1;
    CHECK(sr_judge_expected(tok, &out, K, 0, at, 0, 5, &ev) == 1);
    const double want = (0.5 * 4 + 0.2 * 5 + 0.1 * 3) / 0.8;   /* 4.125: 9 is not on the scale */
    printf("#   expected %.6f (sampled 4)\n", ev);
    CHECK(fabs(ev - want) < 1e-6);
    /* after a forced line: the same tokens, offsets past a prefix */
    CHECK(sr_judge_expected(tok, &out, K, 3, at + 3, 0, 5, &ev) == 1 && fabs(ev - want) < 1e-6);
    /* no digit where the number is read, or no log-probs: not readable */
    CHECK(sr_judge_expected(tok, &out, K, 0, at - 2, 0, 5, &ev) == 0);
    out.top_ids = NULL;
    CHECK(sr_judge_expected(tok, &out, K, 0, at, 0, 5, &ev) == 0);
    free(top); free(lp);
    sr_ids_free(&ids);
    sr_tok_free(tok);
    gguf_close(&g);
    unlink(path);
}

int main(void)
{
    RUN(score_parser_table);
    RUN(score_parser_bytes);
    RUN(score_parser_random_pieces);
    RUN(builtin_template_renders);
    RUN(template_placeholders);
    RUN(template_errors);
    RUN(template_files);
    RUN(rubric_builtin);
    RUN(score_parser_other_scales);
    RUN(judge_seeds);
    RUN(score_parser_offsets);
    RUN(expected_score);
    return test_done();
}
