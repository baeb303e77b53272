/* tokenizer_bpe.c — BPE by merge rank: the merge table, byte-level BPE
 * ("gpt2") and Gemma 4's BPE over raw UTF-8 ("gemma4").
 *
 * Symbols are token ids from the start: byte-level BPE maps a piece's bytes
 * to the ids of their byte characters, Gemma 4 maps each UTF-8 character to
 * its token (a character that is no token stays -1 and falls back to <0xNN>
 * bytes at the end). A merge maps a pair of ids to (rank, result id) through
 * one hash lookup. The lowest-ranked adjacent pair is merged first, the
 * leftmost on ties (llama.cpp and Hugging Face agree on this). */
#include "lm/tokenizer_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the merge table ----------------------------------------------------- */

static uint64_t pair_hash(uint64_t key)
{
    key ^= key >> 33; key *= 0xff51afd7ed558ccdULL; key ^= key >> 33;
    return key;
}

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

static bool merge_get(const sr_tok *t, int32_t a, int32_t b, int32_t *rank, int32_t *res)
{
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    for (uint64_t h = pair_hash(key) & t->mmask;; h = (h + 1) & t->mmask) {
        const struct merge *m = &t->merge[h];
        if (m->key == key) { *rank = m->rank; *res = m->res; return true; }
        if (m->key == UINT64_MAX) return false;
    }
}

static void merge_put(sr_tok *t, int32_t a, int32_t b, int32_t rank, int32_t res)
{
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    for (uint64_t h = pair_hash(key) & t->mmask;; h = (h + 1) & t->mmask) {
        struct merge *e = &t->merge[h];
        if (e->key == key) return;     /* a repeated merge keeps its first rank */
        if (e->key == UINT64_MAX) { *e = (struct merge){ key, rank, res }; return; }
    }
}

int tok_build_merges(sr_tok *t, uint32_t n, const gguf_str *merges, char *err, size_t errlen)
{
    t->mmask = pow2_at_least(2 * (uint64_t)n) - 1;
    t->merge = malloc((t->mmask + 1) * sizeof *t->merge);
    char *buf = NULL;
    size_t cap = 0;
    if (!t->merge) goto oom;
    for (uint64_t h = 0; h <= t->mmask; h++) t->merge[h].key = UINT64_MAX;

    for (uint32_t i = 0; i < n; i++) {
        const gguf_str *m = &merges[i];
        /* Split at the first space after the first byte, as llama.cpp does. */
        const char *sp1 = m->n > 1 ? memchr(m->p + 1, ' ', m->n - 1) : NULL;
        if (!sp1) {
            snprintf(err, errlen, "merge %u ('%.*s') has no space between its two tokens",
                     i, (int)(m->n > 60 ? 60 : m->n), m->p);
            free(buf);
            return -1;
        }
        size_t la = (size_t)(sp1 - m->p), lb = m->n - la - 1;
        if (la + lb > cap) {
            cap = 2 * (la + lb);
            free(buf);
            if (!(buf = malloc(cap))) goto oom;
        }
        memcpy(buf, m->p, la);
        memcpy(buf + la, sp1 + 1, lb);
        int32_t a = tok_find_plain(t, m->p, la), b = tok_find_plain(t, sp1 + 1, lb);
        int32_t r = tok_find_plain(t, buf, la + lb);
        /* A merge whose parts or result are not (plain) tokens can never be
         * applied to ids; it is left out. */
        if (a >= 0 && b >= 0 && r >= 0) merge_put(t, a, b, (int32_t)i, r);
    }
    free(buf);
    return 0;
oom:
    free(buf);
    snprintf(err, errlen, "out of memory for %u merges", n);
    return -1;
}

/* ---- the merge loop ------------------------------------------------------ */

static int try_pair(struct enc *e, uint32_t l, uint32_t r)
{
    struct cand c = { 0, l, r, e->sym[l].id, e->sym[r].id, 0, 0 };
    int32_t rank;
    if (c.lid < 0 || c.rid < 0 || !merge_get(e->t, c.lid, c.rid, &rank, &c.res)) return 0;
    c.key = -(double)rank;
    return tok_push(e, c);
}

