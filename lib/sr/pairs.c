/* pairs.c — picking chosen/rejected, and the pass that makes pairs from
 * judged records. */
#include "sr/pairs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "base/utf8.h"

/* The neutral tie-break: lower sample index, then smaller id, then earlier. */
static int neutral(const sr_cand *a, const sr_cand *b)
{
    if (a->sample != b->sample) return a->sample < b->sample ? -1 : 1;
    size_t n = a->id.n < b->id.n ? a->id.n : b->id.n;
    int c = n ? memcmp(a->id.p, b->id.p, n) : 0;
    if (c) return c;
    if (a->id.n != b->id.n) return a->id.n < b->id.n ? -1 : 1;
    return (a->order > b->order) - (a->order < b->order);
}

/* Whether a should be chosen over b (sign -1: prefer higher scores) or
 * rejected over b (sign +1: prefer lower scores). */
static bool better_plain(const sr_cand *a, const sr_cand *b, int sign)
{
    if (a->score != b->score) return sign * (a->score - b->score) < 0;
    return neutral(a, b) < 0;
}

/* Length control: chosen prefers shorter (sign -1), rejected longer (+1),
 * then the score rule above. */
static bool better_length(const sr_cand *a, const sr_cand *b, int sign)
{
    if (a->length != b->length) return sign < 0 ? a->length < b->length : a->length > b->length;
    return better_plain(a, b, sign);
}

/* Diverse: chosen prefers the less similar (sign -1), rejected the more
 * similar (+1), then the score rule above. */
static bool better_diverse(const sr_cand *a, const sr_cand *b, int sign)
{
    if (a->sim != b->sim) return sign < 0 ? a->sim < b->sim : a->sim > b->sim;
    return better_plain(a, b, sign);
}

void sr_pairs_similarity(sr_cand *c, const sr_words *words, size_t n)
{
    for (size_t i = 0; i < n; i++) c[i].sim = 0;
    if (n < 2) return;
    /* ROUGE-L F is symmetric: each unordered pair once */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double r = sr_rouge_l(&words[i], &words[j]);
            c[i].sim += r;
            c[j].sim += r;
        }
    for (size_t i = 0; i < n; i++) c[i].sim /= (double)(n - 1);
}

enum sr_pick sr_pairs_pick(const sr_cand *c, size_t n, const sr_pick_opts *o,
                           size_t *chosen, size_t *rejected)
{
    if (n < 2) return SR_PICK_SINGLE;
    double hi = c[0].score, lo = c[0].score;
    for (size_t i = 1; i < n; i++) {
        if (c[i].score > hi) hi = c[i].score;
        if (c[i].score < lo) lo = c[i].score;
    }
    if (hi == lo) return SR_PICK_TIE;

    size_t ch = n, rj = n;
    if (!o->length_control && !o->diverse) {
        for (size_t i = 0; i < n; i++) {
            if (ch == n || better_plain(&c[i], &c[ch], -1)) ch = i;
            if (rj == n || better_plain(&c[i], &c[rj], +1)) rj = i;
        }
    } else {
        bool (*better)(const sr_cand *, const sr_cand *, int) = o->diverse ? better_diverse : better_length;
        double band = o->rho * (hi - lo);
        for (size_t i = 0; i < n; i++) {
            if (c[i].score >= hi - band - SR_PAIRS_EPS && (ch == n || better(&c[i], &c[ch], -1))) ch = i;
            if (c[i].score <= lo + band + SR_PAIRS_EPS && (rj == n || better(&c[i], &c[rj], +1))) rj = i;
        }
    }
    *chosen = ch;
    *rejected = rj;
    double gap = c[ch].score - c[rj].score;
    if (ch == rj || gap <= 0 || gap < o->min_gap - SR_PAIRS_EPS) return SR_PICK_GAP;
    return SR_PICK_OK;
}

/* ---- judged records ---------------------------------------------------------- */

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

/* An optional integer key: true when absent or an integer >= min. */
static bool opt_int(const sr_rec *r, const char *key, int64_t min)
{
    int64_t v;
    int rc = sr_get_i64(r, key, &v);
    if (rc == 1 && v < min) {
        sr_rec_bad(r, key, "%lld is below %lld", (long long)v, (long long)min);
        return false;
    }
    if (rc == -1) {
        sr_rec_bad(r, key, "expected an integer, got %s", sr_type_name(sr_rec_get(r, key)));
        return false;
    }
    return true;
}

bool sr_judged_check(const sr_rec *r, sr_str *prompt_id)
{
    sr_str s;
    double d;
    return sr_need_str(r, "id", &s) && sr_need_str(r, "prompt_id", prompt_id) &&
           sr_need_str(r, "prompt", &s) && sr_need_str(r, "response", &s) && need_score(r, "score", &d) >= 0;
}

