/* sr-cat — msgpack record streams ⇄ JSON lines, so people and jq can look in.
 *
 *   sr-cat < data.mp                 one compact JSON object per record
 *   sr-cat --from-json < data.jsonl  back to msgpack
 *
 * The JSON mapping (tagged forms for binary, ext, float32, NaN and ±Inf) is
 * in lib/io/json.h and sr-cat(1). */
#include "io/cli.h"
#include "io/json.h"
#include "io/linereader.h"
#include "io/outfile.h"
#include "io/record.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cat_opts {
    bool from_json, pretty, count;
    const char *keys;       /* --keys as given */
    size_t head;            /* records to write at most */
    sr_str *key;            /* --keys, split */
    size_t nkeys;
    msgpack_object_kv *picked;   /* room for the selected members */
} cat_opts;

/* --keys a,b,c: the names, in order (an empty name is the empty key). */
static void split_keys(cat_opts *o)
{
    if (!o->keys) return;
    size_t n = 1;
    for (const char *s = o->keys; *s; s++) n += *s == ',';
    o->key = calloc(n, sizeof *o->key);
    o->picked = calloc(n, sizeof *o->picked);
    if (!o->key || !o->picked) sr_die(SR_EXIT_FAIL, "out of memory");
    const char *s = o->keys;
    for (size_t i = 0; i < n; i++) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        o->key[i] = (sr_str){ s, len };
        s += len + 1;
    }
    o->nkeys = n;
}

/* The record as it is, or only the --keys members (the first of each name, in
 * the order asked; absent ones left out). Shares the record's memory. */
static msgpack_object pick(cat_opts *o, const msgpack_object *rec)
{
    if (!o->nkeys) return *rec;
    const msgpack_object_map *m = &rec->via.map;
    uint32_t n = 0;
    for (size_t k = 0; k < o->nkeys; k++)
        for (uint32_t i = 0; i < m->size; i++) {
            const msgpack_object *key = &m->ptr[i].key;
            if (key->via.str.size == o->key[k].n && memcmp(key->via.str.ptr, o->key[k].p, o->key[k].n) == 0) {
                o->picked[n++] = m->ptr[i];
                break;
            }
        }
    msgpack_object out = { .type = MSGPACK_OBJECT_MAP };
    out.via.map.ptr = o->picked;
    out.via.map.size = n;
    return out;
}

static void write_count(sr_cli *cli, uint64_t n)
{
    sr_outfile out;
    sr_outfile_open(&out, cli->output);
    char line[32];
    int len = snprintf(line, sizeof line, "%llu\n", (unsigned long long)n);
    sr_outfile_write(&out, line, (size_t)len);
    sr_outfile_commit(&out);
}

/* msgpack records in, JSON lines out, through stdio's buffer. */
static void to_json(sr_cli *cli, cat_opts *o)
{
    sr_reader *in = sr_reader_open(cli);
    sr_outfile out;
    if (!o->count) sr_outfile_open(&out, cli->output);
    sr_jbuf text = { 0 };
    sr_rec rec;
    uint64_t n = 0;
    while (n < o->head && sr_read(in, &rec)) {
        n++;
        if (o->count) continue;
        msgpack_object obj = pick(o, &rec.obj);
        sr_json_from_msgpack(&text, &obj, o->pretty ? SR_JSON_PRETTY : 0);
        sr_jbuf_putc(&text, '\n');
        /* Handed to stdio record by record, so that what came before a bad
         * record is still written when sr_read exits on it. */
        sr_outfile_write(&out, text.p, text.n);
        text.n = 0;
    }
    sr_reader_close(in);
    if (o->count) {
        write_count(cli, n);
    } else {
        sr_outfile_commit(&out);
    }
    sr_jbuf_free(&text);
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return false;
    return true;
}

/* JSON lines in, msgpack records out. Blank lines are skipped. */
static void from_json(sr_cli *cli, cat_opts *o)
{
    char err[768], why[512];
    sr_lines *in = sr_lines_open(cli->input, cli->max_record, err, sizeof err);
    if (!in) sr_die(SR_EXIT_FAIL, "%s", err);
    sr_writer *out = o->count ? NULL : sr_writer_open(cli);
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, 1 << 14)) sr_die(SR_EXIT_FAIL, "out of memory");
    const char *line;
    size_t len;
    uint64_t n = 0;
    while (n < o->head) {
        int rc = sr_lines_next(in, &line, &len, err, sizeof err);
        if (rc == SR_LINES_END) break;
        if (rc == SR_LINES_IOERR) sr_die(SR_EXIT_FAIL, "%s", err);
        if (rc == SR_LINES_LONG) { sr_cli_bad(cli, "%s", err); continue; }
        if (rc == SR_LINES_CORRUPT) { sr_cli_bad(cli, "%s", err); break; }   /* the input ends there */
        uint64_t lineno = sr_lines_number(in);
        if (lineno == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {   /* a UTF-8 byte-order mark */
            line += 3;
            len -= 3;
        }
        if (blank(line, len)) continue;
        msgpack_zone_clear(&zone);
        msgpack_object obj;
        if (sr_json_to_msgpack(line, len, &zone, &obj, why, sizeof why)) {
            sr_cli_bad(cli, "%s%sline %llu: %s", cli->input ? cli->input : "", cli->input ? ": " : "",
                       (unsigned long long)lineno, why);
            continue;
        }
        n++;
        if (out) {
            msgpack_object rec = pick(o, &obj);
            sr_write_object(out, &rec);
        }
    }
    sr_lines_close(in);
    msgpack_zone_destroy(&zone);
    if (out) sr_writer_close(out);
    else write_count(cli, n);
}

int main(int argc, char **argv)
{
    sr_cli cli = {
        .name = "sr-cat",
        .summary = "Print a stream of msgpack records as JSON lines, or (--from-json) turn JSON lines "
                   "into records.",
        .details =
            "JSON has no binary data, extension types, float32, NaN or infinities; those are written\n"
            "as one-key objects and read back from them: {\"$bin\": \"<base64>\"}, {\"$ext\": [TYPE,\n"
            "\"<base64>\"]}, {\"$f32\": 0.5}, {\"$f64\": \"nan\"} (also \"-nan\", \"inf\", \"-inf\"). A map\n"
            "whose only key is one of these names, or with keys JSON cannot hold, is written under\n"
            "\"$map\". Integers keep their full 64-bit range; floats are written so they read back\n"
            "to the same value.",
    };
    cat_opts o = { .head = SIZE_MAX };
    const sr_opt opts[] = {
        { "from-json", 0, SR_OPT_FLAG, &o.from_json, NULL, "read JSON lines, write msgpack records", 0, 0 },
        { "pretty", 0, SR_OPT_FLAG, &o.pretty, NULL, "indent the JSON (for reading, not for --from-json)", 0, 0 },
        { "count", 'n', SR_OPT_FLAG, &o.count, NULL, "print only the number of records", 0, 0 },
        { "keys", 0, SR_OPT_STR, &o.keys, "K1,K2,...", "keep only these top-level keys, in this order", 0, 0 },
        { "head", 0, SR_OPT_SIZE, &o.head, "N", "stop after N records", 0, 0 },
        SR_OPT_END,
    };
    sr_cli_parse(&cli, opts, argc, argv);
    if (o.pretty && o.from_json) sr_usage_error("--pretty is for JSON output; --from-json writes msgpack");
    split_keys(&o);

    if (o.from_json) from_json(&cli, &o);
    else to_json(&cli, &o);

    free(o.key);
    free(o.picked);
    sr_cli_finish(&cli);
    return SR_EXIT_OK;
}
