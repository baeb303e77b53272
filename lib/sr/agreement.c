/* agreement.c — judge scores against human rankings, and the report of
 * sr-judge --eval. Prompts have a handful of replies, so everything here is
 * a plain O(n^2) walk over pairs. */
#include "sr/agreement.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "io/groupby.h"
#include "io/json.h"
#include "io/outfile.h"
#include "io/record.h"

static int sign(double d) { return (d > 0) - (d < 0); }

/* +1 when humans ranked i better than j, -1 worse, 0 alike (rank 0 is best). */
static int rank_order(const int64_t *rank, size_t i, size_t j) { return (rank[i] < rank[j]) - (rank[i] > rank[j]); }

size_t sr_agree_pairs(const int64_t *human_rank, const double *score, size_t n,
                      size_t *agree, size_t *tied)
{
    size_t pairs = 0, ag = 0, ti = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (human_rank[i] == human_rank[j]) continue;
            pairs++;
            /* the better (lower) rank should have the higher score */
            int want = rank_order(human_rank, i, j);
            int got = sign(score[i] - score[j]);
            ag += got == want;
            ti += got == 0;
        }
    if (agree) *agree = ag;
    if (tied) *tied = ti;
    return pairs;
}

/* Ranks 1..n of v, ties given the mean of the ranks they span. */
static void average_ranks(const double *v, size_t n, double *r)
{
    for (size_t i = 0; i < n; i++) {
        size_t below = 0, equal = 0;
        for (size_t j = 0; j < n; j++) {
            below += v[j] < v[i];
            equal += v[j] == v[i];
        }
        r[i] = (double)below + (double)(equal + 1) / 2.0;
    }
}

double sr_spearman(const double *x, const double *y, size_t n)
{
    if (n < 2) return NAN;
    double *rx = malloc(2 * n * sizeof *rx);
    if (!rx) return NAN;
    double *ry = rx + n;
    average_ranks(x, n, rx);
    average_ranks(y, n, ry);
    double mean = (double)(n + 1) / 2.0;     /* the mean of average ranks is always this */
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        double a = rx[i] - mean, b = ry[i] - mean;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    free(rx);
    if (sxx == 0 || syy == 0) return NAN;
    return sxy / sqrt(sxx * syy);
}

double sr_kendall_tau_b(const double *x, const double *y, size_t n)
{
    if (n < 2) return NAN;
    double n0 = (double)n * (double)(n - 1) / 2.0, tx = 0, ty = 0, s = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            int a = sign(x[i] - x[j]), b = sign(y[i] - y[j]);
            tx += a == 0;
            ty += b == 0;
            s += a * b;              /* +1 concordant, -1 discordant, 0 tied in either */
        }
    if (tx == n0 || ty == n0) return NAN;
    return s / sqrt((n0 - tx) * (n0 - ty));
}

void sr_agree_add(sr_agree *a, const int64_t *human_rank, const double *score, const double *length,
                  size_t n)
{
    if (n < 2) {
        a->single++;
        return;
    }
    a->prompts++;
    a->replies += n;

    size_t agree, tied, pairs = sr_agree_pairs(human_rank, score, n, &agree, &tied);
    a->pairs += pairs;
    a->pairs_agree += agree;
    a->pairs_tied += tied;

    int64_t best = human_rank[0];
    for (size_t i = 1; i < n; i++)
        if (human_rank[i] < best) best = human_rank[i];
    for (size_t i = 0; i < n; i++)
        if (score[i] >= SR_AGREE_FIVE) {
            a->fives++;
            a->fives_best += human_rank[i] == best;
        }

    /* Exact: every pair ordered alike, a score tie matching only a rank tie. */
    int exact = 1;
    for (size_t i = 0; i < n && exact; i++)
        for (size_t j = i + 1; j < n && exact; j++)
            exact = sign(score[i] - score[j]) == rank_order(human_rank, i, j);
    a->exact += exact;

    /* Length preference: who favours the longer of two replies, the judge
     * (higher score) or the humans (better rank), where each tells them apart. */
    for (size_t i = 0; length && i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            int longer = sign(length[i] - length[j]);
            if (longer == 0) continue;
            int by_score = sign(score[i] - score[j]);
            int by_rank = rank_order(human_rank, i, j);
            a->judge_len_pairs += by_score != 0;
            a->judge_longer += by_score == longer;
            a->human_len_pairs += by_rank != 0;
            a->human_longer += by_rank == longer;
        }

    /* Correlate the scores with the human order as "higher is better". */
    double *goodness = malloc(n * sizeof *goodness);
    if (!goodness) return;
    for (size_t i = 0; i < n; i++) goodness[i] = -(double)human_rank[i];
    double rho = sr_spearman(score, goodness, n), tau = sr_kendall_tau_b(score, goodness, n);
    free(goodness);
    if (!isnan(rho) && !isnan(tau)) {
        a->corr_prompts++;
        a->spearman_sum += rho;
        a->kendall_sum += tau;
    }
}

