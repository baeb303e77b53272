/* test_quant_presets.c — a tiny llama model in each of llama.cpp's
 * quantization presets loads in sr and gives llama.cpp's logits for the same
 * file. tests/golden/make_quant_golden.py ran llama-quantize and kept its
 * blocks (quant/blocks/FILE.json) and llama.cpp's logits (quant/logits.json); the
 * test writes each file again from those blocks and tinymodel.c's original.
 *
 * llama.cpp multiplies quantized weights by activations it quantizes too
 * (to Q8_K / Q8_0), while sr dequantizes the weights to fp32 at load and
 * multiplies in fp32, so the logits agree to the activation rounding, not
 * to the bit; the dequantized weights themselves are checked to the bit
 * against gguf-py's (checksums in logits.json). The bound is relative to the logits' spread on the F32 original,
 * and much tighter than the preset's own error (sr's quantized logits
 * against sr's F32 ones), which is also checked, per preset: a dequantizer
 * that misplaced values would give an error like the preset's or worse. */
#include "test.h"

#include "../tools/putblocks.h"
#include "test_logits.h"
#include "lm/gguf.h"
#include "lm/model.h"
#include "../tools/tinymodel.h"

#include <jansson.h>
#include <stdint.h>
#include <unistd.h>

#define DIR "tests/golden/quant/"

static char err[512];
static const sr_model_opts opts = { .max_batch = 1, .max_seq = 16, .keep_acts = 0, .threads = 0 };

/* Forward the golden tokens; a copy of every position's logits, or NULL. */
static float *run_logits(sr_model *m, const int32_t *tok, int n)
{
    if (sr_model_forward(m, tok, 1, n, NULL, err, sizeof err) < 0) { printf("#   %s\n", err); return NULL; }
    size_t nv = (size_t)m->hp.vocab * (size_t)n;
    float *out = malloc(nv * sizeof *out);
    memcpy(out, sr_model_logits(m, n), nv * sizeof *out);
    return out;
}

typedef struct { float *sr_f32, *ll_f32; size_t n; char path[256]; } case_ref;

/* The F32 original, written again by tinymodel.c with the case's options:
 * sr's logits on it, which must be llama.cpp's on the script's copy. */
static int case_reference(json_t *c, const int32_t *tok, int nt, case_ref *r)
{
    sr_tiny_opts to = SR_TINY_OPTS_DEFAULT;
    to.dim = (int)json_integer_value(json_object_get(c, "dim"));
    to.ffn_dim = (int)json_integer_value(json_object_get(c, "ffn_dim"));
    to.n_layer = (int)json_integer_value(json_object_get(c, "layers"));
    to.seed = (uint64_t)json_integer_value(json_object_get(c, "seed"));
    const char *dir = getenv("TMPDIR");
    snprintf(r->path, sizeof r->path, "%s/sr-test-quant-%d.gguf", dir ? dir : "/tmp", (int)getpid());
    if (sr_tiny_model_write(r->path, &to, NULL, err, sizeof err) < 0) { printf("#   %s\n", err); return -1; }
    sr_model m;
    if (sr_model_load(&m, r->path, &opts, err, sizeof err) < 0) { printf("#   %s\n", err); return -1; }
    r->n = (size_t)m.hp.vocab * (size_t)nt;
    r->sr_f32 = run_logits(&m, tok, nt);
    r->ll_f32 = test_unhex_floats(json_string_value(json_object_get(c, "logits_f32")), r->n);
    sr_model_free(&m);
    if (!r->sr_f32 || !r->ll_f32) return -1;
    double d = test_max_abs_diff(r->sr_f32, r->ll_f32, r->n), s = test_spread(r->ll_f32, r->n);
    printf("# F32 original %dx%d, %d layer(s): sr vs llama.cpp max |diff| %.3g (spread %.3g)\n",
           to.dim, to.ffn_dim, to.n_layer, d, s);
    CHECK(d <= 1e-6 * s);
    return 0;
}

