/* tokenizer.h — byte-level BPE ("gpt2" in GGUF) for text ⇄ token ids.
 *
 * Built from a GGUF's tokenizer.ggml.* keys (or from a spec the caller fills,
 * which tests use). Encoding: validate UTF-8, split into pre-tokens with the
 * model's regexes (PCRE2), map each byte to its GPT-2 "byte character", and
 * merge adjacent symbols by lowest merge rank. Data text never yields a
 * control token: "<|im_end|>" typed by a user is plain text. Control tokens
 * enter a sequence only through sr_tok_push_special / sr_tok_push_id, which
 * the chat renderer uses.
 *
 * A built tokenizer is read-only: encode and decode may run on many threads. */
#ifndef SR_TOKENIZER_H
#define SR_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lm/gguf.h"

/* Token types, numbered as tokenizer.ggml.token_type numbers them. */
enum sr_tok_type {
    SR_TOK_NORMAL = 1, SR_TOK_UNKNOWN = 2, SR_TOK_CONTROL = 3,
    SR_TOK_USER_DEFINED = 4, SR_TOK_UNUSED = 5, SR_TOK_BYTE = 6,
};

/* A growable list of token ids. Zero-initialise; free with sr_ids_free. */
typedef struct sr_ids { int32_t *v; size_t n, cap; } sr_ids;
int  sr_ids_push(sr_ids *ids, int32_t id);      /* 0, or -1 when out of memory */
void sr_ids_free(sr_ids *ids);

/* What a tokenizer is built from. Strings need not be NUL-terminated and are
 * copied, so they may be freed (or the GGUF closed) after sr_tok_new. */
typedef struct sr_tok_spec {
    const char *model;          /* must be "gpt2" (byte-level BPE) */
    const char *pre;            /* pre-tokenizer: "smollm", "gpt2", "llama-bpe", ... */
    uint32_t n_tokens;
    const gguf_str *tokens;     /* token texts, as stored (byte characters) */
    const int32_t *types;       /* enum sr_tok_type per token; NULL: all normal */
    uint32_t n_merges;
    const gguf_str *merges;     /* "left right"; rank = index */
    int32_t bos, eos, pad;      /* -1 when the model has none */
} sr_tok_spec;

typedef struct sr_tok sr_tok;

/* Build from a spec. Returns 0, or -1 with the reason in err (unknown model
 * or pre-tokenizer, malformed merge, id out of range, out of memory). */
int  sr_tok_new(sr_tok **out, const sr_tok_spec *spec, char *err, size_t errlen);
/* Build from a GGUF's metadata. pre_override, when not NULL, replaces
 * tokenizer.ggml.pre (tests use it to reach the unknown-pre error). */
int  sr_tok_load(sr_tok **out, const gguf_file *g, const char *pre_override,
                 char *err, size_t errlen);
void sr_tok_free(sr_tok *t);

uint32_t    sr_tok_n_vocab(const sr_tok *t);
int32_t     sr_tok_bos(const sr_tok *t);     /* -1 when none */
int32_t     sr_tok_eos(const sr_tok *t);
int32_t     sr_tok_pad(const sr_tok *t);
const char *sr_tok_pre(const sr_tok *t);     /* the pre-tokenizer's name */

/* Append the tokens of data text s[0..n) to out (nothing is cleared first).
 * Returns 0, or -1 for invalid UTF-8 (the byte offset is in err) or when out
 * of memory; on error out keeps what it held before the call. */
int sr_tok_encode(const sr_tok *t, const char *s, size_t n, sr_ids *out,
                  char *err, size_t errlen);

/* The id of the token whose vocabulary text is exactly text[0..n), or -1. */
int32_t sr_tok_find(const sr_tok *t, const char *text, size_t n);
/* Append a token by id (range-checked), or a token by its vocabulary text
 * ("<|im_end|>"); these are the only ways a control token enters a sequence. */
int sr_tok_push_id(const sr_tok *t, int32_t id, sr_ids *out, char *err, size_t errlen);
int sr_tok_push_special(const sr_tok *t, const char *name, sr_ids *out,
                        char *err, size_t errlen);

int  sr_tok_type(const sr_tok *t, int32_t id);   /* enum sr_tok_type, or -1 out of range */
bool sr_tok_is_control(const sr_tok *t, int32_t id);

/* A token's vocabulary text (byte characters, as stored), and the bytes it
 * stands for when decoded (a control token's text as it is). Either may be
 * a partial UTF-8 sequence. NULL for an id out of range. */
const char *sr_tok_text(const sr_tok *t, int32_t id, size_t *len);
const char *sr_tok_piece(const sr_tok *t, int32_t id, size_t *len);

/* Decode ids to bytes: a malloc'd, NUL-terminated string (length in *len;
 * it may hold NULs and, for a cut sequence, partial UTF-8). NULL with a
 * message for an id out of range or out of memory. */
enum { SR_DECODE_SKIP_CONTROL = 1 };   /* leave control tokens out */
char *sr_tok_decode(const sr_tok *t, const int32_t *ids, size_t n, unsigned flags,
                    size_t *len, char *err, size_t errlen);

#endif
