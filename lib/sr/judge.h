/* judge.h — LLM-as-a-Judge, the parts that are text (METHOD "The judge
 * prompt"): the judge prompt for a (prompt, response) pair, reading the
 * score back out of what the judge wrote, and the rubric that ties them to
 * one scale.
 *
 * The prompt is a template with two placeholders, {prompt} and {response};
 * {{ and }} stand for literal braces. The built-in template is the project's
 * wording of the additive 5-point rubric; `--template FILE` gives another.
 * Rendering gives the content of one user turn: the caller applies the
 * model's chat template to it (lib/chat).
 *
 *   sr_judge_tmpl t;
 *   if (sr_judge_tmpl_load(&t, path_or_NULL, err, sizeof err)) ...   // -1 I/O, -2 bad template
 *   char *text = sr_judge_render(&t, prompt, plen, response, rlen, &len);
 *   ...
 *   int score;
 *   if (sr_judge_parse_score(judgement, n, 0, 5, &score)) ...         // 0..5
 *
 * A rubric (sr_rubric, below) is what a judging stage holds: the template,
 * the scale, and the score line to force when a judgement has none. A
 * 1-10 scale or another wording is a change to sr_rubric_load alone.
 */
#ifndef SR_JUDGE_H
#define SR_JUDGE_H

#include <stddef.h>

#include "sr/template.h"

/* The built-in template (NUL-terminated, static). */
const char *sr_judge_builtin_template(void);

/* A judge template is a template (sr/template.h) with the placeholders
 * {prompt} and {response}. */
typedef sr_tmpl sr_judge_tmpl;

enum { SR_JUDGE_EIO = SR_TMPL_EIO, SR_JUDGE_EBAD = SR_TMPL_EBAD };

/* Check a template and keep a copy: 0, or SR_JUDGE_EBAD with the reason in
 * err — a missing {prompt} or {response} (named), an unknown placeholder or a
 * lone brace (with its line), invalid UTF-8. */
int  sr_judge_tmpl_init(sr_judge_tmpl *t, const char *text, size_t len, char *err, size_t errlen);
/* The same from a file; path NULL gives the built-in template. 0, or
 * SR_JUDGE_EIO (cannot read the file) or SR_JUDGE_EBAD, with err naming the
 * file. */
int  sr_judge_tmpl_load(sr_judge_tmpl *t, const char *path, char *err, size_t errlen);
void sr_judge_tmpl_free(sr_judge_tmpl *t);

/* The judge prompt: the template with each {prompt} and {response} replaced
 * by the texts as they are (braces inside them are not placeholders), {{ and
 * }} by single braces. malloc'd, NUL-terminated, length in *len (may be
 * NULL); NULL when out of memory. The template must have passed
 * sr_judge_tmpl_init. */
char *sr_judge_render(const sr_judge_tmpl *t, const char *prompt, size_t prompt_len,
                      const char *response, size_t response_len, size_t *len);

/* The score of a judgement on the scale min..max (0 <= min <= max <= 10):
 * 1 with *score in min..max, or 0 when there is none. Below, for the
 * built-in scale 0..5 (a number word is one of "zero" .. the word of max).
 *
 * A score line is "score" (any case), optionally after up to three words
 * ("Total score", "My final score") or at the start of a new sentence
 * (after ". "), then ':' , '=' or "is", then a whole number of points:
 * "4", "4.", "4.0", "four", "4/5", "4 / 5", "4 out of 5", "4 points".
 * Markdown around any part is ignored ("**Score:** 5", "Score: **4**",
 * "### Score: [3]"); the number may stand alone on the next line when
 * nothing follows the separator. Text after the number is allowed
 * ("Score: 4 (good)") unless it makes a range or a choice ("3-4", "3 or 4").
 * A line is rejected — it is not a score line, and an earlier one counts
 * instead — when its number is out of 0..5 ("6", "-1", "10/10"), not whole
 * ("3.5"), or a fraction of anything but max ("8/10"). Of the score
 * lines, the last one wins. */
int sr_judge_parse_score(const char *text, size_t n, int min, int max, int *score);
/* The same, and *at the byte offset in text where the winning line's
 * number starts (its first digit, or a number word's first letter). */
int sr_judge_parse_score_at(const char *text, size_t n, int min, int max, int *score, size_t *at);

/* ---- the rubric ---------------------------------------------------------------- */

typedef struct sr_rubric {
    sr_judge_tmpl tmpl;       /* what the judge is asked */
    int min, max;             /* the scale of a score */
    const char *force;        /* the score line a judgement without one is continued with */
    int force_tokens;         /* a forced line with no score after this many tokens gets none */
} sr_rubric;

/* The additive 5-point rubric (scores 0..5), with its template read from
 * template_path (NULL: the built-in one). 0, or SR_JUDGE_EIO / SR_JUDGE_EBAD
 * as sr_judge_tmpl_load. */
int  sr_rubric_load(sr_rubric *r, const char *template_path, char *err, size_t errlen);
void sr_rubric_free(sr_rubric *r);
/* Another scale for a rubric of the user's template (--scale 1-10, MT-Bench's
 * single-answer grading): min..max with 0 <= min < max <= 10. 0, or -1 for
 * a scale the parser cannot read. */
int  sr_rubric_set_scale(sr_rubric *r, int min, int max);
/* sr_judge_parse_score on the rubric's scale. */
int  sr_rubric_score(const sr_rubric *r, const char *text, size_t n, int *score);

#endif
