/* json.h — msgpack values ⇄ JSON text, without loss (the mapping is
 * documented in sr-cat(1)).
 *
 * JSON has no binary strings, no extension types, no NaN or infinities and no
 * float32, so those travel as one-key "tagged" objects:
 *
 *   bin               {"$bin": "<base64>"}
 *   ext               {"$ext": [TYPE, "<base64>"]}
 *   float32           {"$f32": 0.10000000149011612}   (its exact value as a double)
 *   NaN, ±Inf         {"$f64": "nan"} / "-nan" / "inf" / "-inf"  (float32: under "$f32")
 *   a map whose only key is one of these names, so it is not read as a tag:
 *                     {"$map": {"$bin": "not binary"}}
 *
 * The top level (a record) is always a plain map, never a tag. Integers cover
 * INT64_MIN..UINT64_MAX; float64 values print in the shortest form that
 * reads back to the same double, with ".0" kept on integral values so they
 * come back as floats. */
#ifndef SR_JSON_H
#define SR_JSON_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

/* A growing text buffer. Zero-initialise; grows as needed (exits 1 when out
 * of memory, like the record writer). */
typedef struct sr_jbuf { char *p; size_t n, cap; } sr_jbuf;

void sr_jbuf_reserve(sr_jbuf *b, size_t more);
void sr_jbuf_put(sr_jbuf *b, const void *s, size_t n);
static inline void sr_jbuf_putc(sr_jbuf *b, char c)
{
    if (b->n == b->cap) sr_jbuf_reserve(b, 1);
    b->p[b->n++] = c;
}
void sr_jbuf_free(sr_jbuf *b);

enum { SR_JSON_PRETTY = 1 };   /* indent by two spaces, one member per line */

/* Append o as JSON text (no newline). o is treated as a record: a top-level
 * map is never wrapped in "$map". Compact unless SR_JSON_PRETTY; UTF-8 is
 * written as it is, control characters, '"', '\\' and DEL are escaped. */
void sr_json_from_msgpack(sr_jbuf *out, const msgpack_object *o, int flags);

/* Append a double in the shortest form that reads back to it, with ".0" on
 * integral values; it must be finite. */
void sr_json_double(sr_jbuf *out, double d);

/* Append one member of a flat report object, "key":value, and a comma when
 * more follow: a number (NaN as null), or an unsigned integer. */
void sr_json_member_num(sr_jbuf *out, const char *key, double v, int more);
void sr_json_member_int(sr_jbuf *out, const char *key, uint64_t v, int more);

/* Append any bytes as one JSON string: UTF-8 as sr_json_from_msgpack writes
 * it, and each byte that is not part of valid UTF-8 as a lone surrogate
 * \udc80..\udcff (byte 0x80..0xff; Python's "surrogateescape"), which no
 * UTF-8 text holds, so the bytes can be told back exactly. */
void sr_json_bytes(sr_jbuf *out, const char *s, size_t n);

/* Parse one JSON text holding an object (one line of JSON lines) into a
 * msgpack map. Everything *out points to is allocated in zone. Returns 0, or
 * -1 with the reason in err: where (column, or the path of the value, like
 * ".a[2].b") and what was wrong. Object keys must be unique; integers above
 * INT64_MAX (up to UINT64_MAX) are read exactly. */
int sr_json_to_msgpack(const char *text, size_t n, msgpack_zone *zone, msgpack_object *out,
                       char *err, size_t errlen);

#endif
