/* template.c — named-placeholder templates: checking and rendering
 * (template.h). */
#include "sr/template.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

static size_t line_of(const char *s, size_t at)
{
    size_t line = 1;
    for (size_t i = 0; i < at; i++) line += s[i] == '\n';
    return line;
}

/* The index of the placeholder "{name}" at p (left bytes), or -1; its
 * length in *n. */
static int placeholder_at(const sr_tmpl *t, const char *p, size_t left, size_t *n)
{
    for (int k = 0; k < t->n_names; k++) {
        size_t l = strlen(t->names[k]);
        if (left >= l + 2 && p[0] == '{' && memcmp(p + 1, t->names[k], l) == 0 && p[l + 1] == '}') {
            *n = l + 2;
            return k;
        }
    }
    return -1;
}

/* "{prompt}, {response_a} and {response_b}" */
static void list_names(const sr_tmpl *t, char *out, size_t n)
{
    size_t o = 0;
    out[0] = 0;
    for (int k = 0; k < t->n_names && o < n; k++)
        o += (size_t)snprintf(out + o, n - o, "%s{%s}", k == 0 ? "" : k + 1 == t->n_names ? " and " : ", ",
                              t->names[k]);
}

/* What is wrong at a '{' or '}' that is neither a placeholder nor doubled. */
static void bad_brace(const sr_tmpl *t, const char *text, size_t i, size_t len, char *err, size_t errlen)
{
    const char *p = text + i;
    size_t left = len - i, k = 1;
    if (*p == '}') {
        snprintf(err, errlen, "line %zu: a lone '}' (write }} for a literal brace)", line_of(text, i));
        return;
    }
    while (k < left && k < 40 && p[k] != '}' && p[k] != '{' && p[k] != '\n') k++;
    if (k < left && p[k] == '}') {
        char names[256];
        list_names(t, names, sizeof names);
        snprintf(err, errlen, "line %zu: unknown placeholder \"%.*s\" (the placeholders are %s; "
                 "write {{ and }} for literal braces)", line_of(text, i), (int)(k + 1), p, names);
    } else {
        snprintf(err, errlen, "line %zu: a lone '{' (write {{ for a literal brace)", line_of(text, i));
    }
}

int sr_tmpl_init(sr_tmpl *t, const char *text, size_t len, const char *const *names, int n_names,
                 char *err, size_t errlen)
{
    *t = (sr_tmpl){ .names = names, .n_names = n_names };
    size_t bad = sr_utf8_valid_prefix(text, len);
    if (bad != len) {
        snprintf(err, errlen, "invalid UTF-8 at byte %zu (line %zu)", bad, line_of(text, bad));
        return SR_TMPL_EBAD;
    }
    bool seen[SR_TMPL_MAX_NAMES] = { false };
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c != '{' && c != '}') continue;
        if (i + 1 < len && text[i + 1] == c) { i++; continue; }
        size_t n;
        int k = c == '{' ? placeholder_at(t, text + i, len - i, &n) : -1;
        if (k < 0) {
            bad_brace(t, text, i, len, err, errlen);
            return SR_TMPL_EBAD;
        }
        seen[k] = true;
        i += n - 1;
    }
    for (int k = 0; k < n_names; k++)
        if (!seen[k]) {
            char all[256];
            list_names(t, all, sizeof all);
            snprintf(err, errlen, "the placeholder {%s} is missing (this template needs %s)", names[k], all);
            return SR_TMPL_EBAD;
        }
    t->text = malloc(len + 1);
    if (!t->text) {
        snprintf(err, errlen, "out of memory");
        return SR_TMPL_EIO;
    }
    memcpy(t->text, text, len);
    t->text[len] = 0;
    t->len = len;
    return 0;
}

/* The whole of a template file, at most 64 MiB (a prompt, not a corpus). */
static char *read_file(const char *path, size_t *n, int *rc, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        *rc = SR_TMPL_EIO;
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0;
    *n = 0;
    *rc = 0;
    for (;;) {
        if (cap - *n < 4096) {
            if (cap >= ((size_t)1 << 26)) {
                snprintf(err, errlen, "%s: larger than 64 MiB", path);
                *rc = SR_TMPL_EBAD;
                break;
            }
            cap = cap ? 2 * cap : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                snprintf(err, errlen, "%s: out of memory", path);
                *rc = SR_TMPL_EIO;
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + *n, 1, cap - *n, f);
        *n += got;
        if (got == 0) break;
    }
    if (!*rc && ferror(f)) {
        snprintf(err, errlen, "read %s: %s", path, strerror(errno));
        *rc = SR_TMPL_EIO;
    }
    fclose(f);
    if (*rc) { free(buf); return NULL; }
    return buf ? buf : calloc(1, 1);
}

int sr_tmpl_load(sr_tmpl *t, const char *path, const char *builtin, const char *const *names,
                 int n_names, char *err, size_t errlen)
{
    if (!path) return sr_tmpl_init(t, builtin, strlen(builtin), names, n_names, err, errlen);
    *t = (sr_tmpl){ .names = names, .n_names = n_names };
    size_t n;
    int rc;
    char *buf = read_file(path, &n, &rc, err, errlen);
    if (!buf) return rc ? rc : SR_TMPL_EIO;
    char why[400];
    rc = sr_tmpl_init(t, buf, n, names, n_names, why, sizeof why);
    if (rc) snprintf(err, errlen, "%s: %s", path, why);
    free(buf);
    return rc;
}

void sr_tmpl_free(sr_tmpl *t)
{
    free(t->text);
    t->text = NULL;
    t->len = 0;
}

char *sr_tmpl_render(const sr_tmpl *t, const sr_tmpl_val *vals, size_t *len)
{
    /* Two passes over the template: the size, then the text. */
    char *out = NULL;
    size_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t o = 0;
        for (size_t i = 0; i < t->len; i++) {
            const char *p = t->text + i, *put = p;
            size_t n = 1, ph;
            int k = *p == '{' ? placeholder_at(t, p, t->len - i, &ph) : -1;
            if (k >= 0) {
                put = vals[k].p; n = vals[k].n; i += ph - 1;
            } else if ((*p == '{' || *p == '}') && i + 1 < t->len && p[1] == *p) {
                i++;
            }
            if (out && n) memcpy(out + o, put, n);
            o += n;
        }
        if (!out) {
            total = o;
            out = malloc(total + 1);
            if (!out) return NULL;
        }
    }
    out[total] = 0;
    if (len) *len = total;
    return out;
}