bool sr_pairs_check(const sr_rec *r, sr_str *prompt_id)
{
    return sr_judged_check(r, prompt_id) && opt_int(r, "sample", 0) && opt_int(r, "tokens", 0);
}

bool sr_judged_score(const sr_rec *r, double *out) { return sr_get_f64(r, "score", out) == 1; }

/* ---- counting scores ------------------------------------------------------------ */

bool sr_scale_ok(int score_min, int score_max)
{
    return score_min <= score_max && (long)score_max - score_min < SR_SCALE_MAX_POINTS;
}

void sr_scale_need(int score_min, int score_max)
{
    if (!sr_scale_ok(score_min, score_max))
        sr_die(SR_EXIT_FAIL, "internal: a score scale %d..%d (at most %d points)", score_min, score_max,
               SR_SCALE_MAX_POINTS);
}

void sr_score_hist_init(sr_score_hist *h, int score_min, int score_max)
{
    sr_scale_need(score_min, score_max);
    memset(h, 0, sizeof *h);
    h->min = score_min;
    h->max = score_max;
}

void sr_score_hist_add(sr_score_hist *h, double s)
{
    double r = floor(s + 0.5);
    if (r >= h->min && r <= h->max) h->bin[(int)r - h->min]++;
    else h->other++;
}

void sr_score_line(char *buf, size_t size, const char *title, int first, const uint64_t *bin, int nbins,
                   const uint64_t *other)
{
    int n = snprintf(buf, size, "%s", title);
    for (int b = 0; b < nbins && n >= 0 && (size_t)n < size; b++)
        n += snprintf(buf + n, size - (size_t)n, " %d:%llu", first + b, (unsigned long long)bin[b]);
    if (other && *other && n >= 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, " other:%llu", (unsigned long long)*other);
}

/* ---- the pass --------------------------------------------------------------------- */

static sr_str get_str(const sr_rec *r, const char *key)
{
    sr_str s = { "", 0 };
    sr_get_str(r, key, &s);
    return s;
}

/* The keys of one candidate that do not describe the pair's prompt. */
static const char *const candidate_keys[] = {
    "response", "score", "scores", "judgements", "sample", "finish", "tokens", "human_rank", NULL,
};

static void write_pair(sr_writer *out, const sr_rec *ch, const sr_rec *rj, double ch_score, double rj_score)
{
    sr_str pid = get_str(ch, "prompt_id");
    char id[17];
    sr_pair_id(pid.p, pid.n, ch->id.p, ch->id.n, rj->id.p, rj->id.n, id);

    sr_recb b;
    sr_recb_init(&b, ch);    /* the chosen's other keys (system, source, a user's own) pass through */
    for (const char *const *k = candidate_keys; *k; k++) sr_recb_remove(&b, *k);
    sr_str cr = get_str(ch, "response"), rr = get_str(rj, "response");
    sr_recb_cstr(&b, "id", id);
    sr_recb_str(&b, "chosen", cr.p, cr.n);
    sr_recb_str(&b, "rejected", rr.p, rr.n);
    sr_recb_f64(&b, "chosen_score", ch_score);
    sr_recb_f64(&b, "rejected_score", rj_score);
    sr_recb_str(&b, "chosen_id", ch->id.p, ch->id.n);
    sr_recb_str(&b, "rejected_id", rj->id.p, rj->id.n);
    sr_write(out, &b);
    sr_recb_free(&b);
}

/* Room for one prompt's candidates, reused from prompt to prompt. */
typedef struct scratch {
    sr_cand *c;
    const sr_rec **recs;
    sr_words *words;       /* diverse: each candidate's response */
    size_t cap;
} scratch;

/* Whether r was cut off at the length cap (sr-gen's finish "length"). */
static bool truncated(const sr_rec *r)
{
    sr_str f;
    return sr_get_str(r, "finish", &f) == 1 && f.n == 6 && memcmp(f.p, "length", 6) == 0;
}

/* The scored candidates of one prompt as sr_cand, in c[0..m) beside their
 * records (truncated ones left out unless kept); returns m. */