/* The preset's types, as the file holds them, must be what the script saw. */
static void check_types(const char *path, json_t *want)
{
    gguf_file g;
    if (gguf_open(&g, path, err, sizeof err) < 0) { printf("#   %s\n", err); CHECK(0); return; }
    size_t found = 0;
    for (size_t k = 0; k < json_array_size(want); k++) {
        const char *w = json_string_value(json_array_get(want, k));
        for (uint64_t i = 0; i < g.n_tensors; i++)
            if (strcmp(gguf_type_name(g.tensors[i].type), w) == 0) { found++; break; }
    }
    CHECK(found == json_array_size(want));
    gguf_close(&g);
}

/* Every quantized tensor of the file, dequantized by sr, folded as the
 * script folds gguf-py's values: the float32 bits summed mod 2^64, plain and
 * weighted by position, so any value that differs in any bit shows. */
static void check_dequant(const char *path, json_t *want)
{
    gguf_file g;
    if (gguf_open(&g, path, err, sizeof err) < 0) { printf("#   %s\n", err); CHECK(0); return; }
    size_t n_checked = 0, bad = 0;
    const char *name;
    json_t *w;
    json_object_foreach(want, name, w) {
        const gguf_tensor *t = gguf_find_tensor(&g, name);
        CHECK(t != NULL);
        if (!t) continue;
        CHECK_STR(gguf_type_name(t->type), json_string_value(json_array_get(w, 0)));
        CHECK(t->n_elems == (uint64_t)json_integer_value(json_array_get(w, 1)));
        uint32_t *v = malloc(t->n_elems * sizeof *v);
        CHECK(gguf_dequantize(t, (float *)v) == 0);
        uint64_t a = 0, b = 0;
        for (uint64_t i = 0; i < t->n_elems; i++) { a += v[i]; b += (uint64_t)v[i] * (i + 1); }
        free(v);
        if (a != strtoull(json_string_value(json_array_get(w, 2)), NULL, 10) ||
            b != strtoull(json_string_value(json_array_get(w, 3)), NULL, 10)) {
            printf("#   %s %s (%s): dequantized values differ from gguf-py's\n", path, name, gguf_type_name(t->type));
            bad++;
        }
        n_checked++;
    }
    CHECK(bad == 0 && n_checked > 0);
    gguf_close(&g);
}

/* Largest quantization error sr's logits may show, per preset, relative to
 * the F32 logits' spread: a generous bound on what the presets give here. */
static double preset_bound(const char *p)
{
    if (strncmp(p, "Q2", 2) == 0) return 0.5;
    if (strncmp(p, "Q3", 2) == 0) return 0.3;
    if (strncmp(p, "Q4", 2) == 0 || strncmp(p, "IQ4", 3) == 0) return 0.15;
    if (strncmp(p, "Q5", 2) == 0) return 0.08;
    return 0.04;   /* Q6_K, Q8_0 */
}

/* The preset's file as llama-quantize wrote it, less the two keys it adds
 * (general.file_type, general.quantization_version, which sr does not read):
 * the F32 original's metadata and F32 tensors, with llama-quantize's blocks
 * (blocks/FILE.json) in place of the tensors it quantized, their types from the
 * "dequant" entry. Written to path; 0, or -1 with a message. */
typedef struct preset_blocks { json_t *dequant, *blocks; } preset_blocks;

/* blocks/FILE.json's base64 of a tensor, its type from the file's "dequant". */
static int preset_block(void *ctx, const char *name, const char **type, const char **b64)
{
    const preset_blocks *p = ctx;
    *b64 = json_string_value(json_object_get(p->blocks, name));
    if (!*b64) return 0;
    *type = json_string_value(json_array_get(json_object_get(p->dequant, name), 0));
    return 1;
}

static int build_preset(const char *path, const case_ref *r, json_t *f, json_t *blocks)
{
    preset_blocks pb = { json_object_get(f, "dequant"), blocks };
    return sr_put_blocks(r->path, path, preset_block, &pb, err, sizeof err) < 0 ? -1 : 0;
}

/* The preset file's blocks: quant/blocks/CASE.PRESET.json (one a file, so
 * no golden file is large). */
static json_t *load_blocks(const char *file)
{
    char p[512];
    json_error_t e;
    snprintf(p, sizeof p, DIR "blocks/%.*s.json", (int)(strlen(file) - strlen(".gguf")), file);
    json_t *b = json_load_file(p, 0, &e);
    if (!b) {
        printf("#   %s: %s\n", p, e.text);
        snprintf(err, sizeof err, "no blocks file");
    }
    return b;
}

