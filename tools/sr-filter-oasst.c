/* sr-filter-oasst — seed data from an Open Assistant export: IFT examples
 * (the first turn, English, best-ranked replies), or with --ranked every
 * human-ranked reply for building EFT data and for judge evaluation. */
#include <stdio.h>

#include "io/cli.h"
#include "io/linereader.h"
#include "sr/oasst.h"
#include "io/record.h"

/* Every line of the export into the message-tree model; bad lines stop the
 * stage (exit 3) or are skipped and counted (--skip-bad). */
static void read_export(sr_cli *cli, oasst_set *set)
{
    char err[512];
    const char *name = cli->input ? cli->input : "standard input";
    sr_lines *in = sr_lines_open(cli->input, cli->max_record, err, sizeof err);
    if (!in) sr_die(SR_EXIT_FAIL, "%s", err);
    const char *line;
    size_t n;
    int rc;
    while ((rc = sr_lines_next(in, &line, &n, err, sizeof err)) != SR_LINES_END) {
        if (rc == SR_LINES_IOERR) sr_die(SR_EXIT_FAIL, "%s", err);
        if (rc != SR_LINES_LINE) {      /* over-long line, or truncated/corrupt gzip */
            sr_cli_bad(cli, "%s", err);
            continue;
        }
        rc = oasst_add_line(set, line, n, sr_lines_number(in), err, sizeof err);
        if (rc == OASST_FAIL) sr_die(SR_EXIT_FAIL, "%s: %s", name, err);
        if (rc == OASST_BAD) sr_cli_bad(cli, "%s: %s", name, err);
    }
    sr_lines_close(in);
}

static void write_record(sr_writer *out, const oasst_record *r, bool ranked)
{
    sr_recb b;
    sr_recb_init(&b, NULL);
    sr_recb_cstr(&b, "id", r->id);
    sr_recb_cstr(&b, "prompt_id", r->prompt_id);
    sr_recb_cstr(&b, "prompt", r->prompt);
    sr_recb_cstr(&b, "response", r->response);
    if (ranked) sr_recb_i64(&b, "human_rank", r->human_rank);
    sr_recb_cstr(&b, "source", "oasst");
    sr_write(out, &b);
    sr_recb_free(&b);
}

int main(int argc, char **argv)
{
    oasst_filter f = { .lang = "en", .max_rank = 0, .keep = 100, .split_salt = "sr" };
    bool quiet = false;
    const sr_opt opts[] = {
        { "ranked", 0, SR_OPT_FLAG, &f.ranked, NULL,
          "every ranked reply of prompts with >= 2 of them, with human_rank", 0, 0 },
        { "lang", 0, SR_OPT_STR, &f.lang, "L", "language of prompt and reply", 0, 0 },
        { "max-rank", 0, SR_OPT_INT, &f.max_rank, "R", "IFT: keep replies ranked R or better", 0, 1e9 },
        { "keep", 0, SR_OPT_INT, &f.keep, "PERCENT", "keep this percent of trees (a split by tree id)", 0, 100 },
        { "split-salt", 0, SR_OPT_STR, &f.split_salt, "S", "salt of the --keep split", 0, 0 },
        { "held-out", 0, SR_OPT_FLAG, &f.held_out, NULL, "emit the trees --keep leaves out", 0, 0 },
        { "quiet", 'q', SR_OPT_FLAG, &quiet, NULL, "no summary on standard error", 0, 0 },
        SR_OPT_END,
    };
    sr_cli cli = {
        .name = "sr-filter-oasst",
        .summary = "Select IFT examples (or --ranked replies) from an Open Assistant export.",
        .usage = "[OPTION]... [-i EXPORT.jsonl[.gz]]",
        .details = "Input: JSON lines, flat messages or nested trees, plain or gzip.\n"
                   "Output: msgpack records {id, prompt_id, prompt, response, [human_rank,] source}.",
    };
    sr_cli_parse(&cli, opts, argc, argv);

    oasst_set *set = oasst_new(&f);
    if (!set) sr_die(SR_EXIT_FAIL, "out of memory");
    sr_writer *out = sr_writer_open(&cli);
    read_export(&cli, set);

    const oasst_record *recs;
    size_t n;
    char err[256];
    if (oasst_select(set, &recs, &n, err, sizeof err)) sr_die(SR_EXIT_FAIL, "%s", err);
    for (size_t i = 0; i < n; i++) write_record(out, &recs[i], f.ranked);
    sr_writer_close(out);

    if (!quiet) {
        char line[1024];
        oasst_stats_line(oasst_get_stats(set), line, sizeof line);
        sr_warn("%s", line);
    }
    sr_cli_finish(&cli);
    oasst_free(set);
    return SR_EXIT_OK;
}
