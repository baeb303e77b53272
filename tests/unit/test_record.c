/* test_record.c — the record stream: framing across reads, limits, bad
 * records, lookups, and the builder's pass-through of unknown keys. */
#include "test.h"

#include "base/ids.h"
#include "io/record.h"
#include "base/utf8.h"

#include <msgpack.h>
#include <sys/wait.h>
#include <unistd.h>

static sr_cli cli_for_test(bool skip_bad, size_t max_record)
{
    sr_cli c = { .name = "test_record", .skip_bad = skip_bad, .max_record = max_record };
    return c;
}

/* A packer into a growing buffer. */
static msgpack_sbuffer sb;
static msgpack_packer pk;
static void buf_reset(void)
{
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
}
static void pack_cstr(const char *s) { msgpack_pack_str_with_body(&pk, s, strlen(s)); }

/* Three records: {id, n}, with a long string in the middle one. Where each
 * record ends in the buffer: */
static size_t record_end[3];
static void pack_three(size_t long_len)
{
    char *big = malloc(long_len + 1);
    memset(big, 'x', long_len);
    for (int i = 0; i < 3; i++) {
        msgpack_pack_map(&pk, 3);
        pack_cstr("id");
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        pack_cstr(id);
        pack_cstr("n");
        msgpack_pack_int(&pk, i * 1000);
        pack_cstr("text");
        if (i == 1) msgpack_pack_str_with_body(&pk, big, long_len);
        else pack_cstr("short");
        record_end[i] = sb.size;
    }
    free(big);
}

TEST(reads_records_from_memory)
{
    buf_reset();
    pack_three(10);
    sr_cli cli = cli_for_test(false, 1 << 20);
    sr_reader *r = sr_reader_open_mem(&cli, sb.data, sb.size);
    sr_rec rec;
    char err[256];
    for (int i = 0; i < 3; i++) {
        CHECK(sr_reader_next(r, &rec, err, sizeof err) == 1);
        CHECK(rec.index == (uint64_t)i + 1);
        int64_t n;
        CHECK(sr_get_i64(&rec, "n", &n) == 1 && n == i * 1000);
        sr_str id;
        CHECK(sr_get_str(&rec, "id", &id) == 1 && id.n == 2 && id.p[1] == '0' + i);
        CHECK(rec.id.p == id.p);
        CHECK(sr_get_str(&rec, "n", &id) == -1);      /* wrong type */
        CHECK(sr_get_str(&rec, "absent", &id) == 0);
    }
    CHECK(sr_reader_next(r, &rec, err, sizeof err) == 0);
    CHECK(sr_reader_next(r, &rec, err, sizeof err) == 0);
    sr_reader_close(r);
}

/* Feed bytes through a pipe in small pieces, so records arrive split at
 * every possible place across read() calls. */