static void check_file(json_t *f, const case_ref *r, const int32_t *tok, int nt)
{
    const char *file = json_string_value(json_object_get(f, "file"));
    const char *preset = json_string_value(json_object_get(f, "preset"));
    char path[512];
    snprintf(path, sizeof path, "%s.%s", r->path, file);
    json_t *blocks = load_blocks(file);
    int built = blocks ? build_preset(path, r, f, blocks) : -1;
    json_decref(blocks);
    if (built < 0) {
        printf("#   %s: %s\n", file, err);
        CHECK(!"preset file built");
        return;
    }
    check_types(path, json_object_get(f, "types"));
    check_dequant(path, json_object_get(f, "dequant"));
    sr_model m;
    if (sr_model_load(&m, path, &opts, err, sizeof err) < 0) {
        printf("#   %s: %s\n", file, err);
        CHECK(!"preset loads");
        return;
    }
    float *got = run_logits(&m, tok, nt);
    float *ll = test_unhex_floats(json_string_value(json_object_get(f, "logits")), r->n);
    CHECK(got && ll && (size_t)m.hp.vocab * nt == r->n);
    if (got && ll) {
        double s = test_spread(r->ll_f32, r->n);
        double vs_ll = test_max_abs_diff(got, ll, r->n) / s, vs_f32 = test_max_abs_diff(got, r->sr_f32, r->n) / s;
        double ll_f32 = test_max_abs_diff(ll, r->ll_f32, r->n) / s;
        printf("# %-22s vs llama.cpp %.2e; quantization error: sr %.2e, llama.cpp %.2e (bound %.2g)\n",
               file, vs_ll, vs_f32, ll_f32, preset_bound(preset));
        CHECK(vs_ll <= 0.01);
        /* where the preset's error stands well above llama.cpp's activation
         * rounding, sr must sit far nearer llama.cpp than its own F32 logits */
        if (vs_f32 > 0.02) CHECK(vs_ll <= 0.25 * vs_f32);
        CHECK(vs_f32 <= preset_bound(preset));
    }
    free(got);
    free(ll);
    sr_model_free(&m);
    unlink(path);
}

TEST(every_preset_loads_and_matches_llama_cpp)
{
    json_error_t e;
    json_t *j = json_load_file(DIR "logits.json", 0, &e);
    if (!j) { printf("#   " DIR "logits.json: %s\n", e.text); CHECK(0); return; }
    json_t *jt = json_object_get(j, "tokens"), *cases = json_object_get(j, "cases");
    int nt = (int)json_array_size(jt);
    int32_t tok[16];
    CHECK(nt > 0 && nt <= 16);
    for (int i = 0; i < nt && i < 16; i++) tok[i] = (int32_t)json_integer_value(json_array_get(jt, i));
    const char *want[] = {"Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_0", "Q4_1", "Q4_K_S", "Q4_K_M",
                          "Q5_0", "Q5_1", "Q5_K_S", "Q5_K_M", "Q6_K", "Q8_0", "IQ4_NL", "IQ4_XS"};
    int seen = 0, nfiles = 0;
    const char *cname;
    json_t *c;
    json_object_foreach(cases, cname, c) {
        case_ref r = {0};
        if (case_reference(c, tok, nt, &r) < 0) { unlink(r.path); CHECK(!"F32 original"); continue; }
        json_t *files = json_object_get(j, "files");
        for (size_t k = 0; k < json_array_size(files); k++) {
            json_t *f = json_array_get(files, k);
            if (strcmp(json_string_value(json_object_get(f, "case")), cname) != 0) continue;
            const char *p = json_string_value(json_object_get(f, "preset"));
            for (int w = 0; w < 16; w++) if (strcmp(p, want[w]) == 0) seen |= 1 << w;
            check_file(f, &r, tok, nt);
            nfiles++;
        }
        unlink(r.path);
        free(r.sr_f32);
        free(r.ll_f32);
    }
    printf("# %d files\n", nfiles);
    CHECK(seen == 0xffff && nfiles >= 16);
    json_decref(j);
}

int main(void)
{
    RUN(every_preset_loads_and_matches_llama_cpp);
    return test_done();
}
