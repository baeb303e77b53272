/* json.c — msgpack values ⇄ JSON text.
 *
 * Writing is done here directly from the msgpack object rather than through
 * jansson: jansson cannot hold integers above INT64_MAX, prints doubles with
 * 17 digits rather than the shortest form, and building its tree would only
 * cost time. Reading uses jansson, with one addition: integers between
 * INT64_MAX and UINT64_MAX, which jansson refuses, are found by a scan of
 * the text first and stood in for (see find_big_ints). */
#include "io/json.h"
#include "base/base64.h"
#include "io/cli.h"
#include "io/record.h"
#include "base/utf8.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the text buffer ------------------------------------------------------- */

void sr_jbuf_reserve(sr_jbuf *b, size_t more)
{
    if (b->cap - b->n >= more) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->n < more) {
        if (cap > SIZE_MAX / 2) sr_die(SR_EXIT_FAIL, "out of memory (JSON text of %zu bytes)", b->n);
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) sr_die(SR_EXIT_FAIL, "out of memory (JSON text of %zu bytes)", cap);
    b->p = p;
    b->cap = cap;
}

void sr_jbuf_put(sr_jbuf *b, const void *s, size_t n)
{
    sr_jbuf_reserve(b, n);
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void put_cstr(sr_jbuf *b, const char *s) { sr_jbuf_put(b, s, strlen(s)); }

void sr_jbuf_free(sr_jbuf *b)
{
    free(b->p);
    *b = (sr_jbuf){ 0 };
}

/* ---- writing: scalars ------------------------------------------------------ */

static void put_u64(sr_jbuf *b, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    sr_jbuf_reserve(b, (size_t)n);
    while (n) b->p[b->n++] = tmp[--n];
}

static void put_i64(sr_jbuf *b, int64_t v)
{
    if (v < 0) {
        sr_jbuf_putc(b, '-');
        put_u64(b, (uint64_t)0 - (uint64_t)v);   /* INT64_MIN has no positive int64 */
    } else {
        put_u64(b, (uint64_t)v);
    }
}

/* The shortest %.Ng that strtod reads back to d. For a normal double, if any
 * form of at most 15 digits reads back, %.15g is it (a double holds more than
 * 15.9 digits, so that form is within half a unit of the 15th digit); so
 * try 15, then 16, then 17, which always reads back. Subnormals have fewer
 * digits of precision and are searched from 1. */
void sr_json_double(sr_jbuf *out, double d)
{
    char s[40];
    int prec = fabs(d) >= 2.2250738585072014e-308 || d == 0 ? 15 : 1;
    for (;; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, d);
        if (prec >= 17 || strtod(s, NULL) == d) break;
    }
    put_cstr(out, s);
    if (!strpbrk(s, ".e")) put_cstr(out, ".0");   /* 1.0 stays a float: "1" would read back as an integer */
}

static bool needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\' || c == 0x7f; }

/* s[0..n) inside a JSON string: escaped where JSON needs it, UTF-8 as it is. */
static void put_escaped(sr_jbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    sr_jbuf_reserve(b, n);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!needs_escape(c)) continue;
        sr_jbuf_put(b, s + run, i - run);
        run = i + 1;
        char e[6] = { '\\', 0 };
        switch (c) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        default:
            sr_jbuf_put(b, "\\u00", 4);
            sr_jbuf_putc(b, hex[c >> 4]);
            sr_jbuf_putc(b, hex[c & 15]);
            continue;
        }
        sr_jbuf_put(b, e, 2);
    }
    /* an empty msgpack string may have no pointer at all: s + 0 on NULL is UB */
    if (run < n) sr_jbuf_put(b, s + run, n - run);
}

static void put_string(sr_jbuf *b, const char *s, size_t n)
{
    sr_jbuf_putc(b, '"');
    put_escaped(b, s, n);
    sr_jbuf_putc(b, '"');
}

void sr_json_bytes(sr_jbuf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    sr_jbuf_putc(out, '"');
    while (n) {
        size_t ok = sr_utf8_valid_prefix(s, n);
        put_escaped(out, s, ok);
        s += ok;
        n -= ok;
        if (!n) break;
        /* the first byte of a sequence that is not UTF-8: U+DC80..U+DCFF */
        unsigned char c = (unsigned char)*s++;
        n--;
        sr_jbuf_put(out, "\\udc", 4);
        sr_jbuf_putc(out, hex[c >> 4]);
        sr_jbuf_putc(out, hex[c & 15]);
    }
    sr_jbuf_putc(out, '"');
}

