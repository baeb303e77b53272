/* tokenizer_pre.c — pre-tokenization with PCRE2 (UTF + UCP, JIT when there).
 *
 * A pre-tokenizer is a chain of regexes, defined as llama.cpp defines them for
 * each tokenizer.ggml.pre value: the first splits the text into its matches
 * and the gaps between them, and each later regex splits every piece of the
 * one before on its own (a piece's end is the end of the subject, so a
 * lookahead cannot see past it — that is what makes "a  1" split as
 * "a", "  ", "1" under SmolLM2's digit-first chain).
 *
 * "\s" is spelled out as the Unicode White_Space set, which llama.cpp uses
 * and which PCRE2's own \s does not quite match (U+0085). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "lm/tokenizer_pre.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS "\\t\\n\\x0B\\f\\r\\x20\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}" \
           "\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

/* GPT-2's pattern; the trailing \s+ is implicit in llama.cpp's version
 * (its splitter keeps unmatched text as a piece), explicit here. */
static const char RE_GPT2[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+"
    "|[" WS "]+(?![^" WS "])|[" WS "]+";

/* Every number character is a piece of its own (SmolLM2, StarCoder). */
static const char RE_DIGIT[] = "\\p{N}";

/* Llama 3. The contractions are case-insensitive for ASCII only, as in
 * llama.cpp ("(?i:'s)" would also match U+017F LATIN SMALL LETTER LONG S). */
static const char RE_LLAMA3[] =
    "'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]"
    "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*"
    "|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" WS "]+";

#define MAX_RE 2

static const struct pre_def {
    const char *name;
    const char *re[MAX_RE];
    bool ignore_merges;
} PRE_DEFS[] = {
    { "smollm",    { RE_DIGIT, RE_GPT2 }, false },
    { "starcoder", { RE_DIGIT, RE_GPT2 }, false },
    { "gpt-2",     { RE_GPT2, NULL },     false },
    { "gpt2",      { RE_GPT2, NULL },     false },
    { "llama-bpe", { RE_LLAMA3, NULL },   true },
    { "llama3",    { RE_LLAMA3, NULL },   true },
    { "llama-v3",  { RE_LLAMA3, NULL },   true },
};

struct sr_pretok {
    int n_re;
    pcre2_code *re[MAX_RE];
};

void sr_pretok_free(sr_pretok *p)
{
    if (!p) return;
    for (int i = 0; i < p->n_re; i++) pcre2_code_free(p->re[i]);
    free(p);
}

int sr_pretok_new(sr_pretok **out, const char *name, bool *ignore_merges,
                  char *err, size_t errlen)
{
    *out = NULL;
    const struct pre_def *d = NULL;
    for (size_t i = 0; i < sizeof PRE_DEFS / sizeof PRE_DEFS[0]; i++)
        if (strcmp(PRE_DEFS[i].name, name) == 0) d = &PRE_DEFS[i];
    if (!d) {
        snprintf(err, errlen, "unsupported pre-tokenizer '%s' (tokenizer.ggml.pre); "
                 "supported: smollm, starcoder, gpt-2, gpt2, llama-bpe, llama3, llama-v3", name);
        return -1;
    }
    sr_pretok *p = calloc(1, sizeof *p);
    if (!p) { snprintf(err, errlen, "out of memory"); return -1; }
    for (int i = 0; i < MAX_RE && d->re[i]; i++) {
        int ec; PCRE2_SIZE eo;
        p->re[i] = pcre2_compile((PCRE2_SPTR)d->re[i], PCRE2_ZERO_TERMINATED,
                                 PCRE2_UTF | PCRE2_UCP, &ec, &eo, NULL);
        if (!p->re[i]) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(ec, msg, sizeof msg);
            snprintf(err, errlen, "pre-tokenizer '%s': regex %d does not compile at %zu: %s",
                     name, i, (size_t)eo, (char *)msg);
            sr_pretok_free(p);
            return -1;
        }
        p->n_re = i + 1;
        /* JIT is an optimisation: without it pcre2_match interprets. */
        (void)pcre2_jit_compile(p->re[i], PCRE2_JIT_COMPLETE);
    }
    *ignore_merges = d->ignore_merges;
    *out = p;
    return 0;
}

struct split {
    const sr_pretok *p;
    const char *s;
    pcre2_match_data *md;
    sr_piece_fn fn;
    void *ctx;
    char *err;
    size_t errlen;
};

/* Length of the UTF-8 sequence that starts with byte c (input is valid). */
static size_t u8len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

static int split_stage(struct split *sp, int k, size_t off, size_t end)
{
    if (off == end) return 0;
    if (k == sp->p->n_re) return sp->fn(sp->ctx, off, end - off);
    size_t pos = off;
    while (pos < end) {
        int rc = pcre2_match(sp->p->re[k], (PCRE2_SPTR)sp->s, end, pos,
                             PCRE2_NO_UTF_CHECK, sp->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            snprintf(sp->err, sp->errlen, "pre-tokenizer regex failed at byte %zu: %s",
                     pos, (char *)msg);
            return -1;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sp->md);
        size_t ms = ov[0], me = ov[1];   /* copied: recursion reuses md */
        if (me == ms) me = ms + u8len((unsigned char)sp->s[ms]);   /* never empty */
        int r;
        if ((r = split_stage(sp, k + 1, pos, ms)) != 0) return r;   /* the gap */
        if ((r = split_stage(sp, k + 1, ms, me)) != 0) return r;
        pos = me;
    }
    return split_stage(sp, k + 1, pos, end);
}

int sr_pretok_split(const sr_pretok *p, const char *s, size_t n,
                    sr_piece_fn fn, void *ctx, char *err, size_t errlen)
{
    if (n == 0) return 0;
    /* Match data per call, so that one pre-tokenizer serves many threads. */
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    if (!md) { snprintf(err, errlen, "out of memory"); return -1; }
    struct split sp = { p, s, md, fn, ctx, err, errlen };
    int r = split_stage(&sp, 0, 0, n);
    pcre2_match_data_free(md);
    return r;
}
