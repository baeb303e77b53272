/* selfinstruct.h — new prompts by few-shot prompting (METHOD step 1), the
 * parts that are text: the few-shot prompt, parsing a continuation into one
 * prompt, and the filters of Self-Instruct (Wang et al. 2023) — length
 * bounds, a keyword filter for what a text model cannot do, ROUGE-L overlap
 * with every prompt already known, and deduplication of normalised text. */
#ifndef SR_SELFINSTRUCT_H
#define SR_SELFINSTRUCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The few-shot prompt as plain text to continue:
 *   "<preamble>\n\nTask 1: <ex 0>\nTask 2: <ex 1>\n...\nTask k+1:"
 * Each example is put on one line (its whitespace runs collapsed).
 * malloc'd, NUL-terminated; NULL when out of memory. */
char *sr_si_fewshot(const char *const *examples, const size_t *lens, int k, size_t *len);

/* One prompt from a continuation of sr_si_fewshot: its first line, with
 * surrounding whitespace and a stray "Task N:" marker removed. malloc'd,
 * NUL-terminated (possibly empty); NULL when out of memory. */
char *sr_si_parse(const char *s, size_t n, size_t *len);

/* Whether a token's text ends the continuation (it holds a newline). */
bool sr_si_ends_line(const char *piece, size_t n);

/* Lower-case ASCII, whitespace runs as one space, no leading or trailing
 * space: the form dedup keys and ROUGE-L read. Returns the length written
 * to out (room for n + 1). */
size_t sr_si_normalise(const char *s, size_t n, char *out);
/* XXH64 of the normalised text: the dedup key and, in hex, the id. */
uint64_t sr_si_key(const char *s, size_t n);

/* Words for ROUGE-L: maximal runs of letters and digits (ASCII, compared
 * case-blind; any non-ASCII byte counts as a letter), hashed. */
typedef struct sr_words { uint32_t *w; int n; } sr_words;
int    sr_words_of(const char *s, size_t n, sr_words *out);   /* 0, or -1 out of memory */
void   sr_words_free(sr_words *w);
/* ROUGE-L F-measure: LCS(a, b) as precision over a and recall over b,
 * 2PR / (P + R); 0 when either is empty. */
double sr_rouge_l(const sr_words *a, const sr_words *b);

/* Why a candidate prompt is refused, before the ROUGE-L and dedup tests. */
enum sr_si_reject {
    SR_SI_OK = 0,
    SR_SI_EMPTY,          /* nothing parsed */
    SR_SI_SHORT,          /* fewer than min_words words */
    SR_SI_LONG,           /* more than max_words words */
    SR_SI_PUNCT,          /* starts with punctuation */
    SR_SI_NONASCII,       /* fewer than half of its letters are ASCII */
    SR_SI_KEYWORD,        /* asks for something a text model cannot do */
};
/* The checks in the order above; *keyword (may be NULL) names the keyword. */
int sr_si_check(const char *s, size_t n, int min_words, int max_words, const char **keyword);
/* The keyword of the filter found in s as a whole word (or phrase), or NULL. */
const char *sr_si_keyword(const char *s, size_t n);

#endif
