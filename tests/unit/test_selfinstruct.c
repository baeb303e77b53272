/* test_selfinstruct.c — the text side of --self-instruct: ROUGE-L on cases
 * worked by hand, the keyword and length filters, the continuation parser,
 * the few-shot prompt, and the normalisation dedup keys read. */
#include "test.h"
#include "sr/selfinstruct.h"
#include "base/ids.h"

static double rouge(const char *a, const char *b)
{
    sr_words x, y;
    sr_words_of(a, strlen(a), &x);
    sr_words_of(b, strlen(b), &y);
    double r = sr_rouge_l(&x, &y);
    sr_words_free(&x);
    sr_words_free(&y);
    return r;
}

TEST(rouge_l_by_hand)
{
    CHECK_NEAR(rouge("the cat sat", "the cat sat"), 1.0, 1e-12);
    CHECK_NEAR(rouge("a b c", "d e f"), 0.0, 1e-12);
    /* LCS "police killed gunman" = 3 of 4 and of 4 words: P = R = 0.75 */
    CHECK_NEAR(rouge("police killed the gunman", "police kill the gunman"), 0.75, 1e-12);
    CHECK_NEAR(rouge("police killed the gunman", "the gunman kill police"), 0.5, 1e-12);
    /* LCS 2 ("a c"): P = 2/3, R = 2/5, F = 2PR/(P+R) = 0.5 */
    CHECK_NEAR(rouge("a b c", "a x c y z"), 0.5, 1e-12);
    /* case and punctuation do not count */
    CHECK_NEAR(rouge("What is AI?", "what, is ai"), 1.0, 1e-12);
    CHECK_NEAR(rouge("", "something"), 0.0, 1e-12);
}

TEST(keyword_filter_matches_whole_words)
{
    CHECK_STR(sr_si_keyword("Draw a cat", 10), "draw");
    CHECK_STR(sr_si_keyword("Describe this IMAGE.", 20), "image");
    const char *s = "Please go to the store";
    CHECK_STR(sr_si_keyword(s, strlen(s)), "go to");
    s = "Summarise the attached file";
    CHECK_STR(sr_si_keyword(s, strlen(s)), "file");
    s = "Explain the mapping of a profile";   /* map, file only inside words */
    CHECK(sr_si_keyword(s, strlen(s)) == NULL);
    s = "Write a poem about music and a flowchart";
    CHECK(sr_si_keyword(s, strlen(s)) != NULL);
}

TEST(checks_in_order)
{
    const char *kw;
    CHECK(sr_si_check("", 0, 3, 150, &kw) == SR_SI_EMPTY);
    CHECK(sr_si_check("   ", 3, 3, 150, &kw) == SR_SI_EMPTY);
    CHECK(sr_si_check("Two words", 9, 3, 150, &kw) == SR_SI_SHORT);
    const char *ok = "What is the capital of France?";
    CHECK(sr_si_check(ok, strlen(ok), 3, 150, &kw) == SR_SI_OK);
    CHECK(sr_si_check(ok, strlen(ok), 3, 5, &kw) == SR_SI_LONG);
    const char *p = "- What is the capital?";
    CHECK(sr_si_check(p, strlen(p), 3, 150, &kw) == SR_SI_PUNCT);
    const char *na = "日本の首都は何ですか 教えて ください";
    CHECK(sr_si_check(na, strlen(na), 3, 150, &kw) == SR_SI_NONASCII);
    const char *k = "Plot the sales per month";
    CHECK(sr_si_check(k, strlen(k), 3, 150, &kw) == SR_SI_KEYWORD);
    CHECK_STR(kw, "plot");
}

TEST(parser_takes_one_line)
{
    size_t n;
    char *p = sr_si_parse(" How do I bake bread?\nTask 10: Something else", 44, &n);
    CHECK_STR(p, "How do I bake bread?");
    CHECK(n == strlen("How do I bake bread?"));
    free(p);
    const char *s = "Task 9: Name three rivers.  \n";
    p = sr_si_parse(s, strlen(s), &n);
    CHECK_STR(p, "Name three rivers.");
    free(p);
    s = "\n\n";
    p = sr_si_parse(s, strlen(s), &n);
    CHECK_STR(p, "");
    CHECK(n == 0);
    free(p);
    s = "Tasks are fun: list some.";          /* not a marker */
    p = sr_si_parse(s, strlen(s), &n);
    CHECK_STR(p, s);
    free(p);
    CHECK(sr_si_ends_line("a\n", 2));
    CHECK(!sr_si_ends_line("ab", 2));
}

TEST(fewshot_prompt_numbers_examples_on_one_line_each)
{
    const char *ex[2] = { "First  task\nwith a newline", "Second" };
    size_t len[2] = { strlen(ex[0]), strlen(ex[1]) }, n;
    char *t = sr_si_fewshot(ex, len, 2, &n);
    CHECK(t != NULL && strlen(t) == n);
    CHECK(strstr(t, "\n\nTask 1: First task with a newline\nTask 2: Second\nTask 3:") != NULL);
    CHECK(n >= 7 && strcmp(t + n - 7, "Task 3:") == 0);
    free(t);
}

TEST(normalisation_and_keys)
{
    char out[64];
    const char *s = "  Hello,\t\tWORLD \n again ";
    size_t n = sr_si_normalise(s, strlen(s), out);
    CHECK_STR(out, "hello, world again");
    CHECK(n == strlen("hello, world again"));
    CHECK(sr_si_key("Hello  World", 12) == sr_si_key(" hello world\n", 13));
    CHECK(sr_si_key("Hello World", 11) != sr_si_key("Hello World!", 12));
}

/* The id and seed rules of the stage (base/ids.h), as DESIGN §2 and §4 state them. */
TEST(id_and_seed_rules)
{
    CHECK(sr_si_request_seed(7, 3) == sr_record_seed("self-instruct/7", 15, 3));
    CHECK(sr_si_request_seed(7, 3) != sr_si_request_seed(8, 3));
    sr_rng a = sr_si_shots_rng(99), b = sr_rng_for(99, 1u << 30);
    CHECK(sr_rng_next(&a) == sr_rng_next(&b));
    CHECK(sr_si_key("Hello   World", 13) == sr_text_key("hello world", 11));
    char hex[17], want[17];
    sr_candidate_id("p1", 2, 3, hex);
    sr_hex64(sr_hash("p1/3", 4, 0), want);
    CHECK_STR(hex, want);
}

int main(void)
{
    RUN(rouge_l_by_hand);
    RUN(keyword_filter_matches_whole_words);
    RUN(checks_in_order);
    RUN(parser_takes_one_line);
    RUN(fewshot_prompt_numbers_examples_on_one_line_each);
    RUN(normalisation_and_keys);
    RUN(id_and_seed_rules);
    return test_done();
}
