/* record.c — reading, checking and writing msgpack record streams.
 *
 * Reading is in two steps. A small framing scanner walks the msgpack headers
 * of the next record to learn its length without decoding it, reading input
 * as it goes; only then is the record decoded by msgpack-c. Framing first is
 * what lets a record over --max-record be skipped (under --skip-bad) without
 * ever holding it in memory, and a truncated stream be told from a short read. */
#include "io/record.h"
#include "io/outfile.h"
#include "base/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the reader ------------------------------------------------------------ */

struct sr_reader {
    sr_cli *cli;
    const char *name;           /* for messages: the path, or NULL for stdin */
    int fd;                     /* -1 for memory input */
    unsigned char *buf;         /* bytes [start, end) are unconsumed input */
    size_t cap, start, end;
    bool owned;                 /* buf is ours (not the caller's memory) */
    bool eof, dead;             /* input exhausted; stream cannot be resynchronised */
    uint64_t index;             /* records framed so far */
    msgpack_unpacked unp;
};

static sr_reader *reader_new(sr_cli *cli)
{
    sr_reader *r = calloc(1, sizeof *r);
    if (!r) sr_die(SR_EXIT_FAIL, "out of memory");
    r->cli = cli;
    r->fd = -1;
    msgpack_unpacked_init(&r->unp);
    return r;
}

sr_reader *sr_reader_open_path(sr_cli *cli, const char *path)
{
    sr_reader *r = reader_new(cli);
    if (!path || strcmp(path, "-") == 0) {
        r->fd = STDIN_FILENO;
    } else {
        r->name = path;
        r->fd = open(path, O_RDONLY);
        if (r->fd < 0) sr_die(SR_EXIT_FAIL, "cannot open %s: %s", path, strerror(errno));
    }
    r->cap = 1 << 16;
    r->buf = malloc(r->cap);
    r->owned = true;
    if (!r->buf) sr_die(SR_EXIT_FAIL, "out of memory");
    return r;
}

sr_reader *sr_reader_open(sr_cli *cli) { return sr_reader_open_path(cli, cli->input); }

sr_reader *sr_reader_open_mem(sr_cli *cli, const void *buf, size_t len)
{
    sr_reader *r = reader_new(cli);
    r->buf = (unsigned char *)buf;
    r->cap = r->end = len;
    r->eof = true;
    return r;
}

void sr_reader_close(sr_reader *r)
{
    if (!r) return;
    if (r->fd > STDIN_FILENO) close(r->fd);
    if (r->owned) free(r->buf);
    msgpack_unpacked_destroy(&r->unp);
    free(r);
}

/* Read more input after end, growing the buffer to hold at least `need`
 * unconsumed bytes. Returns bytes read (0 at end of input). */
static size_t fill(sr_reader *r, size_t need)
{
    if (r->eof) return 0;
    if (r->start > 0 && (r->start == r->end || r->cap - r->end < (1 << 15))) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (need > r->cap - r->start || r->cap - r->end < (1 << 12)) {
        size_t cap = r->cap;
        while (cap - r->start < need || cap - r->end < (1 << 12)) cap *= 2;
        unsigned char *nb = realloc(r->buf, cap);
        if (!nb) sr_die(SR_EXIT_FAIL, "out of memory (a %zu-byte record)", need);
        r->buf = nb;
        r->cap = cap;
    }
    for (;;) {
        ssize_t got = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (got > 0) { r->end += (size_t)got; return (size_t)got; }
        if (got == 0) { r->eof = true; return 0; }
        if (errno == EINTR) continue;
        sr_die(SR_EXIT_FAIL, "read %s: %s", r->name ? r->name : "standard input", strerror(errno));
    }
}

/* The framing scanner. It works on bytes from r->start, `pos` being the
 * offset of the next header and `pending` the number of objects still to
 * walk; both survive across reads, so a record is scanned once however it
 * arrives. In `discard` mode (a record over the limit, being skipped) bytes
 * behind pos are dropped as it goes and `dropped` counts them. */
typedef struct scan { uint64_t pos, pending, dropped; bool discard; } scan;

enum { SCAN_DONE = 1, SCAN_MORE = 0, SCAN_BAD = -1 };

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

