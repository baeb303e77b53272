/* tokenizer.c — byte-level BPE: vocabulary, merge table, encode, decode.
 *
 * Symbols are token ids from the start: a piece's bytes become the ids of
 * their byte characters, and a merge maps a pair of ids to (rank, result id)
 * through one hash lookup. The lowest-ranked adjacent pair is merged first,
 * the leftmost on ties (llama.cpp and Hugging Face agree on this); a binary
 * heap with stale entries skipped keeps a long piece O(n log n). */
#include "lm/tokenizer.h"
#include "lm/tokenizer_pre.h"
#include "base/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* One slot of the merge table: 16 bytes, so a lookup touches one cache line. */
struct merge { uint64_t key; int32_t rank, res; };   /* key UINT64_MAX: empty */

struct sr_tok {
    uint32_t n;                       /* vocabulary size */
    char *text;   uint64_t *toff;  uint32_t *tlen;    /* vocabulary texts */
    char *piece;  uint64_t *poff;  uint32_t *plen;    /* decoded bytes */
    uint8_t *type;
    int32_t *tab;  uint64_t tmask;    /* text -> id, open addressing, -1 empty */
    struct merge *merge; uint64_t mmask;   /* (left,right) -> merge, open addressing */
    int32_t byte_tok[256];            /* token of each byte's character, -1 none */
    int32_t *user; size_t n_user;     /* user-defined tokens, longest first */
    int32_t bos, eos, pad;
    sr_pretok *pre;
    char pre_name[64];
    bool ignore_merges;
};

/* ---- small helpers ------------------------------------------------------ */

int sr_ids_push(sr_ids *ids, int32_t id)
{
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        int32_t *v = realloc(ids->v, cap * sizeof *v);
        if (!v) return -1;
        ids->v = v; ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return 0;
}

void sr_ids_free(sr_ids *ids)
{
    free(ids->v);
    ids->v = NULL; ids->n = ids->cap = 0;
}

/* GPT-2's byte characters: printable Latin-1 bytes stand for themselves, the
 * other 68 bytes take U+0100.. in byte order, so every byte is a visible
 * character and BPE never sees a space or a control character. */
static void byte_chars(uint32_t cp[256])
{
    uint32_t next = 256;
    for (int b = 0; b < 256; b++) {
        bool keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        cp[b] = keep ? (uint32_t)b : next++;
    }
}

static size_t put_utf8(char *o, uint32_t c)
{
    if (c < 0x80) { o[0] = (char)c; return 1; }
    if (c < 0x800) { o[0] = (char)(0xC0 | c >> 6); o[1] = (char)(0x80 | (c & 0x3F)); return 2; }
    o[0] = (char)(0xE0 | c >> 12); o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[2] = (char)(0x80 | (c & 0x3F));
    return 3;   /* byte characters are all below U+0800; nothing longer is needed */
}

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

static uint64_t pair_hash(uint64_t key)
{
    key ^= key >> 33; key *= 0xff51afd7ed558ccdULL; key ^= key >> 33;
    return key;
}

int32_t sr_tok_find(const sr_tok *t, const char *s, size_t n)
{
    for (uint64_t h = XXH3_64bits(s, n) & t->tmask;; h = (h + 1) & t->tmask) {
        int32_t id = t->tab[h];
        if (id < 0) return -1;
        if (t->tlen[id] == n && memcmp(t->text + t->toff[id], s, n) == 0) return id;
    }
}

