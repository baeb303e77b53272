/* tokenizer_impl.h — what the tokenizer's files share: the vocabulary struct,
 * the encoder's working state (a symbol list and a merge queue), and the
 * per-model encoders. Private to lib/lm/tokenizer*.c.
 *
 *   tokenizer.c        vocabulary, GGUF keys, queries, decode, and the common
 *                      part of encode (UTF-8 check, user-defined tokens)
 *   tokenizer_special.c  the token types llama.cpp overrides by text
 *   tokenizer_queue.c  the symbol list and the merge queue both merge loops use
 *   tokenizer_bpe.c    merge table; byte-level BPE ("gpt2") and Gemma 4's
 *                      BPE over raw UTF-8 ("gemma4")
 *   tokenizer_spm.c    SentencePiece ("llama"): merges driven by token scores */
#ifndef SR_TOKENIZER_IMPL_H
#define SR_TOKENIZER_IMPL_H

#include "lm/tokenizer.h"
#include "lm/tokenizer_pre.h"

/* The encoders, by tokenizer.ggml.model. */
enum tok_kind { TOK_BPE, TOK_SPM, TOK_GEMMA4 };

/* One slot of the merge table: 16 bytes, so a lookup touches one cache line. */
struct merge { uint64_t key; int32_t rank, res; };   /* key UINT64_MAX: empty */

struct sr_tok {
    enum tok_kind kind;
    char model[16];                   /* tokenizer.ggml.model */
    uint32_t n;                       /* vocabulary size */
    char *text;   uint64_t *toff;  uint32_t *tlen;    /* vocabulary texts */
    char *piece;  uint64_t *poff;  uint32_t *plen;    /* decoded bytes */
    uint8_t *type;
    float *score;                     /* SPM merge priority; NULL for the others */
    uint32_t max_tlen;                /* the longest token text, in bytes */
    int32_t *tab;  uint64_t tmask;    /* text -> id, open addressing, -1 empty */
    struct merge *merge; uint64_t mmask;   /* (left,right) -> merge, open addressing */
    int32_t byte_tok[256];            /* the token a lone byte falls back to, -1 none */
    int32_t *user; size_t n_user;     /* user-defined tokens, longest first */
    int32_t *special; size_t n_special;   /* control, user-defined and unknown tokens,
                                             longest first: SR_ENCODE_SPECIAL matches these */
    int32_t bos, eos, pad, unk;
    bool add_bos, add_eos, add_space_prefix, rstrip_user;
    sr_pretok *pre;                   /* byte-level BPE only */
    char pre_name[64];
    bool ignore_merges;
};

/* A symbol of the text being merged: bytes [off, off+len) of the piece, its
 * token (-1: none yet), and its neighbours in the chain (UINT32_MAX before
 * the first, nsym after the last). len 0: merged into its left neighbour. */
struct sym { uint32_t off, len, prev, next; int32_t id; };

/* A queued merge of the adjacent symbols l and r into token res: the best key
 * first (BPE: minus the rank; SPM: the score), the leftmost on ties.
 * lid/rid (BPE) and len (SPM) are what the pair held when queued, to tell a
 * stale entry. */
struct cand { double key; uint32_t l, r; int32_t lid, rid, res; uint32_t len; };

struct enc {
    const sr_tok *t;
    const char *s;         /* the caller's text (offsets in messages) */
    const char *base;      /* what the pre-tokenizer's callback calls offset 0 */
    sr_ids *out;
    unsigned flags;
    bool prev_special;     /* SPM: the next fragment gets the dummy prefix */
    struct sym *sym; size_t scap; uint32_t nsym;      /* symbols of one piece */
    struct cand *heap; size_t hn, hcap;
    char *buf; size_t bcap;                           /* rewritten text of a fragment */
    char *err; size_t errlen;
};

/* tokenizer.c */
int32_t tok_find_plain(const sr_tok *t, const char *s, size_t n);   /* never a control token */
int     tok_emit(struct enc *e, int32_t id);
int     tok_emit_bytes(struct enc *e, const char *p, size_t n);     /* byte fallback */

/* tokenizer_special.c: the types llama.cpp gives tokens by their text */
void tok_llama_cpp_types(const gguf_file *g, const gguf_str *toks, uint32_t n, int32_t *types);

/* tokenizer_queue.c */
int  tok_reserve(struct enc *e, size_t n_sym, size_t n_buf);  /* sym[] and buf[] capacity */
void tok_split_chars(struct enc *e, const char *p, size_t n);  /* one symbol per UTF-8 character */
int  tok_push(struct enc *e, struct cand c);
struct cand tok_pop(struct enc *e);
void tok_join(struct enc *e, uint32_t l, uint32_t r);          /* r into l */
size_t tok_escape(const char *s, size_t n, bool prefix, char *o); /* ' ' -> U+2581 */

/* tokenizer_bpe.c */
int tok_build_merges(sr_tok *t, uint32_t n, const gguf_str *merges, char *err, size_t errlen);
int tok_bpe_fragment(struct enc *e, size_t off, size_t n);      /* byte-level BPE */
int tok_gemma4_fragment(struct enc *e, size_t off, size_t n);

/* tokenizer_spm.c */
int tok_spm_fragment(struct enc *e, size_t off, size_t n);

#endif
