/* tokenizer_queue.c — the working state of a merge loop: a chain of symbols
 * over the text of one piece, and a binary heap of candidate merges with
 * stale entries skipped when popped, which keeps a long piece O(n log n).
 * Byte-level BPE, Gemma 4's BPE and SentencePiece all merge this way; they
 * differ in what a symbol starts as and what ranks a pair. */
#include "lm/tokenizer_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tok_reserve(struct enc *e, size_t n_sym, size_t n_buf)
{
    if (n_sym > UINT32_MAX - 1) {
        snprintf(e->err, e->errlen, "a %zu-byte piece is too long", n_sym);
        return -1;
    }
    if (n_sym > e->scap) {
        size_t cap = n_sym < 256 ? 256 : n_sym;
        free(e->sym);
        if (!(e->sym = malloc(cap * sizeof *e->sym))) { e->scap = 0; goto oom; }
        e->scap = cap;
    }
    if (n_buf > e->bcap) {
        size_t cap = n_buf < 256 ? 256 : n_buf;
        free(e->buf);
        if (!(e->buf = malloc(cap))) { e->bcap = 0; goto oom; }
        e->bcap = cap;
    }
    return 0;
oom:
    snprintf(e->err, e->errlen, "out of memory encoding a %zu-byte piece", n_sym);
    return -1;
}

void tok_split_chars(struct enc *e, const char *p, size_t n)
{
    uint32_t k = 0;
    for (size_t i = 0; i < n; k++) {
        unsigned char c = (unsigned char)p[i];
        size_t l = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (l > n - i) l = n - i;
        e->sym[k] = (struct sym){ (uint32_t)i, (uint32_t)l, k - 1, k + 1, -1 };
        i += l;
    }
    e->nsym = k;
    e->hn = 0;
}

/* Better: the higher key, then the pair further left. */
static bool better(const struct cand *a, const struct cand *b)
{
    return a->key != b->key ? a->key > b->key : a->l < b->l;
}

int tok_push(struct enc *e, struct cand c)
{
    if (e->hn == e->hcap) {
        size_t cap = e->hcap ? e->hcap * 2 : 256;
        struct cand *h = realloc(e->heap, cap * sizeof *h);
        if (!h) { snprintf(e->err, e->errlen, "out of memory for the merge queue"); return -1; }
        e->heap = h; e->hcap = cap;
    }
    size_t i = e->hn++;
    while (i > 0 && better(&c, &e->heap[(i - 1) / 2])) {
        e->heap[i] = e->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    e->heap[i] = c;
    return 0;
}

struct cand tok_pop(struct enc *e)
{
    struct cand top = e->heap[0], last = e->heap[--e->hn];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= e->hn) break;
        if (c + 1 < e->hn && better(&e->heap[c + 1], &e->heap[c])) c++;
        if (!better(&e->heap[c], &last)) break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    if (e->hn) e->heap[i] = last;
    return top;
}

void tok_join(struct enc *e, uint32_t l, uint32_t r)
{
    struct sym *s = e->sym;
    s[l].len += s[r].len;
    s[r].len = 0;
    s[r].id = -1;
    s[l].next = s[r].next;
    if (s[l].next < e->nsym) s[s[l].next].prev = l;
}

size_t tok_escape(const char *s, size_t n, bool prefix, char *o)
{
    size_t k = 0;
    if (prefix) { memcpy(o, "\xe2\x96\x81", 3); k = 3; }
    for (size_t i = 0; i < n; i++)
        if (s[i] == ' ') { memcpy(o + k, "\xe2\x96\x81", 3); k += 3; }
        else o[k++] = s[i];
    return k;
}
