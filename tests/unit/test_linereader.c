/* test_linereader.c — lines from plain and gzip input: endings, lengths,
 * a byte-order mark, over-long lines, truncated and corrupt compression. */
#include "io/linereader.h"
#include "test.h"

#include <stdbool.h>
#include <unistd.h>
#include <zlib.h>

static char path[64];

static void write_file(const void *data, size_t n, bool gz)
{
    snprintf(path, sizeof path, "/tmp/sr-test-lines.%ld", (long)getpid());
    if (gz) {
        gzFile g = gzopen(path, "wb");
        gzwrite(g, data, (unsigned)n);
        gzclose(g);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

/* Read every line of path into out ("a|b|" with '|' after each line, "!" for
 * an over-long one, "#" for the end after corrupt data). */
static void read_all(size_t max, char *out, size_t outlen)
{
    char err[256];
    sr_lines *r = sr_lines_open(path, max, err, sizeof err);
    out[0] = 0;
    if (!r) { snprintf(out, outlen, "open failed: %s", err); return; }
    const char *line;
    size_t n;
    int rc;
    while ((rc = sr_lines_next(r, &line, &n, err, sizeof err)) != SR_LINES_END) {
        size_t used = strlen(out);
        if (rc == SR_LINES_LINE) snprintf(out + used, outlen - used, "%.*s|", (int)n, line);
        else if (rc == SR_LINES_LONG) snprintf(out + used, outlen - used, "!");
        else snprintf(out + used, outlen - used, "#");
    }
    sr_lines_close(r);
    unlink(path);
}

TEST(plain_and_gzip_lines)
{
    static const char text[] = "\xEF\xBB\xBF{\"a\":1}\n\nsecond\r\nlast without newline";
    char out[256];
    for (int gz = 0; gz < 2; gz++) {
        write_file(text, sizeof text - 1, gz);
        read_all(1024, out, sizeof out);
        CHECK_STR(out, "{\"a\":1}||second\r|last without newline|");
    }
    write_file("", 0, false);
    read_all(1024, out, sizeof out);
    CHECK_STR(out, "");
}

TEST(long_lines_grow_the_buffer_or_are_skipped)
{
    size_t n = 3u << 20;    /* longer than one read chunk */
    char *big = malloc(n + 16);
    memset(big, 'x', n);
    memcpy(big + n, "\nok\n", 4);
    char out[64];
    write_file(big, n + 4, true);
    read_all(1024, out, sizeof out);
    CHECK_STR(out, "!ok|");
    write_file(big, n + 4, false);
    char err[128];
    sr_lines *r = sr_lines_open(path, n, err, sizeof err);
    const char *line;
    size_t len = 0;
    CHECK(sr_lines_next(r, &line, &len, err, sizeof err) == SR_LINES_LINE && len == n);
    CHECK(sr_lines_next(r, &line, &len, err, sizeof err) == SR_LINES_LINE && len == 2);
    CHECK(sr_lines_number(r) == 2);
    CHECK(sr_lines_next(r, &line, &len, err, sizeof err) == SR_LINES_END);
    sr_lines_close(r);
    unlink(path);
    free(big);
}

TEST(truncated_and_corrupt_gzip)
{
    char text[4096] = "";
    for (int i = 0; i < 200; i++) snprintf(text + strlen(text), sizeof text - strlen(text), "line %d\n", i);
    write_file(text, strlen(text), true);
    FILE *f = fopen(path, "rb");
    unsigned char gz[4096];
    size_t n = fread(gz, 1, sizeof gz, f);
    fclose(f);

    f = fopen(path, "wb");      /* all but the trailer: the data is whole, the stream is not */
    fwrite(gz, 1, n - 4, f);
    fclose(f);
    char out[4096];
    read_all(1024, out, sizeof out);
    CHECK(strlen(out) > 0 && out[strlen(out) - 1] == '#');

    f = fopen(path, "wb");      /* cut in the middle */
    fwrite(gz, 1, n / 2, f);
    fclose(f);
    read_all(1024, out, sizeof out);
    CHECK(strncmp(out, "line 0|", 7) == 0 && out[strlen(out) - 1] == '#');

    gz[n / 2] ^= 0xff;          /* corrupt */
    gz[n / 2 + 1] ^= 0xff;
    f = fopen(path, "wb");
    fwrite(gz, 1, n, f);
    fclose(f);
    read_all(1024, out, sizeof out);
    CHECK(out[strlen(out) - 1] == '#');
}

TEST(missing_file)
{
    char err[256];
    CHECK(sr_lines_open("/nonexistent/dir/file", 1024, err, sizeof err) == NULL);
    CHECK(strstr(err, "/nonexistent/dir/file") != NULL);
}

int main(void)
{
    RUN(plain_and_gzip_lines);
    RUN(long_lines_grow_the_buffer_or_are_skipped);
    RUN(truncated_and_corrupt_gzip);
    RUN(missing_file);
    return test_done();
}
