/* sr-join — join two record streams on a key, as join(1) joins lines: one
 * record per key value both sides hold, the fields named by --field kept
 * once per side (FIELD_a, FIELD_b), the keys the two sides agree on kept
 * once. The pipeline joins two models' answers to the held-out prompts into
 * the {id, prompt, response_a, response_b} records sr-judge --pairwise reads.
 * Every record of B is read first; A is then streamed in its own order. A
 * key value on one side only is counted and reported, never dropped
 * silently (--strict: it is bad input). */
#include <stdlib.h>
#include <string.h>

#include "io/cli.h"
#include "io/groupby.h"
#include "io/record.h"

#define MAX_FIELDS 16

typedef struct opts {
    const char *key, *fields;
    bool strict, quiet;
    char *field[MAX_FIELDS];
    size_t n_fields;
    char *fields_buf;       /* the names point into it */
} opts;

typedef struct side {
    const char *path;
    sr_groups *g;
    size_t *order;          /* group indices sorted by key, for lookups */
    bool *used;             /* per group: joined */
} side;

static const sr_groups *sort_groups;

static int cmp_str(sr_str a, sr_str b)
{
    int c = memcmp(a.p, b.p, a.n < b.n ? a.n : b.n);
    return c ? c : (a.n > b.n) - (a.n < b.n);
}

static int cmp_group(const void *x, const void *y)
{
    return cmp_str(sr_groups_key(sort_groups, *(const size_t *)x),
                   sr_groups_key(sort_groups, *(const size_t *)y));
}

/* --field F1,F2,...: at most MAX_FIELDS names, none empty, none the key. */
static void split_fields(opts *o)
{
    char *s = o->fields_buf = strdup(o->fields), *save = NULL;
    if (!s) sr_die(SR_EXIT_FAIL, "out of memory");
    for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (o->n_fields == MAX_FIELDS) sr_usage_error("--field: at most %d names", MAX_FIELDS);
        if (!strcmp(t, o->key) || !strcmp(t, "id"))
            sr_usage_error("--field %s: the key and id are not fields of one side", t);
        o->field[o->n_fields++] = t;
    }
    if (!o->n_fields) sr_usage_error("--field: no field named");
}

/* A record's key (a string) and every --field: true, or false after
 * reporting it bad (exit 3, or skipped under --skip-bad). */
static bool check(const opts *o, const sr_rec *rec, const char *path, sr_str *key)
{
    int rc = sr_get_str(rec, o->key, key);
    if (rc != 1) {
        sr_rec_bad(rec, o->key, "in %s: %s", path, rc == 0 ? "missing (the join key)"
                   : "expected a string (the join key)");
        return false;
    }
    for (size_t i = 0; i < o->n_fields; i++)
        if (!sr_rec_get(rec, o->field[i])) {
            sr_rec_bad(rec, o->field[i], "in %s: missing (a --field)", path);
            return false;
        }
    return true;
}

/* Read a side whole, grouped by key; a key value twice on one side is bad
 * input (which of the two would be joined?), the first one kept. */
static void read_side(sr_cli *cli, const opts *o, side *s)
{
    s->g = sr_groups_new();
    sr_reader *in = sr_reader_open_path(cli, s->path);
    sr_rec rec;
    sr_str key;
    while (sr_read(in, &rec))
        if (check(o, &rec, s->path, &key)) sr_groups_add(s->g, &rec, key);
    sr_reader_close(in);
    size_t n = sr_groups_count(s->g);
    s->order = malloc((n ? n : 1) * sizeof *s->order);
    s->used = calloc(n ? n : 1, sizeof *s->used);
    if (!s->order || !s->used) sr_die(SR_EXIT_FAIL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t m;
        sr_rec *const *recs = sr_groups_get(s->g, i, &m);
        if (m > 1)
            sr_rec_bad(recs[1], o->key, "in %s: \"%.*s\" again (first at record %llu); the first is joined",
                       s->path, (int)sr_groups_key(s->g, i).n, sr_groups_key(s->g, i).p,
                       (unsigned long long)recs[0]->index);
        s->order[i] = i;
    }
    sort_groups = s->g;
    qsort(s->order, n, sizeof *s->order, cmp_group);
}

