/* headtohead.c — the head-to-head report over pairwise verdicts
 * (headtohead.h). */
#include "sr/headtohead.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "io/json.h"
#include "io/outfile.h"
#include "io/record.h"
#include "sr/verdict.h"
#include "sr/winrate.h"

typedef struct h2h_read {
    sr_h2h *x;
    size_t n, cap;
    uint64_t none, both, disagree;    /* nil verdicts; records with both orders' verdicts, and those differing */
} h2h_read;

/* A verdict field: 1 with *v (SR_VERDICT_NONE for nil), 0 after sr_rec_bad. */
static int get_verdict(const sr_rec *rec, const char *key, const msgpack_object *o, sr_verdict *v)
{
    if (o->type == MSGPACK_OBJECT_NIL) { *v = SR_VERDICT_NONE; return 1; }
    if (o->type == MSGPACK_OBJECT_STR) {
        *v = sr_verdict_parse(o->via.str.ptr, o->via.str.size);
        if (*v != SR_VERDICT_NONE) return 1;
    }
    sr_rec_bad(rec, key, "expected \"a\", \"b\", \"tie\" or nil, got %s", sr_type_name(o));
    return 0;
}

/* The optional verdicts array: counts a disagreement of the two orders. */
static int read_orders(const sr_rec *rec, h2h_read *r)
{
    const msgpack_object *o = sr_rec_get(rec, "verdicts");
    if (!o) return 1;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2) {
        sr_rec_bad(rec, "verdicts", "expected an array of the two orders' verdicts");
        return 0;
    }
    sr_verdict v[2];
    for (int k = 0; k < 2; k++)
        if (!get_verdict(rec, "verdicts", &o->via.array.ptr[k], &v[k])) return 0;
    if (v[0] != SR_VERDICT_NONE && v[1] != SR_VERDICT_NONE) {
        r->both++;
        r->disagree += v[0] != v[1];
    }
    return 1;
}

static void read_all(sr_cli *cli, h2h_read *r)
{
    sr_reader *in = sr_reader_open(cli);
    sr_rec rec;
    while (sr_read(in, &rec)) {
        sr_str a, b;
        sr_verdict v;
        const msgpack_object *vo = sr_rec_get(&rec, "verdict");
        if (!vo) { sr_rec_bad(&rec, "verdict", "missing (expected \"a\", \"b\", \"tie\" or nil)"); continue; }
        if (!get_verdict(&rec, "verdict", vo, &v) || !sr_need_str(&rec, "response_a", &a) ||
            !sr_need_str(&rec, "response_b", &b) || !read_orders(&rec, r)) continue;
        if (v == SR_VERDICT_NONE) { r->none++; continue; }
        if (r->n == r->cap) {
            r->cap = r->cap ? 2 * r->cap : 256;
            r->x = realloc(r->x, r->cap * sizeof *r->x);
            if (!r->x) sr_die(SR_EXIT_FAIL, "out of memory");
        }
        r->x[r->n++] = (sr_h2h){ v == SR_VERDICT_A ? 1.0 : v == SR_VERDICT_TIE ? 0.5 : 0.0,
                                 (double)sr_utf8_chars(a.p, a.n), (double)sr_utf8_chars(b.p, b.n) };
    }
    sr_reader_close(in);
}

static int line(char *t, size_t len, const char *name, const sr_interval *v, const char *why)
{
    return snprintf(t, len, "%-14s %5.1f%%  [%5.1f%%, %5.1f%%]%s%s\n", name, 100 * v->value, 100 * v->lo,
                    100 * v->hi, *why ? "  " : "", why);
}

static void report_text(const sr_winrate *w, const h2h_read *r, char *t, size_t len)
{
    size_t o = (size_t)snprintf(t, len, "head-to-head, response_a against response_b: %zu prompts "
                                "(%llu with no verdict left out); 95%% bootstrap intervals\n",
                                w->n, (unsigned long long)r->none);
    o += (size_t)line(t + o, len - o, "win", &w->win, "");
    o += (size_t)line(t + o, len - o, "tie", &w->tie, "");
    o += (size_t)line(t + o, len - o, "loss", &w->loss, "");
    o += (size_t)line(t + o, len - o, "win rate", &w->rate, "(wins + ties / 2)");
    char why[128];
    snprintf(why, sizeof why, "(length-controlled; length slope %+.2f)", w->length_slope);
    o += (size_t)line(t + o, len - o, "LC win rate", &w->lc_rate, why);
    o += (size_t)snprintf(t + o, len - o, "mean length    a %.0f, b %.0f characters\n", w->mean_len_a, w->mean_len_b);
    if (r->both)
        snprintf(t + o, len - o, "position disagreement %.1f%% (%llu of %llu records whose two orders both "
                 "gave a verdict; each counted as a tie)\n", 100.0 * (double)r->disagree / (double)r->both,
                 (unsigned long long)r->disagree, (unsigned long long)r->both);
    else
        snprintf(t + o, len - o, "position disagreement n/a (no record with both orders' verdicts)\n");
}

static void interval_json(sr_jbuf *j, const char *key, const sr_interval *v)
{
    char k[64];
    sr_json_member_num(j, key, v->value, 1);
    snprintf(k, sizeof k, "%s_lo", key);
    sr_json_member_num(j, k, v->lo, 1);
    snprintf(k, sizeof k, "%s_hi", key);
    sr_json_member_num(j, k, v->hi, 1);
}

static void report_json(const sr_winrate *w, const h2h_read *r, const char *path)
{
    sr_jbuf j = { 0 };
    sr_jbuf_putc(&j, '{');
    sr_json_member_int(&j, "prompts", w->n, 1);
    sr_json_member_int(&j, "no_verdict", r->none, 1);
    interval_json(&j, "win", &w->win);
    interval_json(&j, "tie", &w->tie);
    interval_json(&j, "loss", &w->loss);
    interval_json(&j, "win_rate", &w->rate);
    interval_json(&j, "lc_win_rate", &w->lc_rate);
    sr_json_member_num(&j, "length_slope", w->length_slope, 1);
    sr_json_member_num(&j, "mean_length_a", w->mean_len_a, 1);
    sr_json_member_num(&j, "mean_length_b", w->mean_len_b, 1);
    sr_json_member_int(&j, "both_orders", r->both, 1);
    sr_json_member_num(&j, "position_disagreement", r->both ? (double)r->disagree / (double)r->both : NAN, 0);
    sr_jbuf_put(&j, "}\n", 2);
    sr_outfile_put(path, j.p, j.n);
    sr_jbuf_free(&j);
}

void sr_h2h_eval(sr_cli *cli, const char *json_path, uint64_t seed)
{
    h2h_read r = { 0 };
    read_all(cli, &r);
    if (r.n == 0)
        sr_die(SR_EXIT_DATA, "no record with a verdict (%llu with a nil one): nothing to report",
               (unsigned long long)r.none);
    sr_winrate w;
    if (sr_winrate_compute(r.x, r.n, SR_WINRATE_RESAMPLES, seed, &w) < 0) sr_die(SR_EXIT_FAIL, "out of memory");
    free(r.x);
    char text[2048];
    report_text(&w, &r, text, sizeof text);
    if (json_path) report_json(&w, &r, json_path);
    sr_outfile_put(cli->output, text, strlen(text));
}
