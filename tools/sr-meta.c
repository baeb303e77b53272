/* sr-meta — the meta-judge's record passes (Meta-Rewarding; sr/metapass.h):
 * --battles turns judged replies into battles of their judgements, for
 * sr-judge --pairwise --meta to decide; --pairs turns the decided battles
 * into judge preference pairs for sr-dpo, within the caps. */
#include <math.h>
#include <stdlib.h>

#include "io/cli.h"
#include "io/record.h"
#include "sr/judge.h"
#include "sr/metapass.h"

typedef struct opts {
    bool battles, pairs, quiet;
    const char *template_path, *length_control;
    double rho, min_gap, share, bucket_share;
    long actor_pairs, seed;
} opts;

/* What the table cannot check: one mode, RHO, options of the other mode. */
static void check_opts(opts *o)
{
    if (o->battles == o->pairs) sr_usage_error("say --battles or --pairs");
    if (o->length_control) {
        char *end;
        o->rho = strtod(o->length_control, &end);
        if (end == o->length_control || *end || !isfinite(o->rho) || !(o->rho >= 0 && o->rho < 1))
            sr_usage_error("--length-control: '%s' is not a number in [0, 1)", o->length_control);
    }
    if (o->battles && (o->length_control || o->min_gap != 0 || o->actor_pairs >= 0))
        sr_usage_error("--length-control, --min-gap and --actor-pairs apply to --pairs");
    if (o->pairs && o->template_path) sr_usage_error("--template applies to --battles");
    if (o->pairs && o->actor_pairs < 0)
        sr_usage_error("--pairs needs --actor-pairs N, the iteration's actor pairs (the share cap's base)");
    if (!(o->share > 0 && o->share < 1)) sr_usage_error("--share: %g is outside (0, 1)", o->share);
}

static void run_battles(sr_cli *cli, const opts *o)
{
    char err[512];
    sr_rubric rb;
    int rc = sr_rubric_load(&rb, o->template_path, err, sizeof err);
    if (rc == SR_JUDGE_EBAD) sr_usage_error("--template: %s", err);
    if (rc) sr_die(SR_EXIT_FAIL, "--template: %s", err);
    sr_writer *out = sr_writer_open(cli);
    sr_meta_battle_stats st;
    sr_meta_battles(cli, out, &rb, &st);
    sr_writer_close(out);
    if (!o->quiet) sr_meta_battles_report(&st);
    sr_rubric_free(&rb);
}

static void run_pairs(sr_cli *cli, const opts *o)
{
    sr_meta_pair_opts po = {
        .pick = { .min_gap = o->min_gap, .rho = o->rho, .length_control = o->length_control != NULL },
        .caps = { o->share, o->bucket_share },
        .actor_pairs = (uint64_t)o->actor_pairs,
        .seed = (uint64_t)o->seed,
    };
    sr_writer *out = sr_writer_open(cli);
    sr_meta_pair_stats st;
    sr_meta_pairs(cli, out, &po, &st);
    sr_writer_close(out);
    if (!o->quiet) sr_meta_pairs_report(&st, &po);
}

int main(int argc, char **argv)
{
    opts o = { .share = 0.25, .bucket_share = 0.5, .actor_pairs = -1 };
    const sr_opt table[] = {
        { "battles", 0, SR_OPT_FLAG, &o.battles, NULL, "judged replies -> battles of their judgements", 0, 0 },
        { "pairs", 0, SR_OPT_FLAG, &o.pairs, NULL, "decided battles -> judge preference pairs", 0, 0 },
        { "template", 0, SR_OPT_STR, &o.template_path, "FILE",
          "--battles: the judge template the judgements were made with (default: the built-in rubric)", 0, 0 },
        { "actor-pairs", 0, SR_OPT_INT, &o.actor_pairs, "N", "--pairs: the iteration's actor pairs", 0, 1e15 },
        { "share", 0, SR_OPT_DOUBLE, &o.share, "F", "--pairs: judge pairs at most F of all DPO pairs", 0, 1 },
        { "bucket-share", 0, SR_OPT_DOUBLE, &o.bucket_share, "B",
          "--pairs: at most B of the judge pairs with one chosen score", 1e-9, 1 },
        { "length-control", 0, SR_OPT_STR, &o.length_control, "RHO",
          "--pairs: chosen the shortest judgement in the top rating band, rejected the longest in the bottom", 0, 0 },
        { "min-gap", 0, SR_OPT_DOUBLE, &o.min_gap, "D", "--pairs: drop pairs whose rating gap is below D", 0, 1e9 },
        { "seed", 0, SR_OPT_INT, &o.seed, "N", "--pairs: the seed of the caps' cut", 0, 9007199254740991.0 },
        { "quiet", 'q', SR_OPT_FLAG, &o.quiet, NULL, "no summary on standard error", 0, 0 },
        SR_OPT_END,
    };
    sr_cli cli = {
        .name = "sr-meta",
        .summary = "The meta-judge's passes: battles of a reply's judgements, and judge pairs from them.",
        .usage = "--battles|--pairs [OPTION]...",
        .details = "--battles input: judged records with their texts (sr-judge --keep-text); output: battles\n"
                   "{id, reply_id, prompt, response_a, response_b, judgement_a, judgement_b, score_a, score_b}\n"
                   "for sr-judge --pairwise --meta. --pairs input: those battles with verdict; output: judge\n"
                   "pairs {id, reply_id, prompt, chosen, rejected, chosen_score, rejected_score, ...} for sr-dpo.",
    };
    sr_cli_parse(&cli, table, argc, argv);
    check_opts(&o);
    if (o.battles) run_battles(&cli, &o);
    else run_pairs(&cli, &o);
    sr_cli_finish(&cli);
    return SR_EXIT_OK;
}
