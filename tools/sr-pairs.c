/* sr-pairs — preference pairs from judged candidates (METHOD step 4), or
 * with --eft, judge-training examples from judged human-ranked replies
 * (METHOD "Seed data"). Every record is read first: a prompt's candidates
 * may be anywhere in the input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr/agreement.h"
#include "io/cli.h"
#include "io/groupby.h"
#include "base/ids.h"
#include "sr/judge.h"
#include "sr/pairs.h"
#include "io/record.h"
#include "base/utf8.h"

typedef struct opts {
    bool eft, quiet;
    double min_gap;
    const char *length_control;   /* RHO, parsed into rho */
    double rho;
    const char *template_path;
    long seed;
} opts;

/* ---- reading ---------------------------------------------------------------- */

/* "score" and the like: 1 a finite number in *out, 0 nil, -1 bad (reported). */
static int need_score(const sr_rec *r, const char *key, double *out)
{
    const msgpack_object *v = sr_rec_get(r, key);
    if (!v) {
        sr_rec_bad(r, key, "missing (expected a number or nil)");
        return -1;
    }
    if (v->type == MSGPACK_OBJECT_NIL) return 0;
    if (sr_get_f64(r, key, out) != 1) {
        sr_rec_bad(r, key, "expected a number or nil, got %s", sr_type_name(v));
        return -1;
    }
    if (!isfinite(*out)) {
        sr_rec_bad(r, key, "not a finite number");
        return -1;
    }
    return 1;
}

/* An optional integer key: true when absent (*present false) or an integer
 * >= min. */
static bool opt_int(const sr_rec *r, const char *key, int64_t min, int64_t *out, bool *present)
{
    int rc = sr_get_i64(r, key, out);
    *present = rc == 1;
    if (rc == 1 && *out < min) {
        sr_rec_bad(r, key, "%lld is below %lld", (long long)*out, (long long)min);
        return false;
    }
    if (rc == -1) {
        sr_rec_bad(r, key, "expected an integer, got %s", sr_type_name(sr_rec_get(r, key)));
        return false;
    }
    return true;
}

/* The keys both modes need; false when the record is bad (and skipped). */
static bool check_common(const sr_rec *r, sr_str *prompt_id)
{
    sr_str s;
    double d;
    return sr_need_str(r, "id", &s) && sr_need_str(r, "prompt_id", prompt_id) &&
           sr_need_str(r, "prompt", &s) && sr_need_str(r, "response", &s) && need_score(r, "score", &d) >= 0;
}

static bool check_candidate(const sr_rec *r)
{
    int64_t v;
    bool present;
    return opt_int(r, "sample", 0, &v, &present) && opt_int(r, "tokens", 0, &v, &present);
}

/* A judged ranked reply: human_rank, and scores[] and judgements[] of one length. */
static bool check_ranked(const sr_rec *r)
{
    int64_t rank;
    const msgpack_object_array *sc, *ju;
    if (!sr_need_i64(r, "human_rank", &rank)) return false;
    int rs = sr_get_array(r, "scores", &sc), rj = sr_get_array(r, "judgements", &ju);
    if (rs == 0 || rj == 0) {
        sr_rec_bad(r, rs == 0 ? "scores" : "judgements",
                   "missing (expected an array; judge with sr-judge --keep-text)");
        return false;
    }
    if (rs != 1 || rj != 1) {
        const char *key = rs != 1 ? "scores" : "judgements";
        sr_rec_bad(r, key, "expected an array, got %s", sr_type_name(sr_rec_get(r, key)));
        return false;
    }
    if (sc->size != ju->size) {
        sr_rec_bad(r, "judgements", "%u judgements but %u scores", ju->size, sc->size);
        return false;
    }
    for (uint32_t i = 0; i < sc->size; i++) {
        const msgpack_object *o = &sc->ptr[i];
        bool number = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
                      o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64;
        if (!number && o->type != MSGPACK_OBJECT_NIL) {
            sr_rec_bad(r, "scores", "element %u: expected a number or nil, got %s", i, sr_type_name(o));
            return false;
        }
        if (ju->ptr[i].type != MSGPACK_OBJECT_STR) {
            sr_rec_bad(r, "judgements", "element %u: expected a string, got %s", i, sr_type_name(&ju->ptr[i]));
            return false;
        }
    }
    return true;
}