/* A token the encoder may produce for this text: never a control token. */
static int32_t find_plain(const sr_tok *t, const char *s, size_t n)
{
    int32_t id = sr_tok_find(t, s, n);
    return id >= 0 && t->type[id] == SR_TOK_CONTROL ? -1 : id;
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

/* ---- building ----------------------------------------------------------- */

void sr_tok_free(sr_tok *t)
{
    if (!t) return;
    free(t->text); free(t->toff); free(t->tlen);
    free(t->piece); free(t->poff); free(t->plen);
    free(t->type); free(t->tab);
    free(t->merge);
    free(t->user);
    sr_pretok_free(t->pre);
    free(t);
}

/* The bytes a normal token stands for: each byte character back to its byte.
 * A character outside the byte alphabet (or a broken sequence in a hostile
 * file) is copied as it is, as llama.cpp does. */
static size_t decode_text(const char *s, size_t n, const int16_t inv[512], char *o)
{
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t l = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (l > n - i || sr_utf8_valid_prefix(s + i, l) != l) { o[k++] = s[i++]; continue; }
        uint32_t cp = l == 1 ? c : l == 2 ? (c & 0x1Fu) << 6 | (s[i + 1] & 0x3F)
                    : l == 3 ? (c & 0x0Fu) << 12 | (s[i + 1] & 0x3Fu) << 6 | (s[i + 2] & 0x3F)
                    : 0x10000;  /* 4-byte characters are never byte characters */
        if (cp < 512 && inv[cp] >= 0) o[k++] = (char)inv[cp];
        else { memcpy(o + k, s + i, l); k += l; }
        i += l;
    }
    return k;
}

static int by_length_desc(const void *a, const void *b, void *arg)
{
    const sr_tok *t = arg;
    uint32_t la = t->tlen[*(const int32_t *)a], lb = t->tlen[*(const int32_t *)b];
    if (la != lb) return la > lb ? -1 : 1;
    return *(const int32_t *)a - *(const int32_t *)b;
}

static int build_vocab(sr_tok *t, const sr_tok_spec *sp, char *err, size_t errlen)
{
    uint32_t n = sp->n_tokens;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (sp->tokens[i].n > UINT32_MAX / 4) {
            snprintf(err, errlen, "token %u is %llu bytes long", i, (unsigned long long)sp->tokens[i].n);
            return -1;
        }
        total += sp->tokens[i].n;
    }
    t->text = malloc(total + 1); t->toff = malloc(n * sizeof *t->toff);
    t->tlen = malloc(n * sizeof *t->tlen); t->type = malloc(n);
    t->piece = malloc(total + 1); t->poff = malloc(n * sizeof *t->poff);
    t->plen = malloc(n * sizeof *t->plen);
    t->tmask = pow2_at_least(2 * (uint64_t)n) - 1;
    t->tab = malloc((t->tmask + 1) * sizeof *t->tab);
    if (!t->text || !t->toff || !t->tlen || !t->type || !t->piece || !t->poff ||
        !t->plen || !t->tab) {
        snprintf(err, errlen, "out of memory for a vocabulary of %u tokens", n);
        return -1;
    }
    memset(t->tab, 0xFF, (t->tmask + 1) * sizeof *t->tab);

    uint32_t cp[256];
    int16_t inv[512];
    byte_chars(cp);
    for (int i = 0; i < 512; i++) inv[i] = -1;
    for (int b = 0; b < 256; b++) inv[cp[b]] = (int16_t)b;

    uint64_t off = 0, poff = 0;
    size_t n_user = 0;
    for (uint32_t i = 0; i < n; i++) {
        int32_t ty = sp->types ? sp->types[i] : SR_TOK_NORMAL;
        if (ty < 0 || ty > SR_TOK_BYTE) {
            snprintf(err, errlen, "token %u has type %d (expected 0..6)", i, ty);
            return -1;
        }
        t->type[i] = (uint8_t)ty;
        const gguf_str *s = &sp->tokens[i];
        memcpy(t->text + off, s->p, s->n);
        t->toff[i] = off; t->tlen[i] = (uint32_t)s->n;
        bool raw = ty == SR_TOK_CONTROL || ty == SR_TOK_USER_DEFINED || ty == SR_TOK_UNKNOWN;
        size_t pl = raw ? (memcpy(t->piece + poff, s->p, s->n), s->n)
                        : decode_text(s->p, s->n, inv, t->piece + poff);
        t->poff[i] = poff; t->plen[i] = (uint32_t)pl;
        off += s->n; poff += pl;
        if (ty == SR_TOK_USER_DEFINED && s->n > 0) n_user++;
        /* The first of duplicate texts wins, as in llama.cpp. */
        for (uint64_t h = XXH3_64bits(s->p, s->n) & t->tmask;; h = (h + 1) & t->tmask) {
            int32_t id = t->tab[h];
            if (id < 0) { t->tab[h] = (int32_t)i; break; }
            if (t->tlen[id] == s->n && memcmp(t->text + t->toff[id], s->p, s->n) == 0) break;
        }
    }

    for (int b = 0; b < 256; b++) {
        char c[4];
        t->byte_tok[b] = find_plain(t, c, put_utf8(c, cp[b]));
    }

    if (n_user) {
        t->user = malloc(n_user * sizeof *t->user);
        if (!t->user) { snprintf(err, errlen, "out of memory"); return -1; }
        for (uint32_t i = 0; i < n; i++)
            if (t->type[i] == SR_TOK_USER_DEFINED && t->tlen[i] > 0) t->user[t->n_user++] = (int32_t)i;
        qsort_r(t->user, t->n_user, sizeof *t->user, by_length_desc, t);
    }
    return 0;
}

