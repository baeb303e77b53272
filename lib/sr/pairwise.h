/* pairwise.h — the pairwise judge, the parts that are text: the question
 * "which of these two answers to one prompt is better?" and reading the
 * verdict back (sr-judge --pairwise; the head-to-head evaluation of METHOD
 * "Results", models against the SFT baseline).
 *
 * The template has three placeholders, {prompt}, {response_a} and
 * {response_b} (sr/template.h); the built-in one is the project's own
 * wording, and asks for a last line "Verdict: A", "Verdict: B" or
 * "Verdict: tie". A and B there are positions — the answer shown first and
 * second —; the stage (sr/pairwise_judging.h) asks both orders and names
 * the replies as the record does (sr/verdict.h). */
#ifndef SR_PAIRWISE_H
#define SR_PAIRWISE_H

#include <stdbool.h>
#include <stddef.h>

#include "sr/template.h"
#include "sr/verdict.h"

/* The built-in template (NUL-terminated, static): two answers to a
 * question, or with meta the meta-judge's, two judgements of one answer
 * ({prompt} then holds the judge prompt they answered; sr/metapass.h). */
const char *sr_pairwise_builtin_template(bool meta);

typedef struct sr_pairwise {
    sr_tmpl tmpl;             /* what the judge is asked */
    const char *force;        /* the verdict line a judgement without one is continued with */
    int force_tokens;         /* a forced line with no verdict after this many tokens gets none */
} sr_pairwise;

/* The pairwise judge with its template read from template_path (NULL: the
 * built-in one, the meta-judge's with meta): 0, or SR_TMPL_EIO /
 * SR_TMPL_EBAD with err set. */
int  sr_pairwise_load(sr_pairwise *p, const char *template_path, bool meta, char *err, size_t errlen);
void sr_pairwise_free(sr_pairwise *p);

/* The judge prompt with `first` shown as answer A and `second` as answer B
 * (malloc'd, length in *len; NULL when out of memory). */
char *sr_pairwise_render(const sr_pairwise *p, const char *prompt, size_t prompt_len, const char *first,
                         size_t first_len, const char *second, size_t second_len, size_t *len);

/* The verdict of a judgement, by position (SR_VERDICT_A: the answer shown
 * first), or SR_VERDICT_NONE. A verdict line is "verdict" (any case, after
 * at most three words: "Final verdict", "My verdict"), then ':' or "is",
 * then "A", "B" or "tie" — optionally as "Answer A", "Assistant B",
 * "[[A]]", "**B**" —; "tie" may also be "equal", "neither" or "both".
 * Text after it is allowed unless it names the other answer too ("A or
 * B"). Of the verdict lines, the last one wins. */
sr_verdict sr_pairwise_parse(const char *text, size_t n);

#endif