static sr_groups *read_all(sr_cli *cli, bool eft)
{
    sr_groups *g = sr_groups_new();
    sr_reader *in = sr_reader_open(cli);
    sr_rec rec;
    sr_str prompt_id;
    while (sr_read(in, &rec)) {
        if (!check_common(&rec, &prompt_id)) continue;
        if (!(eft ? check_ranked(&rec) : check_candidate(&rec))) continue;
        sr_groups_add(g, &rec, prompt_id);
    }
    sr_reader_close(in);
    return g;
}

static sr_str get_str(const sr_rec *r, const char *key)
{
    sr_str s = { "", 0 };
    sr_get_str(r, key, &s);
    return s;
}

/* The score of a checked record: true with *out, false for nil. */
static bool score_of(const sr_rec *r, double *out) { return sr_get_f64(r, "score", out) == 1; }

/* Scores rounded to the nearest whole point, 0..5, and "other". */
typedef struct histogram { uint64_t bin[7]; } histogram;

static void hist_add(histogram *h, double s)
{
    double r = floor(s + 0.5);
    h->bin[r >= 0 && r <= 5 ? (int)r : 6]++;
}

static void hist_line(const char *title, const uint64_t *bin, int nbins, bool other)
{
    char line[256];
    int n = snprintf(line, sizeof line, "%s", title);
    for (int b = 0; b < nbins && n < (int)sizeof line; b++)
        n += snprintf(line + n, sizeof line - (size_t)n, " %d:%llu", b, (unsigned long long)bin[b]);
    if (other && bin[6] && n < (int)sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, " other:%llu", (unsigned long long)bin[6]);
    sr_warn("%s", line);
}

/* ---- pairs -------------------------------------------------------------------- */

/* The keys of one candidate that do not describe the pair's prompt. */
static const char *const candidate_keys[] = {
    "response", "score", "scores", "judgements", "sample", "finish", "tokens", "human_rank", NULL,
};

static void write_pair(sr_writer *out, const sr_rec *ch, const sr_rec *rj, double ch_score, double rj_score)
{
    sr_str pid = get_str(ch, "prompt_id");
    /* id: XXH64 of prompt_id, chosen id and rejected id, NUL-separated */
    size_t n = pid.n + ch->id.n + rj->id.n + 2;
    char *buf = malloc(n);
    if (!buf) sr_die(SR_EXIT_FAIL, "out of memory");
    memcpy(buf, pid.p, pid.n);
    buf[pid.n] = 0;
    memcpy(buf + pid.n + 1, ch->id.p, ch->id.n);
    buf[pid.n + 1 + ch->id.n] = 0;
    memcpy(buf + pid.n + 2 + ch->id.n, rj->id.p, rj->id.n);
    char hex[17];
    sr_hex64(sr_hash(buf, n, 0), hex);
    free(buf);

    sr_recb b;
    sr_recb_init(&b, ch);    /* the chosen's other keys (system, source, a user's own) pass through */
    for (const char *const *k = candidate_keys; *k; k++) sr_recb_remove(&b, *k);
    sr_str cr = get_str(ch, "response"), rr = get_str(rj, "response");
    sr_recb_cstr(&b, "id", hex);
    sr_recb_str(&b, "chosen", cr.p, cr.n);
    sr_recb_str(&b, "rejected", rr.p, rr.n);
    sr_recb_f64(&b, "chosen_score", ch_score);
    sr_recb_f64(&b, "rejected_score", rj_score);
    sr_recb_str(&b, "chosen_id", ch->id.p, ch->id.n);
    sr_recb_str(&b, "rejected_id", rj->id.p, rj->id.n);
    sr_write(out, &b);
    sr_recb_free(&b);
}