static void put_base64(sr_jbuf *b, const void *data, size_t n)
{
    size_t len = sr_base64_len(n);
    sr_jbuf_reserve(b, len + 2);
    b->p[b->n++] = '"';
    sr_base64_encode(b->p + b->n, data, n);
    b->n += len;
    b->p[b->n++] = '"';
}

/* NaN and the infinities, which JSON has no numbers for. */
static void put_nonfinite(sr_jbuf *b, double d)
{
    if (isnan(d)) put_cstr(b, signbit(d) ? "\"-nan\"" : "\"nan\"");
    else put_cstr(b, d < 0 ? "\"-inf\"" : "\"inf\"");
}

/* ---- writing: structure ---------------------------------------------------- */

static const char *const tag_names[] = { "$bin", "$ext", "$f32", "$f64", "$map" };
enum { TAG_NONE = -1, TAG_BIN, TAG_EXT, TAG_F32, TAG_F64, TAG_MAP };

static int tag_of(const char *k, size_t n)
{
    if (n != 4 || k[0] != '$') return TAG_NONE;
    for (int t = 0; t < 5; t++)
        if (memcmp(k, tag_names[t], 4) == 0) return t;
    return TAG_NONE;
}

static void newline(sr_jbuf *b, int flags, int depth)
{
    if (!(flags & SR_JSON_PRETTY)) return;
    sr_jbuf_reserve(b, 1 + 2 * (size_t)depth);
    b->p[b->n++] = '\n';
    memset(b->p + b->n, ' ', 2 * (size_t)depth);
    b->n += 2 * (size_t)depth;
}

static void put_colon(sr_jbuf *b, int flags)
{
    if (flags & SR_JSON_PRETTY) sr_jbuf_put(b, ": ", 2);
    else sr_jbuf_putc(b, ':');
}

/* A tagged value is the object {"$tag": value}; tag_open writes up to the
 * value, tag_close the rest. */
static void tag_open(sr_jbuf *b, int tag, int flags, int depth)
{
    sr_jbuf_putc(b, '{');
    newline(b, flags, depth + 1);
    sr_jbuf_putc(b, '"');
    put_cstr(b, tag_names[tag]);
    sr_jbuf_putc(b, '"');
    put_colon(b, flags);
}

static void tag_close(sr_jbuf *b, int flags, int depth)
{
    newline(b, flags, depth);
    sr_jbuf_putc(b, '}');
}

static void emit(sr_jbuf *b, const msgpack_object *o, int flags, int depth);

/* Keys JSON can hold and jansson can read back: strings without NUL. */
static bool plain_keys(const msgpack_object_map *m)
{
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR) return false;
        if (k->via.str.size && memchr(k->via.str.ptr, 0, k->via.str.size)) return false;
    }
    return true;
}

static void emit_object(sr_jbuf *b, const msgpack_object_map *m, int flags, int depth)
{
    sr_jbuf_putc(b, '{');
    for (uint32_t i = 0; i < m->size; i++) {
        if (i) sr_jbuf_putc(b, ',');
        newline(b, flags, depth + 1);
        put_string(b, m->ptr[i].key.via.str.ptr, m->ptr[i].key.via.str.size);
        put_colon(b, flags);
        emit(b, &m->ptr[i].val, flags, depth + 1);
    }
    if (m->size) newline(b, flags, depth);
    sr_jbuf_putc(b, '}');
}

/* A map with keys JSON cannot hold: {"$map": [[key, value], ...]}. */
static void emit_pairs(sr_jbuf *b, const msgpack_object_map *m, int flags, int depth)
{
    sr_jbuf_putc(b, '[');
    for (uint32_t i = 0; i < m->size; i++) {
        if (i) sr_jbuf_putc(b, ',');
        newline(b, flags, depth + 1);
        sr_jbuf_putc(b, '[');
        newline(b, flags, depth + 2);
        emit(b, &m->ptr[i].key, flags, depth + 2);
        sr_jbuf_putc(b, ',');
        newline(b, flags, depth + 2);
        emit(b, &m->ptr[i].val, flags, depth + 2);
        newline(b, flags, depth + 1);
        sr_jbuf_putc(b, ']');
    }
    if (m->size) newline(b, flags, depth);
    sr_jbuf_putc(b, ']');
}

