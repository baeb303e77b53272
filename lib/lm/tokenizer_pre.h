/* tokenizer_pre.h — pre-tokenization: splitting text into the pieces BPE
 * merges within. Private to tokenizer.c. */
#ifndef SR_TOKENIZER_PRE_H
#define SR_TOKENIZER_PRE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sr_pretok sr_pretok;

/* Compile the regexes of a pre-tokenizer by its GGUF name. *ignore_merges
 * says whether a piece that is itself a token is taken whole (Llama 3).
 * An unknown name is an error that names it. */
int  sr_pretok_new(sr_pretok **out, const char *name, bool *ignore_merges,
                   char *err, size_t errlen);
void sr_pretok_free(sr_pretok *p);

/* Called for each piece, in order; a non-zero return stops the split. */
typedef int (*sr_piece_fn)(void *ctx, size_t off, size_t len);

/* Split s[0..n) (valid UTF-8: the caller checked) into pieces that cover it
 * exactly. Returns 0, -1 with a message (regex failure, out of memory), or
 * what fn returned when it stopped the split. */
int sr_pretok_split(const sr_pretok *p, const char *s, size_t n,
                    sr_piece_fn fn, void *ctx, char *err, size_t errlen);

#endif
