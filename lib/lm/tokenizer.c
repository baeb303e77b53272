/* tokenizer.c — the vocabulary every tokenizer model shares: token texts,
 * types and decoded pieces, the text -> id table, the GGUF's tokenizer.ggml.*
 * keys, decode, and the part of encode common to all models (UTF-8 check,
 * user-defined tokens matched whole) before the per-model encoders of
 * tokenizer_bpe.c and tokenizer_spm.c take each fragment. */
#include "lm/tokenizer_impl.h"
#include "base/utf8.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

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

int32_t sr_tok_find(const sr_tok *t, const char *s, size_t n)
{
    for (uint64_t h = XXH3_64bits(s, n) & t->tmask;; h = (h + 1) & t->tmask) {
        int32_t id = t->tab[h];
        if (id < 0) return -1;
        if (t->tlen[id] == n && memcmp(t->text + t->toff[id], s, n) == 0) return id;
    }
}

/* A token the encoder may produce for this text: never a control token. */
int32_t tok_find_plain(const sr_tok *t, const char *s, size_t n)
{
    int32_t id = sr_tok_find(t, s, n);
    return id >= 0 && t->type[id] == SR_TOK_CONTROL ? -1 : id;
}

/* ---- building ----------------------------------------------------------- */

void sr_tok_free(sr_tok *t)
{
    if (!t) return;
    free(t->text); free(t->toff); free(t->tlen);
    free(t->piece); free(t->poff); free(t->plen);
    free(t->type); free(t->score); free(t->tab);
    free(t->merge);
    free(t->user);
    free(t->special);
    sr_pretok_free(t->pre);
    free(t);
}

/* The bytes a normal byte-level BPE token stands for: each byte character
 * back to its byte. A character outside the byte alphabet (or a broken
 * sequence in a hostile file) is copied as it is, as llama.cpp does. */
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

/* "<0xNN>" -> NN, or -1 when the text is not of that form. */
static int hex_byte(const char *s, size_t n)
{
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>' ||
        !isxdigit((unsigned char)s[3]) || !isxdigit((unsigned char)s[4])) return -1;
    char h[3] = { s[3], s[4], 0 };
    return (int)strtol(h, NULL, 16);
}

/* The bytes a SentencePiece-style token (llama, gemma4) stands for, as
 * llama.cpp's token_to_piece gives them: "▁" back to a space in a normal
 * token, a byte token's byte, an unused token nothing. o has room for n. */
static size_t spm_piece(const char *s, size_t n, int type, char *o)
{
    if (type == SR_TOK_BYTE) {
        int b = hex_byte(s, n);
        if (b >= 0) { o[0] = (char)b; return 1; }
        memcpy(o, s, n);
        return n;
    }
    if (type != SR_TOK_NORMAL) return 0;
    size_t k = 0;
    for (size_t i = 0; i < n;)
        if (n - i >= 3 && memcmp(s + i, "\xe2\x96\x81", 3) == 0) { o[k++] = ' '; i += 3; }
        else o[k++] = s[i++];
    return k;
}

static size_t token_piece(const sr_tok *t, const gguf_str *s, int type, const int16_t inv[512], char *o)
{
    if (type == SR_TOK_CONTROL || type == SR_TOK_USER_DEFINED || type == SR_TOK_UNKNOWN) {
        memcpy(o, s->p, s->n);
        return s->n;
    }
    return t->kind == TOK_BPE ? decode_text(s->p, s->n, inv, o) : spm_piece(s->p, s->n, type, o);
}

static int by_length_desc(const void *a, const void *b, void *arg)
{
    const sr_tok *t = arg;
    uint32_t la = t->tlen[*(const int32_t *)a], lb = t->tlen[*(const int32_t *)b];
    if (la != lb) return la > lb ? -1 : 1;
    return *(const int32_t *)a - *(const int32_t *)b;
}

static int alloc_vocab(sr_tok *t, const sr_tok_spec *sp, char *err, size_t errlen)
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
    if (t->kind == TOK_SPM) t->score = malloc((n + 1) * sizeof *t->score);
    if (!t->text || !t->toff || !t->tlen || !t->type || !t->piece || !t->poff ||
        !t->plen || !t->tab || (t->kind == TOK_SPM && !t->score)) {
        snprintf(err, errlen, "out of memory for a vocabulary of %u tokens", n);
        return -1;
    }
    memset(t->tab, 0xFF, (t->tmask + 1) * sizeof *t->tab);
    return 0;
}

