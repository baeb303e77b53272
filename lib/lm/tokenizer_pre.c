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

/* The contractions, case-insensitive for ASCII only, as in llama.cpp
 * ("(?i:'s)" would also match U+017F LATIN SMALL LETTER LONG S). */
#define CONTR "'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]"
/* The whitespace tail every tiktoken-style pattern ends with. */
#define WS_TAIL "|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" WS "]+"

/* Llama 3 (numbers in runs of up to three). */
static const char RE_LLAMA3[] =
    CONTR "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*" WS_TAIL;

/* Qwen2: Llama 3's with every number character apart. */
static const char RE_QWEN2[] =
    CONTR "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*" WS_TAIL;

/* Qwen3.5: Qwen2's with combining marks kept in words. */
static const char RE_QWEN35[] =
    CONTR "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^" WS "\\p{L}\\p{M}\\p{N}]+[\\r\\n]*" WS_TAIL;

/* Tekken and GPT-4o split words at case changes. llama.cpp's regex engine
 * cannot tell upper from lower case beyond ASCII, so its patterns say
 * "a letter that is not a-z" for upper case and "a letter that is not A-Z"
 * for lower case: a non-ASCII letter counts as both. Reproduced here, since
 * it changes where words split. */
#define UPPER "(?:(?=\\p{L})[^a-z])"
#define LOWER "(?:(?=\\p{L})[^A-Z])"
static const char RE_TEKKEN[] =
    "[^\\r\\n\\p{L}\\p{N}]?" UPPER "*" LOWER "+|[^\\r\\n\\p{L}\\p{N}]?" UPPER "+" LOWER "*"
    "|\\p{N}| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n/]*" WS_TAIL;
static const char RE_GPT4O[] =
    "[^\\r\\n\\p{L}\\p{N}]?" UPPER "*" LOWER "+(?:" CONTR ")?"
    "|[^\\r\\n\\p{L}\\p{N}]?" UPPER "+" LOWER "*(?:" CONTR ")?"
    "|\\p{N}{1,3}| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n/]*" WS_TAIL;

/* DeepSeek V3: numbers by three, CJK and kana runs, then words. */
static const char RE_DSV3_CJK[] = "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+";
static const char RE_DSV3[] =
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
    "| ?[\\p{P}\\p{S}]+[\\r\\n]*" WS_TAIL;
static const char RE_N3[] = "\\p{N}{1,3}";

/* DeepSeek LLM and Coder: line breaks apart, then words, punctuation, CJK
 * and numbers, each by its own regex. DeepSeek LLM's letters are an
 * explicit list of cased-letter ranges (from its tokenizer.json). */
static const char RE_NL[] = "[\\r\\n]";
static const char RE_DSLLM_WORD[] =
    "[" WS "]?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}"
    "\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}"
    "\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}"
    "\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}"
    "\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}"
    "\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}"
    "\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}"
    "\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}"
    "\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}"
    "\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}"
    "\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}"
    "\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}"
    "\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}"
    "\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}"
    "\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}"
    "\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+";
/* llama.cpp turns every non-ASCII white space into U+000B before these
 * regexes without "\\p{..}" run, so U+3000 in the list below, and the white
 * space inside the CJK ranges, never match there: they are left out here. */
static const char RE_DSLLM_PUNCT[] =
    "[" WS "]?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3001}-\\x{3002}]+";
/* "$" is the end of the piece in llama.cpp's std::regex; PCRE2's would also
 * match before a final newline. */
static const char RE_DSLLM_TAIL[] = "[" WS "]+\\z";
static const char RE_DS_CJK[] =
    "(?:(?![" WS "])[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}])+";
static const char RE_NUMS[] = "\\p{N}+";
static const char RE_DSC_WORD[] = "[" WS "]?\\p{L}+";
static const char RE_DSC_PUNCT[] = "[" WS "]?\\p{P}+";

/* Falcon and llama.cpp's default (no tokenizer.ggml.pre): punctuation runs
 * first, then GPT-2's pattern, then digits by three. */
static const char RE_FALCON_PUNCT[] = "[\\p{P}$+<=>^~|`]+";
static const char RE_DEFAULT_PUNCT[] = "[\\p{P}$+<=>^~|]+";
static const char RE_DIGIT3[] = "[0-9][0-9][0-9]";

