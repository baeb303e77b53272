/* linereader.h — text input one line at a time, plain or gzip-compressed.
 *
 * Compression is detected from the content (zlib reads a plain file
 * transparently), never from the file's name. Lines may be of any length up
 * to a limit; the buffer grows as needed, so a 100 MB export streams through
 * without being held whole.
 *
 *   sr_lines *in = sr_lines_open(path, cli.max_record, err, sizeof err);
 *   const char *line; size_t n; int rc;
 *   while ((rc = sr_lines_next(in, &line, &n, err, sizeof err)) != SR_LINES_END) ...
 */
#ifndef SR_LINEREADER_H
#define SR_LINEREADER_H

#include <stddef.h>
#include <stdint.h>

typedef struct sr_lines sr_lines;

enum {
    SR_LINES_LINE = 1,      /* a line (without its '\n') */
    SR_LINES_END = 0,       /* the end of the input */
    SR_LINES_LONG = -1,     /* a line over the limit: skipped, the reader is past it */
    SR_LINES_CORRUPT = -2,  /* truncated or corrupt compressed data: the input ends here */
    SR_LINES_IOERR = -3,    /* a read error: the input ends here */
};

/* Open path (NULL or "-": standard input). NULL on failure, message in err. */
sr_lines *sr_lines_open(const char *path, size_t max_line, char *err, size_t errlen);

/* The next line, valid until the next call. On anything but SR_LINES_LINE and
 * SR_LINES_END, err says what happened and where. A last line without '\n'
 * counts as a line. */
int sr_lines_next(sr_lines *r, const char **line, size_t *n, char *err, size_t errlen);

/* The 1-based number of the line last returned (or reported). */
uint64_t sr_lines_number(const sr_lines *r);

void sr_lines_close(sr_lines *r);

#endif
