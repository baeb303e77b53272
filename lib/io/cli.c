/* cli.c — option parsing, --help, and the error/exit convention. */
#include "io/cli.h"
#include "io/threadenv.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sr_progname = "sr";

/* 256 MiB: far above any sane record, small enough that a corrupt length
 * field cannot make a tool try to buffer the whole disk. */
#define SR_DEFAULT_MAX_RECORD ((size_t)256 << 20)

static void vmsg(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", sr_progname);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void sr_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap);
    va_end(ap);
}

void sr_die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap);
    va_end(ap);
    exit(code);
}

void sr_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information.\n", sr_progname);
    exit(SR_EXIT_USAGE);
}

void sr_cli_bad(sr_cli *cli, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sr_cli_vbad(cli, fmt, ap);
    va_end(ap);
}

void sr_cli_vbad(sr_cli *cli, const char *fmt, va_list ap)
{
    if (!cli->skip_bad) {
        vmsg(fmt, ap);
        exit(SR_EXIT_DATA);
    }
    /* Under --skip-bad the first few are still shown, so a user sees what
     * kind of thing is being skipped; the total comes at the end. */
    if (cli->n_skipped < 5) {
        fprintf(stderr, "%s: skipped: ", sr_progname);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    cli->n_skipped++;
}

void sr_cli_finish(const sr_cli *cli)
{
    if (cli->n_skipped)
        sr_warn("--skip-bad: skipped %llu bad record%s", (unsigned long long)cli->n_skipped,
                cli->n_skipped == 1 ? "" : "s");
}

/* ---- values ---------------------------------------------------------------- */

static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'G': case 'g': shift = 30; end++; break;
    }
    if (*end == 'i' && shift) end++;
    if (*end == 'B' || *end == 'b') end++;
    if (*end || (shift && v > (~0ULL >> shift)))
        return -1;
    *out = (size_t)(v << shift);
    return 0;
}

static void set_value(const sr_opt *o, const char *arg)
{
    bool bounded = o->min != 0 || o->max != 0;
    char *end;
    switch (o->kind) {
    case SR_OPT_FLAG:
        *(bool *)o->dest = true;
        return;
    case SR_OPT_STR:
        *(const char **)o->dest = arg;
        return;
    case SR_OPT_INT: {
        errno = 0;
        long v = strtol(arg, &end, 10);
        if (errno || end == arg || *end)
            sr_usage_error("--%s: '%s' is not an integer", o->name, arg);
        if (bounded && (v < o->min || v > o->max))
            sr_usage_error("--%s: %ld is out of range [%.0f, %.0f]", o->name, v, o->min, o->max);
        *(long *)o->dest = v;
        return;
    }
    case SR_OPT_DOUBLE: {
        errno = 0;
        double v = strtod(arg, &end);
        if (errno || end == arg || *end || !isfinite(v))
            sr_usage_error("--%s: '%s' is not a number", o->name, arg);
        if (bounded && (v < o->min || v > o->max))
            sr_usage_error("--%s: %g is out of range [%g, %g]", o->name, v, o->min, o->max);
        *(double *)o->dest = v;
        return;
    }
    case SR_OPT_SIZE:
        if (parse_size(arg, (size_t *)o->dest))
            sr_usage_error("--%s: '%s' is not a size (like 512, 64K, 16M, 2G)", o->name, arg);
        return;
    }
}

/* ---- --help ---------------------------------------------------------------- */