static void emit(sr_jbuf *b, const msgpack_object *o, int flags, int depth)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: put_cstr(b, "null"); return;
    case MSGPACK_OBJECT_BOOLEAN: put_cstr(b, o->via.boolean ? "true" : "false"); return;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: put_u64(b, o->via.u64); return;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: put_i64(b, o->via.i64); return;
    case MSGPACK_OBJECT_FLOAT64:
        if (isfinite(o->via.f64)) {
            sr_json_double(b, o->via.f64);
            return;
        }
        tag_open(b, TAG_F64, flags, depth);
        put_nonfinite(b, o->via.f64);
        tag_close(b, flags, depth);
        return;
    case MSGPACK_OBJECT_FLOAT32:   /* msgpack-c has widened it to a double exactly */
        tag_open(b, TAG_F32, flags, depth);
        if (isfinite(o->via.f64)) sr_json_double(b, o->via.f64);
        else put_nonfinite(b, o->via.f64);
        tag_close(b, flags, depth);
        return;
    case MSGPACK_OBJECT_STR: put_string(b, o->via.str.ptr, o->via.str.size); return;
    case MSGPACK_OBJECT_BIN:
        tag_open(b, TAG_BIN, flags, depth);
        put_base64(b, o->via.bin.ptr, o->via.bin.size);
        tag_close(b, flags, depth);
        return;
    case MSGPACK_OBJECT_EXT:
        tag_open(b, TAG_EXT, flags, depth);
        sr_jbuf_putc(b, '[');
        put_i64(b, o->via.ext.type);
        sr_jbuf_putc(b, ',');
        if (flags & SR_JSON_PRETTY) sr_jbuf_putc(b, ' ');
        put_base64(b, o->via.ext.ptr, o->via.ext.size);
        sr_jbuf_putc(b, ']');
        tag_close(b, flags, depth);
        return;
    case MSGPACK_OBJECT_ARRAY:
        sr_jbuf_putc(b, '[');
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i) sr_jbuf_putc(b, ',');
            newline(b, flags, depth + 1);
            emit(b, &o->via.array.ptr[i], flags, depth + 1);
        }
        if (o->via.array.size) newline(b, flags, depth);
        sr_jbuf_putc(b, ']');
        return;
    case MSGPACK_OBJECT_MAP: {
        const msgpack_object_map *m = &o->via.map;
        if (!plain_keys(m)) {
            tag_open(b, TAG_MAP, flags, depth);
            emit_pairs(b, m, flags, depth + 1);
            tag_close(b, flags, depth);
        } else if (m->size == 1 && tag_of(m->ptr[0].key.via.str.ptr, m->ptr[0].key.via.str.size) != TAG_NONE) {
            tag_open(b, TAG_MAP, flags, depth);   /* a real map that would read back as a tag */
            emit_object(b, m, flags, depth + 1);
            tag_close(b, flags, depth);
        } else {
            emit_object(b, m, flags, depth);
        }
        return;
    }
    }
    put_cstr(b, "null");   /* no other msgpack types exist */
}

void sr_json_from_msgpack(sr_jbuf *out, const msgpack_object *o, int flags)
{
    emit(out, o, flags, 0);
}

/* ---- reading: integers above INT64_MAX ------------------------------------- */

/* jansson's integers are int64, and it refuses a literal above INT64_MAX.
 * Before parsing, the text is scanned for integer literals (numbers without
 * '.', 'e' or 'E', outside strings); each one between INT64_MAX and
 * UINT64_MAX is noted by its ordinal among all the integer literals and, in a
 * copy of the text, overwritten with "0" and spaces (so columns in jansson's
 * messages stay right). jansson's objects keep their keys in the order read
 * and duplicate keys are refused, so walking the parsed value in order meets
 * the integers in the same order as the text, and the n-th integer met is the
 * n-th literal. */
typedef struct big_int { uint64_t ordinal, value; size_t pos, len; } big_int;

