/* cli.h — the one option and error convention every sr tool follows.
 *
 * A tool describes its own options in a table of sr_opt; sr_cli_parse adds the
 * common ones (-i, -o, --skip-bad, --max-record, -h/--help, --version),
 * prints --help from the table, and checks every value (a number that does
 * not parse, or is out of range, is a usage error: exit 2).
 *
 * Exit codes (DESIGN §3): 0 done, 1 runtime failure, 2 usage, 3 bad input. */
#ifndef SR_CLI_H
#define SR_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SR_EXIT_OK = 0, SR_EXIT_FAIL = 1, SR_EXIT_USAGE = 2, SR_EXIT_DATA = 3 };

#define SR_VERSION "0.1.0"

enum sr_opt_kind {
    SR_OPT_FLAG,    /* bool, no argument */
    SR_OPT_STR,     /* const char * */
    SR_OPT_INT,     /* long, within [min, max] */
    SR_OPT_DOUBLE,  /* double, finite, within [min, max] */
    SR_OPT_SIZE,    /* size_t, with an optional K/M/G suffix (powers of 1024) */
};

typedef struct sr_opt {
    const char *name;       /* long name, without "--" */
    char short_name;        /* 0 for none */
    enum sr_opt_kind kind;
    void *dest;
    const char *arg;        /* argument name shown in --help ("N", "FILE") */
    const char *help;       /* one line; the default is shown from *dest */
    double min, max;        /* for INT and DOUBLE; both 0 means unbounded */
} sr_opt;

#define SR_OPT_END { 0 }

typedef struct sr_cli {
    /* set by the tool */
    const char *name;       /* "sr-cat" */
    const char *summary;    /* one line: what the tool does */
    const char *usage;      /* "[OPTION]... " after the name */
    const char *details;    /* optional paragraph after the options in --help */
    /* common options, filled by sr_cli_parse */
    const char *input;      /* NULL: stdin */
    const char *output;     /* NULL: stdout */
    bool skip_bad;
    size_t max_record;      /* largest record read, bytes */
    /* state */
    uint64_t n_skipped;     /* bad records skipped under --skip-bad */
} sr_cli;

/* The tool's name for messages ("sr-cat"); set by sr_cli_parse. */
extern const char *sr_progname;

/* Parse argv. Exits 0 after --help/--version, 2 on a usage error. Positional
 * arguments are refused unless the tool asks for them (npos_max > 0): then
 * their count goes to *npos and argv is permuted so they start at argv[*first]. */
void sr_cli_parse(sr_cli *cli, const sr_opt *opts, int argc, char **argv);
void sr_cli_parse_pos(sr_cli *cli, const sr_opt *opts, int argc, char **argv,
                      int npos_max, int *first, int *npos);

/* Messages on stderr, prefixed with the tool's name. */
void sr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void sr_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void sr_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A bad record or line: without --skip-bad, print the message and exit 3;
 * with it, count the skip and return (the caller then moves on). The message
 * names where (record index, id, key) — see sr_rec_bad in record.h for the
 * usual way to call this for records. */
void sr_cli_bad(sr_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sr_cli_vbad(sr_cli *cli, const char *fmt, va_list ap);

/* At the end of a stage: report what --skip-bad skipped, if anything. */
void sr_cli_finish(const sr_cli *cli);

#endif
