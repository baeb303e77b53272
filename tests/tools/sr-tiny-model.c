/* sr-tiny-model — the tests' tiny random llama model (tinymodel.h), for the
 * bats suites: built by make test beside the unit tests, never installed.
 *
 *   sr-tiny-model -o FILE [--tokenizer-from GGUF] [--seed N]
 *
 * Without --tokenizer-from (or when that file cannot be read) the model has
 * the fixture tokenizer, so it is the same whether or not the real model is
 * present. */
#include <stdlib.h>
#include <string.h>

#include "io/cli.h"
#include "tinymodel.h"

int main(int argc, char **argv)
{
    sr_tiny_opts to = SR_TINY_OPTS_DEFAULT;
    long seed = (long)to.seed;
    const char *from = NULL;
    const sr_opt opts[] = {
        { "tokenizer-from", 0, SR_OPT_STR, &from, "GGUF", "copy this model's tokenizer (default: the fixture)", 0, 0 },
        { "seed", 0, SR_OPT_INT, &seed, "N", "seed of the random weights", 0, 9.2e18 },
        SR_OPT_END,
    };
    sr_cli cli = {
        .name = "sr-tiny-model",
        .summary = "Write a tiny random llama model (tests only).",
        .usage = "-o FILE [--tokenizer-from GGUF] [--seed N]",
    };
    sr_cli_parse(&cli, opts, argc, argv);
    if (!cli.output || strcmp(cli.output, "-") == 0) sr_usage_error("-o FILE is required");
    to.tokenizer_from = from;
    to.seed = (uint64_t)seed;
    char err[512];
    if (sr_tiny_model_write(cli.output, &to, NULL, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
    return SR_EXIT_OK;
}
