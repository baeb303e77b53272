/* record.h — streams of msgpack records (DESIGN §2).
 *
 * A stream is a concatenation of msgpack maps with string keys. The reader
 * frames one record at a time (any size up to a limit, without buffering
 * more than one record), validates it — a map, string keys, UTF-8 strings —
 * and hands it out as a msgpack_object valid until the next read.
 *
 * Tools keep every key they do not know: an sr_recb ("record builder") starts
 * from the input record, sets or removes the tool's own keys, and writes the
 * rest through unchanged.
 *
 *   sr_reader *in = sr_reader_open(&cli);
 *   sr_writer *out = sr_writer_open(&cli);
 *   sr_rec rec;
 *   while (sr_read(in, &rec)) {
 *       sr_str prompt;
 *       if (!sr_need_str(&rec, "prompt", &prompt)) continue;   // bad: exit 3 or skip
 *       sr_recb b;  sr_recb_init(&b, &rec);
 *       sr_recb_str(&b, "response", text, len);
 *       sr_write(out, &b);  sr_recb_free(&b);
 *   }
 *   sr_writer_close(out);  sr_reader_close(in);  sr_cli_finish(&cli);
 */
#ifndef SR_RECORD_H
#define SR_RECORD_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/cli.h"

typedef struct sr_str { const char *p; size_t n; } sr_str;

typedef struct sr_rec {
    msgpack_object obj;     /* always a map with string keys */
    uint64_t index;         /* 1-based position in the stream */
    sr_str id;              /* the "id" value, or {NULL, 0} */
    sr_cli *cli;            /* for error reporting */
} sr_rec;

/* ---- reading --------------------------------------------------------------- */

typedef struct sr_reader sr_reader;

/* Open cli->input (NULL: stdin). Exits 1 if it cannot be opened. */
sr_reader *sr_reader_open(sr_cli *cli);
/* The same over any path (NULL or "-": stdin), e.g. a second input. */
sr_reader *sr_reader_open_path(sr_cli *cli, const char *path);
/* Read a record from a caller's memory (tests, and tools that build records). */
sr_reader *sr_reader_open_mem(sr_cli *cli, const void *buf, size_t len);
void sr_reader_close(sr_reader *r);

/* The next valid record: true, or false at the end of the stream. A bad
 * record (truncated, not a map, non-string key, invalid UTF-8, too large) is
 * reported through sr_cli_bad: exit 3, or skipped and counted under
 * --skip-bad. A stream that cannot be resynchronised after an error (a
 * truncated or malformed record) ends there. */
bool sr_read(sr_reader *r, sr_rec *rec);

/* The lower level: 1 a record, 0 the end, -1 a bad record with the message in
 * err (the reader has already moved past it, or to the end if it could not). */
int sr_reader_next(sr_reader *r, sr_rec *rec, char *err, size_t errlen);

/* ---- looking up keys ------------------------------------------------------- */

/* The value of key, or NULL when absent. */
const msgpack_object *sr_rec_get(const sr_rec *r, const char *key);

/* Typed lookups. 1: found with the right type; 0: absent; -1: present with
 * the wrong type (or, for integers, out of range). */
int sr_get_str(const sr_rec *r, const char *key, sr_str *out);
int sr_get_i64(const sr_rec *r, const char *key, int64_t *out);   /* integer (or integral float) */
int sr_get_f64(const sr_rec *r, const char *key, double *out);    /* any number */
int sr_get_bool(const sr_rec *r, const char *key, bool *out);
int sr_get_array(const sr_rec *r, const char *key, const msgpack_object_array **out);

/* Required keys: true when present with the right type; otherwise a bad
 * record ("record 12 (id "x"): key "prompt": missing" / "expected a string,
 * got an integer") through sr_cli_bad, and false if it was skipped. */
bool sr_need_str(const sr_rec *r, const char *key, sr_str *out);
bool sr_need_i64(const sr_rec *r, const char *key, int64_t *out);
bool sr_need_f64(const sr_rec *r, const char *key, double *out);

/* Report a bad record, naming its index, id and key (key may be NULL). */
void sr_rec_bad(const sr_rec *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A name for a msgpack type in messages ("an integer", "a string", ...). */
const char *sr_type_name(const msgpack_object *o);

/* A NUL-terminated copy (malloc); exits 1 when out of memory. */
char *sr_str_dup(sr_str s);
bool sr_str_eq(sr_str s, const char *cstr);

/* ---- building and writing -------------------------------------------------- */

typedef struct sr_recb_kv { sr_str key; msgpack_object val; bool removed; } sr_recb_kv;

typedef struct sr_recb {
    const msgpack_object *base;     /* the input record, or NULL */
    sr_recb_kv *kv;                 /* keys set or removed by the tool */
    size_t n, cap;
    msgpack_zone zone;              /* copies of strings and arrays set here */
} sr_recb;

void sr_recb_init(sr_recb *b, const sr_rec *base);   /* base may be NULL */
void sr_recb_free(sr_recb *b);
/* Setters copy their data; setting a key twice keeps the last value. */
void sr_recb_str(sr_recb *b, const char *key, const char *s, size_t n);
void sr_recb_cstr(sr_recb *b, const char *key, const char *s);
void sr_recb_i64(sr_recb *b, const char *key, int64_t v);
void sr_recb_f64(sr_recb *b, const char *key, double v);
void sr_recb_bool(sr_recb *b, const char *key, bool v);
void sr_recb_nil(sr_recb *b, const char *key);
void sr_recb_obj(sr_recb *b, const char *key, const msgpack_object *v);  /* deep copy */
void sr_recb_f64_array(sr_recb *b, const char *key, const double *v, size_t n);
void sr_recb_i32_array(sr_recb *b, const char *key, const int32_t *v, size_t n);   /* token ids */
void sr_recb_remove(sr_recb *b, const char *key);

typedef struct sr_writer sr_writer;

/* Open cli->output (NULL: stdout), atomically for files. Exits 1 on failure. */
sr_writer *sr_writer_open(sr_cli *cli);
sr_writer *sr_writer_open_path(const char *path);
/* Write: the input's keys in their order (values replaced where the tool set
 * them, removed keys left out), then the tool's new keys in the order set. */
void sr_write(sr_writer *w, const sr_recb *b);
/* Write any msgpack object as it is (sr-cat). */
void sr_write_object(sr_writer *w, const msgpack_object *o);
/* Flush and commit (rename into place); exits 1 on failure. */
void sr_writer_close(sr_writer *w);
uint64_t sr_writer_count(const sr_writer *w);

#endif
