/* test_pairs.c — EFT score balancing (sr_eft_balance_keep) as a property
 * over many random score mixes: every bucket ends at the target (the
 * rounded mean of the non-empty buckets) or keeps all it had, so the kept
 * counts differ by at most 1 except where a score has too few judgements to
 * reach the others; a cut bucket keeps its smallest keys; the choice does
 * not depend on input order. Then the record-level pieces that sr-pairs
 * does not reach with its 0..5 scale: the id rules, score counts, and an
 * EFT pass over a 1..10 scale. The hand-made cases are in tests/cli/pairs.bats. */
#include "test.h"
#include "base/ids.h"
#include "sr/eft.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { NB = 6 };                           /* the scores 0..5 */

static sr_rng rng;                         /* deterministic test data */

static uint64_t next_u64(void) { return sr_rng_next(&rng); }

enum { MAXN = 400 };

/* n judgements with scores drawn from a skewed mix (4 most common, as the
 * SFT judge writes them; some scores often absent). */
static size_t draw_case(int *bucket, uint64_t *key)
{
    size_t n = next_u64() % MAXN;
    unsigned weight[NB];
    unsigned total = 0;
    for (int b = 0; b < NB; b++) {
        weight[b] = next_u64() % 3 == 0 ? 0 : (unsigned)(next_u64() % 10 + 1);
        if (b == 4) weight[b] *= 5;
        total += weight[b];
    }
    if (total == 0) { weight[4] = 1; total = 1; }
    for (size_t i = 0; i < n; i++) {
        unsigned r = (unsigned)(next_u64() % total), b = 0;
        while (r >= weight[b]) r -= weight[b++];
        bucket[i] = (int)b;
        key[i] = next_u64();
    }
    return n;
}

TEST(eft_balance_properties)
{
    static int bucket[MAXN], pbucket[MAXN];
    static uint64_t key[MAXN], pkey[MAXN];
    static bool keep[MAXN], pkeep[MAXN];
    size_t cut_cases = 0;
    rng = sr_rng_for(12345, 0);
    for (int trial = 0; trial < 500; trial++) {
        size_t n = draw_case(bucket, key);
        sr_eft_balance st;
        CHECK(sr_eft_balance_keep(bucket, key, n, NB, keep, &st) == 0);
        size_t total = 0, nonempty = 0, kept[NB] = { 0 };
        for (int b = 0; b < NB; b++) { total += st.before[b]; nonempty += st.before[b] > 0; }
        CHECK(total == n);
        /* the target: total / nonempty rounded, halves up */
        if (nonempty) CHECK(st.target == (size_t)floor((double)total / (double)nonempty + 0.5));
        for (size_t i = 0; i < n; i++) kept[bucket[i]] += keep[i];
        int cut = 0;
        for (int b = 0; b < NB; b++) {
            size_t want = st.before[b] < st.target ? st.before[b] : st.target;
            CHECK(st.after[b] == want && kept[b] == want);
            cut |= st.before[b] > st.target;
        }
        cut_cases += cut;
        /* at most 1 apart, unless the smaller bucket kept everything it had */
        for (int a = 0; a < NB; a++)
            for (int b = 0; b < NB; b++)
                if (kept[a] > kept[b] + 1) CHECK(kept[b] == st.before[b]);
        /* a cut bucket keeps its smallest keys */
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                if (bucket[i] == bucket[j] && keep[i] && !keep[j]) CHECK(key[i] <= key[j]);
        /* the same judgements kept from the input reversed */
        for (size_t i = 0; i < n; i++) { pbucket[i] = bucket[n - 1 - i]; pkey[i] = key[n - 1 - i]; }
        CHECK(sr_eft_balance_keep(pbucket, pkey, n, NB, pkeep, &st) == 0);
        for (size_t i = 0; i < n; i++) CHECK(pkeep[i] == keep[n - 1 - i]);
    }
    printf("#   500 random score mixes, %zu of them with a bucket cut\n", cut_cases);
    CHECK(cut_cases > 100);
}

TEST(eft_balance_empty)
{
    sr_eft_balance st;
    bool keep[1];
    CHECK(sr_eft_balance_keep(NULL, NULL, 0, NB, keep, &st) == 0);
    CHECK(st.target == 0);
    for (int b = 0; b < NB; b++) CHECK(st.before[b] == 0 && st.after[b] == 0);
}

/* The ids hash what DESIGN says they hash, whole. */
TEST(pair_and_example_ids)
{
    char id[17], want[17];
    const char buf[] = "p1\0c-7\0r-3";
    sr_pair_id("p1", 2, "c-7", 3, "r-3", 3, id);
    sr_hex64(sr_hash(buf, sizeof buf - 1, 0), want);
    CHECK_STR(id, want);
    sr_pair_id(NULL, 0, "", 0, "x", 1, id);     /* an empty id may come as NULL */
    sr_hex64(sr_hash("\0\0x", 3, 0), want);
    CHECK_STR(id, want);
    sr_eft_example_id("reply", 5, 2, id);
    sr_hex64(sr_hash("reply", 5, 2), want);
    CHECK_STR(id, want);
    CHECK(sr_eft_balance_key(id, 7) == sr_hash(id, 16, 7));
}