static double ratio(uint64_t num, uint64_t den) { return den ? (double)num / (double)den : NAN; }

void sr_agree_summarise(const sr_agree *a, sr_agree_report *r)
{
    r->pairwise = ratio(a->pairs_agree, a->pairs);
    r->tie_share = ratio(a->pairs_tied, a->pairs);
    r->five_best = ratio(a->fives_best, a->fives);
    r->exact = ratio(a->exact, a->prompts);
    r->spearman = a->corr_prompts ? a->spearman_sum / (double)a->corr_prompts : NAN;
    r->kendall = a->corr_prompts ? a->kendall_sum / (double)a->corr_prompts : NAN;
    r->judge_longer = ratio(a->judge_longer, a->judge_len_pairs);
    r->human_longer = ratio(a->human_longer, a->human_len_pairs);
}

/* ---- the report ------------------------------------------------------------------- */

/* Every judged ranked record, grouped by prompt; a nil score is counted in
 * *nil and the record left out. The response is optional here (only the
 * length measure needs it). */
static sr_groups *eval_read(sr_cli *cli, uint64_t *nil)
{
    sr_groups *g = sr_groups_new();
    sr_reader *in = sr_reader_open(cli);
    sr_rec rec;
    while (sr_read(in, &rec)) {
        sr_str pid;
        int64_t rank;
        double score;
        if (!sr_need_str(&rec, "prompt_id", &pid) || !sr_need_i64(&rec, "human_rank", &rank)) continue;
        const msgpack_object *v = sr_rec_get(&rec, "score");
        if (!v) {
            sr_rec_bad(&rec, "score", "missing (expected a number or nil)");
            continue;
        }
        if (v->type != MSGPACK_OBJECT_NIL && (sr_get_f64(&rec, "score", &score) != 1 || !isfinite(score))) {
            sr_rec_bad(&rec, "score", "expected a finite number or nil, got %s", sr_type_name(v));
            continue;
        }
        sr_str resp;
        if (sr_get_str(&rec, "response", &resp) < 0) {
            sr_rec_bad(&rec, "response", "expected a string, got %s", sr_type_name(sr_rec_get(&rec, "response")));
            continue;
        }
        if (v->type == MSGPACK_OBJECT_NIL) { (*nil)++; continue; }
        sr_groups_add(g, &rec, pid);
    }
    sr_reader_close(in);
    return g;
}

/* The measures over every prompt of g. */
static void eval_measure(sr_groups *g, sr_agree *a)
{
    int64_t *rank = NULL;
    double *score = NULL, *length = NULL;
    size_t cap = 0;
    for (size_t gi = 0; gi < sr_groups_count(g); gi++) {
        size_t n;
        sr_rec *const *recs = sr_groups_get(g, gi, &n);
        if (n > cap) {
            cap = n;
            rank = realloc(rank, cap * sizeof *rank);
            score = realloc(score, cap * sizeof *score);
            length = realloc(length, cap * sizeof *length);
            if (!rank || !score || !length) sr_die(SR_EXIT_FAIL, "out of memory");
        }
        bool lengths = true;     /* every reply of the prompt has its response */
        for (size_t i = 0; i < n; i++) {
            sr_str resp;
            sr_get_i64(recs[i], "human_rank", &rank[i]);
            sr_get_f64(recs[i], "score", &score[i]);
            if (sr_get_str(recs[i], "response", &resp) == 1) length[i] = (double)sr_utf8_chars(resp.p, resp.n);
            else lengths = false;
        }
        sr_agree_add(a, rank, score, lengths ? length : NULL, n);
    }
    free(rank);
    free(score);
    free(length);
}