static int scan_step(const unsigned char *p, size_t avail, scan *s)
{
    while (s->pending > 0) {
        if (s->pos >= avail) return SCAN_MORE;
        const unsigned char *h = p + s->pos;
        size_t left = avail - s->pos;
        unsigned b = h[0];
        uint64_t hdr = 1, body = 0, children = 0;
        int lenbytes = 0;
        if (b <= 0x7f || b >= 0xe0) {
        } else if (b <= 0x8f) {
            children = 2 * (uint64_t)(b & 0x0f);
        } else if (b <= 0x9f) {
            children = b & 0x0f;
        } else if (b <= 0xbf) {
            body = b & 0x1f;
        } else switch (b) {
        case 0xc0: case 0xc2: case 0xc3: break;
        case 0xc1: return SCAN_BAD;
        case 0xc4: case 0xd9: lenbytes = 1; break;
        case 0xc5: case 0xda: lenbytes = 2; break;
        case 0xc6: case 0xdb: lenbytes = 4; break;
        case 0xc7: lenbytes = 1; hdr = 3; break;           /* ext 8: len, type */
        case 0xc8: lenbytes = 2; hdr = 4; break;
        case 0xc9: lenbytes = 4; hdr = 6; break;
        case 0xca: hdr = 5; break;
        case 0xcb: hdr = 9; break;
        case 0xcc: case 0xd0: hdr = 2; break;
        case 0xcd: case 0xd1: hdr = 3; break;
        case 0xce: case 0xd2: hdr = 5; break;
        case 0xcf: case 0xd3: hdr = 9; break;
        case 0xd4: hdr = 3; break;                          /* fixext 1..16: type + data */
        case 0xd5: hdr = 4; break;
        case 0xd6: hdr = 6; break;
        case 0xd7: hdr = 10; break;
        case 0xd8: hdr = 18; break;
        case 0xdc: case 0xdd: case 0xde: case 0xdf: {
            int nb = (b == 0xdc || b == 0xde) ? 2 : 4;
            if (left < (size_t)1 + nb) return SCAN_MORE;
            uint64_t n = be(h + 1, nb);
            children = (b >= 0xde) ? 2 * n : n;
            hdr = 1 + nb;
            break;
        }
        }
        if (lenbytes) {
            if (left < (size_t)1 + lenbytes) return SCAN_MORE;
            body = be(h + 1, lenbytes);
            if (hdr == 1) hdr = 1 + lenbytes;
        }
        if (left < hdr) return SCAN_MORE;
        s->pos += hdr + body;      /* may point past avail: the body arrives later */
        s->pending += children;
        s->pending--;
    }
    return s->pos <= avail ? SCAN_DONE : SCAN_MORE;   /* the last body may still be on its way */
}

/* "FILE: record N (id "x"): ..." — the same shape as sr_rec_bad's. */
static void fmt_where(const sr_reader *r, const sr_str *id, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void fmt_where(const sr_reader *r, const sr_str *id, char *err, size_t errlen, const char *fmt, ...)
{
    char idpart[100] = "";
    if (id && id->p)
        snprintf(idpart, sizeof idpart, " (id \"%.*s\")", (int)(id->n > 64 ? 64 : id->n), id->p);
    int n = snprintf(err, errlen, "%s%srecord %llu%s: ", r->name ? r->name : "",
                     r->name ? ": " : "", (unsigned long long)r->index, idpart);
    if (n < 0 || (size_t)n >= errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Every string in the record must be UTF-8: keys and values, at any depth. */
static const char *check_strings(const msgpack_object *o, int depth, size_t *bad_at)
{
    switch (o->type) {
    case MSGPACK_OBJECT_STR: {
        size_t k = sr_utf8_valid_prefix(o->via.str.ptr, o->via.str.size);
        if (k != o->via.str.size) { *bad_at = k; return "invalid UTF-8"; }
        return NULL;
    }
    case MSGPACK_OBJECT_ARRAY:
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            const char *e = check_strings(&o->via.array.ptr[i], depth + 1, bad_at);
            if (e) return e;
        }
        return NULL;
    case MSGPACK_OBJECT_MAP:
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const char *e = check_strings(&o->via.map.ptr[i].key, depth + 1, bad_at);
            if (!e) e = check_strings(&o->via.map.ptr[i].val, depth + 1, bad_at);
            if (e) return e;
        }
        return NULL;
    default:
        return NULL;
    }
}

static int validate(sr_reader *r, sr_rec *rec, char *err, size_t errlen)
{
    const msgpack_object *o = &rec->obj;
    if (o->type != MSGPACK_OBJECT_MAP) {
        fmt_where(r, NULL, err, errlen, "not a map but %s (a stream holds one map per record)",
                  sr_type_name(o));
        return -1;
    }
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR) {
            fmt_where(r, NULL, err, errlen, "key %u is %s, not a string", i + 1, sr_type_name(&kv->key));
            return -1;
        }
        if (!rec->id.p && kv->val.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 2 &&
            memcmp(kv->key.via.str.ptr, "id", 2) == 0)
            rec->id = (sr_str){ kv->val.via.str.ptr, kv->val.via.str.size };
    }
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        size_t at = 0;
        const char *e = check_strings(&kv->key, 0, &at);
        if (e) {
            fmt_where(r, NULL, err, errlen, "key %u: %s at byte %zu of the key", i + 1, e, at);
            return -1;
        }
        e = check_strings(&kv->val, 0, &at);
        if (e) {
            int k = (int)(kv->key.via.str.size > 64 ? 64 : kv->key.via.str.size);
            if (kv->val.type == MSGPACK_OBJECT_STR)
                fmt_where(r, &rec->id, err, errlen, "key \"%.*s\": %s at byte %zu", k, kv->key.via.str.ptr, e, at);
            else
                fmt_where(r, &rec->id, err, errlen, "key \"%.*s\": %s in a nested string", k, kv->key.via.str.ptr, e);
            return -1;
        }
    }
    return 0;
}