/* The token a lone byte becomes: byte-level BPE its byte character; the
 * SentencePiece-style models "<0xNN>", llama then the byte itself. */
static void byte_tokens(sr_tok *t, const uint32_t cp[256])
{
    for (int b = 0; b < 256; b++) {
        char c[8];
        if (t->kind == TOK_BPE) { t->byte_tok[b] = tok_find_plain(t, c, put_utf8(c, cp[b])); continue; }
        snprintf(c, sizeof c, "<0x%02X>", b);
        t->byte_tok[b] = tok_find_plain(t, c, 6);
        c[0] = (char)b;
        if (t->byte_tok[b] < 0 && t->kind == TOK_SPM) t->byte_tok[b] = tok_find_plain(t, c, 1);
    }
}

/* The tokens matched whole in text, longest first: the user-defined ones
 * always; with SR_ENCODE_SPECIAL the control and unknown ones too (the set
 * llama.cpp's parse_special matches). */
static bool matched_whole(const sr_tok *t, uint32_t i, bool special)
{
    int ty = t->type[i];
    if (t->tlen[i] == 0) return false;
    return ty == SR_TOK_USER_DEFINED || (special && (ty == SR_TOK_CONTROL || ty == SR_TOK_UNKNOWN));
}

static int whole_tokens(sr_tok *t, bool special, int32_t **list, size_t *n, char *err, size_t errlen)
{
    size_t k = 0;
    for (uint32_t i = 0; i < t->n; i++) k += matched_whole(t, i, special);
    if (!k) return 0;
    if (!(*list = malloc(k * sizeof **list))) { snprintf(err, errlen, "out of memory"); return -1; }
    for (uint32_t i = 0; i < t->n; i++)
        if (matched_whole(t, i, special)) (*list)[(*n)++] = (int32_t)i;
    qsort_r(*list, *n, sizeof **list, by_length_desc, t);
    return 0;
}

static int build_vocab(sr_tok *t, const sr_tok_spec *sp, char *err, size_t errlen)
{
    if (alloc_vocab(t, sp, err, errlen) != 0) return -1;
    uint32_t cp[256];
    int16_t inv[512];
    byte_chars(cp);
    for (int i = 0; i < 512; i++) inv[i] = -1;
    for (int b = 0; b < 256; b++) inv[cp[b]] = (int16_t)b;

    uint64_t off = 0, poff = 0;
    for (uint32_t i = 0; i < sp->n_tokens; i++) {
        int32_t ty = sp->types ? sp->types[i] : SR_TOK_NORMAL;
        if (ty < 0 || ty > SR_TOK_BYTE) {
            snprintf(err, errlen, "token %u has type %d (expected 0..6)", i, ty);
            return -1;
        }
        t->type[i] = (uint8_t)ty;
        if (t->score) t->score[i] = sp->scores ? sp->scores[i] : 0.0f;
        const gguf_str *s = &sp->tokens[i];
        memcpy(t->text + off, s->p, s->n);
        t->toff[i] = off; t->tlen[i] = (uint32_t)s->n;
        if (s->n > t->max_tlen) t->max_tlen = (uint32_t)s->n;
        size_t pl = token_piece(t, s, ty, inv, t->piece + poff);
        t->poff[i] = poff; t->plen[i] = (uint32_t)pl;
        off += s->n; poff += pl;
        /* The first of duplicate texts wins (llama.cpp refuses such files). */
        for (uint64_t h = XXH3_64bits(s->p, s->n) & t->tmask;; h = (h + 1) & t->tmask) {
            int32_t id = t->tab[h];
            if (id < 0) { t->tab[h] = (int32_t)i; break; }
            if (t->tlen[id] == s->n && memcmp(t->text + t->toff[id], s->p, s->n) == 0) break;
        }
    }
    byte_tokens(t, cp);
    return whole_tokens(t, false, &t->user, &t->n_user, err, errlen) != 0 ||
           whole_tokens(t, true, &t->special, &t->n_special, err, errlen) != 0 ? -1 : 0;
}