/* The group of side s whose key is k, or -1. */
static long find(const side *s, sr_str k)
{
    size_t lo = 0, hi = sr_groups_count(s->g);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_str(sr_groups_key(s->g, s->order[mid]), k);
        if (!c) return (long)s->order[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* The joined record: a's keys where b agrees, the fields per side, id = key. */
static void write_joined(sr_writer *out, const opts *o, const sr_rec *a, const sr_rec *b, sr_str key)
{
    sr_recb rb;
    sr_recb_init(&rb, a);
    const msgpack_object_map *m = &a->obj.via.map;
    for (uint32_t i = 0; i < m->size; i++) {
        char *name = sr_str_dup((sr_str){ m->ptr[i].key.via.str.ptr, m->ptr[i].key.via.str.size });
        const msgpack_object *bv = sr_rec_get(b, name);
        if (!bv || !msgpack_object_equal(m->ptr[i].val, *bv)) sr_recb_remove(&rb, name);
        free(name);
    }
    char name[256];
    for (size_t i = 0; i < o->n_fields; i++) {
        sr_recb_remove(&rb, o->field[i]);
        snprintf(name, sizeof name, "%s_a", o->field[i]);
        sr_recb_obj(&rb, name, sr_rec_get(a, o->field[i]));
        snprintf(name, sizeof name, "%s_b", o->field[i]);
        sr_recb_obj(&rb, name, sr_rec_get(b, o->field[i]));
    }
    sr_recb_str(&rb, "id", key.p, key.n);
    sr_write(out, &rb);
    sr_recb_free(&rb);
}

/* The keys of one side the other lacks: counted, the first named. */
static void report_unmatched(sr_cli *cli, const opts *o, const side *s, const char *other, size_t n,
                             sr_str first)
{
    if (!n) return;
    if (o->strict)
        sr_cli_bad(cli, "%zu %s values only in %s (first \"%.*s\"), not in %s (--strict)", n, o->key,
                   s->path, (int)first.n, first.p, other);
    else
        sr_warn("%zu %s values only in %s (first \"%.*s\"), not in %s: left out of the join", n, o->key,
                s->path, (int)first.n, first.p, other);
}

static void join(sr_cli *cli, const opts *o, side *a, side *b)
{
    sr_writer *out = sr_writer_open(cli);
    size_t only_a = 0, only_b = 0, joined = 0;
    sr_str first_a = { "", 0 }, first_b = { "", 0 };
    for (size_t i = 0; i < sr_groups_count(a->g); i++) {
        size_t n;
        sr_rec *const *ra = sr_groups_get(a->g, i, &n);
        sr_str key = sr_groups_key(a->g, i);
        long j = find(b, key);
        if (j < 0) {
            if (!only_a++) first_a = key;
            continue;
        }
        b->used[j] = true;
        write_joined(out, o, ra[0], sr_groups_get(b->g, (size_t)j, &n)[0], key);
        joined++;
    }
    for (size_t j = 0; j < sr_groups_count(b->g); j++)
        if (!b->used[j] && !only_b++) first_b = sr_groups_key(b->g, j);
    sr_writer_close(out);
    report_unmatched(cli, o, a, b->path, only_a, first_a);
    report_unmatched(cli, o, b, a->path, only_b, first_b);
    if (!o->quiet)
        sr_warn("%zu joined on %s; %zu only in %s, %zu only in %s", joined, o->key, only_a, a->path,
                only_b, b->path);
}

int main(int argc, char **argv)
{
    opts o = { .key = "prompt_id", .fields = "response" };
    const sr_opt table[] = {
        { "key", 'k', SR_OPT_STR, &o.key, "KEY", "join on this key (a string on every record)", 0, 0 },
        { "field", 'f', SR_OPT_STR, &o.fields, "F[,F...]",
          "fields kept per side, as F_a (from A) and F_b (from B)", 0, 0 },
        { "strict", 0, SR_OPT_FLAG, &o.strict, NULL, "a key value on one side only is bad input (exit 3)", 0, 0 },
        { "quiet", 'q', SR_OPT_FLAG, &o.quiet, NULL, "no summary (one-sided keys are still reported)", 0, 0 },
        SR_OPT_END,
    };
    sr_cli cli = {
        .name = "sr-join",
        .summary = "Join two record streams on a key, one field renamed per side.",
        .usage = "[OPTION]... A B",
        .details = "A and B: msgpack record files (one of them may be -, standard input). Output, in A's\n"
                   "order, one record per key value in both: A's keys that B holds with the same value,\n"
                   "each --field F as F_a and F_b, and id set to the key value. sr-join A B gives\n"
                   "{id, prompt_id, prompt, response_a, response_b} for sr-judge --pairwise.",
    };
    int first = 0, npos = 0;
    sr_cli_parse_pos(&cli, table, argc, argv, 2, &first, &npos);
    if (npos != 2) sr_usage_error("give two record files, A and B (see --help)");
    if (cli.input) sr_usage_error("-i does not apply: A and B are the inputs");
    if (!strcmp(argv[first], "-") && !strcmp(argv[first + 1], "-"))
        sr_usage_error("A and B cannot both be standard input");
    split_fields(&o);
    side a = { .path = argv[first] }, b = { .path = argv[first + 1] };
    read_side(&cli, &o, &b);
    read_side(&cli, &o, &a);
    join(&cli, &o, &a, &b);
    sr_cli_finish(&cli);
    sr_groups_free(a.g);
    sr_groups_free(b.g);
    free(a.order); free(a.used); free(b.order); free(b.used); free(o.fields_buf);
    return SR_EXIT_OK;
}