static int build_merges(sr_tok *t, const sr_tok_spec *sp, char *err, size_t errlen)
{
    uint32_t n = sp->n_merges;
    t->mmask = pow2_at_least(2 * (uint64_t)n) - 1;
    t->merge = malloc((t->mmask + 1) * sizeof *t->merge);
    char *buf = NULL;
    size_t cap = 0;
    if (!t->merge) goto oom;
    for (uint64_t h = 0; h <= t->mmask; h++) t->merge[h].key = UINT64_MAX;

    for (uint32_t i = 0; i < n; i++) {
        const gguf_str *m = &sp->merges[i];
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
        int32_t a = find_plain(t, m->p, la), b = find_plain(t, sp1 + 1, lb);
        int32_t r = find_plain(t, buf, la + lb);
        /* A merge whose parts or result are not (plain) tokens can never be
         * applied to ids; it is left out. */
        if (a < 0 || b < 0 || r < 0) continue;
        uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
        for (uint64_t h = pair_hash(key) & t->mmask;; h = (h + 1) & t->mmask) {
            struct merge *e = &t->merge[h];
            if (e->key == key) break;     /* a repeated merge keeps its first rank */
            if (e->key == UINT64_MAX) {
                *e = (struct merge){ key, (int32_t)i, r };
                break;
            }
        }
    }
    free(buf);
    return 0;
oom:
    free(buf);
    snprintf(err, errlen, "out of memory for %u merges", n);
    return -1;
}