static int model_kind(const char *model, enum tok_kind *kind, char *err, size_t errlen)
{
    if (strcmp(model, "gpt2") == 0) *kind = TOK_BPE;
    else if (strcmp(model, "llama") == 0) *kind = TOK_SPM;
    else if (strcmp(model, "gemma4") == 0) *kind = TOK_GEMMA4;
    else {
        snprintf(err, errlen, "tokenizer model '%s' is not supported (sr knows 'gpt2' (byte-level BPE), "
                 "'llama' (SentencePiece) and 'gemma4')", model);
        return -1;
    }
    return 0;
}

int sr_tok_new(sr_tok **out, const sr_tok_spec *sp, char *err, size_t errlen)
{
    *out = NULL;
    enum tok_kind kind;
    if (model_kind(sp->model ? sp->model : "(none)", &kind, err, errlen) != 0) return -1;
    if (kind == TOK_BPE && !sp->pre) {
        snprintf(err, errlen, "no pre-tokenizer (tokenizer.ggml.pre) given");
        return -1;
    }
    if (sp->n_tokens == 0 || sp->n_tokens > INT32_MAX / 2 || sp->n_merges > INT32_MAX) {
        snprintf(err, errlen, "vocabulary of %u tokens and %u merges is out of range",
                 sp->n_tokens, sp->n_merges);
        return -1;
    }
    const int32_t sids[4] = { sp->bos, sp->eos, sp->pad, sp->unk };
    const char *snames[4] = { "bos", "eos", "padding", "unknown" };
    for (int i = 0; i < 4; i++)
        if (sids[i] < -1 || sids[i] >= (int32_t)sp->n_tokens) {
            snprintf(err, errlen, "%s token id %d is outside the vocabulary (%u tokens)",
                     snames[i], sids[i], sp->n_tokens);
            return -1;
        }
    sr_tok *t = calloc(1, sizeof *t);
    if (!t) { snprintf(err, errlen, "out of memory"); return -1; }
    t->kind = kind;
    snprintf(t->model, sizeof t->model, "%s", sp->model);
    t->n = sp->n_tokens;
    t->bos = sp->bos; t->eos = sp->eos; t->pad = sp->pad; t->unk = sp->unk;
    t->add_bos = sp->add_bos; t->add_eos = sp->add_eos;
    t->add_space_prefix = kind == TOK_SPM && sp->add_space_prefix;
    t->rstrip_user = kind == TOK_SPM && sp->rstrip_user;
    snprintf(t->pre_name, sizeof t->pre_name, "%s",
             kind == TOK_BPE ? sp->pre : kind == TOK_GEMMA4 ? "gemma4" : "default");
    if ((kind == TOK_BPE && sr_pretok_new(&t->pre, sp->pre, &t->ignore_merges, err, errlen) != 0) ||
        build_vocab(t, sp, err, errlen) != 0 ||
        (kind != TOK_SPM && tok_build_merges(t, sp->n_merges, sp->merges, err, errlen) != 0)) {
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

/* An optional token id: *out keeps its default when the key is absent. */
static int opt_id(const gguf_file *g, const char *key, int32_t *out, char *err, size_t errlen)
{
    int64_t v;
    if (!gguf_find_kv(g, key)) return 0;
    if (gguf_get_i64(g, key, &v) != 0 || v < -1 || v > INT32_MAX) {
        snprintf(err, errlen, "%s is not a token id", key);
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

static int opt_bool(const gguf_file *g, const char *key, bool *out, char *err, size_t errlen)
{
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv) return 0;
    if (kv->val.type != GGUF_BOOL) { snprintf(err, errlen, "%s is not a boolean", key); return -1; }
    *out = kv->val.v.b;
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

/* tokenizer.ggml.token_type as enum sr_tok_type values (all normal when the
 * key is absent), with llama.cpp's overrides by text; out-of-range values
 * are left for sr_tok_new to refuse. */
static int read_types(const gguf_file *g, const gguf_str *toks, uint32_t n, int32_t **out,
                      char *err, size_t errlen)
{
    *out = NULL;
    const gguf_value *typ = NULL;
    if (gguf_find_kv(g, "tokenizer.ggml.token_type")) {
        if (!(typ = need_arr(g, "tokenizer.ggml.token_type", false, err, errlen))) return -1;
        if (typ->v.arr.n != n) {
            snprintf(err, errlen, "tokenizer.ggml.token_type has %llu entries for %u tokens",
                     (unsigned long long)typ->v.arr.n, n);
            return -1;
        }
    }
    int32_t *types = malloc((n + 1) * sizeof *types);
    if (!types) { snprintf(err, errlen, "out of memory"); return -1; }
    bool is_signed = typ && (typ->v.arr.type == GGUF_I8 || typ->v.arr.type == GGUF_I16 ||
                             typ->v.arr.type == GGUF_I32 || typ->v.arr.type == GGUF_I64);
    for (uint32_t i = 0; i < n; i++) {
        const gguf_value *e = typ ? &typ->v.arr.items[i] : NULL;
        int64_t v = !e ? SR_TOK_NORMAL : typ->v.arr.type == GGUF_BOOL ? e->v.b
                  : is_signed ? e->v.i : (e->v.u > 1000 ? 1000 : (int64_t)e->v.u);
        types[i] = v < -1 || v > 1000 ? 1000 : (int32_t)v;
    }
    tok_llama_cpp_types(g, toks, n, types);
    *out = types;
    return 0;
}

/* tokenizer.ggml.scores (f32, or i32 as llama.cpp also takes), at least one
 * per token; absent: NULL, all scores 0. */
static int read_scores(const gguf_file *g, uint32_t n, float **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!gguf_find_kv(g, "tokenizer.ggml.scores")) return 0;
    const gguf_value *v = gguf_get_arr(g, "tokenizer.ggml.scores");
    if (!v || (v->v.arr.type != GGUF_F32 && v->v.arr.type != GGUF_I32)) {
        snprintf(err, errlen, "tokenizer.ggml.scores is not an array of f32 or i32");
        return -1;
    }
    if (v->v.arr.n < n) {
        snprintf(err, errlen, "tokenizer.ggml.scores has %llu entries for %u tokens",
                 (unsigned long long)v->v.arr.n, n);
        return -1;
    }
    float *s = malloc((n + 1) * sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return -1; }
    for (uint32_t i = 0; i < n; i++)
        s[i] = v->v.arr.type == GGUF_F32 ? (float)v->v.arr.items[i].v.f : (float)v->v.arr.items[i].v.i;
    *out = s;
    return 0;
}

/* Ids and flags: the file's keys over llama.cpp's defaults for the model. */
static int read_special(const gguf_file *g, sr_tok_spec *sp, char *err, size_t errlen)
{
    bool spm = strcmp(sp->model, "llama") == 0;
    sp->bos = sp->eos = sp->pad = sp->unk = -1;
    if (spm) {   /* llama.cpp's SentencePiece defaults, where the vocabulary has them */
        sp->bos = sp->n_tokens > 1 ? 1 : -1;
        sp->eos = sp->n_tokens > 2 ? 2 : -1;
        sp->unk = sp->n_tokens > 0 ? 0 : -1;
    }
    sp->add_bos = spm || strcmp(sp->model, "gemma4") == 0;
    sp->add_eos = false;
    sp->add_space_prefix = spm;
    if (opt_id(g, "tokenizer.ggml.bos_token_id", &sp->bos, err, errlen) != 0 ||
        opt_id(g, "tokenizer.ggml.eos_token_id", &sp->eos, err, errlen) != 0 ||
        opt_id(g, "tokenizer.ggml.padding_token_id", &sp->pad, err, errlen) != 0 ||
        opt_id(g, "tokenizer.ggml.unknown_token_id", &sp->unk, err, errlen) != 0 ||
        opt_bool(g, "tokenizer.ggml.add_bos_token", &sp->add_bos, err, errlen) != 0 ||
        opt_bool(g, "tokenizer.ggml.add_eos_token", &sp->add_eos, err, errlen) != 0 ||
        opt_bool(g, "tokenizer.ggml.add_space_prefix", &sp->add_space_prefix, err, errlen) != 0)
        return -1;
    if (strcmp(sp->model, "gemma4") == 0) sp->add_bos = true;   /* llama.cpp forces it */
    /* llama.cpp strips the whitespace after Phi-3's special tokens, chosen by
     * the model's name; the user-defined ones are what data text can match. */
    char name[256];
    if (str_key(g, "general.name", name, sizeof name, err, errlen) == 0) {
        for (char *p = name; *p; p++) *p = (char)tolower((unsigned char)*p);
        sp->rstrip_user = strstr(name, "phi-3") || strstr(name, "phi3");
    }
    return 0;
}

int sr_tok_load(sr_tok **out, const gguf_file *g, const char *pre_override,
                char *err, size_t errlen)
{
    *out = NULL;
    char model[64], pre[64];
    enum tok_kind kind;
    if (str_key(g, "tokenizer.ggml.model", model, sizeof model, err, errlen) != 0 ||
        model_kind(model, &kind, err, errlen) != 0) return -1;
    snprintf(pre, sizeof pre, "%s", pre_override ? pre_override : "default");
    /* Without tokenizer.ggml.pre llama.cpp warns and uses its "default"
     * pre-tokenizer; so does this (the name is in sr_tok_pre). */
    gguf_str pre_s;
    if (kind == TOK_BPE && !pre_override && gguf_get_str(g, "tokenizer.ggml.pre", &pre_s) == 0 &&
        str_key(g, "tokenizer.ggml.pre", pre, sizeof pre, err, errlen) != 0) return -1;

    const gguf_value *tok = need_arr(g, "tokenizer.ggml.tokens", true, err, errlen);
    const gguf_value *mer = tok && kind != TOK_SPM ? need_arr(g, "tokenizer.ggml.merges", true, err, errlen) : NULL;
    if (!tok || (kind != TOK_SPM && !mer)) return -1;
    sr_tok_spec sp = { .model = model, .pre = pre,
                       .n_tokens = (uint32_t)tok->v.arr.n, .n_merges = mer ? (uint32_t)mer->v.arr.n : 0 };
    if (read_special(g, &sp, err, errlen) != 0) return -1;

    gguf_str *toks = malloc((sp.n_tokens + 1) * sizeof *toks);
    gguf_str *mers = malloc((sp.n_merges + 1) * sizeof *mers);
    int32_t *types = NULL;
    float *scores = NULL;
    int rc = -1;
    if (!toks || !mers) { snprintf(err, errlen, "out of memory"); goto done; }
    for (uint32_t i = 0; i < sp.n_tokens; i++) toks[i] = tok->v.arr.items[i].v.s;
    if (read_types(g, toks, sp.n_tokens, &types, err, errlen) != 0) goto done;
    if (kind == TOK_SPM && read_scores(g, sp.n_tokens, &scores, err, errlen) != 0) goto done;
    for (uint32_t i = 0; i < sp.n_merges; i++) mers[i] = mer->v.arr.items[i].v.s;
    sp.tokens = toks; sp.merges = mers; sp.types = types; sp.scores = scores;
    rc = sr_tok_new(out, &sp, err, errlen);
done:
    free(toks); free(mers); free(types); free(scores);
    return rc;
}

/* ---- queries ------------------------------------------------------------ */

uint32_t sr_tok_n_vocab(const sr_tok *t) { return t->n; }
int32_t sr_tok_bos(const sr_tok *t) { return t->bos; }
int32_t sr_tok_eos(const sr_tok *t) { return t->eos; }
int32_t sr_tok_pad(const sr_tok *t) { return t->pad; }
int32_t sr_tok_unk(const sr_tok *t) { return t->unk; }
const char *sr_tok_pre(const sr_tok *t) { return t->pre_name; }
const char *sr_tok_model(const sr_tok *t) { return t->model; }
bool sr_tok_add_bos(const sr_tok *t) { return t->add_bos; }
bool sr_tok_add_eos(const sr_tok *t) { return t->add_eos; }

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

/* ---- encoding: what every model shares ----------------------------------- */

int tok_emit(struct enc *e, int32_t id)
{
    if (sr_ids_push(e->out, id) == 0) return 0;
    snprintf(e->err, e->errlen, "out of memory");
    return -1;
}

/* Text that formed no token becomes one token per byte. p points into the
 * caller's text or a rewritten copy of it; messages name the byte only. */
int tok_emit_bytes(struct enc *e, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)p[i];
        if (e->t->byte_tok[b] < 0) {
            snprintf(e->err, e->errlen, "byte 0x%02x has no token in the vocabulary to fall back to", b);
            return -1;
        }
        if (tok_emit(e, e->t->byte_tok[b]) != 0) return -1;
    }
    return 0;
}

static int encode_fragment(struct enc *e, size_t off, size_t n)
{
    switch (e->t->kind) {
    case TOK_SPM:    return tok_spm_fragment(e, off, n);
    case TOK_GEMMA4: return tok_gemma4_fragment(e, off, n);
    default:         return tok_bpe_fragment(e, off, n);
    }
}

/* Phi-3 (rstrip_user): llama.cpp drops the whitespace after every token
 * matched whole except these three. */
static bool rstrips(const sr_tok *t, int32_t id)
{
    static const char *const keep[] = { "<unk>", "<s>", "<|endoftext|>" };
    if (!t->rstrip_user) return false;
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        if (t->tlen[id] == strlen(keep[i]) && memcmp(t->text + t->toff[id], keep[i], t->tlen[id]) == 0)
            return false;
    return true;
}

/* User-defined tokens are matched whole in data text (llama.cpp does so even
 * when special tokens are not parsed), longest first; the text between them
 * goes to the model's encoder. Control tokens are matched only under
 * SR_ENCODE_SPECIAL. */
static int encode_span(struct enc *e, size_t off, size_t end, size_t k)
{
    const sr_tok *t = e->t;
    bool special = e->flags & SR_ENCODE_SPECIAL;
    const int32_t *list = special ? t->special : t->user;
    size_t n_list = special ? t->n_special : t->n_user;
    for (; k < n_list; k++) {
        int32_t u = list[k];
        const char *ut = t->text + t->toff[u];
        size_t ul = t->tlen[u];
        const char *hit;
        while (end - off >= ul && (hit = memmem(e->s + off, end - off, ut, ul))) {
            size_t h = (size_t)(hit - e->s);
            if (encode_span(e, off, h, k + 1) != 0 || tok_emit(e, u) != 0) return -1;
            e->prev_special = true;   /* SentencePiece prefixes the text after it */
            off = h + ul;
            while (rstrips(t, u) && off < end && isspace((unsigned char)e->s[off])) off++;
        }
    }
    if (off == end) return 0;
    return encode_fragment(e, off, end - off);
}

int sr_tok_encode_ex(const sr_tok *t, const char *s, size_t n, unsigned flags,
                     sr_ids *out, char *err, size_t errlen)
{
    size_t bad = sr_utf8_valid_prefix(s, n);
    if (bad != n) {
        snprintf(err, errlen, "text is not valid UTF-8 at byte %zu of %zu", bad, n);
        return -1;
    }
    size_t n0 = out->n;
    struct enc e = { .t = t, .s = s, .base = s, .out = out, .flags = flags,
                     .prev_special = !(flags & SR_ENCODE_NO_PREFIX), .err = err, .errlen = errlen };
    int rc = encode_span(&e, 0, n, 0);
    free(e.sym); free(e.heap); free(e.buf);
    if (rc != 0) { out->n = n0; return -1; }
    return 0;
}

int sr_tok_encode(const sr_tok *t, const char *s, size_t n, sr_ids *out, char *err, size_t errlen)
{
    return sr_tok_encode_ex(t, s, n, 0, out, err, errlen);
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
    if ((flags & SR_DECODE_STRIP_PREFIX) && t->add_space_prefix && k > 0 && o[0] == ' ')
        memmove(o, o + 1, k--);
    o[k] = 0;
    *len = k;
    return o;
}

int sr_tok_parse_ids(const sr_tok *t, const char *s, sr_ids *out, char *err, size_t errlen)
{
    static const char SEP[] = " \t\r\n\v\f,[]";
    for (const char *p = s;;) {
        p += strspn(p, SEP);
        if (!*p) return 0;
        size_t word = strcspn(p, SEP), k = 0;
        uint64_t id = 0;
        while (k < word && k < 12 && isdigit((unsigned char)p[k])) id = id * 10 + (uint64_t)(p[k++] - '0');
        if (k == 0 || k != word || id >= t->n) {
            snprintf(err, errlen, "byte %zu: \"%.*s\" is not a token id (0 to %u)", (size_t)(p - s),
                     word > 40 ? 40 : (int)word, p, t->n - 1);
            return -1;
        }
        if (sr_ids_push(out, (int32_t)id) != 0) { snprintf(err, errlen, "out of memory"); return -1; }
        p += word;
    }
}
