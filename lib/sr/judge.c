/* judge.c — the judge prompt (template, rendering), the score parser, and
 * the built-in rubric. */
#include "sr/judge.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

/* ---- the built-in rubric ----------------------------------------------------
 * The additive 5-point rubric of METHOD.md in this project's own words: each
 * criterion the answer meets earns its point, whether or not an earlier one
 * was met, and the score is the sum — the paper's form (a gated reading,
 * stopping at the first criterion missed, is a different rubric). Its scale,
 * 0..5, is set beside it in sr_rubric_load. */
static const char builtin[] =
    "You are grading an answer that an AI assistant gave to a user. Read the user's "
    "question and the answer, then go through the five criteria below. The answer earns "
    "one point for every criterion it meets, each judged on its own, and the points add "
    "up to a score from 0 to 5.\n"
    "\n"
    "1. Relevance (+1): the answer is on topic and tells the user something useful about "
    "what was asked, even if it is incomplete or wanders off in places.\n"
    "2. Coverage (+1): the answer deals with a substantial part of the question, though "
    "it may leave some of it open or stop short of a direct answer.\n"
    "3. Core answer (+1): the answer settles the essential points of the question in a "
    "helpful way, even if it reads more like a web page or a forum post than like an "
    "assistant, or leaves details out.\n"
    "4. Assistant quality (+1): the answer is written clearly from an AI assistant's point "
    "of view, speaks to the question directly and completely, and is well organized, with "
    "at most minor room to be tighter or more focused.\n"
    "5. Excellence (+1): the answer fits the user's question precisely, shows expert "
    "knowledge and real insight, and contains nothing superfluous.\n"
    "\n"
    "The question:\n"
    "\"\"\"\n"
    "{prompt}\n"
    "\"\"\"\n"
    "\n"
    "The answer:\n"
    "\"\"\"\n"
    "{response}\n"
    "\"\"\"\n"
    "\n"
    "First explain in at most 100 words which criteria the answer meets. Then end with a "
    "line of its own holding the sum of its points, written exactly like this:\n"
    "Score: <points>";

const char *sr_judge_builtin_template(void) { return builtin; }

/* ---- templates ---------------------------------------------------------------- */

static const char *const NAMES[] = { "prompt", "response" };

int sr_judge_tmpl_init(sr_judge_tmpl *t, const char *text, size_t len, char *err, size_t errlen)
{
    return sr_tmpl_init(t, text, len, NAMES, 2, err, errlen);
}

int sr_judge_tmpl_load(sr_judge_tmpl *t, const char *path, char *err, size_t errlen)
{
    return sr_tmpl_load(t, path, builtin, NAMES, 2, err, errlen);
}

void sr_judge_tmpl_free(sr_judge_tmpl *t) { sr_tmpl_free(t); }

char *sr_judge_render(const sr_judge_tmpl *t, const char *prompt, size_t prompt_len,
                      const char *response, size_t response_len, size_t *len)
{
    const sr_tmpl_val v[] = { { prompt, prompt_len }, { response, response_len } };
    return sr_tmpl_render(t, v, len);
}

/* ---- the score parser --------------------------------------------------------- */

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
static bool is_alpha(int c) { c = lower(c); return c >= 'a' && c <= 'z'; }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_space(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }
/* Markdown and quoting that models wrap around labels and numbers. */
static bool is_deco(int c) { return c && strchr("*_`~#>|", c) != NULL; }
static bool is_open(int c) { return c && strchr("[(<\"'", c) != NULL; }
static bool is_close(int c) { return c && strchr("])>\"'", c) != NULL; }

/* Case-blind: does s[0..n) start with word, not followed by a letter? */
static size_t word_at(const char *s, size_t n, const char *word)
{
    size_t k = strlen(word);
    if (n < k) return 0;
    for (size_t i = 0; i < k; i++)
        if (lower((unsigned char)s[i]) != word[i]) return 0;
    if (n > k && is_alpha((unsigned char)s[k])) return 0;
    return k;
}

/* What may stand before "score" on its line: decoration, commas, list
 * bullets and at most three words ("Total", "My final", "Overall, the"), or
 * anything that ends a sentence first ("... is helpful. Score: 4"). */
enum { PREFIX_MAX = 200 };     /* bytes looked at before "score": keeps the scan linear */

