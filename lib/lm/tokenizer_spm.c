/* tokenizer_spm.c — SentencePiece ("llama" in GGUF) as llama.cpp runs it.
 *
 * The fragment's spaces become "▁" (U+2581), with one more in front when it
 * starts the text or follows a user-defined token (the dummy prefix,
 * tokenizer.ggml.add_space_prefix). Symbols start as UTF-8 characters; two
 * adjacent symbols may merge when their joined text is a token, and the
 * pair whose token has the highest score (tokenizer.ggml.scores) merges
 * first, the leftmost on ties. A symbol left that is no token falls back to
 * one <0xNN> token per byte. The heap of tokenizer_queue.c, and joined texts
 * no longer than the longest token, keep this O(n log n) on a long piece. */
#include "lm/tokenizer_impl.h"

#include <stdio.h>
#include <string.h>

/* Queue the merge of l and r when their joined text p[...] is a token. */
static int try_bigram(struct enc *e, const char *p, uint32_t l, uint32_t r)
{
    const struct sym *s = e->sym;
    uint32_t len = s[l].len + s[r].len;
    if (len > e->t->max_tlen) return 0;
    int32_t id = tok_find_plain(e->t, p + s[l].off, len);
    if (id < 0) return 0;
    return tok_push(e, (struct cand){ e->t->score[id], l, r, 0, 0, id, len });
}

static int merge_by_score(struct enc *e, const char *p)
{
    struct sym *s = e->sym;
    for (uint32_t i = 0; i + 1 < e->nsym; i++)
        if (try_bigram(e, p, i, i + 1) != 0) return -1;
    while (e->hn) {
        struct cand c = tok_pop(e);
        /* Stale when either side has merged since: one is gone, or the right
         * one has grown (the left one can only grow by taking the right). */
        if (s[c.l].len == 0 || s[c.r].len == 0 || s[c.l].len + s[c.r].len != c.len) continue;
        tok_join(e, c.l, c.r);
        s[c.l].id = c.res;
        if (s[c.l].prev != UINT32_MAX && try_bigram(e, p, s[c.l].prev, c.l) != 0) return -1;
        if (s[c.l].next < e->nsym && try_bigram(e, p, c.l, s[c.l].next) != 0) return -1;
    }
    return 0;
}

int tok_spm_fragment(struct enc *e, size_t off, size_t n)
{
    const sr_tok *t = e->t;
    bool prefix = t->add_space_prefix && e->prev_special;
    e->prev_special = false;
    if (n > SIZE_MAX / 3 - 1) { snprintf(e->err, e->errlen, "a %zu-byte text is too long", n); return -1; }
    if (tok_reserve(e, 3 * n + 3, 3 * n + 3) != 0) return -1;
    const char *p = e->buf;
    size_t m = tok_escape(e->s + off, n, prefix, e->buf);
    tok_split_chars(e, p, m);
    if (merge_by_score(e, p) != 0) return -1;
    for (uint32_t i = 0; i < e->nsym; i = e->sym[i].next) {
        const struct sym *s = &e->sym[i];
        int32_t id = s->id >= 0 ? s->id : tok_find_plain(t, p + s->off, s->len);
        int rc = id >= 0 ? tok_emit(e, id) : tok_emit_bytes(e, p + s->off, s->len);
        if (rc != 0) return -1;
    }
    return 0;
}