typedef struct big_ints { big_int *v; size_t n, cap; } big_ints;

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static void find_big_ints(const char *s, size_t n, big_ints *out)
{
    uint64_t ordinal = 0;
    char prev = 0;      /* the last character outside strings and space; 0 at the start */
    size_t i = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') {     /* skip the string: to a '"' after an even run of '\' */
            size_t body = ++i;
            for (;;) {
                const char *q = memchr(s + i, '"', n - i);
                if (!q) { i = n; break; }
                size_t k = (size_t)(q - s), bs = 0;
                while (k - bs > body && s[k - bs - 1] == '\\') bs++;
                i = k + 1;
                if (bs % 2 == 0) break;
            }
            prev = '"';
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') { i++; continue; }
        /* A number can only start a value: at the start, or after [ , : */
        if ((c == '-' || is_digit(c)) && (prev == 0 || prev == '[' || prev == ',' || prev == ':')) {
            size_t start = i;
            if (c == '-') i++;
            size_t digits = i;
            while (i < n && is_digit(s[i])) i++;
            size_t nd = i - digits;
            prev = '0';
            if (i < n && (s[i] == '.' || s[i] == 'e' || s[i] == 'E')) {   /* a real: not counted */
                while (i < n && (is_digit(s[i]) || s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
                                 s[i] == '+' || s[i] == '-'))
                    i++;
                continue;
            }
            uint64_t ord = ordinal++;
            if (c == '-' || nd < 19 || nd > 20 || s[digits] == '0') continue;
            uint64_t v = 0;
            bool overflow = false;
            for (size_t k = digits; k < i; k++) {
                unsigned d = (unsigned)(s[k] - '0');
                if (v > (UINT64_MAX - d) / 10) { overflow = true; break; }
                v = v * 10 + d;
            }
            if (overflow || v <= (uint64_t)INT64_MAX) continue;   /* jansson's own (or its error) */
            if (out->n == out->cap) {
                out->cap = out->cap ? 2 * out->cap : 4;
                out->v = realloc(out->v, out->cap * sizeof *out->v);
                if (!out->v) sr_die(SR_EXIT_FAIL, "out of memory");
            }
            out->v[out->n++] = (big_int){ ord, v, start, i - start };
            continue;
        }
        prev = c;
        i++;
    }
}

/* ---- reading: JSON values to msgpack --------------------------------------- */

typedef struct conv {
    msgpack_zone *zone;
    const big_ints *big;
    size_t next_big;
    uint64_t ints;          /* integers met so far */
    int depth;              /* arrays and maps open */
    char *err;
    size_t errlen;
} conv;

/* Where a value sits, for messages: a chain from the value up to the root. */
typedef struct jpath {
    const struct jpath *up;
    const char *key;        /* NULL: an array element */
    size_t keylen, index;
} jpath;

static void path_render(const jpath *p, char *out, size_t cap, size_t *len)
{
    if (!p) return;
    path_render(p->up, out, cap, len);
    if (*len >= cap) return;
    int n;
    if (!p->key) {
        n = snprintf(out + *len, cap - *len, "[%zu]", p->index);
    } else {
        bool ident = p->keylen > 0 && !is_digit(p->key[0]);
        for (size_t i = 0; i < p->keylen && ident; i++) {
            char c = p->key[i];
            ident = c == '_' || is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        }
        int kl = p->keylen > 40 ? 40 : (int)p->keylen;
        /* A key that is not a plain name is quoted, and cut short; what it
         * holds is only shown, never parsed. */
        if (ident) n = snprintf(out + *len, cap - *len, ".%.*s", kl, p->key);
        else n = snprintf(out + *len, cap - *len, ".\"%.*s%s\"", kl, p->key, p->keylen > 40 ? "..." : "");
    }
    if (n > 0) *len += (size_t)n;
    if (*len >= cap) *len = cap - 1;
}

static int fail(conv *c, const jpath *p, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(conv *c, const jpath *p, const char *fmt, ...)
{
    char where[256] = "";
    size_t len = 0;
    path_render(p, where, sizeof where, &len);
    /* Keys come from the data: keep the message printable. */
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)where[i] < 0x20 || where[i] == 0x7f) where[i] = '?';
    int n = len ? snprintf(c->err, c->errlen, "at %s: ", where) : 0;
    if (n < 0 || (size_t)n >= c->errlen) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static void *zalloc(conv *c, size_t n)
{
    void *p = msgpack_zone_malloc(c->zone, n ? n : 1);
    if (!p) sr_die(SR_EXIT_FAIL, "out of memory");
    return p;
}

