/* sr-tiny-model — the tests' tiny random llama model (tinymodel.h), for the
 * bats suites: built by make test beside the unit tests, never installed.
 *
 *   sr-tiny-model -o FILE [--tokenizer-from GGUF] [--seed N] [--arch qwen2|qwen3|phi3 | --biases]
 *                 [--rope-freqs] [--untied] [--nan TENSOR] [--window N] [--ctx N]
 *                 [--arch gemma3 [--softcap X] [--rope-scale X]]
 *   sr-tiny-model -o FILE --header-only [--header-shape 70b|1b] [--defect NAME]
 *
 * Without --tokenizer-from (or when that file cannot be read) the model has
 * the fixture tokenizer, so it is the same whether or not the real model is
 * present. --header-only writes instead a 70B llama's header over a hole
 * (headermodel.h), with at most one defect, for the refusal tests. */
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "headermodel.h"
#include "io/cli.h"
#include "lm/gguf.h"
#include "tinymodel.h"

static void write_header_only(const char *out, const char *shape, const char *defect)
{
    sr_header_opts ho = SR_HEADER_70B, ho_1b = SR_HEADER_1B;
    if (shape && strcmp(shape, "1b") == 0) ho = ho_1b;
    else if (shape && strcmp(shape, "70b") != 0) sr_usage_error("--header-shape: '%s' is not one of 70b, 1b", shape);
    if (defect && sr_header_defect_parse(defect, &ho.defect) < 0)
        sr_usage_error("--defect: '%s' is not one of none, arch, tok-model, tok-pre, unknown-tensor, "
                       "bias, type, shape, vocab-rows, missing, truncated, head-rows", defect);
    char err[512];
    if (sr_header_model_write(out, &ho, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
}

/* --nan NAME: the first float of tensor NAME becomes a NaN, written over
 * the file in place — a broken model's numbers for the tests of what the
 * tools do with them (one NaN in output_norm.weight makes every logit NaN). */
static void poison(const char *path, const char *tensor)
{
    gguf_file g;
    char err[512];
    if (gguf_open(&g, path, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
    const gguf_tensor *t = gguf_find_tensor(&g, tensor);
    if (!t || t->type != GGUF_T_F32) sr_die(SR_EXIT_FAIL, "--nan: no F32 tensor %s", tensor);
    off_t at = (off_t)((const char *)t->data - (const char *)g.map);
    gguf_close(&g);
    const float nan = NAN;
    int fd = open(path, O_WRONLY);
    if (fd < 0 || pwrite(fd, &nan, sizeof nan, at) != (ssize_t)sizeof nan || close(fd) != 0)
        sr_die(SR_EXIT_FAIL, "--nan: cannot write %s", path);
}

int main(int argc, char **argv)
{
    sr_tiny_opts to = SR_TINY_OPTS_DEFAULT;
    long seed = (long)to.seed, dim = to.dim, ffn = to.ffn_dim, layers = to.n_layer, head_dim = 0, window = 0;
    long ctx = to.n_ctx;
    double softcap = 0, rope_scale = 0;
    const char *from = NULL, *defect = NULL, *arch = NULL, *nan = NULL, *shape = NULL;
    bool header_only = false, biases = false, untied = false, rope_freqs = false;
    const sr_opt opts[] = {
        { "tokenizer-from", 0, SR_OPT_STR, &from, "GGUF", "copy this model's tokenizer (default: the fixture)", 0, 0 },
        { "seed", 0, SR_OPT_INT, &seed, "N", "seed of the random weights", 0, 9.2e18 },
        /* bigger shapes for tests/golden/make_quant_golden.py: K-quants need rows of 256 */
        { "dim", 0, SR_OPT_INT, &dim, "N", "embedding width (a multiple of 4 heads x 2)", 8, 8192 },
        { "ffn-dim", 0, SR_OPT_INT, &ffn, "N", "feed-forward width", 1, 65536 },
        { "layers", 0, SR_OPT_INT, &layers, "N", "number of blocks", 1, 64 },
        /* the tools' default prompt and reply budgets (sr-gen 1024 + 512, the
         * judge's rubric) and make_arch_scale_golden.py's prompts of 700
         * tokens need more than the default 256 positions */
        { "ctx", 0, SR_OPT_INT, &ctx, "N", "context length (default 256)", 8, 1 << 20 },
        { "arch", 0, SR_OPT_STR, &arch, "NAME",
          "llama (default), qwen2 (q/k/v biases, NEOX rope), qwen3 (q/k head norms), phi3 (fused qkv, gate|up) or gemma3", 0, 0 },
        { "window", 0, SR_OPT_INT, &window, "N",
          "attention.sliding_window: gemma3's local layers (default: none); phi3's, not applied (default 2047)", 1, 1 << 20 },
        { "softcap", 0, SR_OPT_DOUBLE, &softcap, "X", "gemma3: final_logit_softcapping (default: none)", 1e-3, 1e6 },
        { "rope-scale", 0, SR_OPT_DOUBLE, &rope_scale, "X", "gemma3: linear RoPE scaling by X (default: none)", 1, 1e3 },
        { "head-dim", 0, SR_OPT_INT, &head_dim, "N", "head size, written as attention.key_length (default dim / 4)", 2, 1024 },
        { "biases", 0, SR_OPT_FLAG, &biases, NULL, "llama: with q/k/v and output biases", 0, 0 },
        { "rope-freqs", 0, SR_OPT_FLAG, &rope_freqs, NULL, "llama: with rope_freqs.weight, factors 1 to 8 (Llama 3.1's range)", 0, 0 },
        { "untied", 0, SR_OPT_FLAG, &untied, NULL, "a separate output.weight (default: tied to token_embd)", 0, 0 },
        { "nan", 0, SR_OPT_STR, &nan, "TENSOR", "then make the first float of this F32 tensor a NaN", 0, 0 },
        { "header-only", 0, SR_OPT_FLAG, &header_only, NULL, "a 70B llama's header over a hole instead", 0, 0 },
        { "defect", 0, SR_OPT_STR, &defect, "NAME", "with --header-only: the one thing wrong with it", 0, 0 },
        { "header-shape", 0, SR_OPT_STR, &shape, "NAME", "with --header-only: 70b (default) or 1b (TinyLlama's)", 0, 0 },
        SR_OPT_END,
    };
    sr_cli cli = {
        .name = "sr-tiny-model",
        .summary = "Write a tiny random llama model (tests only).",
        .usage = "-o FILE [--tokenizer-from GGUF] [--seed N] | -o FILE --header-only [--defect NAME]",
    };
    sr_cli_parse(&cli, opts, argc, argv);
    if (!cli.output || strcmp(cli.output, "-") == 0) sr_usage_error("-o FILE is required");
    if (header_only) { write_header_only(cli.output, shape, defect); return SR_EXIT_OK; }
    if (defect || shape) sr_usage_error("--defect and --header-shape need --header-only");
    to.tokenizer_from = from;
    to.arch = arch;
    to.biases = biases;
    to.rope_freqs = rope_freqs;
    to.head_dim = (int)head_dim;
    to.swa_window = (int)window;
    to.softcap = softcap;
    to.rope_scale = rope_scale;
    if (window && (!arch || (strcmp(arch, "gemma3") && strcmp(arch, "phi3"))))
        sr_usage_error("--window needs --arch gemma3 or phi3");
    if ((softcap || rope_scale) && (!arch || strcmp(arch, "gemma3")))
        sr_usage_error("--softcap and --rope-scale need --arch gemma3");
    if (head_dim % 2) sr_usage_error("--head-dim must be even");
    to.tied = !untied;
    to.seed = (uint64_t)seed;
    to.dim = (int)dim, to.ffn_dim = (int)ffn, to.n_layer = (int)layers, to.n_ctx = (int)ctx;
    if (dim % (2 * to.n_head)) sr_usage_error("--dim must be a multiple of %d", 2 * to.n_head);
    char err[512];
    if (sr_tiny_model_write(cli.output, &to, NULL, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
    if (nan) poison(cli.output, nan);
    return SR_EXIT_OK;
}
