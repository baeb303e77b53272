/* tokenizer.h — text ⇄ token ids, as llama.cpp tokenizes for a GGUF's
 * tokenizer.ggml.model:
 *   "gpt2"    byte-level BPE: split into pre-tokens with the model's regexes
 *             (PCRE2), map each byte to its GPT-2 "byte character", merge
 *             adjacent symbols by lowest merge rank;
 *   "llama"   SentencePiece: spaces become U+2581 "▁", a dummy-prefix space
 *             starts the text, adjacent symbols merge into the highest-scored
 *             token (tokenizer.ggml.scores), leftovers fall back to <0xNN>;
 *   "gemma4"  Gemma 4: spaces become "▁" (no dummy prefix), lines and runs of
 *             newlines merge by merge rank over UTF-8 characters, leftovers
 *             fall back to <0xNN>.
 * Built from a GGUF's tokenizer.ggml.* keys (or from a spec the caller fills,
 * which tests use). Data text never yields a control token: "<|im_end|>"
 * typed by a user is plain text; user-defined tokens are matched whole.
 * Control tokens enter a sequence only through sr_tok_push_special /
 * sr_tok_push_id, which the chat renderer uses (or, for inspection, through
 * sr_tok_encode_ex with SR_ENCODE_SPECIAL).
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
    const char *model;          /* "gpt2", "llama" or "gemma4" */
    const char *pre;            /* gpt2's pre-tokenizer: "smollm", "gpt2", "llama-bpe", ...;
                                   the others ignore it */
    uint32_t n_tokens;
    const gguf_str *tokens;     /* token texts, as stored (byte characters, or ▁ for spaces) */
    const int32_t *types;       /* enum sr_tok_type per token; NULL: all normal */
    const float *scores;        /* llama: merge priority per token; NULL: all 0 */
    uint32_t n_merges;
    const gguf_str *merges;     /* gpt2, gemma4: "left right"; rank = index */
    int32_t bos, eos, pad, unk; /* -1 when the model has none */
    /* Taken as they are here; sr_tok_load fills in llama.cpp's defaults for
     * keys a file lacks. add_space_prefix and rstrip_user matter to llama only:
     * the dummy prefix, and dropping the whitespace after a user-defined token
     * (what llama.cpp does for Phi-3, chosen by general.name). */
    bool add_bos, add_eos, add_space_prefix, rstrip_user;
} sr_tok_spec;

typedef struct sr_tok sr_tok;

/* Build from a spec. Returns 0, or -1 with the reason in err (unknown model
 * or pre-tokenizer, malformed merge, id out of range, a byte with no token to
 * fall back to, out of memory). */
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
int32_t     sr_tok_unk(const sr_tok *t);
const char *sr_tok_pre(const sr_tok *t);     /* the pre-tokenizer's name */
const char *sr_tok_model(const sr_tok *t);   /* "gpt2", "llama", "gemma4" */
/* Whether a sequence starts with BOS / ends with EOS, as the file says
 * (tokenizer.ggml.add_bos_token / add_eos_token), else llama.cpp's default
 * for the model (llama and gemma4: BOS; gpt2: neither). */
bool        sr_tok_add_bos(const sr_tok *t);
bool        sr_tok_add_eos(const sr_tok *t);

/* Append the tokens of data text s[0..n) to out (nothing is cleared first).
 * Returns 0, or -1 for invalid UTF-8 (the byte offset is in err) or when out
 * of memory; on error out keeps what it held before the call. No BOS/EOS.
 * SentencePiece puts its dummy-prefix space before the text and, as llama.cpp
 * does, again after each user-defined token matched in it. */
int sr_tok_encode(const sr_tok *t, const char *s, size_t n, sr_ids *out,
                  char *err, size_t errlen);
/* SR_ENCODE_NO_PREFIX: no dummy prefix at the start of s, for text that
 * continues a sequence rather than starting one (a no-op but for llama).
 * SR_ENCODE_SPECIAL: control (and unknown) tokens typed in s are matched
 * whole too, as llama.cpp's parse_special does; for inspection tools
 * (sr-tokenize --special), never for data. */
enum { SR_ENCODE_NO_PREFIX = 1, SR_ENCODE_SPECIAL = 2 };
int sr_tok_encode_ex(const sr_tok *t, const char *s, size_t n, unsigned flags,
                     sr_ids *out, char *err, size_t errlen);

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
/* SR_DECODE_SKIP_CONTROL leaves control tokens out; SR_DECODE_STRIP_PREFIX
 * drops one space at the start of the result, the one SentencePiece's dummy
 * prefix put there (a no-op unless the model is llama with add_space_prefix),
 * so that decode(encode(s), SR_DECODE_STRIP_PREFIX) == s. */
enum { SR_DECODE_SKIP_CONTROL = 1, SR_DECODE_STRIP_PREFIX = 2 };
/* Ids written as text — decimal, separated by white space, commas or
 * brackets, so that a JSON array reads too — appended to out. Returns 0, or
 * -1 naming the byte offset of anything else or of an id out of range. */
int sr_tok_parse_ids(const sr_tok *t, const char *s, sr_ids *out, char *err, size_t errlen);
char *sr_tok_decode(const sr_tok *t, const int32_t *ids, size_t n, unsigned flags,
                    size_t *len, char *err, size_t errlen);

#endif
