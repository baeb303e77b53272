/* base64.h — RFC 4648 base64 (standard alphabet, '=' padding), used to carry
 * binary msgpack values through JSON (sr-cat). */
#ifndef SR_BASE64_H
#define SR_BASE64_H

#include <stddef.h>

/* Bytes needed to encode n bytes (no NUL). */
static inline size_t sr_base64_len(size_t n) { return (n + 2) / 3 * 4; }

/* Encode n bytes into out (sr_base64_len(n) bytes, no NUL written). */
void sr_base64_encode(char *out, const void *data, size_t n);

/* Decode n characters into out (room for n / 4 * 3 bytes). The text must be
 * canonical padded base64: a length that is a multiple of 4, only alphabet
 * characters, '=' only as the last one or two. Returns the decoded length,
 * or -1 with the offset of the first bad character in *bad_at. */
long sr_base64_decode(void *out, const char *text, size_t n, size_t *bad_at);

#endif