int sr_tok_new(sr_tok **out, const sr_tok_spec *sp, char *err, size_t errlen)
{
    *out = NULL;
    if (!sp->model || strcmp(sp->model, "gpt2") != 0) {
        snprintf(err, errlen, "tokenizer model '%s' is not supported (only byte-level BPE, 'gpt2')",
                 sp->model ? sp->model : "(none)");
        return -1;
    }
    if (!sp->pre) { snprintf(err, errlen, "no pre-tokenizer (tokenizer.ggml.pre) given"); return -1; }
    if (sp->n_tokens == 0 || sp->n_tokens > INT32_MAX / 2 || sp->n_merges > INT32_MAX) {
        snprintf(err, errlen, "vocabulary of %u tokens and %u merges is out of range",
                 sp->n_tokens, sp->n_merges);
        return -1;
    }
    const int32_t sids[3] = { sp->bos, sp->eos, sp->pad };
    const char *snames[3] = { "bos", "eos", "padding" };
    for (int i = 0; i < 3; i++)
        if (sids[i] < -1 || sids[i] >= (int32_t)sp->n_tokens) {
            snprintf(err, errlen, "%s token id %d is outside the vocabulary (%u tokens)",
                     snames[i], sids[i], sp->n_tokens);
            return -1;
        }
    sr_tok *t = calloc(1, sizeof *t);
    if (!t) { snprintf(err, errlen, "out of memory"); return -1; }
    t->n = sp->n_tokens;
    t->bos = sp->bos; t->eos = sp->eos; t->pad = sp->pad;
    snprintf(t->pre_name, sizeof t->pre_name, "%s", sp->pre);
    if (sr_pretok_new(&t->pre, sp->pre, &t->ignore_merges, err, errlen) != 0 ||
        build_vocab(t, sp, err, errlen) != 0 || build_merges(t, sp, err, errlen) != 0) {
        sr_tok_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

/* ---- the GGUF's tokenizer.ggml.* keys ------------------------------------ */

static const gguf_value *need_arr(const gguf_file *g, const char *key, bool strings,
                                  char *err, size_t errlen)
{
    const gguf_value *v = gguf_get_arr(g, key);
    if (!v) { snprintf(err, errlen, "GGUF has no array %s", key); return NULL; }
    enum gguf_vtype et = v->v.arr.type;
    bool ok = strings ? et == GGUF_STRING
                      : et != GGUF_STRING && et != GGUF_ARRAY && et != GGUF_F32 && et != GGUF_F64;
    if (!ok) {
        snprintf(err, errlen, "%s: elements are of type %d, expected %s", key, (int)et,
                 strings ? "string" : "integer");
        return NULL;
    }
    if (v->v.arr.n > INT32_MAX / 2) {
        snprintf(err, errlen, "%s has %llu elements", key, (unsigned long long)v->v.arr.n);
        return NULL;
    }
    return v;
}

static int opt_id(const gguf_file *g, const char *key, int32_t *out, char *err, size_t errlen)
{
    int64_t v;
    *out = -1;
    if (!gguf_find_kv(g, key)) return 0;
    if (gguf_get_i64(g, key, &v) != 0 || v < -1 || v > INT32_MAX) {
        snprintf(err, errlen, "%s is not a token id", key);
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

static int str_key(const gguf_file *g, const char *key, char *buf, size_t n, char *err, size_t errlen)
{
    gguf_str s;
    if (gguf_get_str(g, key, &s) != 0) { snprintf(err, errlen, "GGUF has no string %s", key); return -1; }
    if (s.n >= n || memchr(s.p, 0, s.n)) {
        snprintf(err, errlen, "%s: value of %llu bytes is not a name", key, (unsigned long long)s.n);
        return -1;
    }
    memcpy(buf, s.p, s.n);
    buf[s.n] = 0;
    return 0;
}

int sr_tok_load(sr_tok **out, const gguf_file *g, const char *pre_override,
                char *err, size_t errlen)
{
    *out = NULL;
    char model[64], pre[64];
    if (str_key(g, "tokenizer.ggml.model", model, sizeof model, err, errlen) != 0) return -1;
    if (strcmp(model, "gpt2") != 0) {
        snprintf(err, errlen, "tokenizer model '%s' is not supported (only byte-level BPE, 'gpt2')", model);
        return -1;
    }
    if (pre_override) snprintf(pre, sizeof pre, "%s", pre_override);
    else if (str_key(g, "tokenizer.ggml.pre", pre, sizeof pre, err, errlen) != 0) return -1;

    const gguf_value *tok = need_arr(g, "tokenizer.ggml.tokens", true, err, errlen);
    const gguf_value *mer = tok ? need_arr(g, "tokenizer.ggml.merges", true, err, errlen) : NULL;
    if (!tok || !mer) return -1;
    const gguf_value *typ = NULL;
    if (gguf_find_kv(g, "tokenizer.ggml.token_type")) {
        if (!(typ = need_arr(g, "tokenizer.ggml.token_type", false, err, errlen))) return -1;
        if (typ->v.arr.n != tok->v.arr.n) {
            snprintf(err, errlen, "tokenizer.ggml.token_type has %llu entries for %llu tokens",
                     (unsigned long long)typ->v.arr.n, (unsigned long long)tok->v.arr.n);
            return -1;
        }
    }
    sr_tok_spec sp = { .model = model, .pre = pre,
                       .n_tokens = (uint32_t)tok->v.arr.n, .n_merges = (uint32_t)mer->v.arr.n };
    if (opt_id(g, "tokenizer.ggml.bos_token_id", &sp.bos, err, errlen) != 0 ||
        opt_id(g, "tokenizer.ggml.eos_token_id", &sp.eos, err, errlen) != 0 ||
        opt_id(g, "tokenizer.ggml.padding_token_id", &sp.pad, err, errlen) != 0) return -1;

    gguf_str *toks = malloc((sp.n_tokens + 1) * sizeof *toks);
    gguf_str *mers = malloc((sp.n_merges + 1) * sizeof *mers);
    int32_t *types = typ ? malloc((sp.n_tokens + 1) * sizeof *types) : NULL;
    int rc = -1;
    if (!toks || !mers || (typ && !types)) { snprintf(err, errlen, "out of memory"); goto done; }
    for (uint32_t i = 0; i < sp.n_tokens; i++) toks[i] = tok->v.arr.items[i].v.s;
    for (uint32_t i = 0; i < sp.n_merges; i++) mers[i] = mer->v.arr.items[i].v.s;
    if (typ) {
        bool is_signed = typ->v.arr.type == GGUF_I8 || typ->v.arr.type == GGUF_I16 ||
                         typ->v.arr.type == GGUF_I32 || typ->v.arr.type == GGUF_I64;
        for (uint32_t i = 0; i < sp.n_tokens; i++) {
            const gguf_value *e = &typ->v.arr.items[i];
            int64_t v = typ->v.arr.type == GGUF_BOOL ? e->v.b
                      : is_signed ? e->v.i : (e->v.u > 1000 ? 1000 : (int64_t)e->v.u);
            types[i] = v < -1 || v > 1000 ? 1000 : (int32_t)v;   /* out of range: rejected by sr_tok_new */
        }
        sp.types = types;
    }
    sp.tokens = toks; sp.merges = mers;
    rc = sr_tok_new(out, &sp, err, errlen);
done:
    free(toks); free(mers); free(types);
    return rc;
}

/* ---- queries ------------------------------------------------------------ */

uint32_t sr_tok_n_vocab(const sr_tok *t) { return t->n; }
int32_t sr_tok_bos(const sr_tok *t) { return t->bos; }
int32_t sr_tok_eos(const sr_tok *t) { return t->eos; }
int32_t sr_tok_pad(const sr_tok *t) { return t->pad; }
const char *sr_tok_pre(const sr_tok *t) { return t->pre_name; }

int sr_tok_type(const sr_tok *t, int32_t id)
{
    return id >= 0 && (uint32_t)id < t->n ? t->type[id] : -1;
}

bool sr_tok_is_control(const sr_tok *t, int32_t id) { return sr_tok_type(t, id) == SR_TOK_CONTROL; }

const char *sr_tok_text(const sr_tok *t, int32_t id, size_t *len)
{
    if (id < 0 || (uint32_t)id >= t->n) return NULL;
    *len = t->tlen[id];
    return t->text + t->toff[id];
}

const char *sr_tok_piece(const sr_tok *t, int32_t id, size_t *len)
{
    if (id < 0 || (uint32_t)id >= t->n) return NULL;
    *len = t->plen[id];
    return t->piece + t->poff[id];
}

int sr_tok_push_id(const sr_tok *t, int32_t id, sr_ids *out, char *err, size_t errlen)
{
    if (id < 0 || (uint32_t)id >= t->n) {
        snprintf(err, errlen, "token id %d is outside the vocabulary (%u tokens)", id, t->n);
        return -1;
    }
    if (sr_ids_push(out, id) != 0) { snprintf(err, errlen, "out of memory"); return -1; }
    return 0;
}

int sr_tok_push_special(const sr_tok *t, const char *name, sr_ids *out, char *err, size_t errlen)
{
    int32_t id = sr_tok_find(t, name, strlen(name));
    if (id < 0) { snprintf(err, errlen, "token '%s' is not in the vocabulary", name); return -1; }
    return sr_tok_push_id(t, id, out, err, errlen);
}

/* ---- encoding ----------------------------------------------------------- */

struct cand { int32_t rank; uint32_t l, r; int32_t lid, rid, res; };

struct enc {
    const sr_tok *t;
    const char *s;
    const char *base;      /* what the split in progress calls offset 0 */
    sr_ids *out;
    int32_t *id; uint32_t *prev, *next; size_t cap;   /* symbols of one piece */
    struct cand *heap; size_t hn, hcap;
    char *buf; size_t bcap;                           /* a piece as byte characters */
    char *err; size_t errlen;
};

static bool cand_less(const struct cand *a, const struct cand *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->l < b->l;
}

static int heap_push(struct enc *e, struct cand c)
{
    if (e->hn == e->hcap) {
        size_t cap = e->hcap ? e->hcap * 2 : 256;
        struct cand *h = realloc(e->heap, cap * sizeof *h);
        if (!h) return -1;
        e->heap = h; e->hcap = cap;
    }
    size_t i = e->hn++;
    while (i > 0 && cand_less(&c, &e->heap[(i - 1) / 2])) {
        e->heap[i] = e->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    e->heap[i] = c;
    return 0;
}

static struct cand heap_pop(struct enc *e)
{
    struct cand top = e->heap[0], last = e->heap[--e->hn];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= e->hn) break;
        if (c + 1 < e->hn && cand_less(&e->heap[c + 1], &e->heap[c])) c++;
        if (!cand_less(&e->heap[c], &last)) break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    if (e->hn) e->heap[i] = last;
    return top;
}

static int try_pair(struct enc *e, uint32_t l, uint32_t r)
{
    struct cand c = { 0, l, r, e->id[l], e->id[r], 0 };
    if (!merge_get(e->t, c.lid, c.rid, &c.rank, &c.res)) return 0;
    return heap_push(e, c);
}

static int emit(struct enc *e, int32_t id)
{
    if (sr_ids_push(e->out, id) == 0) return 0;
    snprintf(e->err, e->errlen, "out of memory");
    return -1;
}

static int bpe_piece(void *ctx, size_t off, size_t n)
{
    struct enc *e = ctx;
    const sr_tok *t = e->t;
    const unsigned char *b = (const unsigned char *)e->base + off;
    if (n > UINT32_MAX - 1) { snprintf(e->err, e->errlen, "a %zu-byte piece is too long", n); return -1; }

    for (size_t i = 0; i < n; i++)
        if (t->byte_tok[b[i]] < 0) {
            snprintf(e->err, e->errlen, "byte 0x%02x at offset %zu has no token in the vocabulary",
                     b[i], (size_t)((const char *)b - e->s) + i);
            return -1;
        }
    if (n == 1) return emit(e, t->byte_tok[b[0]]);

    if (t->ignore_merges) {   /* Llama 3: a piece that is a token is taken whole */
        if (2 * n > e->bcap) {
            free(e->buf);
            e->bcap = 2 * n;
            if (!(e->buf = malloc(e->bcap))) { e->bcap = 0; goto oom; }
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            size_t l = 0; const char *p = sr_tok_text(t, t->byte_tok[b[i]], &l);
            memcpy(e->buf + k, p, l); k += l;
        }
        int32_t id = find_plain(t, e->buf, k);
        if (id >= 0) return emit(e, id);
    }

    if (n > e->cap) {
        size_t cap = n < 256 ? 256 : n;
        free(e->id); free(e->prev); free(e->next);
        e->id = malloc(cap * sizeof *e->id);
        e->prev = malloc(cap * sizeof *e->prev);
        e->next = malloc(cap * sizeof *e->next);
        e->cap = cap;
        if (!e->id || !e->prev || !e->next) { e->cap = 0; goto oom; }
    }
    for (size_t i = 0; i < n; i++) {
        e->id[i] = t->byte_tok[b[i]];
        e->prev[i] = (uint32_t)i - 1;       /* UINT32_MAX before the first */
        e->next[i] = (uint32_t)i + 1;       /* n after the last */
    }
    e->hn = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (try_pair(e, (uint32_t)i, (uint32_t)i + 1) != 0) goto oom;
    while (e->hn) {
        struct cand c = heap_pop(e);
        /* Stale when either side has merged since the pair was queued. */
        if (e->id[c.l] != c.lid || e->next[c.l] != c.r || e->id[c.r] != c.rid) continue;
        e->id[c.l] = c.res;
        e->id[c.r] = -1;
        e->next[c.l] = e->next[c.r];
        if (e->next[c.l] < n) e->prev[e->next[c.l]] = c.l;
        if (e->prev[c.l] != UINT32_MAX && try_pair(e, e->prev[c.l], c.l) != 0) goto oom;
        if (e->next[c.l] < n && try_pair(e, c.l, e->next[c.l]) != 0) goto oom;
    }
    for (uint32_t i = 0; i < n; i = e->next[i])
        if (emit(e, e->id[i]) != 0) return -1;
    return 0;
oom:
    snprintf(e->err, e->errlen, "out of memory encoding a %zu-byte piece", n);
    return -1;
}

/* User-defined tokens are matched whole in data text (llama.cpp does so even
 * when special tokens are not parsed), longest first; the text between them
 * is pre-tokenized as usual. Control tokens are never matched here. */
static int encode_span(struct enc *e, size_t off, size_t end, size_t k)
{
    const sr_tok *t = e->t;
    for (; k < t->n_user; k++) {
        int32_t u = t->user[k];
        const char *ut = t->text + t->toff[u];
        size_t ul = t->tlen[u];
        const char *hit;
        while (end - off >= ul && (hit = memmem(e->s + off, end - off, ut, ul))) {
            size_t h = (size_t)(hit - e->s);
            if (encode_span(e, off, h, k + 1) != 0 || emit(e, u) != 0) return -1;
            off = h + ul;
        }
    }
    if (off == end) return 0;
    e->base = e->s + off;
    return sr_pretok_split(t->pre, e->s + off, end - off, bpe_piece, e, e->err, e->errlen) == 0 ? 0 : -1;
}

int sr_tok_encode(const sr_tok *t, const char *s, size_t n, sr_ids *out, char *err, size_t errlen)
{
    size_t bad = sr_utf8_valid_prefix(s, n);
    if (bad != n) {
        snprintf(err, errlen, "text is not valid UTF-8 at byte %zu of %zu", bad, n);
        return -1;
    }
    size_t n0 = out->n;
    struct enc e = { .t = t, .s = s, .base = s, .out = out, .err = err, .errlen = errlen };
    int rc = t->n_user ? encode_span(&e, 0, n, 0)
                       : sr_pretok_split(t->pre, s, n, bpe_piece, &e, err, errlen);
    free(e.id); free(e.prev); free(e.next); free(e.heap); free(e.buf);
    if (rc != 0) { out->n = n0; return -1; }
    return 0;
}

/* ---- decoding ----------------------------------------------------------- */

char *sr_tok_decode(const sr_tok *t, const int32_t *ids, size_t n, unsigned flags,
                    size_t *len, char *err, size_t errlen)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || (uint32_t)ids[i] >= t->n) {
            snprintf(err, errlen, "token id %d at position %zu is outside the vocabulary (%u tokens)",
                     ids[i], i, t->n);
            return NULL;
        }
        if (!((flags & SR_DECODE_SKIP_CONTROL) && t->type[ids[i]] == SR_TOK_CONTROL))
            total += t->plen[ids[i]];
    }
    char *o = malloc(total + 1);
    if (!o) { snprintf(err, errlen, "out of memory for %zu decoded bytes", total); return NULL; }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if ((flags & SR_DECODE_SKIP_CONTROL) && t->type[ids[i]] == SR_TOK_CONTROL) continue;
        memcpy(o + k, t->piece + t->poff[ids[i]], t->plen[ids[i]]);
        k += t->plen[ids[i]];
    }
    o[k] = 0;
    *len = k;
    return o;
}