int sr_reader_next(sr_reader *r, sr_rec *rec, char *err, size_t errlen)
{
    memset(rec, 0, sizeof *rec);
    rec->cli = r->cli;
    if (r->dead) return 0;

    /* Skip nothing at a clean end of input. */
    if (r->start == r->end && fill(r, 1) == 0) return 0;
    r->index++;

    size_t max = r->cli->max_record;
    scan s = { 0, 1, 0, false };
    for (;;) {
        int st = scan_step(r->buf + r->start, r->end - r->start, &s);
        if (st == SCAN_BAD) {
            fmt_where(r, NULL, err, errlen, "malformed msgpack (byte 0xc1 at offset %llu of the record); "
                      "the stream cannot be read past it", (unsigned long long)(s.dropped + s.pos));
            r->dead = true;
            return -1;
        }
        if (st == SCAN_DONE && !s.discard && s.pos <= max) break;
        if (st == SCAN_DONE) {        /* the end of an over-long record: skip it */
            r->start += s.pos;
            fmt_where(r, NULL, err, errlen, "%llu bytes, larger than --max-record %zu",
                      (unsigned long long)(s.dropped + s.pos), max);
            return -1;
        }
        if (s.dropped + s.pos > max && !s.discard) {
            if (!r->cli->skip_bad) {
                fmt_where(r, NULL, err, errlen, "larger than --max-record %zu bytes", max);
                r->dead = true;
                return -1;
            }
            s.discard = true;
        }
        if (s.discard) {              /* drop what is behind pos, keep scanning */
            size_t have = r->end - r->start;
            size_t drop = s.pos < have ? (size_t)s.pos : have;
            r->start += drop;
            s.pos -= drop;
            s.dropped += drop;
        }
        size_t need = s.discard ? 1 << 16 : (size_t)(s.pos + 64 < max + 64 ? s.pos + 64 : max + 64);
        if (fill(r, need) == 0) {
            fmt_where(r, NULL, err, errlen, "truncated: the stream ends %llu bytes into a record",
                      (unsigned long long)(s.dropped + (r->end - r->start)));
            r->start = r->end;
            r->dead = true;
            return -1;
        }
    }

    size_t len = (size_t)s.pos, off = 0;
    msgpack_unpack_return ur = msgpack_unpack_next(&r->unp, (const char *)r->buf + r->start, len, &off);
    r->start += len;
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
        fmt_where(r, NULL, err, errlen, "cannot be decoded (nested too deeply, or malformed)");
        return -1;
    }
    rec->obj = r->unp.data;
    rec->index = r->index;
    return validate(r, rec, err, errlen) ? -1 : 1;
}

bool sr_read(sr_reader *r, sr_rec *rec)
{
    char err[512];
    for (;;) {
        int rc = sr_reader_next(r, rec, err, sizeof err);
        if (rc >= 0) return rc == 1;
        sr_cli_bad(r->cli, "%s", err);
    }
}

/* ---- lookups --------------------------------------------------------------- */