static void set_str(conv *c, msgpack_object *o, const char *s, size_t n)
{
    char *p = zalloc(c, n);
    if (n) memcpy(p, s, n);
    o->type = MSGPACK_OBJECT_STR;
    o->via.str.ptr = p;
    o->via.str.size = (uint32_t)n;
}

/* Every JSON integer goes through here, in document order (see find_big_ints). */
static void conv_int(conv *c, json_t *j, msgpack_object *o)
{
    uint64_t ord = c->ints++;
    if (c->next_big < c->big->n && c->big->v[c->next_big].ordinal == ord) {
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        o->via.u64 = c->big->v[c->next_big++].value;
        return;
    }
    json_int_t v = json_integer_value(j);
    if (v >= 0) {
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        o->via.u64 = (uint64_t)v;
    } else {
        o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
        o->via.i64 = v;
    }
}

static int conv_value(conv *c, json_t *j, msgpack_object *o, const jpath *p);

/* msgpack-c decodes at most MSGPACK_EMBED_STACK_SIZE (32) nested arrays and
 * maps; a deeper record could be written but never read back. */
#ifndef MSGPACK_EMBED_STACK_SIZE
#define MSGPACK_EMBED_STACK_SIZE 32
#endif

static int enter(conv *c, const jpath *p)
{
    if (++c->depth <= MSGPACK_EMBED_STACK_SIZE) return 0;
    return fail(c, p, "nested deeper than %d arrays and maps (the most a msgpack reader here takes)",
                MSGPACK_EMBED_STACK_SIZE);
}

static int conv_object(conv *c, json_t *j, msgpack_object *o, const jpath *p)
{
    if (enter(c, p)) return -1;
    size_t n = json_object_size(j);
    msgpack_object_kv *kv = zalloc(c, n * sizeof *kv);
    size_t i = 0;
    for (void *it = json_object_iter(j); it; it = json_object_iter_next(j, it), i++) {
        const char *k = json_object_iter_key(it);
        size_t kl = json_object_iter_key_len(it);
        set_str(c, &kv[i].key, k, kl);
        jpath sub = { p, k, kl, 0 };
        if (conv_value(c, json_object_iter_value(it), &kv[i].val, &sub)) return -1;
    }
    o->type = MSGPACK_OBJECT_MAP;
    o->via.map.ptr = kv;
    o->via.map.size = (uint32_t)n;
    c->depth--;
    return 0;
}

static int conv_array(conv *c, json_t *j, msgpack_object *o, const jpath *p)
{
    if (enter(c, p)) return -1;
    size_t n = json_array_size(j);
    msgpack_object *a = zalloc(c, n * sizeof *a);
    for (size_t i = 0; i < n; i++) {
        jpath sub = { p, NULL, 0, i };
        if (conv_value(c, json_array_get(j, i), &a[i], &sub)) return -1;
    }
    o->type = MSGPACK_OBJECT_ARRAY;
    o->via.array.ptr = a;
    o->via.array.size = (uint32_t)n;
    c->depth--;
    return 0;
}

/* {"$map": [[key, value], ...]}: a map with any keys. */
static int conv_pairs(conv *c, json_t *j, msgpack_object *o, const jpath *p)
{
    if (enter(c, p)) return -1;
    size_t n = json_array_size(j);
    msgpack_object_kv *kv = zalloc(c, n * sizeof *kv);
    for (size_t i = 0; i < n; i++) {
        json_t *pair = json_array_get(j, i);
        jpath sub = { p, NULL, 0, i };
        if (!json_is_array(pair) || json_array_size(pair) != 2)
            return fail(c, &sub, "\"$map\" with an array needs [key, value] pairs");
        jpath k = { &sub, NULL, 0, 0 }, v = { &sub, NULL, 0, 1 };
        if (conv_value(c, json_array_get(pair, 0), &kv[i].key, &k) ||
            conv_value(c, json_array_get(pair, 1), &kv[i].val, &v))
            return -1;
    }
    o->type = MSGPACK_OBJECT_MAP;
    o->via.map.ptr = kv;
    o->via.map.size = (uint32_t)n;
    c->depth--;
    return 0;
}