static void run_pairs(sr_groups *g, sr_writer *out, const opts *o)
{
    sr_pick_opts po = { .min_gap = o->min_gap, .rho = o->rho, .length_control = o->length_control != NULL };
    uint64_t records = 0, nil = 0, pairs = 0, drop[4] = { 0 }, tokens_prompts = 0;
    double sum_ch = 0, sum_rj = 0, len_ch = 0, len_rj = 0;
    histogram h = { { 0 } };
    sr_cand *c = NULL;
    const sr_rec **recs = NULL;
    size_t cap = 0;

    for (size_t gi = 0; gi < sr_groups_count(g); gi++) {
        size_t n, m = 0;
        sr_rec *const *all = sr_groups_get(g, gi, &n);
        records += n;
        if (n > cap) {
            cap = n;
            c = realloc(c, cap * sizeof *c);
            recs = realloc(recs, cap * sizeof *recs);
            if (!c || !recs) sr_die(SR_EXIT_FAIL, "out of memory");
        }
        bool all_tokens = true;
        for (size_t i = 0; i < n; i++) {
            double s;
            if (!score_of(all[i], &s)) { nil++; continue; }
            hist_add(&h, s);
            int64_t v;
            c[m] = (sr_cand){ .score = s, .sample = SR_NO_SAMPLE, .id = all[i]->id, .order = i };
            if (sr_get_i64(all[i], "sample", &v) == 1) c[m].sample = v;
            all_tokens &= sr_get_i64(all[i], "tokens", &v) == 1;
            recs[m++] = all[i];
        }
        /* Length: tokens when every candidate of the prompt has them, else characters. */
        for (size_t i = 0; i < m; i++) {
            int64_t t;
            sr_str resp = get_str(recs[i], "response");
            c[i].length = all_tokens && sr_get_i64(recs[i], "tokens", &t) == 1 ? (uint64_t)t
                                                                                  : sr_utf8_chars(resp.p, resp.n);
        }
        tokens_prompts += all_tokens && m > 0;
        size_t ch, rj;
        enum sr_pick r = sr_pairs_pick(c, m, &po, &ch, &rj);
        if (r != SR_PICK_OK) { drop[r]++; continue; }
        write_pair(out, recs[ch], recs[rj], c[ch].score, c[rj].score);
        pairs++;
        sum_ch += c[ch].score;
        sum_rj += c[rj].score;
        sr_str a = get_str(recs[ch], "response"), b = get_str(recs[rj], "response");
        len_ch += (double)sr_utf8_chars(a.p, a.n);
        len_rj += (double)sr_utf8_chars(b.p, b.n);
    }
    free(c);
    free(recs);
    sr_writer_close(out);     /* first: a reader that stopped early ends us here, quietly */
    if (o->quiet) return;
    sr_warn("%llu candidates (%llu nil scores), %zu prompts: %llu pairs; dropped: ties %llu, "
            "fewer than 2 scored %llu, gap %llu",
            (unsigned long long)records, (unsigned long long)nil, sr_groups_count(g),
            (unsigned long long)pairs, (unsigned long long)drop[SR_PICK_TIE],
            (unsigned long long)drop[SR_PICK_SINGLE], (unsigned long long)drop[SR_PICK_GAP]);
    hist_line("candidate scores (rounded):", h.bin, 6, true);
    if (pairs)
        sr_warn("pairs: mean score chosen %.3g, rejected %.3g; mean length chosen %.0f, rejected %.0f characters",
                sum_ch / (double)pairs, sum_rj / (double)pairs, len_ch / (double)pairs, len_rj / (double)pairs);
    if (po.length_control)
        sr_warn("length control %g: lengths in tokens for %llu prompts, characters for the rest", o->rho,
                (unsigned long long)tokens_prompts);
}

/* ---- EFT ------------------------------------------------------------------------ */

typedef struct eft_item {
    const sr_rec *reply;
    uint32_t j;              /* which judgement */
    int score;
    char id[17];
} eft_item;

/* The keys of a judged ranked reply that an EFT example does not keep.
 * system: the judge prompt is one user turn, with no system turn. */
static const char *const reply_keys[] = {
    "human_rank", "scores", "judgements", "sample", "finish", "tokens", "system", NULL,
};

enum { NO_SCORE = -1, OFF_SCALE = -2 };

/* One element of scores[]: its bucket 0..5, NO_SCORE for nil (the judge
 * wrote no parsable score), OFF_SCALE for a number that is not a whole
 * point of the rubric. */
static int judgement_score(const msgpack_object *v)
{
    double d;
    switch (v->type) {
    case MSGPACK_OBJECT_NIL: return NO_SCORE;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: d = (double)v->via.u64; break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: d = (double)v->via.i64; break;
    default: d = v->via.f64; break;
    }
    return d >= 0 && d <= 5 && d == floor(d) ? (int)d : OFF_SCALE;
}

