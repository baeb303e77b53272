/* selfinstruct.c — few-shot prompts and the Self-Instruct filters (see selfinstruct.h). */
#include "sr/selfinstruct.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"

static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static int is_alnum(unsigned char c) { return ((c | 32) >= 'a' && (c | 32) <= 'z') || (c >= '0' && c <= '9'); }
static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* sr_si_normalise, optionally keeping case (the few-shot examples keep it). */
static size_t normalise(const char *s, size_t n, char *out, int fold)
{
    size_t o = 0;
    int pending = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_space(c)) { pending = o > 0; continue; }
        if (pending) { out[o++] = ' '; pending = 0; }
        out[o++] = (char)(fold ? lower(c) : c);
    }
    out[o] = 0;
    return o;
}

static const char PREAMBLE[] =
    "Below is a list of tasks and questions that people ask an AI assistant. "
    "Each one is different: writing, advice, explanation, coding, planning, trivia, math.";

char *sr_si_fewshot(const char *const *examples, const size_t *lens, int k, size_t *len)
{
    size_t cap = sizeof PREAMBLE + 32;
    for (int i = 0; i < k; i++) cap += lens[i] + 24;
    char *out = malloc(cap), *o = out;
    if (!out) return NULL;
    o += sprintf(o, "%s\n\n", PREAMBLE);
    for (int i = 0; i < k; i++) {
        o += sprintf(o, "Task %d: ", i + 1);
        o += normalise(examples[i], lens[i], o, 0);
        *o++ = '\n';
    }
    o += sprintf(o, "Task %d:", k + 1);
    *len = (size_t)(o - out);
    return out;
}

size_t sr_si_normalise(const char *s, size_t n, char *out) { return normalise(s, n, out, 1); }

uint64_t sr_si_key(const char *s, size_t n)
{
    char *t = malloc(n + 1);
    if (!t) return 0;
    size_t m = sr_si_normalise(s, n, t);
    uint64_t h = sr_hash(t, m, 0);
    free(t);
    return h;
}

bool sr_si_ends_line(const char *piece, size_t n) { return memchr(piece, '\n', n) != NULL; }

char *sr_si_parse(const char *s, size_t n, size_t *len)
{
    size_t a = 0;
    while (a < n && is_space((unsigned char)s[a])) a++;
    size_t b = a;
    while (b < n && s[b] != '\n') b++;
    while (b > a && is_space((unsigned char)s[b - 1])) b--;
    /* "Task 12:" when the model numbered its own line */
    if (b - a > 5 && strncmp(s + a, "Task ", 5) == 0) {
        size_t j = a + 5;
        while (j < b && s[j] >= '0' && s[j] <= '9') j++;
        if (j > a + 5 && j < b && s[j] == ':') {
            a = j + 1;
            while (a < b && is_space((unsigned char)s[a])) a++;
        }
    }
    char *out = malloc(b - a + 1);
    if (!out) return NULL;
    memcpy(out, s + a, b - a);
    out[b - a] = 0;
    *len = b - a;
    return out;
}

/* ---- ROUGE-L ---------------------------------------------------------------- */

int sr_words_of(const char *s, size_t n, sr_words *out)
{
    out->n = 0;
    out->w = malloc(sizeof(uint32_t) * (n / 2 + 1));
    if (!out->w) return -1;
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (!(is_alnum(c) || c >= 0x80)) { i++; continue; }
        uint32_t h = 2166136261u;                  /* FNV-1a of the lower-cased word */
        while (i < n && (is_alnum((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80)) {
            h = (h ^ lower((unsigned char)s[i])) * 16777619u;
            i++;
        }
        out->w[out->n++] = h;
    }
    return 0;
}

void sr_words_free(sr_words *w) { free(w->w); w->w = NULL; w->n = 0; }

double sr_rouge_l(const sr_words *a, const sr_words *b)
{
    if (a->n == 0 || b->n == 0) return 0;
    /* LCS by dynamic programming over one row: O(|a||b|) time, O(|b|) memory. */
    int *row = calloc((size_t)b->n + 1, sizeof *row);
    if (!row) return 1;   /* out of memory: treat as too similar (refuse), never crash */
    for (int i = 1; i <= a->n; i++) {
        int diag = 0;
        for (int j = 1; j <= b->n; j++) {
            int up = row[j];
            row[j] = a->w[i - 1] == b->w[j - 1] ? diag + 1 : (row[j - 1] > up ? row[j - 1] : up);
            diag = up;
        }
    }
    double lcs = row[b->n];
    free(row);
    if (lcs == 0) return 0;
    double p = lcs / a->n, r = lcs / b->n;
    return 2 * p * r / (p + r);
}

/* ---- filters ---------------------------------------------------------------- */

/* Self-Instruct's list: things a text-only model cannot see, make or do. */
static const char *const KEYWORDS[] = {
    "image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps",
    "draw", "drawing", "plot", "plots", "go to", "video", "videos", "audio", "music",
    "flowchart", "diagram", "diagrams", "photo", "photos",
};

const char *sr_si_keyword(const char *s, size_t n)
{
    for (size_t k = 0; k < sizeof KEYWORDS / sizeof *KEYWORDS; k++) {
        const char *kw = KEYWORDS[k];
        size_t m = strlen(kw);
        for (size_t i = 0; i + m <= n; i++) {
            size_t j = 0;
            while (j < m && lower((unsigned char)s[i + j]) == (unsigned char)kw[j]) j++;
            if (j < m) continue;
            if (i > 0 && is_alnum((unsigned char)s[i - 1])) continue;
            if (i + m < n && is_alnum((unsigned char)s[i + m])) continue;
            return kw;
        }
    }
    return NULL;
}

int sr_si_check(const char *s, size_t n, int min_words, int max_words, const char **keyword)
{
    if (keyword) *keyword = NULL;
    size_t a = 0;
    while (a < n && is_space((unsigned char)s[a])) a++;
    if (a == n) return SR_SI_EMPTY;
    int words = 0;
    for (size_t i = a; i < n; i++)
        if (!is_space((unsigned char)s[i]) && (i == a || is_space((unsigned char)s[i - 1]))) words++;
    if (words < min_words) return SR_SI_SHORT;
    if (words > max_words) return SR_SI_LONG;
    unsigned char c0 = (unsigned char)s[a];
    if (c0 < 0x80 && !is_alnum(c0)) return SR_SI_PUNCT;
    size_t ascii = 0, other = 0;
    for (size_t i = a; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_alnum(c)) ascii++;
        else if (c >= 0xc0) other++;          /* count characters by their lead bytes */
    }
    if (other > ascii) return SR_SI_NONASCII;
    const char *kw = sr_si_keyword(s + a, n - a);
    if (kw) { if (keyword) *keyword = kw; return SR_SI_KEYWORD; }
    return SR_SI_OK;
}
