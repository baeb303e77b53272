/* template.h — prompt templates with named placeholders, the text part of
 * every judge (sr/judge.h pointwise, sr/pairwise.h pairwise).
 *
 * "{name}" is replaced by a value when the template is rendered; "{{" and
 * "}}" stand for literal braces. Each kind of template fixes its names (a
 * pointwise judge: prompt, response; a pairwise one: prompt, response_a,
 * response_b), and a template must use every one of them at least once:
 * a user's template that forgot the second answer is refused, not run.
 * Values are put in as they are: braces inside them are not placeholders. */
#ifndef SR_TEMPLATE_H
#define SR_TEMPLATE_H

#include <stddef.h>

enum { SR_TMPL_EIO = -1, SR_TMPL_EBAD = -2, SR_TMPL_MAX_NAMES = 8 };

typedef struct sr_tmpl {
    char *text;                   /* the template as given (malloc'd, NUL-terminated) */
    size_t len;
    const char *const *names;     /* its placeholders' names, without braces (static) */
    int n_names;
} sr_tmpl;

/* One value to put in, for the placeholder of the same index in names. */
typedef struct sr_tmpl_val { const char *p; size_t n; } sr_tmpl_val;

/* Check a template against its names (1..SR_TMPL_MAX_NAMES, static) and
 * keep a copy: 0, or SR_TMPL_EBAD with the reason in err — a missing
 * placeholder (named), an unknown placeholder or a lone brace (with its
 * line), invalid UTF-8 — or SR_TMPL_EIO when out of memory. */
int sr_tmpl_init(sr_tmpl *t, const char *text, size_t len, const char *const *names, int n_names,
                 char *err, size_t errlen);
/* The same from a file; path NULL gives `builtin`. 0, or SR_TMPL_EIO (the
 * file cannot be read) or SR_TMPL_EBAD, with err naming the file. */
int sr_tmpl_load(sr_tmpl *t, const char *path, const char *builtin, const char *const *names,
                 int n_names, char *err, size_t errlen);
void sr_tmpl_free(sr_tmpl *t);

/* The template with each placeholder replaced by vals[its index]:
 * malloc'd, NUL-terminated, length in *len (may be NULL); NULL when out of
 * memory. */
char *sr_tmpl_render(const sr_tmpl *t, const sr_tmpl_val *vals, size_t *len);

#endif