static void write_example(sr_writer *out, const eft_item *it, const sr_judge_tmpl *t)
{
    const sr_rec *r = it->reply;
    sr_str prompt = get_str(r, "prompt"), response = get_str(r, "response");
    const msgpack_object_array *ju;
    sr_get_array(r, "judgements", &ju);
    const msgpack_object *text = &ju->ptr[it->j];
    size_t len;
    char *jp = sr_judge_render(t, prompt.p, prompt.n, response.p, response.n, &len);
    if (!jp) sr_die(SR_EXIT_FAIL, "out of memory");

    sr_recb b;
    sr_recb_init(&b, r);
    for (const char *const *k = reply_keys; *k; k++) sr_recb_remove(&b, *k);
    sr_recb_cstr(&b, "id", it->id);
    sr_recb_str(&b, "prompt", jp, len);
    sr_recb_str(&b, "response", text->via.str.ptr, text->via.str.size);
    sr_recb_i64(&b, "score", it->score);
    sr_recb_cstr(&b, "source", "eft");
    sr_recb_str(&b, "reply_id", r->id.p, r->id.n);
    sr_write(out, &b);
    sr_recb_free(&b);
    free(jp);
}

static void run_eft(sr_groups *g, sr_writer *out, const opts *o, const sr_judge_tmpl *t)
{
    uint64_t replies = 0, nil = 0, agree_p = 0, disagree_p = 0, unchecked_p = 0;
    uint64_t judgements = 0, unparsed = 0, offscale = 0;
    eft_item *items = NULL;
    size_t nitems = 0, icap = 0, cap = 0;
    int64_t *rank = NULL;
    double *score = NULL;
    const sr_rec **recs = NULL;

    for (size_t gi = 0; gi < sr_groups_count(g); gi++) {
        size_t n, m = 0;
        sr_rec *const *all = sr_groups_get(g, gi, &n);
        replies += n;
        if (n > cap) {
            cap = n;
            rank = realloc(rank, cap * sizeof *rank);
            score = realloc(score, cap * sizeof *score);
            recs = realloc(recs, cap * sizeof *recs);
            if (!rank || !score || !recs) sr_die(SR_EXIT_FAIL, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            const msgpack_object_array *sc;
            sr_get_array(all[i], "scores", &sc);
            judgements += sc->size;
            for (uint32_t j = 0; j < sc->size; j++) {
                int s = judgement_score(&sc->ptr[j]);
                unparsed += s == NO_SCORE;
                offscale += s == OFF_SCALE;
            }
            if (!score_of(all[i], &score[m])) { nil++; continue; }
            sr_get_i64(all[i], "human_rank", &rank[m]);
            recs[m++] = all[i];
        }
        /* Keep the prompt when every pair of scored replies with different
         * human ranks is ordered the same way by mean score (a score tie
         * disagrees); replies with no score are left out of the check. */
        size_t agree, pairs = sr_agree_pairs(rank, score, m, &agree, NULL);
        bool keep = pairs > 0 && agree == pairs;
        if (pairs == 0) unchecked_p++;
        else if (keep) agree_p++;
        else disagree_p++;

        for (size_t i = 0; i < m; i++) {
            const msgpack_object_array *sc;
            sr_get_array(recs[i], "scores", &sc);
            for (uint32_t j = 0; keep && j < sc->size; j++) {
                int d = judgement_score(&sc->ptr[j]);
                if (d < 0) continue;
                if (nitems == icap) {
                    icap = icap ? 2 * icap : 256;
                    items = realloc(items, icap * sizeof *items);
                    if (!items) sr_die(SR_EXIT_FAIL, "out of memory");
                }
                eft_item *it = &items[nitems++];
                *it = (eft_item){ recs[i], j, d, "" };
                /* id: XXH64 of the reply id with the judgement index as the seed */
                sr_hex64(sr_hash(recs[i]->id.p, recs[i]->id.n, j), it->id);
            }
        }
    }

    int *bucket = malloc((nitems ? nitems : 1) * sizeof *bucket);
    uint64_t *key = malloc((nitems ? nitems : 1) * sizeof *key);
    bool *keep = malloc((nitems ? nitems : 1) * sizeof *keep);
    if (!bucket || !key || !keep) sr_die(SR_EXIT_FAIL, "out of memory");
    for (size_t i = 0; i < nitems; i++) {
        bucket[i] = items[i].score;
        key[i] = sr_hash(items[i].id, 16, (uint64_t)o->seed);
    }
    sr_eft_balance st;
    if (sr_eft_balance_keep(bucket, key, nitems, keep, &st)) sr_die(SR_EXIT_FAIL, "out of memory");
    uint64_t written = 0;
    for (size_t i = 0; i < nitems; i++)
        if (keep[i]) {
            write_example(out, &items[i], t);
            written++;
        }
    free(bucket);
    free(key);
    free(keep);
    free(items);
    free(rank);
    free(score);
    free(recs);
    sr_writer_close(out);
    if (o->quiet) return;
    sr_warn("--eft: %llu replies (%llu nil scores), %zu prompts: agreeing %llu, disagreeing %llu, "
            "unchecked %llu (no two scored replies with different ranks)",
            (unsigned long long)replies, (unsigned long long)nil, sr_groups_count(g), (unsigned long long)agree_p,
            (unsigned long long)disagree_p, (unsigned long long)unchecked_p);
    sr_warn("--eft: %llu judgements: unparsed %llu, off the 0..5 scale %llu; %zu from agreeing prompts",
            (unsigned long long)judgements, (unsigned long long)unparsed, (unsigned long long)offscale, nitems);
    uint64_t b4[SR_EFT_BUCKETS], af[SR_EFT_BUCKETS];
    for (int b = 0; b < SR_EFT_BUCKETS; b++) {
        b4[b] = st.before[b];
        af[b] = st.after[b];
    }
    hist_line("--eft: per score before balancing:", b4, SR_EFT_BUCKETS, false);
    hist_line("--eft: per score after balancing: ", af, SR_EFT_BUCKETS, false);
    sr_warn("--eft: %llu examples (buckets over %zu cut to it, seed %ld)", (unsigned long long)written, st.target,
            o->seed);
}

/* ---- main ----------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    opts o = { .min_gap = 0, .seed = 0 };
    const sr_opt table[] = {
        { "min-gap", 0, SR_OPT_DOUBLE, &o.min_gap, "D", "drop pairs whose score gap is below D (0: any gap)", 0, 1e9 },
        { "length-control", 0, SR_OPT_STR, &o.length_control, "RHO",
          "chosen: the shortest in the top band, rejected: the longest in the bottom band; RHO in [0, 1)", 0, 0 },
        { "eft", 0, SR_OPT_FLAG, &o.eft, NULL, "EFT examples from judged ranked replies instead of pairs", 0, 0 },
        { "template", 0, SR_OPT_STR, &o.template_path, "FILE",
          "--eft: the judge prompt template (as given to sr-judge; default: the built-in rubric)", 0, 0 },
        { "seed", 0, SR_OPT_INT, &o.seed, "N", "--eft: the seed of the score balancing", 0, 9007199254740991.0 },
        { "quiet", 'q', SR_OPT_FLAG, &o.quiet, NULL, "no summary on standard error", 0, 0 },
        SR_OPT_END,
    };
    sr_cli cli = {
        .name = "sr-pairs",
        .summary = "Make preference pairs from judged candidates (or, with --eft, judge-training examples).",
        .usage = "[OPTION]...",
        .details = "Input: judged records {id, prompt_id, prompt, response, score, ...} (sr-judge).\n"
                   "Output: pairs {id, prompt_id, prompt, chosen, rejected, chosen_score, rejected_score,\n"
                   "chosen_id, rejected_id, ...}, or with --eft examples {id, prompt, response, score, source, ...}.",
    };
    sr_cli_parse(&cli, table, argc, argv);

    if (o.length_control) {
        char *end;
        o.rho = strtod(o.length_control, &end);
        if (end == o.length_control || *end || !isfinite(o.rho))
            sr_usage_error("--length-control: '%s' is not a number", o.length_control);
        if (!(o.rho >= 0 && o.rho < 1)) sr_usage_error("--length-control: %g is outside [0, 1)", o.rho);
    }
    if (o.eft && (o.length_control || o.min_gap != 0))
        sr_usage_error("--length-control and --min-gap make pairs; they do not apply to --eft");
    if (!o.eft && o.template_path) sr_usage_error("--template applies only to --eft");

    sr_judge_tmpl t = { 0 };
    if (o.eft) {
        char err[512];
        int rc = sr_judge_tmpl_load(&t, o.template_path, err, sizeof err);
        if (rc == SR_JUDGE_EBAD) sr_usage_error("--template %s", err);
        if (rc) sr_die(SR_EXIT_FAIL, "--template: %s", err);
    }

    sr_groups *g = read_all(&cli, o.eft);
    sr_writer *out = sr_writer_open(&cli);
    if (o.eft) run_eft(g, out, &o, &t);
    else run_pairs(g, out, &o);
    sr_cli_finish(&cli);
    sr_groups_free(g);
    sr_judge_tmpl_free(&t);
    return SR_EXIT_OK;
}
