/* utf8.h — UTF-8 validation (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF)
 * and length in characters. */
#ifndef SR_UTF8_H
#define SR_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Returns the length of s if it is valid UTF-8, else the byte offset of the
 * first invalid sequence. Embedded NULs are valid. */
size_t sr_utf8_valid_prefix(const char *s, size_t n);

static inline int sr_utf8_valid(const char *s, size_t n) { return sr_utf8_valid_prefix(s, n) == n; }

/* The length of UTF-8 text in characters (code points; any byte that does
 * not continue a sequence starts one), the unit of every length the tools
 * report. */
uint64_t sr_utf8_chars(const char *s, size_t n);

#endif