/* Characters llama.cpp's Unicode tables (15.1) put in a category that this
 * PCRE2's older tables leave unassigned, by category letter; every "\p{X}"
 * of a pattern is widened by them, so that ids agree on them too (a newer
 * PCRE2 already has them: the repeat is harmless). Found by comparing every
 * code point of both (no code point differs the other way). */
static const struct { char cat; const char *extra; } NEWER[] = {
    { 'N', "\\x{11F50}-\\x{11F59}\\x{1D2C0}-\\x{1D2D3}\\x{1E4F0}-\\x{1E4F9}" },
    { 'L', "\\x{1123F}-\\x{11240}\\x{11F02}\\x{11F04}-\\x{11F10}\\x{11F12}-\\x{11F33}"
           "\\x{1342F}\\x{13441}-\\x{13446}\\x{1B132}\\x{1B155}\\x{1DF25}-\\x{1DF2A}"
           "\\x{1E030}-\\x{1E06D}\\x{1E4D0}-\\x{1E4EB}\\x{2B739}\\x{2EBF0}-\\x{2EE5D}"
           "\\x{31350}-\\x{323AF}" },
    { 'P', "\\x{11B00}-\\x{11B09}\\x{11F43}-\\x{11F4F}" },
    { 'M', "\\x{CF3}\\x{ECE}\\x{10EFD}-\\x{10EFF}\\x{11241}\\x{11F00}-\\x{11F01}\\x{11F03}"
           "\\x{11F34}-\\x{11F3A}\\x{11F3E}-\\x{11F42}\\x{13440}\\x{13447}-\\x{13455}"
           "\\x{1E08F}\\x{1E4EC}-\\x{1E4EF}" },
    { 'S', "\\x{2FFC}-\\x{2FFF}\\x{31EF}\\x{1F6DC}\\x{1F774}-\\x{1F776}\\x{1F77B}-\\x{1F77F}"
           "\\x{1F7D9}\\x{1FA75}-\\x{1FA77}\\x{1FA87}-\\x{1FA88}\\x{1FAAD}-\\x{1FAAF}"
           "\\x{1FABB}-\\x{1FABD}\\x{1FABF}\\x{1FACE}-\\x{1FACF}\\x{1FADA}-\\x{1FADB}"
           "\\x{1FAE8}\\x{1FAF7}-\\x{1FAF8}" },
};

static const char *newer_of(char cat)
{
    for (size_t i = 0; i < sizeof NEWER / sizeof NEWER[0]; i++)
        if (NEWER[i].cat == cat) return NEWER[i].extra;
    return NULL;
}

/* Copy re with each "\p{X}" widened by NEWER: inside a class the ranges are
 * appended, outside it becomes a class of its own. Returns a malloc'd
 * string, NULL when out of memory. */
static char *widen(const char *re)
{
    size_t cap = strlen(re) + 1;
    for (const char *q = re; (q = strstr(q, "\\p{")) != NULL; q += 3) cap += 512;
    char *o = malloc(cap), *w = o;
    if (!o) return NULL;
    bool in_class = false;
    for (const char *q = re; *q;) {
        const char *ex = q[0] == '\\' && q[1] == 'p' && q[2] == '{' && q[3] && q[4] == '}'
                         ? newer_of(q[3]) : NULL;
        if (ex) {
            w += sprintf(w, in_class ? "\\p{%c}%s" : "[\\p{%c}%s]", q[3], ex);
            q += 5;
        } else if (q[0] == '\\' && q[1]) {
            *w++ = *q++; *w++ = *q++;
        } else {
            if (*q == '[' && !in_class) in_class = true;
            else if (*q == ']' && in_class) in_class = false;
            *w++ = *q++;
        }
    }
    *w = 0;
    return o;
}

#define MAX_RE 6

enum { PLAIN = 0, IGNORE_MERGES = 1 };

/* Names as llama.cpp's llama_vocab::impl::load maps them; aliases that
 * share a pattern share a row's regexes. */