const char *sr_type_name(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "an integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "a float";
    case MSGPACK_OBJECT_STR: return "a string";
    case MSGPACK_OBJECT_ARRAY: return "an array";
    case MSGPACK_OBJECT_MAP: return "a map";
    case MSGPACK_OBJECT_BIN: return "binary data";
    case MSGPACK_OBJECT_EXT: return "an extension value";
    }
    return "an unknown type";
}

const msgpack_object *sr_rec_get(const sr_rec *r, const char *key)
{
    size_t n = strlen(key);
    const msgpack_object_map *m = &r->obj.via.map;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        if (k->via.str.size == n && memcmp(k->via.str.ptr, key, n) == 0) return &m->ptr[i].val;
    }
    return NULL;
}

int sr_get_str(const sr_rec *r, const char *key, sr_str *out)
{
    const msgpack_object *v = sr_rec_get(r, key);
    if (!v) return 0;
    if (v->type != MSGPACK_OBJECT_STR) return -1;
    *out = (sr_str){ v->via.str.ptr, v->via.str.size };
    return 1;
}

int sr_get_i64(const sr_rec *r, const char *key, int64_t *out)
{
    const msgpack_object *v = sr_rec_get(r, key);
    if (!v) return 0;
    switch (v->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (v->via.u64 > INT64_MAX) return -1;
        *out = (int64_t)v->via.u64;
        return 1;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = v->via.i64;
        return 1;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: {
        /* JSON tools write 3.0 for 3; an integral float is accepted. */
        double d = v->via.f64;
        if (!(d >= -9.2e18 && d <= 9.2e18) || d != (double)(int64_t)d) return -1;
        *out = (int64_t)d;
        return 1;
    }
    default:
        return -1;
    }
}

int sr_get_f64(const sr_rec *r, const char *key, double *out)
{
    const msgpack_object *v = sr_rec_get(r, key);
    if (!v) return 0;
    switch (v->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)v->via.u64; return 1;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)v->via.i64; return 1;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: *out = v->via.f64; return 1;
    default: return -1;
    }
}

int sr_get_bool(const sr_rec *r, const char *key, bool *out)
{
    const msgpack_object *v = sr_rec_get(r, key);
    if (!v) return 0;
    if (v->type != MSGPACK_OBJECT_BOOLEAN) return -1;
    *out = v->via.boolean;
    return 1;
}

int sr_get_array(const sr_rec *r, const char *key, const msgpack_object_array **out)
{
    const msgpack_object *v = sr_rec_get(r, key);
    if (!v) return 0;
    if (v->type != MSGPACK_OBJECT_ARRAY) return -1;
    *out = &v->via.array;
    return 1;
}

void sr_rec_bad(const sr_rec *r, const char *key, const char *fmt, ...)
{
    char where[256], msg[512];
    int idn = (int)(r->id.n > 80 ? 80 : r->id.n);
    if (r->id.p)
        snprintf(where, sizeof where, "record %llu (id \"%.*s\")", (unsigned long long)r->index, idn, r->id.p);
    else
        snprintf(where, sizeof where, "record %llu", (unsigned long long)r->index);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (key)
        sr_cli_bad(r->cli, "%s: key \"%s\": %s", where, key, msg);
    else
        sr_cli_bad(r->cli, "%s: %s", where, msg);
}

static bool need(const sr_rec *r, const char *key, int rc, const char *what)
{
    if (rc == 1) return true;
    if (rc == 0)
        sr_rec_bad(r, key, "missing (expected %s)", what);
    else
        sr_rec_bad(r, key, "expected %s, got %s", what, sr_type_name(sr_rec_get(r, key)));
    return false;
}

bool sr_need_str(const sr_rec *r, const char *key, sr_str *out)
{
    return need(r, key, sr_get_str(r, key, out), "a string");
}

bool sr_need_i64(const sr_rec *r, const char *key, int64_t *out)
{
    return need(r, key, sr_get_i64(r, key, out), "an integer");
}

bool sr_need_f64(const sr_rec *r, const char *key, double *out)
{
    return need(r, key, sr_get_f64(r, key, out), "a number");
}

char *sr_str_dup(sr_str s)
{
    char *p = malloc(s.n + 1);
    if (!p) sr_die(SR_EXIT_FAIL, "out of memory");
    if (s.n) memcpy(p, s.p, s.n);
    p[s.n] = 0;
    return p;
}

bool sr_str_eq(sr_str s, const char *cstr)
{
    size_t n = strlen(cstr);
    return s.n == n && memcmp(s.p, cstr, n) == 0;
}

/* ---- the record builder ---------------------------------------------------- */