static int conv_base64(conv *c, json_t *j, const char **ptr, uint32_t *size, const jpath *p,
                       const char *tag)
{
    if (!json_is_string(j)) return fail(c, p, "\"%s\" needs a base64 string, not %s", tag,
                                        json_is_object(j) ? "an object" : "another type");
    const char *s = json_string_value(j);
    size_t n = json_string_length(j), bad;
    if (n / 4 * 3 > UINT32_MAX) return fail(c, p, "\"%s\": too long for msgpack", tag);
    char *out = zalloc(c, n / 4 * 3);
    long len = sr_base64_decode(out, s, n, &bad);
    if (len < 0) {
        if (bad >= n) return fail(c, p, "\"%s\": base64 text of %zu characters, not a multiple of 4", tag, n);
        return fail(c, p, "\"%s\": not base64 (character %zu)", tag, bad + 1);
    }
    *ptr = out;
    *size = (uint32_t)len;
    return 0;
}

/* The payload of "$f32" / "$f64": a number, or "nan", "-nan", "inf", "-inf". */
static int conv_float(conv *c, json_t *j, double *d, const jpath *p, const char *tag)
{
    if (json_is_integer(j)) {
        msgpack_object v;
        conv_int(c, j, &v);
        *d = v.type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (double)v.via.u64 : (double)v.via.i64;
        return 0;
    }
    if (json_is_real(j)) { *d = json_real_value(j); return 0; }
    const char *s = json_string_value(j);
    if (s && strcmp(s, "nan") == 0) *d = NAN;
    else if (s && strcmp(s, "-nan") == 0) *d = copysign(NAN, -1.0);
    else if (s && strcmp(s, "inf") == 0) *d = INFINITY;
    else if (s && strcmp(s, "-inf") == 0) *d = -INFINITY;
    else return fail(c, p, "\"%s\" needs a number or \"nan\", \"-nan\", \"inf\", \"-inf\"", tag);
    return 0;
}

static int conv_tag(conv *c, int tag, json_t *v, msgpack_object *o, const jpath *p)
{
    switch (tag) {
    case TAG_BIN:
        o->type = MSGPACK_OBJECT_BIN;
        return conv_base64(c, v, &o->via.bin.ptr, &o->via.bin.size, p, "$bin");
    case TAG_EXT: {
        json_t *t = json_array_get(v, 0);
        if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(t))
            return fail(c, p, "\"$ext\" needs [TYPE, \"<base64>\"]");
        msgpack_object ty;
        conv_int(c, t, &ty);
        if (ty.type == MSGPACK_OBJECT_POSITIVE_INTEGER ? ty.via.u64 > 127 : ty.via.i64 < -128)
            return fail(c, p, "\"$ext\": the type must be in -128..127");
        o->type = MSGPACK_OBJECT_EXT;
        o->via.ext.type = (int8_t)(ty.type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t)ty.via.u64 : ty.via.i64);
        return conv_base64(c, json_array_get(v, 1), &o->via.ext.ptr, &o->via.ext.size, p, "$ext");
    }
    case TAG_F32: {
        double d;
        if (conv_float(c, v, &d, p, "$f32")) return -1;
        if (isfinite(d) && isinf((float)d)) return fail(c, p, "\"$f32\": %g is beyond float32's range", d);
        o->type = MSGPACK_OBJECT_FLOAT32;
        o->via.f64 = (double)(float)d;
        return 0;
    }
    case TAG_F64:
        o->type = MSGPACK_OBJECT_FLOAT64;
        return conv_float(c, v, &o->via.f64, p, "$f64");
    case TAG_MAP:
        if (json_is_object(v)) return conv_object(c, v, o, p);
        if (json_is_array(v)) return conv_pairs(c, v, o, p);
        return fail(c, p, "\"$map\" needs an object or an array of [key, value] pairs");
    }
    return fail(c, p, "internal: tag %d", tag);
}