static size_t gather(sr_rec *const *all, size_t n, scratch *s, bool keep_truncated, sr_pairs_stats *st)
{
    if (n > s->cap) {
        s->cap = n;
        s->c = realloc(s->c, s->cap * sizeof *s->c);
        s->recs = realloc(s->recs, s->cap * sizeof *s->recs);
        s->words = realloc(s->words, s->cap * sizeof *s->words);
        if (!s->c || !s->recs || !s->words) sr_die(SR_EXIT_FAIL, "out of memory");
    }
    size_t m = 0;
    bool all_tokens = true;
    for (size_t i = 0; i < n; i++) {
        double score;
        int64_t v;
        if (!keep_truncated && truncated(all[i])) { st->truncated++; continue; }
        if (!sr_judged_score(all[i], &score)) { st->nil++; continue; }
        sr_score_hist_add(&st->hist, score);
        s->c[m] = (sr_cand){ .score = score, .sample = SR_NO_SAMPLE, .id = all[i]->id, .order = i };
        if (sr_get_i64(all[i], "sample", &v) == 1) s->c[m].sample = v;
        all_tokens &= sr_get_i64(all[i], "tokens", &v) == 1;
        s->recs[m++] = all[i];
    }
    /* Length: tokens when every candidate of the prompt has them, else characters. */
    for (size_t i = 0; i < m; i++) {
        int64_t t;
        sr_str resp = get_str(s->recs[i], "response");
        s->c[i].length = all_tokens && sr_get_i64(s->recs[i], "tokens", &t) == 1 ? (uint64_t)t
                                                                                   : sr_utf8_chars(resp.p, resp.n);
    }
    st->tokens_prompts += all_tokens && m > 0;
    return m;
}

/* Diverse: the similarity of each of the m gathered candidates. */
static void similarity(scratch *s, size_t m)
{
    for (size_t i = 0; i < m; i++) {
        sr_str resp = get_str(s->recs[i], "response");
        if (sr_words_of(resp.p, resp.n, &s->words[i]) != 0) sr_die(SR_EXIT_FAIL, "out of memory");
    }
    sr_pairs_similarity(s->c, s->words, m);
    for (size_t i = 0; i < m; i++) sr_words_free(&s->words[i]);
}

void sr_pairs_write(const sr_groups *g, sr_writer *out, const sr_pick_opts *o, int score_min, int score_max,
                    sr_pairs_stats *st)
{
    memset(st, 0, sizeof *st);
    sr_score_hist_init(&st->hist, score_min, score_max);
    st->pick = *o;
    st->prompts = sr_groups_count(g);
    scratch s = { 0 };
    for (size_t gi = 0; gi < st->prompts; gi++) {
        size_t n, ch, rj;
        sr_rec *const *all = sr_groups_get(g, gi, &n);
        st->records += n;
        size_t m = gather(all, n, &s, o->keep_truncated, st);
        if (o->diverse) similarity(&s, m);
        enum sr_pick r = sr_pairs_pick(s.c, m, o, &ch, &rj);
        if (r != SR_PICK_OK) { st->dropped[r]++; continue; }
        write_pair(out, s.recs[ch], s.recs[rj], s.c[ch].score, s.c[rj].score);
        st->pairs++;
        st->sum_chosen += s.c[ch].score;
        st->sum_rejected += s.c[rj].score;
        sr_str a = get_str(s.recs[ch], "response"), b = get_str(s.recs[rj], "response");
        st->len_chosen += (double)sr_utf8_chars(a.p, a.n);
        st->len_rejected += (double)sr_utf8_chars(b.p, b.n);
        st->sim_chosen += s.c[ch].sim;
        st->sim_rejected += s.c[rj].sim;
    }
    free(s.c);
    free(s.recs);
    free(s.words);
}

void sr_pairs_report(const sr_pairs_stats *st)
{
    sr_warn("%llu candidates (%llu nil scores), %zu prompts: %llu pairs; dropped: ties %llu, "
            "fewer than 2 scored %llu, gap %llu",
            (unsigned long long)st->records, (unsigned long long)st->nil, st->prompts,
            (unsigned long long)st->pairs, (unsigned long long)st->dropped[SR_PICK_TIE],
            (unsigned long long)st->dropped[SR_PICK_SINGLE], (unsigned long long)st->dropped[SR_PICK_GAP]);
    if (st->pick.keep_truncated)
        sr_warn("truncated candidates (finish \"length\") kept (--keep-truncated)");
    else
        sr_warn("truncated candidates (finish \"length\"): %llu left out", (unsigned long long)st->truncated);
    char line[4096];
    sr_score_line(line, sizeof line, "candidate scores (rounded):", st->hist.min, st->hist.bin,
                  st->hist.max - st->hist.min + 1, &st->hist.other);
    sr_warn("%s", line);
    double n = (double)st->pairs;
    if (st->pairs)
        sr_warn("pairs: mean score chosen %.3g, rejected %.3g; mean length chosen %.0f, rejected %.0f characters",
                st->sum_chosen / n, st->sum_rejected / n, st->len_chosen / n, st->len_rejected / n);
    if (st->pick.diverse && st->pairs)
        sr_warn("diverse %g: mean ROUGE-L F against the prompt's other candidates, chosen %.3f, rejected %.3f",
                st->pick.rho, st->sim_chosen / n, st->sim_rejected / n);
    if (st->pick.length_control)
        sr_warn("length control %g: lengths in tokens for %llu prompts, characters for the rest", st->pick.rho,
                (unsigned long long)st->tokens_prompts);
}