static const struct pre_def {
    const char *name;
    const char *re[MAX_RE];
    int flags;
} PRE_DEFS[] = {
    { "default",        { RE_DEFAULT_PUNCT, RE_GPT2, RE_NUMS, RE_DIGIT3 }, PLAIN },
    { "gpt-2",          { RE_GPT2 }, PLAIN },
    { "gpt2",           { RE_GPT2 }, PLAIN },
    { "phi-2",          { RE_GPT2 }, PLAIN },
    { "roberta-bpe",    { RE_GPT2 }, PLAIN },
    { "mpt",            { RE_GPT2 }, PLAIN },
    { "olmo",           { RE_GPT2 }, PLAIN },
    { "jais",           { RE_GPT2 }, PLAIN },
    { "exaone4",        { RE_GPT2 }, PLAIN },
    { "smollm",         { RE_DIGIT, RE_GPT2 }, PLAIN },
    { "starcoder",      { RE_DIGIT, RE_GPT2 }, PLAIN },
    { "refact",         { RE_DIGIT, RE_GPT2 }, PLAIN },
    { "command-r",      { RE_DIGIT, RE_GPT2 }, PLAIN },
    { "codeshell",      { RE_DIGIT, RE_GPT2 }, PLAIN },
    { "exaone",         { RE_DIGIT, RE_GPT2 }, PLAIN },
    { "minerva-7b",     { RE_DIGIT, RE_GPT2 }, PLAIN },
    { "falcon",         { RE_FALCON_PUNCT, RE_GPT2, RE_DIGIT3 }, PLAIN },
    { "llama-bpe",      { RE_LLAMA3 }, IGNORE_MERGES },
    { "llama3",         { RE_LLAMA3 }, IGNORE_MERGES },
    { "llama-v3",       { RE_LLAMA3 }, IGNORE_MERGES },
    { "falcon3",        { RE_LLAMA3 }, IGNORE_MERGES },
    { "falcon-h1",      { RE_LLAMA3 }, IGNORE_MERGES },
    { "pixtral",        { RE_LLAMA3 }, IGNORE_MERGES },
    { "dbrx",           { RE_LLAMA3 }, PLAIN },
    { "smaug-bpe",      { RE_LLAMA3 }, PLAIN },
    { "qwen2",          { RE_QWEN2 }, PLAIN },
    { "deepseek-r1-qwen", { RE_QWEN2 }, PLAIN },
    { "megrez",         { RE_QWEN2 }, PLAIN },
    { "stablelm2",      { RE_QWEN2 }, PLAIN },
    { "qwen35",         { RE_QWEN35 }, PLAIN },
    { "tekken",         { RE_TEKKEN }, IGNORE_MERGES },
    { "gpt-4o",         { RE_GPT4O }, PLAIN },
    { "llama4",         { RE_GPT4O }, PLAIN },
    { "deepseek-v3",    { RE_N3, RE_DSV3_CJK, RE_DSV3 }, PLAIN },
    { "deepseek-llm",   { RE_NL, RE_DSLLM_WORD, RE_DSLLM_PUNCT, RE_DSLLM_TAIL, RE_DS_CJK, RE_NUMS }, PLAIN },
    { "deepseek-coder", { RE_NL, RE_DSC_WORD, RE_DSC_PUNCT, RE_DS_CJK, RE_DIGIT }, PLAIN },
};

#define N_DEFS (sizeof PRE_DEFS / sizeof PRE_DEFS[0])

/* "a, b, c" of every supported name, for the unknown-name error. */
static void list_names(char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < N_DEFS && k < n; i++) {
        int w = snprintf(buf + k, n - k, "%s%s", i ? ", " : "", PRE_DEFS[i].name);
        if (w < 0) break;
        k += (size_t)w;
    }
}

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
    for (size_t i = 0; i < N_DEFS; i++)
        if (strcmp(PRE_DEFS[i].name, name) == 0) d = &PRE_DEFS[i];
    if (!d) {
        char names[1024];
        list_names(names, sizeof names);
        snprintf(err, errlen, "unsupported pre-tokenizer '%s' (tokenizer.ggml.pre); supported: %s",
                 name, names);
        return -1;
    }
    sr_pretok *p = calloc(1, sizeof *p);
    if (!p) { snprintf(err, errlen, "out of memory"); return -1; }
    for (int i = 0; i < MAX_RE && d->re[i]; i++) {
        int ec; PCRE2_SIZE eo;
        char *src = widen(d->re[i]);
        if (!src) { snprintf(err, errlen, "out of memory"); sr_pretok_free(p); return -1; }
        p->re[i] = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
                                 PCRE2_UTF | PCRE2_UCP, &ec, &eo, NULL);
        free(src);
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
    *ignore_merges = d->flags & IGNORE_MERGES;
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