/* Merge e->sym[0..nsym) (ids set, chained) until no pair has a merge. */
static int merge_by_rank(struct enc *e)
{
    struct sym *s = e->sym;
    for (uint32_t i = 0; i + 1 < e->nsym; i++)
        if (try_pair(e, i, i + 1) != 0) return -1;
    while (e->hn) {
        struct cand c = tok_pop(e);
        /* Stale when either side has merged since the pair was queued. */
        if (s[c.l].id != c.lid || s[c.l].next != c.r || s[c.r].id != c.rid) continue;
        tok_join(e, c.l, c.r);
        s[c.l].id = c.res;
        if (s[c.l].prev != UINT32_MAX && try_pair(e, s[c.l].prev, c.l) != 0) return -1;
        if (s[c.l].next < e->nsym && try_pair(e, c.l, s[c.l].next) != 0) return -1;
    }
    return 0;
}

/* ---- byte-level BPE ------------------------------------------------------ */

static int bpe_piece(void *ctx, size_t off, size_t n)
{
    struct enc *e = ctx;
    const sr_tok *t = e->t;
    const unsigned char *b = (const unsigned char *)e->base + off;
    for (size_t i = 0; i < n; i++)
        if (t->byte_tok[b[i]] < 0) {
            snprintf(e->err, e->errlen, "byte 0x%02x at offset %zu has no token in the vocabulary",
                     b[i], (size_t)((const char *)b - e->s) + i);
            return -1;
        }
    if (n == 1) return tok_emit(e, t->byte_tok[b[0]]);
    if (tok_reserve(e, n, t->ignore_merges ? 2 * n : 0) != 0) return -1;

    if (t->ignore_merges) {   /* Llama 3: a piece that is a token is taken whole */
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            size_t l = 0; const char *p = sr_tok_text(t, t->byte_tok[b[i]], &l);
            memcpy(e->buf + k, p, l); k += l;
        }
        int32_t id = tok_find_plain(t, e->buf, k);
        if (id >= 0) return tok_emit(e, id);
    }
    for (size_t i = 0; i < n; i++)
        e->sym[i] = (struct sym){ (uint32_t)i, 1, (uint32_t)i - 1, (uint32_t)i + 1, t->byte_tok[b[i]] };
    e->nsym = (uint32_t)n;
    e->hn = 0;
    if (merge_by_rank(e) != 0) return -1;
    for (uint32_t i = 0; i < n; i = e->sym[i].next)
        if (tok_emit(e, e->sym[i].id) != 0) return -1;
    return 0;
}

int tok_bpe_fragment(struct enc *e, size_t off, size_t n)
{
    e->base = e->s + off;
    return sr_pretok_split(e->t->pre, e->s + off, n, bpe_piece, e, e->err, e->errlen) == 0 ? 0 : -1;
}

/* ---- Gemma 4 ------------------------------------------------------------- */

/* One word: a line without its newline, or a run of newlines. */
static int gemma4_word(struct enc *e, const char *w, size_t n)
{
    const sr_tok *t = e->t;
    if (w[0] == '\n') {       /* a run of newlines that is a token is taken whole */
        int32_t id = tok_find_plain(t, w, n);
        if (id >= 0) return tok_emit(e, id);
    }
    tok_split_chars(e, w, n);
    for (uint32_t i = 0; i < e->nsym; i++)
        e->sym[i].id = tok_find_plain(t, w + e->sym[i].off, e->sym[i].len);
    if (merge_by_rank(e) != 0) return -1;
    for (uint32_t i = 0; i < e->nsym; i = e->sym[i].next) {
        const struct sym *s = &e->sym[i];
        int rc = s->id >= 0 ? tok_emit(e, s->id) : tok_emit_bytes(e, w + s->off, s->len);
        if (rc != 0) return -1;
    }
    return 0;
}

/* Spaces become "▁" (no dummy prefix), then lines and runs of newlines are
 * merged apart, as llama.cpp's "[^\n]+|[\n]+" split does. */
int tok_gemma4_fragment(struct enc *e, size_t off, size_t n)
{
    if (n > (SIZE_MAX - 3) / 3 || tok_reserve(e, 3 * n, 3 * n) != 0) {
        if (n > (SIZE_MAX - 3) / 3) snprintf(e->err, e->errlen, "a %zu-byte text is too long", n);
        return -1;
    }
    char *w = e->buf;
    size_t m = tok_escape(e->s + off, n, false, w);
    for (size_t i = 0; i < m;) {
        size_t j = i + 1;
        while (j < m && (w[j] == '\n') == (w[i] == '\n')) j++;
        if (gemma4_word(e, w + i, j - i) != 0) return -1;
        i = j;
    }
    return 0;
}
