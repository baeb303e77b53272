/* sr-pairs — preference pairs from judged candidates (METHOD step 4), or
 * with --eft, judge-training examples from judged human-ranked replies
 * (METHOD "Seed data"). Every record is read first: a prompt's candidates
 * may be anywhere in the input. The rules are in lib/sr/pairs.h and eft.h. */
#include <math.h>
#include <stdlib.h>

#include "io/cli.h"
#include "io/groupby.h"
#include "io/record.h"
#include "sr/eft.h"
#include "sr/judge.h"
#include "sr/pairs.h"

typedef struct opts {
    bool eft, quiet, keep_truncated;
    double min_gap;
    const char *length_control;   /* RHO, parsed into rho */
    const char *diverse;          /* RHO of DivPO, parsed into rho */
    double rho;
    const char *template_path;
    long seed, per_reply;
} opts;

/* A band RHO in [0, 1), or a usage error naming the flag. */
static double parse_rho(const char *flag, const char *arg)
{
    char *end;
    double rho = strtod(arg, &end);
    if (end == arg || *end || !isfinite(rho)) sr_usage_error("--%s: '%s' is not a number", flag, arg);
    if (!(rho >= 0 && rho < 1)) sr_usage_error("--%s: %g is outside [0, 1)", flag, rho);
    return rho;
}

/* What the table cannot check: RHO, and flags of the other mode. */
static void check_opts(opts *o)
{
    if (o->length_control && o->diverse)
        sr_usage_error("--length-control and --diverse are two rules for the same choice; give one");
    if (o->length_control) o->rho = parse_rho("length-control", o->length_control);
    if (o->diverse) o->rho = parse_rho("diverse", o->diverse);
    if (o->eft && (o->length_control || o->diverse || o->min_gap != 0 || o->keep_truncated))
        sr_usage_error("--length-control, --diverse, --min-gap and --keep-truncated make pairs; "
                       "they do not apply to --eft");
    if (!o->eft && o->template_path) sr_usage_error("--template applies only to --eft");
    if (!o->eft && o->per_reply != 1) sr_usage_error("--eft-per-reply applies only to --eft");
}

/* Every good record, grouped by prompt_id; bad ones stop the stage or are skipped. */
static sr_groups *read_all(sr_cli *cli, bool eft)
{
    sr_groups *g = sr_groups_new();
    sr_reader *in = sr_reader_open(cli);
    sr_rec rec;
    sr_str prompt_id;
    while (sr_read(in, &rec))
        if (eft ? sr_eft_check(&rec, &prompt_id) : sr_pairs_check(&rec, &prompt_id))
            sr_groups_add(g, &rec, prompt_id);
    sr_reader_close(in);
    return g;
}

int main(int argc, char **argv)
{
    opts o = { .min_gap = 0, .seed = 0, .per_reply = 1 };
    const sr_opt table[] = {
        { "min-gap", 0, SR_OPT_DOUBLE, &o.min_gap, "D", "drop pairs whose score gap is below D (0: any gap)", 0, 1e9 },
        { "length-control", 0, SR_OPT_STR, &o.length_control, "RHO",
          "chosen: the shortest in the top band, rejected: the longest in the bottom band; RHO in [0, 1)", 0, 0 },
        { "diverse", 0, SR_OPT_STR, &o.diverse, "RHO",
          "DivPO: chosen: the least similar to the others (mean ROUGE-L F) in the top band, rejected: the "
          "most similar in the bottom band; RHO in [0, 1)", 0, 0 },
        { "keep-truncated", 0, SR_OPT_FLAG, &o.keep_truncated, NULL,
          "keep candidates cut off at the length cap (finish \"length\"); default: left out", 0, 0 },
        { "eft", 0, SR_OPT_FLAG, &o.eft, NULL, "EFT examples from judged ranked replies instead of pairs", 0, 0 },
        { "template", 0, SR_OPT_STR, &o.template_path, "FILE",
          "--eft: the judge prompt template (as given to sr-judge; default: the built-in rubric)", 0, 0 },
        { "seed", 0, SR_OPT_INT, &o.seed, "N", "--eft: the seed of the score balancing", 0, 9007199254740991.0 },
        { "eft-per-reply", 0, SR_OPT_INT, &o.per_reply, "N",
          "--eft: examples a reply gives at most, of its k judgements (0: all)", 0, 1e9 },
        { "quiet", 'q', SR_OPT_FLAG, &o.quiet, NULL, "no summary on standard error", 0, 0 },
        SR_OPT_END,
    };
    sr_cli cli = {
        .name = "sr-pairs",
        .summary = "Make preference pairs from judged candidates (or, with --eft, judge-training examples).",
        .usage = "[OPTION]...",
        .details = "Input: judged records {id, prompt_id, prompt, response, score, ...} (sr-judge).\n"
                   "Output: pairs {id, prompt_id, prompt, chosen, rejected, chosen_score, rejected_score,\n"
                   "chosen_id, rejected_id, ...}, or with --eft examples {id, prompt, response, score, source, ...}.",
    };
    sr_cli_parse(&cli, table, argc, argv);
    check_opts(&o);

    /* The judge's rubric: its scale bounds the scores, its template is what
     * --eft examples ask. */
    sr_rubric r = { 0 };
    char err[512];
    int rc = sr_rubric_load(&r, o.eft ? o.template_path : NULL, err, sizeof err);
    if (rc == SR_JUDGE_EBAD) sr_usage_error("--template %s", err);
    if (rc) sr_die(SR_EXIT_FAIL, "--template: %s", err);

    sr_groups *g = read_all(&cli, o.eft);
    sr_writer *out = sr_writer_open(&cli);
    if (o.eft) {
        sr_eft_stats st;
        sr_eft_write(g, out, &r.tmpl, (uint64_t)o.seed, r.min, r.max, (size_t)o.per_reply, &st);
        sr_writer_close(out);     /* first: a reader that stopped early ends us here, quietly */
        if (!o.quiet) sr_eft_report(&st);
    } else {
        sr_pairs_stats st;
        sr_pick_opts po = { .min_gap = o.min_gap, .rho = o.rho, .length_control = o.length_control != NULL,
                            .diverse = o.diverse != NULL, .keep_truncated = o.keep_truncated };
        sr_pairs_write(g, out, &po, r.min, r.max, &st);
        sr_writer_close(out);
        if (!o.quiet) sr_pairs_report(&st);
    }
    sr_cli_finish(&cli);
    sr_groups_free(g);
    sr_rubric_free(&r);
    return SR_EXIT_OK;
}