static int pipe_from(const char *data, size_t len, size_t piece)
{
    int fds[2];
    if (pipe(fds)) abort();
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        for (size_t off = 0; off < len; off += piece) {
            size_t n = len - off < piece ? len - off : piece;
            if (write(fds[1], data + off, n) != (ssize_t)n) _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    return fds[0];
}

static int count_records_via_pipe(size_t piece, size_t long_len, size_t max_record, bool skip_bad,
                                  int *n_bad)
{
    buf_reset();
    pack_three(long_len);
    int fd = pipe_from(sb.data, sb.size, piece);
    char path[64];
    snprintf(path, sizeof path, "/dev/fd/%d", fd);
    sr_cli cli = cli_for_test(skip_bad, max_record);
    sr_reader *r = sr_reader_open_path(&cli, path);
    sr_rec rec;
    char err[256];
    int n = 0, rc;
    *n_bad = 0;
    while ((rc = sr_reader_next(r, &rec, err, sizeof err)) != 0) {
        if (rc < 0) { (*n_bad)++; continue; }
        n++;
    }
    sr_reader_close(r);
    close(fd);
    while (wait(NULL) > 0) {}
    return n;
}

TEST(frames_records_split_across_reads)
{
    int bad;
    for (size_t piece = 1; piece <= 7; piece++) {
        CHECK(count_records_via_pipe(piece, 300, 1 << 20, false, &bad) == 3);
        CHECK(bad == 0);
    }
    /* A record much larger than the reader's first buffer. */
    CHECK(count_records_via_pipe(65536 + 17, 5 << 20, 16 << 20, false, &bad) == 3);
    CHECK(bad == 0);
}

TEST(oversized_record_is_skipped_without_buffering_it)
{
    int bad;
    /* With skip-bad the 3 MiB record is skipped and the stream goes on. */
    CHECK(count_records_via_pipe(4096, 3 << 20, 1 << 20, true, &bad) == 2);
    CHECK(bad == 1);
    /* Without it, the stream stops at the oversized record. */
    CHECK(count_records_via_pipe(4096, 3 << 20, 1 << 20, false, &bad) == 1);
    CHECK(bad == 1);
}

TEST(truncated_stream_is_an_error_naming_the_record)
{
    buf_reset();
    pack_three(100);
    sr_cli cli = cli_for_test(false, 1 << 20);
    for (size_t cut = 1; cut < sb.size; cut += 3) {
        size_t len = sb.size - cut;
        if (len == record_end[0] || len == record_end[1]) continue;   /* a whole stream */
        sr_reader *r = sr_reader_open_mem(&cli, sb.data, len);
        sr_rec rec;
        char err[256] = "";
        int rc, good = 0, bad = 0;
        while ((rc = sr_reader_next(r, &rec, err, sizeof err)) != 0) {
            if (rc > 0) good++;
            else bad++;
        }
        CHECK(bad == 1 && good <= 2);
        CHECK(strstr(err, "truncated") != NULL);
        sr_reader_close(r);
    }
}

TEST(non_map_and_bad_keys_are_bad_records)
{
    buf_reset();
    msgpack_pack_int(&pk, 42);                       /* not a map */
    msgpack_pack_map(&pk, 1);                        /* integer key */
    msgpack_pack_int(&pk, 1);
    pack_cstr("v");
    msgpack_pack_map(&pk, 1);                        /* invalid UTF-8 value */
    pack_cstr("prompt");
    msgpack_pack_str_with_body(&pk, "ok\xff", 3);
    msgpack_pack_map(&pk, 1);                        /* a good one after them */
    pack_cstr("id");
    pack_cstr("good");
    sr_cli cli = cli_for_test(true, 1 << 20);
    sr_reader *r = sr_reader_open_mem(&cli, sb.data, sb.size);
    sr_rec rec;
    char err[256];
    CHECK(sr_reader_next(r, &rec, err, sizeof err) == -1);
    CHECK(strstr(err, "record 1") && strstr(err, "not a map"));
    CHECK(sr_reader_next(r, &rec, err, sizeof err) == -1);
    CHECK(strstr(err, "record 2") && strstr(err, "not a string"));
    CHECK(sr_reader_next(r, &rec, err, sizeof err) == -1);
    CHECK(strstr(err, "record 3") && strstr(err, "\"prompt\"") && strstr(err, "UTF-8"));
    CHECK(sr_reader_next(r, &rec, err, sizeof err) == 1);
    CHECK(rec.index == 4 && sr_str_eq(rec.id, "good"));
    CHECK(sr_reader_next(r, &rec, err, sizeof err) == 0);
    sr_reader_close(r);
}

TEST(malformed_byte_ends_the_stream)
{
    const char bytes[] = { (char)0x81, (char)0xa1, 'a', (char)0xc1, (char)0x80 };
    sr_cli cli = cli_for_test(true, 1 << 20);
    sr_reader *r = sr_reader_open_mem(&cli, bytes, sizeof bytes);
    sr_rec rec;
    char err[256];
    CHECK(sr_reader_next(r, &rec, err, sizeof err) == -1);
    CHECK(strstr(err, "malformed") != NULL);
    CHECK(sr_reader_next(r, &rec, err, sizeof err) == 0);
    sr_reader_close(r);
}

TEST(huge_declared_counts_do_not_allocate)
{
    /* array32 claiming 4 billion elements, then nothing: a truncation, found
     * without trying to allocate for the declared count. */
    const char bytes[] = { (char)0x81, (char)0xa1, 'a', (char)0xdd, (char)0xff, (char)0xff,
                           (char)0xff, (char)0xff, 1, 2, 3 };
    sr_cli cli = cli_for_test(false, 1 << 20);
    sr_reader *r = sr_reader_open_mem(&cli, bytes, sizeof bytes);
    sr_rec rec;
    char err[256];
    CHECK(sr_reader_next(r, &rec, err, sizeof err) == -1);
    CHECK(strstr(err, "truncated") != NULL);
    sr_reader_close(r);
}

TEST(numbers_convert_by_their_value)
{
    buf_reset();
    msgpack_pack_map(&pk, 5);
    pack_cstr("a"); msgpack_pack_uint64(&pk, UINT64_MAX);
    pack_cstr("b"); msgpack_pack_int64(&pk, INT64_MIN);
    pack_cstr("c"); msgpack_pack_double(&pk, 3.0);
    pack_cstr("d"); msgpack_pack_double(&pk, 3.5);
    pack_cstr("e"); msgpack_pack_float(&pk, 0.25f);
    sr_cli cli = cli_for_test(false, 1 << 20);
    sr_reader *r = sr_reader_open_mem(&cli, sb.data, sb.size);
    sr_rec rec;
    char err[256];
    CHECK(sr_reader_next(r, &rec, err, sizeof err) == 1);
    int64_t i;
    double d;
    CHECK(sr_get_i64(&rec, "a", &i) == -1);          /* beyond int64 */
    CHECK(sr_get_f64(&rec, "a", &d) == 1 && d == 18446744073709551615.0);
    CHECK(sr_get_i64(&rec, "b", &i) == 1 && i == INT64_MIN);
    CHECK(sr_get_i64(&rec, "c", &i) == 1 && i == 3); /* integral float */
    CHECK(sr_get_i64(&rec, "d", &i) == -1);
    CHECK(sr_get_f64(&rec, "e", &d) == 1 && d == 0.25);
    sr_reader_close(r);
}

TEST(builder_keeps_unknown_keys_in_order)
{
    buf_reset();
    msgpack_pack_map(&pk, 4);
    pack_cstr("id"); pack_cstr("x1");
    pack_cstr("mine"); pack_cstr("user data");
    pack_cstr("score"); msgpack_pack_int(&pk, 1);
    pack_cstr("drop"); msgpack_pack_nil(&pk);
    sr_cli cli = cli_for_test(false, 1 << 20);
    sr_reader *r = sr_reader_open_mem(&cli, sb.data, sb.size);
    sr_rec rec;
    char err[256];
    CHECK(sr_reader_next(r, &rec, err, sizeof err) == 1);

    sr_recb b;
    sr_recb_init(&b, &rec);
    sr_recb_f64(&b, "score", 4.5);           /* replaced in place */
    sr_recb_cstr(&b, "response", "hello");   /* new: appended */
    sr_recb_remove(&b, "drop");
    double s[2] = { 4, 5 };
    sr_recb_f64_array(&b, "scores", s, 2);

    char path[] = "/tmp/sr-test-record-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    sr_writer *w = sr_writer_open_path(path);
    sr_write(w, &b);
    CHECK(sr_writer_count(w) == 1);
    sr_writer_close(w);
    sr_recb_free(&b);
    sr_reader_close(r);

    /* Read it back: id, mine, score, response, scores — in that order. */
    r = sr_reader_open_path(&cli, path);
    CHECK(sr_reader_next(r, &rec, err, sizeof err) == 1);
    const char *want[] = { "id", "mine", "score", "response", "scores" };
    CHECK(rec.obj.via.map.size == 5);
    for (uint32_t i = 0; i < rec.obj.via.map.size && i < 5; i++) {
        const msgpack_object *k = &rec.obj.via.map.ptr[i].key;
        CHECK(k->via.str.size == strlen(want[i]) && memcmp(k->via.str.ptr, want[i], k->via.str.size) == 0);
    }
    double score;
    sr_str mine;
    CHECK(sr_get_f64(&rec, "score", &score) == 1 && score == 4.5);
    CHECK(sr_get_str(&rec, "mine", &mine) == 1 && sr_str_eq(mine, "user data"));
    sr_reader_close(r);
    unlink(path);
}

TEST(utf8_validation)
{
    CHECK(sr_utf8_valid("", 0));
    CHECK(sr_utf8_valid("a\0b", 3));
    CHECK(sr_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));   /* é € 😀 */
    CHECK(!sr_utf8_valid("\xc0\xaf", 2));                            /* overlong */
    CHECK(!sr_utf8_valid("\xed\xa0\x80", 3));                        /* surrogate */
    CHECK(!sr_utf8_valid("\xf4\x90\x80\x80", 4));                    /* > U+10FFFF */
    CHECK(!sr_utf8_valid("\xe2\x82", 2));                            /* cut short */
    CHECK(sr_utf8_valid_prefix("ab\xff", 3) == 2);
}