static bool prefix_ok(const char *s, size_t start, size_t at)
{
    if (at > start && (is_alpha((unsigned char)s[at - 1]) || is_digit((unsigned char)s[at - 1])))
        return false;
    size_t end = at, lim = at - start > PREFIX_MAX ? at - PREFIX_MAX : start;
    while (end > lim && (is_space((unsigned char)s[end - 1]) || is_deco((unsigned char)s[end - 1])))
        end--;
    if (end > start && end < at && s[end - 1] && strchr(".!?", s[end - 1])) return true;
    if (at - start > PREFIX_MAX) return false;
    int words = 0;
    for (size_t i = start; i < at;) {
        unsigned char c = (unsigned char)s[i];
        if (is_space(c) || is_deco(c) || c == ',' || c == '-' || c == '+' || is_open(c)) { i++; continue; }
        if (!is_alpha(c)) return false;
        while (i < at && (is_alpha((unsigned char)s[i]) || s[i] == '\'')) i++;
        if (++words > 3) return false;
    }
    return true;
}

static size_t skip(const char *s, size_t i, size_t n, bool (*ok)(int))
{
    while (i < n && (is_space((unsigned char)s[i]) || ok((unsigned char)s[i]))) i++;
    return i;
}
static bool deco_or_open(int c) { return is_deco(c) || is_open(c); }
static bool deco_or_close(int c) { return is_deco(c) || is_close(c); }

/* A whole number at s[*i]: digits with an optional all-zero decimal part
 * ("4", "4.0"; "4." leaves the dot), or a number word ("four": *spelled
 * is set then). -2 when there is a
 * number that is not whole or not >= 0, -1 when there is none. */
static long number_at(const char *s, size_t *i, size_t n, int max, bool *spelled)
{
    static const char *const words[] = { "zero", "one", "two", "three", "four", "five",
                                         "six", "seven", "eight", "nine", "ten" };
    size_t j = *i;
    *spelled = false;
    /* only the words of the scale: "six" is no number on a scale to 5 */
    for (int w = 0; w <= max && w < (int)(sizeof words / sizeof *words); w++) {
        size_t k = word_at(s + j, n - j, words[w]);
        if (k) { *i = j + k; *spelled = true; return w; }
    }
    bool neg = false;
    if (j < n && (s[j] == '-' || s[j] == '+') && j + 1 < n && is_digit((unsigned char)s[j + 1])) {
        neg = s[j] == '-';
        j++;
    }
    if (j >= n || !is_digit((unsigned char)s[j])) return -1;
    long v = 0;
    while (j < n && is_digit((unsigned char)s[j])) {
        if (v < 1000000) v = v * 10 + (s[j] - '0');
        j++;
    }
    if (j + 1 < n && s[j] == '.' && is_digit((unsigned char)s[j + 1])) {
        j++;
        bool whole = true;
        while (j < n && is_digit((unsigned char)s[j])) whole &= s[j++] == '0';
        if (!whole) return -2;
    }
    *i = j;
    return neg && v != 0 ? -2 : v;
}

/* After "score" at s[i]: the separator, the number and what follows it.
 * The value min..max (the number starting at s[*at]), or -1 when this is
 * not a well-formed score line. */