void sr_recb_init(sr_recb *b, const sr_rec *base)
{
    memset(b, 0, sizeof *b);
    b->base = base ? &base->obj : NULL;
    if (!msgpack_zone_init(&b->zone, 4096)) sr_die(SR_EXIT_FAIL, "out of memory");
}

void sr_recb_free(sr_recb *b)
{
    free(b->kv);
    msgpack_zone_destroy(&b->zone);
    memset(b, 0, sizeof *b);
}

static void *zalloc(sr_recb *b, size_t n)
{
    void *p = msgpack_zone_malloc(&b->zone, n ? n : 1);
    if (!p) sr_die(SR_EXIT_FAIL, "out of memory");
    return p;
}

static sr_recb_kv *slot(sr_recb *b, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < b->n; i++)
        if (b->kv[i].key.n == n && memcmp(b->kv[i].key.p, key, n) == 0) {
            b->kv[i].removed = false;
            return &b->kv[i];
        }
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 8;
        b->kv = realloc(b->kv, b->cap * sizeof *b->kv);
        if (!b->kv) sr_die(SR_EXIT_FAIL, "out of memory");
    }
    char *k = zalloc(b, n);
    memcpy(k, key, n);
    b->kv[b->n] = (sr_recb_kv){ { k, n }, { 0 }, false };
    return &b->kv[b->n++];
}

void sr_recb_str(sr_recb *b, const char *key, const char *s, size_t n)
{
    sr_recb_kv *kv = slot(b, key);
    char *p = zalloc(b, n);
    if (n) memcpy(p, s, n);
    kv->val.type = MSGPACK_OBJECT_STR;
    kv->val.via.str.ptr = p;
    kv->val.via.str.size = (uint32_t)n;
}

void sr_recb_cstr(sr_recb *b, const char *key, const char *s) { sr_recb_str(b, key, s, strlen(s)); }

void sr_recb_i64(sr_recb *b, const char *key, int64_t v)
{
    sr_recb_kv *kv = slot(b, key);
    if (v >= 0) {
        kv->val.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        kv->val.via.u64 = (uint64_t)v;
    } else {
        kv->val.type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
        kv->val.via.i64 = v;
    }
}

void sr_recb_f64(sr_recb *b, const char *key, double v)
{
    sr_recb_kv *kv = slot(b, key);
    kv->val.type = MSGPACK_OBJECT_FLOAT64;
    kv->val.via.f64 = v;
}

void sr_recb_bool(sr_recb *b, const char *key, bool v)
{
    sr_recb_kv *kv = slot(b, key);
    kv->val.type = MSGPACK_OBJECT_BOOLEAN;
    kv->val.via.boolean = v;
}

void sr_recb_nil(sr_recb *b, const char *key)
{
    slot(b, key)->val.type = MSGPACK_OBJECT_NIL;
}

static void deep_copy(sr_recb *b, msgpack_object *dst, const msgpack_object *src)
{
    *dst = *src;
    switch (src->type) {
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN: {
        char *p = zalloc(b, src->via.str.size);
        memcpy(p, src->via.str.ptr, src->via.str.size);
        dst->via.str.ptr = p;
        break;
    }
    case MSGPACK_OBJECT_EXT: {
        char *p = zalloc(b, src->via.ext.size);
        memcpy(p, src->via.ext.ptr, src->via.ext.size);
        dst->via.ext.ptr = p;
        break;
    }
    case MSGPACK_OBJECT_ARRAY: {
        msgpack_object *a = zalloc(b, src->via.array.size * sizeof *a);
        for (uint32_t i = 0; i < src->via.array.size; i++) deep_copy(b, &a[i], &src->via.array.ptr[i]);
        dst->via.array.ptr = a;
        break;
    }
    case MSGPACK_OBJECT_MAP: {
        msgpack_object_kv *m = zalloc(b, src->via.map.size * sizeof *m);
        for (uint32_t i = 0; i < src->via.map.size; i++) {
            deep_copy(b, &m[i].key, &src->via.map.ptr[i].key);
            deep_copy(b, &m[i].val, &src->via.map.ptr[i].val);
        }
        dst->via.map.ptr = m;
        break;
    }
    default:
        break;
    }
}

void sr_recb_obj(sr_recb *b, const char *key, const msgpack_object *v)
{
    sr_recb_kv *kv = slot(b, key);
    deep_copy(b, &kv->val, v);
}