TEST(score_counts_on_a_scale)
{
    sr_score_hist h;
    CHECK(sr_scale_ok(0, 5) && sr_scale_ok(1, 10) && sr_scale_ok(-2, 2));
    CHECK(!sr_scale_ok(5, 0) && !sr_scale_ok(0, SR_SCALE_MAX_POINTS));
    sr_score_hist_init(&h, 1, 10);
    const double s[] = { 0.4, 1.5, 2.49, 10.49, 10.5, -3 };
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) sr_score_hist_add(&h, s[i]);
    CHECK(h.bin[1] == 2 && h.bin[9] == 1 && h.other == 3);
    char line[128];
    sr_score_line(line, sizeof line, "t:", h.min, h.bin, 3, &h.other);
    CHECK_STR(line, "t: 1:0 2:2 3:0 other:3");
    uint64_t none = 0;
    sr_score_line(line, sizeof line, "t:", -1, h.bin, 2, &none);
    CHECK_STR(line, "t: -1:0 0:2");
    sr_score_line(line, 8, "t:", 1, h.bin, 10, &h.other);   /* cut short, still a string */
    CHECK_STR(line, "t: 1:0 ");
}

/* {"id", "prompt_id": "p", "prompt", "response", "human_rank", "score",
 *  "scores": [...], "judgements": [...]}; nil scores as NAN */
static void pack_reply(msgpack_sbuffer *sb, const char *id, int rank, const double *sc, int k)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    double sum = 0;
    int n = 0;
    for (int j = 0; j < k; j++)
        if (!isnan(sc[j])) { sum += sc[j]; n++; }
    msgpack_pack_map(&pk, 8);
    const char *kv[][2] = { { "id", id }, { "prompt_id", "p" }, { "prompt", "Q?" }, { "response", "A." } };
    for (int i = 0; i < 4; i++) {
        msgpack_pack_str_with_body(&pk, kv[i][0], strlen(kv[i][0]));
        msgpack_pack_str_with_body(&pk, kv[i][1], strlen(kv[i][1]));
    }
    msgpack_pack_str_with_body(&pk, "human_rank", 10);
    msgpack_pack_int(&pk, rank);
    msgpack_pack_str_with_body(&pk, "score", 5);
    msgpack_pack_double(&pk, sum / n);
    msgpack_pack_str_with_body(&pk, "scores", 6);
    msgpack_pack_array(&pk, (size_t)k);
    for (int j = 0; j < k; j++)
        if (isnan(sc[j])) msgpack_pack_nil(&pk);
        else msgpack_pack_double(&pk, sc[j]);
    msgpack_pack_str_with_body(&pk, "judgements", 10);
    msgpack_pack_array(&pk, (size_t)k);
    for (int j = 0; j < k; j++) msgpack_pack_str_with_body(&pk, "Score: n", 8);
}

/* A judge scoring 1..10 agrees with the humans; 0 and 11 are off its scale. */
TEST(eft_on_a_ten_point_scale)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    const double best[] = { 8, 9, 11 }, worst[] = { 3, NAN, 0 };
    pack_reply(&sb, "r1", 0, best, 3);
    pack_reply(&sb, "r2", 1, worst, 3);
    sr_cli cli = { .name = "test", .max_record = 1 << 20 };
    sr_reader *in = sr_reader_open_mem(&cli, sb.data, sb.size);
    sr_groups *g = sr_groups_new();
    sr_rec rec;
    sr_str pid;
    while (sr_read(in, &rec))
        if (sr_eft_check(&rec, &pid)) sr_groups_add(g, &rec, pid);
    sr_reader_close(in);

    char path[] = "/tmp/test_pairs_XXXXXX", err[128];
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    sr_judge_tmpl t;
    CHECK(sr_judge_tmpl_init(&t, "{prompt}|{response}", 19, err, sizeof err) == 0);
    sr_writer *out = sr_writer_open_path(path);
    sr_eft_stats st;
    sr_eft_write(g, out, &t, 0, 1, 10, 0, &st);
    sr_writer_close(out);
    CHECK(st.replies == 2 && st.prompts == 1 && st.agreeing == 1);
    CHECK(st.judgements == 6 && st.unparsed == 1 && st.off_scale == 2 && st.candidates == 3);
    CHECK(st.balance.before[8 - 1] == 1 && st.balance.before[9 - 1] == 1 && st.balance.before[3 - 1] == 1);
    CHECK(st.balance.target == 1 && st.written == 3);

    FILE *f = fopen(path, "rb");       /* the examples: their scores, in order */
    CHECK(f != NULL);
    char buf[4096];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    unlink(path);
    in = sr_reader_open_mem(&cli, buf, n);
    int64_t want[] = { 8, 9, 3 }, score;
    size_t i = 0;
    while (sr_read(in, &rec)) {
        sr_str p;
        CHECK(i < 3 && sr_get_i64(&rec, "score", &score) == 1 && score == want[i]);
        CHECK(sr_get_str(&rec, "prompt", &p) == 1 && p.n == 5 && memcmp(p.p, "Q?|A.", 5) == 0);
        i++;
    }
    CHECK(i == 3);
    sr_reader_close(in);
    sr_judge_tmpl_free(&t);
    sr_groups_free(g);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    RUN(eft_balance_properties);
    RUN(eft_balance_empty);
    RUN(pair_and_example_ids);
    RUN(score_counts_on_a_scale);
    RUN(eft_on_a_ten_point_scale);
    return test_done();
}