static int score_after(const char *s, size_t i, size_t n, int min, int max, size_t *at)
{
    i = skip(s, i, n, is_deco);
    size_t k;
    if (i < n && (s[i] == ':' || s[i] == '=')) i++;
    else if ((k = word_at(s + i, n - i, "is"))) i += k;
    else return -1;
    i = skip(s, i, n, deco_or_open);
    if (i < n && s[i] == '\n') {      /* "Score:" alone: the number on the next line */
        i = skip(s, i + 1, n, deco_or_open);
        if (i < n && s[i] == '\n') return -1;
    }
    bool spelled, ignored;
    *at = i;
    long v = number_at(s, &i, n, max, &spelled);
    if (v < 0) return -1;
    if (i < n && (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i])) &&
        !word_at(s + i, n - i, "points") && !word_at(s + i, n - i, "point") && !word_at(s + i, n - i, "pts"))
        return -1;                    /* "4th", "4x" */
    /* "/5", "out of 5" and "points", in either order. */
    for (int round = 0; round < 2; round++) {
        size_t j = skip(s, i, n, deco_or_close);
        long denom = -1;
        if (j < n && s[j] == '/') {
            j = skip(s, j + 1, n, is_deco);
            denom = number_at(s, &j, n, max, &ignored);
            if (denom < 0) return -1;
        } else if ((k = word_at(s + j, n - j, "out"))) {
            j = skip(s, j + k, n, is_deco);
            if (!(k = word_at(s + j, n - j, "of"))) break;
            j = skip(s, j + k, n, is_deco);
            denom = number_at(s, &j, n, max, &ignored);
            if (denom < 0) return -1;
        } else if ((k = word_at(s + j, n - j, "points")) || (k = word_at(s + j, n - j, "point")) ||
                   (k = word_at(s + j, n - j, "pts"))) {
            j += k;
        } else {
            break;
        }
        if (denom >= 0 && denom != max) return -1;    /* a scale that is not this rubric's */
        i = j;
    }
    /* A range or a choice ("3-4", "3 to 4", "3 or 4") is not one score. */
    size_t j = skip(s, i, n, deco_or_close);
    if (j < n && (s[j] == '-' || s[j] == '~' || s[j] == ',')) {
        size_t d = skip(s, j + 1, n, is_deco);
        if (d < n && is_digit((unsigned char)s[d])) return -1;
    }
    if (j + 2 < n && (unsigned char)s[j] == 0xe2 && (unsigned char)s[j + 1] == 0x80 &&
        ((unsigned char)s[j + 2] == 0x93 || (unsigned char)s[j + 2] == 0x94)) {   /* en/em dash */
        size_t d = skip(s, j + 3, n, is_deco);
        if (d < n && is_digit((unsigned char)s[d])) return -1;
    }
    if ((k = word_at(s + j, n - j, "or")) || (k = word_at(s + j, n - j, "to")) ||
        (k = word_at(s + j, n - j, "and"))) {
        size_t d = skip(s, j + k, n, deco_or_open);
        if (d < n && (is_digit((unsigned char)s[d]) || number_at(s, &d, n, max, &ignored) >= 0)) return -1;
    }
    /* A number word must end the line ("Score: four."): "Score: one of
     * the best" is prose, not a score. */
    if (spelled) {
        if (j < n && (s[j] == '.' || s[j] == '!')) j++;
        j = skip(s, j, n, is_deco);
        if (j < n && s[j] != '\n') return -1;
    }
    return v >= min && v <= max ? (int)v : -1;
}

int sr_judge_parse_score(const char *text, size_t n, int min, int max, int *score)
{
    size_t at;
    return sr_judge_parse_score_at(text, n, min, max, score, &at);
}

int sr_judge_parse_score_at(const char *text, size_t n, int min, int max, int *score, size_t *at)
{
    int found = -1;
    size_t line = 0, here;
    for (size_t i = 0; i + 5 <= n; i++) {
        if (text[i] == '\n') { line = i + 1; continue; }
        if (lower((unsigned char)text[i]) != 's' || !word_at(text + i, n - i, "score")) continue;
        if (!prefix_ok(text, line, i)) continue;
        int v = score_after(text, i + 5, n, min, max, &here);
        if (v >= 0) { found = v; *at = here; }
    }
    if (found < 0) return 0;
    *score = found;
    return 1;
}

/* ---- the rubric ------------------------------------------------------------------ */

/* No space after the colon: the model writes it, as its tokenizer has it
 * (SmolLM2's: a space token, then the digit; others: one " 4" token, after
 * which a prompt ending in a bare space would be unnatural). */
static const char FORCE_LINE[] = "\nScore:";

int sr_rubric_load(sr_rubric *r, const char *template_path, char *err, size_t errlen)
{
    *r = (sr_rubric){ .min = 0, .max = 5, .force = FORCE_LINE, .force_tokens = 4 };
    return sr_judge_tmpl_load(&r->tmpl, template_path, err, errlen);
}

void sr_rubric_free(sr_rubric *r) { sr_judge_tmpl_free(&r->tmpl); }

int sr_rubric_set_scale(sr_rubric *r, int min, int max)
{
    if (min < 0 || max > 10 || min >= max) return -1;
    r->min = min;
    r->max = max;
    /* "10" may be two tokens after the space */
    r->force_tokens = max >= 10 ? 5 : r->force_tokens;
    return 0;
}

int sr_rubric_score(const sr_rubric *r, const char *text, size_t n, int *score)
{
    return sr_judge_parse_score(text, n, r->min, r->max, score);
}