TEST(shards_partition_ids)
{
    uint64_t k, n;
    CHECK(sr_shard_parse("1/3", &k, &n) == 0 && k == 1 && n == 3);
    CHECK(sr_shard_parse("3/3", &k, &n) == -1);
    CHECK(sr_shard_parse("0/0", &k, &n) == -1);
    CHECK(sr_shard_parse("-1/2", &k, &n) == -1);
    CHECK(sr_shard_parse("1/2x", &k, &n) == -1);
    int hits[3] = { 0 };
    for (int i = 0; i < 300; i++) {
        char id[16];
        int len = snprintf(id, sizeof id, "id%d", i);
        int owners = 0;
        for (uint64_t s = 0; s < 3; s++)
            if (sr_shard_keep(id, (size_t)len, s, 3)) { owners++; hits[s]++; }
        CHECK(owners == 1);
    }
    CHECK(hits[0] > 50 && hits[1] > 50 && hits[2] > 50);
    char hex[17];
    sr_hex64(0x0123456789abcdefULL, hex);
    CHECK_STR(hex, "0123456789abcdef");
}

/* The OASST --keep split: XXH64(tree id, XXH64(salt)) % 100, about even. */
TEST(split_percentiles)
{
    int below = 0;
    for (int i = 0; i < 1000; i++) {
        char id[16];
        int len = snprintf(id, sizeof id, "tree%d", i);
        unsigned p = sr_split_percentile(id, (size_t)len, "sr", 2);
        CHECK(p < 100 && p == sr_hash(id, (size_t)len, sr_hash("sr", 2, 0)) % 100);
        below += p < 60;
    }
    CHECK(below > 540 && below < 660);
}

int main(void)
{
    msgpack_sbuffer_init(&sb);
    RUN(reads_records_from_memory);
    RUN(frames_records_split_across_reads);
    RUN(oversized_record_is_skipped_without_buffering_it);
    RUN(truncated_stream_is_an_error_naming_the_record);
    RUN(non_map_and_bad_keys_are_bad_records);
    RUN(malformed_byte_ends_the_stream);
    RUN(huge_declared_counts_do_not_allocate);
    RUN(numbers_convert_by_their_value);
    RUN(builder_keeps_unknown_keys_in_order);
    RUN(utf8_validation);
    RUN(shards_partition_ids);
    RUN(split_percentiles);
    msgpack_sbuffer_destroy(&sb);
    return test_done();
}
