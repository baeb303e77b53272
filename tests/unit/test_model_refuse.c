/* test_model_refuse.c — a model file is checked from its header before any
 * weight is allocated (model_check.c, llm.c): a 70B llama's header over a
 * hole (tests/tools/headermodel.h) passes the check with the sizes it claims,
 * and each defect is refused by name, by the whole load and by the weights'
 * load alone, without the memory the weights would take. A tiny model, and
 * a checkpoint sr writes, still load. */
#include "test.h"

#include <sys/resource.h>
#include <unistd.h>

#include "../tools/headermodel.h"
#include "lm/checkpoint.h"
#include "lm/llm.h"
#include "../tools/tinymodel.h"

static char err[2048];
static const sr_model_opts opts = { .max_batch = 1, .max_seq = 16, .threads = 1 };

static const char *tmp_path(const char *what)
{
    static char p[256];
    const char *dir = getenv("TMPDIR");
    snprintf(p, sizeof p, "%s/sr-test-refuse-%s-%d.gguf", dir ? dir : "/tmp", what, (int)getpid());
    return p;
}

static long max_rss_kb(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

static const char *write_header(sr_header_defect d)
{
    sr_header_opts o = SR_HEADER_70B;
    o.defect = d;
    const char *path = tmp_path("70b");
    if (sr_header_model_write(path, &o, err, sizeof err) < 0) { printf("#   %s\n", err); return NULL; }
    return path;
}

TEST(a_70b_header_passes_the_check_with_its_sizes)
{
    const char *path = write_header(SR_DEFECT_NONE);
    gguf_file g;
    if (!path || gguf_open(&g, path, err, sizeof err) < 0) { printf("#   %s\n", err); CHECK(0); return; }
    sr_hparams hp;
    const sr_arch *arch = NULL;
    int rc = sr_model_check_gguf(&g, &hp, &arch, err, sizeof err);
    if (rc < 0) printf("#   %s\n", err);
    CHECK(rc == 0 && arch == sr_arch_find("llama", 5));
    CHECK(hp.n_layer == 80 && hp.dim == 8192 && hp.ffn_dim == 28672 && hp.vocab == 128256);
    CHECK(hp.n_head == 64 && hp.n_head_kv == 8 && hp.head_dim == 128 && !hp.tied);
    CHECK(sr_model_check_vocab(&hp, arch, 128256, err, sizeof err) == 0);
    CHECK(sr_model_check_vocab(&hp, arch, 128000, err, sizeof err) == -1);
    CHECK(strstr(err, "token_embd.weight has 128256 rows for a tokenizer of 128000 tokens") != NULL);
    printf("#   %llu tensors in a %zu-byte file (a hole past the header)\n",
           (unsigned long long)g.n_tensors, g.map_size);
    gguf_close(&g);
    unlink(path);
}

/* The whole load (sr_llm_load) refuses the defect with exit 3, naming what
 * wants: without allocating the weights (the peak RSS grows by little). */
static void expect_refused(sr_header_defect d, const char *want)
{
    const char *path = write_header(d);
    if (!path) { CHECK(0); return; }
    long before = max_rss_kb();
    sr_llm llm;
    err[0] = 0;
    int rc = sr_llm_load(&llm, path, &opts, SR_CHAT_AUTO, err, sizeof err);
    long grew = max_rss_kb() - before;
    unlink(path);
    CHECK(rc == SR_LM_BAD_DATA);
    if (!strstr(err, want)) printf("#   error \"%s\" does not mention \"%s\"\n", err, want);
    CHECK(strstr(err, want) != NULL);
    CHECK(grew < 50 * 1024);
    if (rc == SR_LM_OK) sr_llm_close(&llm);
}

TEST(each_defect_is_refused_by_name)
{
    expect_refused(SR_DEFECT_ARCH, "GGUF architecture is \"mamba\"");
    expect_refused(SR_DEFECT_TOK_MODEL, "tokenizer: tokenizer model 'rwkv' is not supported");
    expect_refused(SR_DEFECT_TOK_PRE, "tokenizer: unsupported pre-tokenizer 'no-such-pre'");
    expect_refused(SR_DEFECT_UNKNOWN_TENSOR,
                   "GGUF tensor blk.3.ffn_gate_exps.weight is not a tensor of a llama model with 80 blocks");
    expect_refused(SR_DEFECT_BIAS, "GGUF tensor blk.3.attn_q.bias is present but blk.0.attn_q.bias is not");
    expect_refused(SR_DEFECT_TYPE, "GGUF tensor blk.5.ffn_down.weight has type IQ2_XXS, which sr cannot dequantize");
    expect_refused(SR_DEFECT_SHAPE, "GGUF tensor blk.7.attn_k.weight has shape [8192, 8192], expected [8192, 1024]");
    expect_refused(SR_DEFECT_VOCAB_ROWS, "token_embd.weight has 128000 rows for a tokenizer of 128256 tokens");
    expect_refused(SR_DEFECT_MISSING, "GGUF tensor blk.79.ffn_up.weight is missing");
    expect_refused(SR_DEFECT_TRUNCATED, "tensor 'blk.38.ffn_down.weight': data at offset");
    expect_refused(SR_DEFECT_TRUNCATED, "the file is truncated");
    /* the output head is checked against the vocabulary as the embedding is */
    expect_refused(SR_DEFECT_HEAD_ROWS, "GGUF tensor output.weight has shape [8192, 128000], expected [8192, 128256]");
}

/* The weights' load alone (a training reload, a DPO reference) checks the
 * header first too. */
TEST(the_weights_load_checks_first)
{
    static const struct { sr_header_defect d; const char *want; } cases[] = {
        { SR_DEFECT_UNKNOWN_TENSOR, "blk.3.ffn_gate_exps.weight is not a tensor" },
        { SR_DEFECT_TYPE, "blk.5.ffn_down.weight has type IQ2_XXS" },
        { SR_DEFECT_SHAPE, "blk.7.attn_k.weight has shape [8192, 8192]" },
        { SR_DEFECT_MISSING, "blk.79.ffn_up.weight is missing" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = write_header(cases[i].d);
        gguf_file g;
        if (!path || gguf_open(&g, path, err, sizeof err) < 0) { printf("#   %s\n", err); CHECK(0); continue; }
        long before = max_rss_kb();
        sr_model m;
        CHECK(sr_model_load_gguf(&m, &g, &opts, err, sizeof err) == -1);
        CHECK(max_rss_kb() - before < 50 * 1024);
        if (!strstr(err, cases[i].want)) printf("#   \"%s\" lacks \"%s\"\n", err, cases[i].want);
        CHECK(strstr(err, cases[i].want) != NULL);
        gguf_close(&g);
        unlink(path);
    }
}

/* A tiny model, and the checkpoint sr writes from it, load whole. */
TEST(tiny_models_and_sr_checkpoints_still_load)
{
    const char *p = tmp_path("tiny");
    char path[256], ck[300];
    snprintf(path, sizeof path, "%s", p);
    snprintf(ck, sizeof ck, "%s.ck.gguf", path);
    for (int tied = 0; tied <= 1; tied++) {
        sr_tiny_opts to = SR_TINY_OPTS_DEFAULT;
        to.tied = tied;
        if (sr_tiny_model_write(path, &to, NULL, err, sizeof err) < 0) { printf("#   %s\n", err); CHECK(0); return; }
        sr_llm llm, back;
        int rc = sr_llm_load(&llm, path, &opts, SR_CHAT_AUTO, err, sizeof err);
        if (rc) printf("#   %s\n", err);
        CHECK(rc == SR_LM_OK);
        if (rc) continue;
        CHECK(llm.model.hp.tied == tied && (uint32_t)llm.model.hp.vocab == sr_tok_n_vocab(llm.tok));
        CHECK(sr_checkpoint_write(ck, &llm.model, &llm.gguf, NULL, 0, GGUF_T_BF16, err, sizeof err) == 0);
        rc = sr_llm_load(&back, ck, &opts, SR_CHAT_AUTO, err, sizeof err);
        if (rc) printf("#   %s\n", err);
        CHECK(rc == SR_LM_OK);
        if (rc == SR_LM_OK) sr_llm_close(&back);
        sr_llm_close(&llm);
        unlink(ck);
    }
    unlink(path);
}

int main(void)
{
    RUN(a_70b_header_passes_the_check_with_its_sizes);
    RUN(each_defect_is_refused_by_name);
    RUN(the_weights_load_checks_first);
    RUN(tiny_models_and_sr_checkpoints_still_load);
    return test_done();
}
