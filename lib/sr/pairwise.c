/* pairwise.c — the pairwise judge's template and verdict parser
 * (pairwise.h). */
#include "sr/pairwise.h"

#include <stdbool.h>
#include <string.h>

/* The project's wording. It says outright that length and order are not
 * merits: both are the biases a pairwise judge shows most (METHOD "Known
 * weaknesses"), and asking in both orders only measures the second. */
static const char builtin[] =
    "You are comparing two answers that AI assistants gave to the same question from a user. "
    "Decide which answer serves the user better: the one that is more helpful, more correct "
    "and more to the point, and clearer. Judge what the answers say, not how long they are: "
    "an answer is not better for being longer. The order in which they are shown says "
    "nothing about them.\n"
    "\n"
    "The question:\n"
    "\"\"\"\n"
    "{prompt}\n"
    "\"\"\"\n"
    "\n"
    "Answer A:\n"
    "\"\"\"\n"
    "{response_a}\n"
    "\"\"\"\n"
    "\n"
    "Answer B:\n"
    "\"\"\"\n"
    "{response_b}\n"
    "\"\"\"\n"
    "\n"
    "First compare the two answers in at most 100 words. Then end with a line of its own "
    "holding your verdict, written exactly like one of these:\n"
    "Verdict: A\n"
    "Verdict: B\n"
    "Verdict: tie";

/* The meta-judge's (Meta-Rewarding): the same question about two of the
 * model's own judgements of one reply; {prompt} is the judge prompt they
 * answered. */
static const char builtin_meta[] =
    "Below is a grading task that was given to an AI judge, followed by two gradings the "
    "judge wrote for it. Decide which grading is better: the one that applies the task's "
    "rubric more faithfully, sees the answer's real strengths and faults more accurately, "
    "and arrives at the score the answer deserves. A grading is not better for being "
    "longer, and the order in which they are shown says nothing about them.\n"
    "\n"
    "The grading task:\n"
    "\"\"\"\n"
    "{prompt}\n"
    "\"\"\"\n"
    "\n"
    "Grading A:\n"
    "\"\"\"\n"
    "{response_a}\n"
    "\"\"\"\n"
    "\n"
    "Grading B:\n"
    "\"\"\"\n"
    "{response_b}\n"
    "\"\"\"\n"
    "\n"
    "First compare the two gradings in at most 100 words. Then end with a line of its own "
    "holding your verdict, written exactly like one of these:\n"
    "Verdict: A\n"
    "Verdict: B\n"
    "Verdict: tie";

static const char *const NAMES[] = { "prompt", "response_a", "response_b" };

/* As the rubric's "\nScore:", no space after the colon: the model writes it. */
static const char FORCE_LINE[] = "\nVerdict:";

const char *sr_pairwise_builtin_template(bool meta) { return meta ? builtin_meta : builtin; }

int sr_pairwise_load(sr_pairwise *p, const char *template_path, bool meta, char *err, size_t errlen)
{
    *p = (sr_pairwise){ .force = FORCE_LINE, .force_tokens = 4 };
    return sr_tmpl_load(&p->tmpl, template_path, sr_pairwise_builtin_template(meta), NAMES, 3, err, errlen);
}

void sr_pairwise_free(sr_pairwise *p) { sr_tmpl_free(&p->tmpl); }

char *sr_pairwise_render(const sr_pairwise *p, const char *prompt, size_t prompt_len, const char *first,
                         size_t first_len, const char *second, size_t second_len, size_t *len)
{
    const sr_tmpl_val v[] = { { prompt, prompt_len }, { first, first_len }, { second, second_len } };
    return sr_tmpl_render(&p->tmpl, v, len);
}

/* ---- the verdict parser --------------------------------------------------------- */

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
static bool is_alpha(int c) { c = lower(c); return c >= 'a' && c <= 'z'; }
static bool is_blank(int c) { return c == ' ' || c == '\t' || c == '\r'; }
/* Markdown and brackets around a verdict or its label. */
static bool is_deco(int c) { return c && strchr("*_`~#>|[]()<>\"'.!", c) != NULL; }

/* Whether the word w (lowercase) stands at s[i..n) as a whole word. */
static bool word(const char *s, size_t i, size_t n, const char *w)
{
    size_t k = strlen(w);
    if (i + k > n) return false;
    for (size_t j = 0; j < k; j++)
        if (lower((unsigned char)s[i + j]) != w[j]) return false;
    return i + k == n || !is_alpha((unsigned char)s[i + k]);
}

static size_t skip_deco(const char *s, size_t i, size_t n)
{
    while (i < n && (is_blank((unsigned char)s[i]) || is_deco((unsigned char)s[i]))) i++;
    return i;
}

/* The verdict named at s[i..n): a letter or a tie word, after an optional
 * label; *end past it. */
static sr_verdict verdict_word(const char *s, size_t i, size_t n, size_t *end)
{
    static const char *const labels[] = { "answer", "assistant", "response" };
    static const char *const ties[] = { "tie", "equal", "neither", "both" };
    i = skip_deco(s, i, n);
    for (size_t l = 0; l < 3; l++)
        if (word(s, i, n, labels[l])) { i = skip_deco(s, i + strlen(labels[l]), n); break; }
    for (size_t t = 0; t < 4; t++)
        if (word(s, i, n, ties[t])) { *end = i + strlen(ties[t]); return SR_VERDICT_TIE; }
    if (word(s, i, n, "a")) { *end = i + 1; return SR_VERDICT_A; }
    if (word(s, i, n, "b")) { *end = i + 1; return SR_VERDICT_B; }
    return SR_VERDICT_NONE;
}

/* The verdict of one line s[0..n), or none. */
static sr_verdict line_verdict(const char *s, size_t n)
{
    size_t i = skip_deco(s, 0, n);
    /* up to three words before "verdict" */
    for (int words = 0; words <= 3 && i < n; words++) {
        if (word(s, i, n, "verdict")) break;
        while (i < n && is_alpha((unsigned char)s[i])) i++;
        i = skip_deco(s, i, n);
        if (words == 3) return SR_VERDICT_NONE;
    }
    if (!word(s, i, n, "verdict")) return SR_VERDICT_NONE;
    i = skip_deco(s, i + 7, n);
    if (i < n && (s[i] == ':' || s[i] == '=')) i++;
    else if (word(s, i, n, "is")) i += 2;
    else return SR_VERDICT_NONE;
    size_t end;
    sr_verdict v = verdict_word(s, i, n, &end);
    if (v == SR_VERDICT_NONE) return v;
    /* "A or B", "A / B": a choice not made */
    size_t j = skip_deco(s, end, n);
    if (word(s, j, n, "or") || word(s, j, n, "and") || (j < n && s[j] == '/')) {
        size_t k = j + (s[j] == '/' ? 1 : word(s, j, n, "or") ? 2 : 3), e2;
        if (verdict_word(s, k, n, &e2) != SR_VERDICT_NONE) return SR_VERDICT_NONE;
    }
    return v;
}

sr_verdict sr_pairwise_parse(const char *text, size_t n)
{
    sr_verdict last = SR_VERDICT_NONE;
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(text + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - text) : n;
        sr_verdict v = line_verdict(text + i, e - i);
        if (v != SR_VERDICT_NONE) last = v;
        i = e + 1;
    }
    return last;
}