static void pct(char *buf, size_t n, double v)
{
    if (isnan(v)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.1f%%", 100 * v);
}

static void coef(char *buf, size_t n, double v)
{
    if (isnan(v)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.3f", v);
}

static void eval_text(const sr_agree *a, const sr_agree_report *r, uint64_t nil, char *text, size_t len)
{
    char p1[32], p2[32], p3[32], p4[32], p5[32], p6[32], c1[32], c2[32];
    pct(p1, sizeof p1, r->pairwise);
    pct(p2, sizeof p2, r->tie_share);
    pct(p3, sizeof p3, r->five_best);
    pct(p4, sizeof p4, r->exact);
    coef(c1, sizeof c1, r->spearman);
    coef(c2, sizeof c2, r->kendall);
    pct(p5, sizeof p5, r->judge_longer);
    pct(p6, sizeof p6, r->human_longer);
    snprintf(text, len,
             "judge agreement with human rankings: %llu prompts, %llu replies, %llu pairs\n"
             "pairwise accuracy  %-7s (%llu of %llu pairs with different human ranks ordered alike; "
             "judge ties %s of them, counted as not agreeing)\n"
             "5-best             %-7s (%llu of %llu replies scored 5, a mean score >= %g, ranked best by humans)\n"
             "exact match        %-7s (%llu of %llu prompts ordered exactly as by humans)\n"
             "Spearman rho       %-7s (mean over %llu prompts where both scores and ranks vary)\n"
             "Kendall tau-b      %s\n"
             "prefers longer     %-7s (%llu of %llu pairs of different lengths scored apart: the longer scored higher); "
             "humans %s (%llu of %llu ranked apart: the longer ranked better)\n"
             "left out           %llu replies with a nil score, %llu prompts with fewer than 2 scored replies\n",
             (unsigned long long)a->prompts, (unsigned long long)a->replies, (unsigned long long)a->pairs,
             p1, (unsigned long long)a->pairs_agree, (unsigned long long)a->pairs, p2,
             p3, (unsigned long long)a->fives_best, (unsigned long long)a->fives, SR_AGREE_FIVE,
             p4, (unsigned long long)a->exact, (unsigned long long)a->prompts,
             c1, (unsigned long long)a->corr_prompts, c2,
             p5, (unsigned long long)a->judge_longer, (unsigned long long)a->judge_len_pairs,
             p6, (unsigned long long)a->human_longer, (unsigned long long)a->human_len_pairs,
             (unsigned long long)nil, (unsigned long long)a->single);
}

static void eval_json(const sr_agree *a, const sr_agree_report *r, uint64_t nil, const char *path)
{
    sr_jbuf j = { 0 };
    sr_jbuf_putc(&j, '{');
    sr_json_member_int(&j, "prompts", a->prompts, 1);
    sr_json_member_int(&j, "replies", a->replies, 1);
    sr_json_member_int(&j, "pairs", a->pairs, 1);
    sr_json_member_num(&j, "pairwise_accuracy", r->pairwise, 1);
    sr_json_member_int(&j, "pairs_agree", a->pairs_agree, 1);
    sr_json_member_int(&j, "pairs_tied", a->pairs_tied, 1);
    sr_json_member_num(&j, "tie_share", r->tie_share, 1);
    sr_json_member_num(&j, "five_best", r->five_best, 1);
    sr_json_member_int(&j, "fives", a->fives, 1);
    sr_json_member_int(&j, "fives_best", a->fives_best, 1);
    sr_json_member_num(&j, "exact_match", r->exact, 1);
    sr_json_member_int(&j, "exact", a->exact, 1);
    sr_json_member_num(&j, "spearman", r->spearman, 1);
    sr_json_member_num(&j, "kendall_tau", r->kendall, 1);
    sr_json_member_int(&j, "corr_prompts", a->corr_prompts, 1);
    sr_json_member_num(&j, "judge_prefers_longer", r->judge_longer, 1);
    sr_json_member_int(&j, "judge_length_pairs", a->judge_len_pairs, 1);
    sr_json_member_num(&j, "human_prefers_longer", r->human_longer, 1);
    sr_json_member_int(&j, "human_length_pairs", a->human_len_pairs, 1);
    sr_json_member_int(&j, "nil_scores", nil, 1);
    sr_json_member_int(&j, "single_prompts", a->single, 0);
    sr_jbuf_put(&j, "}\n", 2);
    sr_outfile_put(path, j.p, j.n);
    sr_jbuf_free(&j);
}

void sr_agree_eval(sr_cli *cli, const char *json_path)
{
    uint64_t nil = 0;
    sr_groups *g = eval_read(cli, &nil);
    sr_agree a = { 0 };
    eval_measure(g, &a);
    sr_groups_free(g);
    sr_agree_report r;
    sr_agree_summarise(&a, &r);
    char text[2048];
    eval_text(&a, &r, nil, text, sizeof text);
    if (json_path) eval_json(&a, &r, nil, json_path);
    sr_outfile_put(cli->output, text, strlen(text));
}