void sr_recb_f64_array(sr_recb *b, const char *key, const double *v, size_t n)
{
    sr_recb_kv *kv = slot(b, key);
    msgpack_object *a = zalloc(b, n * sizeof *a);
    for (size_t i = 0; i < n; i++) {
        a[i].type = MSGPACK_OBJECT_FLOAT64;
        a[i].via.f64 = v[i];
    }
    kv->val.type = MSGPACK_OBJECT_ARRAY;
    kv->val.via.array.ptr = a;
    kv->val.via.array.size = (uint32_t)n;
}

void sr_recb_i32_array(sr_recb *b, const char *key, const int32_t *v, size_t n)
{
    sr_recb_kv *kv = slot(b, key);
    msgpack_object *a = zalloc(b, n * sizeof *a);
    for (size_t i = 0; i < n; i++) {
        a[i].type = v[i] < 0 ? MSGPACK_OBJECT_NEGATIVE_INTEGER : MSGPACK_OBJECT_POSITIVE_INTEGER;
        if (v[i] < 0) a[i].via.i64 = v[i];
        else a[i].via.u64 = (uint64_t)v[i];
    }
    kv->val.type = MSGPACK_OBJECT_ARRAY;
    kv->val.via.array.ptr = a;
    kv->val.via.array.size = (uint32_t)n;
}

void sr_recb_remove(sr_recb *b, const char *key)
{
    slot(b, key)->removed = true;
}

/* ---- the writer ------------------------------------------------------------ */

struct sr_writer {
    sr_outfile out;
    msgpack_packer pk;
    uint64_t count;
};

static int pack_write(void *data, const char *buf, size_t len)
{
    sr_writer *w = data;
    sr_outfile_write(&w->out, buf, len);
    return 0;
}

sr_writer *sr_writer_open_path(const char *path)
{
    sr_writer *w = calloc(1, sizeof *w);
    if (!w) sr_die(SR_EXIT_FAIL, "out of memory");
    sr_outfile_open(&w->out, path);
    msgpack_packer_init(&w->pk, w, pack_write);
    return w;
}

sr_writer *sr_writer_open(sr_cli *cli) { return sr_writer_open_path(cli->output); }

static const sr_recb_kv *find_kv(const sr_recb *b, const msgpack_object *key)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->kv[i].key.n == key->via.str.size &&
            memcmp(b->kv[i].key.p, key->via.str.ptr, key->via.str.size) == 0)
            return &b->kv[i];
    return NULL;
}

static bool in_base(const sr_recb *b, sr_str key)
{
    if (!b->base) return false;
    const msgpack_object_map *m = &b->base->via.map;
    for (uint32_t i = 0; i < m->size; i++)
        if (m->ptr[i].key.via.str.size == key.n && memcmp(m->ptr[i].key.via.str.ptr, key.p, key.n) == 0)
            return true;
    return false;
}

void sr_write(sr_writer *w, const sr_recb *b)
{
    const msgpack_object_map *m = b->base ? &b->base->via.map : NULL;
    uint32_t n = 0;
    for (uint32_t i = 0; m && i < m->size; i++) {
        const sr_recb_kv *kv = find_kv(b, &m->ptr[i].key);
        n += !(kv && kv->removed);
    }
    for (size_t i = 0; i < b->n; i++)
        n += !b->kv[i].removed && !in_base(b, b->kv[i].key);

    msgpack_pack_map(&w->pk, n);
    for (uint32_t i = 0; m && i < m->size; i++) {
        const sr_recb_kv *kv = find_kv(b, &m->ptr[i].key);
        if (kv && kv->removed) continue;
        msgpack_pack_object(&w->pk, m->ptr[i].key);
        msgpack_pack_object(&w->pk, kv ? kv->val : m->ptr[i].val);
    }
    for (size_t i = 0; i < b->n; i++) {
        if (b->kv[i].removed || in_base(b, b->kv[i].key)) continue;
        msgpack_pack_str_with_body(&w->pk, b->kv[i].key.p, b->kv[i].key.n);
        msgpack_pack_object(&w->pk, b->kv[i].val);
    }
    w->count++;
}

void sr_write_object(sr_writer *w, const msgpack_object *o)
{
    msgpack_pack_object(&w->pk, *o);
    w->count++;
}

uint64_t sr_writer_count(const sr_writer *w) { return w->count; }

void sr_writer_close(sr_writer *w)
{
    if (!w) return;
    sr_outfile_commit(&w->out);
    free(w);
}