static int conv_value(conv *c, json_t *j, msgpack_object *o, const jpath *p)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        if (json_object_size(j) == 1) {
            void *it = json_object_iter(j);
            int tag = tag_of(json_object_iter_key(it), json_object_iter_key_len(it));
            if (tag != TAG_NONE) return conv_tag(c, tag, json_object_iter_value(it), o, p);
        }
        return conv_object(c, j, o, p);
    case JSON_ARRAY: return conv_array(c, j, o, p);
    case JSON_STRING: set_str(c, o, json_string_value(j), json_string_length(j)); return 0;
    case JSON_INTEGER: conv_int(c, j, o); return 0;
    case JSON_REAL:
        o->type = MSGPACK_OBJECT_FLOAT64;
        o->via.f64 = json_real_value(j);
        return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        o->type = MSGPACK_OBJECT_BOOLEAN;
        o->via.boolean = json_is_true(j);
        return 0;
    case JSON_NULL: o->type = MSGPACK_OBJECT_NIL; return 0;
    }
    return fail(c, p, "internal: JSON type %d", (int)json_typeof(j));
}

/* jansson quotes the input near an error; keep the message printable UTF-8,
 * and say "line" where jansson (reading one line) says "file". */
static void clean_message(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n && o + 1 < cap;) {
        size_t ok = sr_utf8_valid_prefix(in + i, n - i);
        for (size_t k = 0; k < ok && o + 1 < cap; k++) {
            unsigned char ch = (unsigned char)in[i + k];
            out[o++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
        }
        i += ok;
        if (i < n) { out[o++] = '?'; i++; }
    }
    out[o] = 0;
    char *eof = strstr(out, "end of file");
    if (eof && o - (size_t)(eof - out) == 11) memcpy(eof + 7, "line", 5);
}

int sr_json_to_msgpack(const char *text, size_t n, msgpack_zone *zone, msgpack_object *out,
                       char *err, size_t errlen)
{
    big_ints big = { 0 };
    find_big_ints(text, n, &big);
    char *copy = NULL;
    if (big.n) {
        copy = malloc(n);
        if (!copy) sr_die(SR_EXIT_FAIL, "out of memory");
        memcpy(copy, text, n);
        for (size_t i = 0; i < big.n; i++) {
            copy[big.v[i].pos] = '0';
            memset(copy + big.v[i].pos + 1, ' ', big.v[i].len - 1);
        }
    }
    json_error_t je;
    json_t *j = json_loadb(copy ? copy : text, n, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &je);
    free(copy);
    int rc = -1;
    if (!j) {
        char msg[JSON_ERROR_TEXT_LENGTH * 2];
        clean_message(je.text, msg, sizeof msg);
        snprintf(err, errlen, "column %d: %s", je.column, msg);
    } else if (!json_is_object(j)) {
        snprintf(err, errlen, "not an object but an array (a record is a JSON object)");
    } else {
        conv c = { zone, &big, 0, 0, 0, err, errlen };
        rc = conv_value(&c, j, out, NULL);
        if (rc == 0 && out->type != MSGPACK_OBJECT_MAP) {
            snprintf(err, errlen, "a tagged value holding %s, not a record (a map)", sr_type_name(out));
            rc = -1;
        }
        for (uint32_t i = 0; rc == 0 && i < out->via.map.size; i++)
            if (out->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR) {
                snprintf(err, errlen, "key %u is %s, not a string (a record's keys are strings)", i + 1,
                         sr_type_name(&out->via.map.ptr[i].key));
                rc = -1;
            }
    }
    json_decref(j);
    free(big.v);
    return rc;
}

void sr_json_member_num(sr_jbuf *out, const char *key, double v, int more)
{
    sr_jbuf_putc(out, '"');
    sr_jbuf_put(out, key, strlen(key));
    sr_jbuf_put(out, "\":", 2);
    if (isnan(v)) sr_jbuf_put(out, "null", 4);
    else sr_json_double(out, v);
    if (more) sr_jbuf_putc(out, ',');
}

void sr_json_member_int(sr_jbuf *out, const char *key, uint64_t v, int more)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    sr_jbuf_putc(out, '"');
    sr_jbuf_put(out, key, strlen(key));
    sr_jbuf_put(out, "\":", 2);
    sr_jbuf_put(out, buf, (size_t)n);
    if (more) sr_jbuf_putc(out, ',');
}
