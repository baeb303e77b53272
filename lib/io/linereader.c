/* linereader.c — lines from a plain or gzip-compressed file. */
#include "io/linereader.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

enum { CHUNK = 1 << 20 };

struct sr_lines {
    gzFile gz;
    char *buf;
    size_t cap;
    size_t start, end;      /* unread bytes are buf[start, end) */
    size_t scanned;         /* buf[start, start + scanned) holds no '\n' */
    size_t max_line;
    uint64_t lineno;
    bool eof, done;
    int pending;            /* an error met while reading, reported once the lines before it are out */
    char pending_msg[256];
    const char *name;       /* for messages */
};

sr_lines *sr_lines_open(const char *path, size_t max_line, char *err, size_t errlen)
{
    bool std = !path || strcmp(path, "-") == 0;
    sr_lines *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->name = std ? "standard input" : path;
    r->max_line = max_line ? max_line : 1;
    if (std) {
        /* gzclose closes the descriptor it was given: give it a copy. */
        int fd = dup(STDIN_FILENO);
        r->gz = fd < 0 ? NULL : gzdopen(fd, "rb");
        if (!r->gz && fd >= 0) close(fd);
    } else {
        r->gz = gzopen(path, "rb");
    }
    if (!r->gz) {
        snprintf(err, errlen, "%s: cannot open: %s", r->name, errno ? strerror(errno) : "out of memory");
        free(r);
        return NULL;
    }
    gzbuffer(r->gz, 256 * 1024);
    return r;
}

void sr_lines_close(sr_lines *r)
{
    if (!r) return;
    gzclose(r->gz);
    free(r->buf);
    free(r);
}

uint64_t sr_lines_number(const sr_lines *r) { return r->lineno; }

/* Read more input after the unread bytes: 1 read something, 0 end, or an
 * SR_LINES_ error code. */
static int fill(sr_lines *r, char *err, size_t errlen)
{
    if (r->start > 0) {     /* move the unread part to the front */
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->cap - r->end < CHUNK) {
        size_t cap = r->cap ? r->cap * 2 : 2 * CHUNK;
        char *p = realloc(r->buf, cap);
        if (!p) {
            snprintf(err, errlen, "%s: out of memory at line %llu", r->name,
                     (unsigned long long)r->lineno + 1);
            return SR_LINES_IOERR;
        }
        r->buf = p;
        r->cap = cap;
    }
    if (r->pending) {
        r->done = true;
        snprintf(err, errlen, "%s after line %llu", r->pending_msg, (unsigned long long)r->lineno);
        return r->pending;
    }
    int n = gzread(r->gz, r->buf + r->end, CHUNK);
    int errnum = Z_OK;
    const char *msg = gzerror(r->gz, &errnum);
    /* zlib reports a truncated stream as Z_BUF_ERROR with a short or zero
     * read, not as a failed one; what came before it is still good. */
    if (n < 0 || (errnum != Z_OK && errnum != Z_STREAM_END)) {
        if (errnum == Z_ERRNO) {
            r->pending = SR_LINES_IOERR;
            snprintf(r->pending_msg, sizeof r->pending_msg, "%s: read error (%s)", r->name, strerror(errno));
        } else {
            r->pending = SR_LINES_CORRUPT;
            snprintf(r->pending_msg, sizeof r->pending_msg, "%s: %s compressed data (%s)", r->name,
                     errnum == Z_BUF_ERROR ? "truncated" : "corrupt", msg ? msg : "?");
        }
        if (n <= 0) return fill(r, err, errlen);
    }
    if (n == 0) {
        r->eof = true;
        return 0;
    }
    r->end += (size_t)n;
    return 1;
}

/* Hand out the line at p, or report it as over-long. */
static int give(sr_lines *r, const char *p, size_t len, bool too_long, const char **line, size_t *n,
                char *err, size_t errlen)
{
    r->lineno++;
    if (too_long || len > r->max_line) {
        snprintf(err, errlen, "%s: line %llu: longer than the limit of %zu bytes (--max-record)",
                 r->name, (unsigned long long)r->lineno, r->max_line);
        return SR_LINES_LONG;
    }
    if (r->lineno == 1 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        p += 3;     /* a UTF-8 byte-order mark is not part of the text */
        len -= 3;
    }
    *line = p;
    *n = len;
    return SR_LINES_LINE;
}

int sr_lines_next(sr_lines *r, const char **line, size_t *n, char *err, size_t errlen)
{
    bool skipping = false;      /* inside a line over the limit */
    for (;;) {
        if (r->done) return SR_LINES_END;
        const char *p = r->buf + r->start;
        size_t avail = r->end - r->start;
        const char *nl = avail > r->scanned ? memchr(p + r->scanned, '\n', avail - r->scanned) : NULL;
        if (nl) {
            size_t len = (size_t)(nl - p);
            r->start += len + 1;
            r->scanned = 0;
            return give(r, p, len, skipping, line, n, err, errlen);
        }
        r->scanned = avail;
        if (avail > r->max_line) {  /* drop what is read of an over-long line */
            skipping = true;
            r->start = r->end;
            r->scanned = 0;
        }
        if (r->eof) {
            r->done = true;         /* nothing more to read */
            if (r->end == r->start && !skipping) return SR_LINES_END;
            r->start = r->end;      /* the last line, without a '\n' */
            return give(r, p, avail, skipping, line, n, err, errlen);
        }
        int rc = fill(r, err, errlen);
        if (rc < 0) return rc;
    }
}