static void print_opt(const sr_opt *o)
{
    char head[96];
    int n = snprintf(head, sizeof head, "  %c%c%s--%s%s%s",
                     o->short_name ? '-' : ' ', o->short_name ? o->short_name : ' ',
                     o->short_name ? ", " : "  ", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    if (n < 28)
        printf("%-28s%s", head, o->help);
    else
        printf("%s\n%28s%s", head, "", o->help);
    switch (o->kind) {
    case SR_OPT_INT:    printf(" (default %ld)", *(long *)o->dest); break;
    case SR_OPT_DOUBLE: printf(" (default %g)", *(double *)o->dest); break;
    case SR_OPT_STR:
        if (*(const char **)o->dest) printf(" (default %s)", *(const char **)o->dest);
        break;
    default: break;
    }
    putchar('\n');
}

static void print_help(const sr_cli *cli, const sr_opt *opts, const sr_opt *common)
{
    printf("Usage: %s %s\n%s\n\nOptions:\n", cli->name, cli->usage ? cli->usage : "[OPTION]...",
           cli->summary);
    for (const sr_opt *o = opts; o && o->name; o++)
        print_opt(o);
    for (const sr_opt *o = common; o->name; o++)
        print_opt(o);
    printf("  -h, --help                show this help and exit\n"
           "      --version             show the version and exit\n");
    if (cli->details)
        printf("\n%s\n", cli->details);
    printf("\nExit status: 0 done, 1 runtime failure, 2 usage error, 3 bad input.\n"
           "See %s(1).\n", cli->name);
}

/* ---- parsing --------------------------------------------------------------- */

enum { MAX_OPTS = 96, LONG_ONLY_BASE = 256 };

/* Every option, the tool's then the common ones, as getopt_long wants them:
 * an option with a short name answers with it, one without with
 * LONG_ONLY_BASE + its place in all[]. */
typedef struct getopt_tables {
    const sr_opt *all[MAX_OPTS];
    int n;
    struct option lo[MAX_OPTS + 3];
    char shorts[2 * MAX_OPTS + 8];
} getopt_tables;

static void build_tables(getopt_tables *t, const sr_opt *opts, const sr_opt *common)
{
    t->n = 0;
    for (const sr_opt *o = opts; o && o->name; o++) t->all[t->n++] = o;
    for (const sr_opt *o = common; o->name; o++) t->all[t->n++] = o;

    int ns = 0;
    t->shorts[ns++] = ':';     /* tell a missing argument (':') from an unknown option ('?') */
    t->shorts[ns++] = 'h';
    for (int i = 0; i < t->n; i++) {
        const sr_opt *o = t->all[i];
        int val = o->short_name ? o->short_name : LONG_ONLY_BASE + i;
        t->lo[i] = (struct option){ o->name, o->kind == SR_OPT_FLAG ? no_argument : required_argument, NULL, val };
        if (o->short_name) {
            t->shorts[ns++] = o->short_name;
            if (o->kind != SR_OPT_FLAG) t->shorts[ns++] = ':';
        }
    }
    t->lo[t->n] = (struct option){ "help", no_argument, NULL, 'h' };
    t->lo[t->n + 1] = (struct option){ "version", no_argument, NULL, LONG_ONLY_BASE + MAX_OPTS };
    t->lo[t->n + 2] = (struct option){ 0 };
    t->shorts[ns] = 0;
}

/* The option getopt_long answered c for; a usage error for what it refused. */
static const sr_opt *option_for(const getopt_tables *t, int c, char **argv)
{
    if (c == ':')
        sr_usage_error("option '%s' needs an argument", argv[optind - 1]);
    if (c == '?') {
        if (optopt && optopt < LONG_ONLY_BASE)
            sr_usage_error("option '-%c' is not known", optopt);
        sr_usage_error("option '%s' is not known", argv[optind - 1]);
    }
    if (c >= LONG_ONLY_BASE) return t->all[c - LONG_ONLY_BASE];
    for (int i = 0; i < t->n; i++)
        if (t->all[i]->short_name == c) return t->all[i];
    sr_usage_error("internal: unmapped option %d", c);
}

void sr_cli_parse_pos(sr_cli *cli, const sr_opt *opts, int argc, char **argv,
                      int npos_max, int *first, int *npos)
{
    sr_thread_env(argv);
    sr_progname = cli->name;
    cli->input = NULL;
    cli->output = NULL;
    cli->skip_bad = false;
    cli->max_record = SR_DEFAULT_MAX_RECORD;
    cli->n_skipped = 0;

    const sr_opt common[] = {
        { "input", 'i', SR_OPT_STR, &cli->input, "FILE", "read from FILE (default: standard input)", 0, 0 },
        { "output", 'o', SR_OPT_STR, &cli->output, "FILE",
          "write to FILE, atomically (default: standard output)", 0, 0 },
        { "skip-bad", 0, SR_OPT_FLAG, &cli->skip_bad, NULL,
          "skip bad records, count them, and go on instead of stopping", 0, 0 },
        { "max-record", 0, SR_OPT_SIZE, &cli->max_record, "SIZE",
          "largest input record accepted (default 256M)", 0, 0 },
        SR_OPT_END,
    };
    getopt_tables t;
    build_tables(&t, opts, common);

    opterr = 0;
    optind = 1;
    int c, idx;
    while ((c = getopt_long(argc, argv, t.shorts, t.lo, &idx)) != -1) {
        if (c == 'h') {
            print_help(cli, opts, common);
            exit(SR_EXIT_OK);
        }
        if (c == LONG_ONLY_BASE + MAX_OPTS) {
            printf("%s (sr) %s\n", cli->name, SR_VERSION);
            exit(SR_EXIT_OK);
        }
        set_value(option_for(&t, c, argv), optarg);
    }
    int left = argc - optind;
    if (left > npos_max) {
        if (npos_max == 0)
            sr_usage_error("unexpected argument '%s' (input comes from -i FILE or standard input)",
                           argv[optind]);
        sr_usage_error("too many arguments");
    }
    if (first) *first = optind;
    if (npos) *npos = left;
    if (cli->input && strcmp(cli->input, "-") == 0) cli->input = NULL;
    if (cli->output && strcmp(cli->output, "-") == 0) cli->output = NULL;

    /* A closed pipe downstream (| head) is a normal end: write errors with
     * EPIPE are turned into a quiet exit 0 where output is written. */
    signal(SIGPIPE, SIG_IGN);
}

void sr_cli_parse(sr_cli *cli, const sr_opt *opts, int argc, char **argv)
{
    sr_cli_parse_pos(cli, opts, argc, argv, 0, NULL, NULL);
}
