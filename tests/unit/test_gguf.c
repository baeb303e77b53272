/* test_gguf.c — GGUF reading, validation, dequantization and writing.
 *
 * The real model's metadata and tensor table; dequantization against golden
 * values from the `gguf` Python package (tests/golden/make_dequant_golden.py);
 * fp16/bf16 conversions; read -> write -> read identity; and hand-built files
 * that each break one rule of the format. */
#include "test.h"
#include "lm/gguf.h"
#include "blocks.h"

#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#define GOLDEN "tests/golden/dequant.json"

static int str_is(gguf_str s, const char *c) { return s.n == strlen(c) && memcmp(s.p, c, s.n) == 0; }

/* --- the real model ------------------------------------------------------- */

TEST(model_metadata) {
    const char *path = test_model_path();
    if (!path) return;
    gguf_file g;
    char err[512];
    int rc = gguf_open(&g, path, err, sizeof err);
    CHECK(rc == 0);
    if (rc) { printf("#   %s\n", err); return; }
    CHECK(g.version == 3);
    CHECK(g.n_kv == 33);
    CHECK(g.n_tensors == 272);
    CHECK(g.alignment == 32);

    gguf_str s;
    CHECK(gguf_get_str(&g, "general.architecture", &s) == 0 && str_is(s, "llama"));
    CHECK(gguf_get_str(&g, "tokenizer.ggml.model", &s) == 0 && str_is(s, "gpt2"));
    CHECK(gguf_get_str(&g, "tokenizer.ggml.pre", &s) == 0 && str_is(s, "smollm"));
    CHECK(gguf_get_str(&g, "tokenizer.chat_template", &s) == 0 && s.n > 100);

    uint64_t u = 0;
    int64_t i = 0;
    double f = 0;
    CHECK(gguf_get_u64(&g, "llama.block_count", &u) == 0 && u == 30);
    CHECK(gguf_get_u64(&g, "llama.embedding_length", &u) == 0 && u == 576);
    CHECK(gguf_get_u64(&g, "llama.feed_forward_length", &u) == 0 && u == 1536);
    CHECK(gguf_get_u64(&g, "llama.attention.head_count", &u) == 0 && u == 9);
    CHECK(gguf_get_u64(&g, "llama.attention.head_count_kv", &u) == 0 && u == 3);
    CHECK(gguf_get_u64(&g, "llama.context_length", &u) == 0 && u == 8192);
    CHECK(gguf_get_u64(&g, "llama.rope.dimension_count", &u) == 0 && u == 64);
    CHECK(gguf_get_u64(&g, "llama.vocab_size", &u) == 0 && u == 49152);
    CHECK(gguf_get_u64(&g, "tokenizer.ggml.eos_token_id", &u) == 0 && u == 2);
    /* the typed getters convert between widths */
    CHECK(gguf_get_i64(&g, "llama.block_count", &i) == 0 && i == 30);
    CHECK(gguf_get_f64(&g, "llama.block_count", &f) == 0 && f == 30.0);
    CHECK(gguf_get_f64(&g, "llama.rope.freq_base", &f) == 0 && f == 100000.0);
    CHECK(gguf_get_f64(&g, "llama.attention.layer_norm_rms_epsilon", &f) == 0 && (float)f == 1e-5f);
    CHECK(gguf_get_u64(&g, "tokenizer.ggml.add_bos_token", &u) == 0 && u == 0);
    /* absent keys and wrong types */
    CHECK(gguf_get_u64(&g, "llama.no_such_key", &u) == -1);
    CHECK(gguf_get_u64(&g, "general.architecture", &u) == -1);
    CHECK(gguf_get_f64(&g, "general.architecture", &f) == -1);
    CHECK(gguf_get_str(&g, "llama.block_count", &s) == -1);
    CHECK(gguf_get_str(&g, "tokenizer.ggml.tokens", &s) == -1);
    CHECK(gguf_get_arr(&g, "llama.block_count") == NULL);
    CHECK(gguf_find_kv(&g, "llama") == NULL);

    const gguf_value *tok = gguf_get_arr(&g, "tokenizer.ggml.tokens");
    const gguf_value *typ = gguf_get_arr(&g, "tokenizer.ggml.token_type");
    const gguf_value *mrg = gguf_get_arr(&g, "tokenizer.ggml.merges");
    CHECK(tok && tok->v.arr.type == GGUF_STRING && tok->v.arr.n == 49152);
    CHECK(typ && typ->v.arr.type == GGUF_I32 && typ->v.arr.n == 49152);
    CHECK(mrg && mrg->v.arr.type == GGUF_STRING && mrg->v.arr.n == 48900);
    if (tok && tok->v.arr.n == 49152) {
        CHECK(str_is(tok->v.arr.items[2].v.s, "<|im_end|>"));
        CHECK(tok->v.arr.items[49151].type == GGUF_STRING);
    }
    if (mrg && mrg->v.arr.n) CHECK(memchr(mrg->v.arr.items[0].v.s.p, ' ', mrg->v.arr.items[0].v.s.n) != NULL);
    const gguf_value *lang = gguf_get_arr(&g, "general.languages");
    CHECK(lang && lang->v.arr.n == 1 && str_is(lang->v.arr.items[0].v.s, "en"));
    gguf_close(&g);
    CHECK(g.kv == NULL && g.arena == NULL);
    gguf_close(&g);   /* closing twice is harmless */
}

static void check_tensor(const gguf_file *g, const char *name, enum gguf_ttype type,
                         uint32_t n_dims, uint64_t ne0, uint64_t ne1) {
    const gguf_tensor *t = gguf_find_tensor(g, name);
    CHECK(t != NULL);
    if (!t) { printf("#   tensor %s missing\n", name); return; }
    CHECK(str_is(t->name, name));
    CHECK(t->type == type);
    CHECK(t->n_dims == n_dims);
    CHECK(t->ne[0] == ne0);
    CHECK(t->ne[1] == ne1);
    CHECK(t->n_elems == ne0 * ne1);
    CHECK(t->n_bytes == gguf_type_size(type, ne0 * ne1));
}

TEST(model_tensors) {
    const char *path = test_model_path();
    if (!path) return;
    gguf_file g;
    char err[512];
    if (gguf_open(&g, path, err, sizeof err)) { CHECK(!"open"); printf("#   %s\n", err); return; }
    check_tensor(&g, "token_embd.weight", GGUF_T_Q8_0, 2, 576, 49152);
    check_tensor(&g, "output_norm.weight", GGUF_T_F32, 1, 576, 1);
    check_tensor(&g, "blk.0.attn_q.weight", GGUF_T_Q4_1, 2, 576, 576);
    check_tensor(&g, "blk.0.attn_k.weight", GGUF_T_Q4_1, 2, 576, 192);
    check_tensor(&g, "blk.0.attn_v.weight", GGUF_T_Q4_1, 2, 576, 192);
    check_tensor(&g, "blk.0.attn_output.weight", GGUF_T_Q4_1, 2, 576, 576);
    check_tensor(&g, "blk.0.ffn_gate.weight", GGUF_T_Q4_1, 2, 576, 1536);
    check_tensor(&g, "blk.0.ffn_up.weight", GGUF_T_Q4_1, 2, 576, 1536);
    check_tensor(&g, "blk.29.ffn_down.weight", GGUF_T_Q4_1, 2, 1536, 576);
    check_tensor(&g, "blk.29.attn_norm.weight", GGUF_T_F32, 1, 576, 1);
    check_tensor(&g, "blk.29.ffn_norm.weight", GGUF_T_F32, 1, 576, 1);
    CHECK(gguf_find_tensor(&g, "output.weight") == NULL);   /* tied embeddings */
    CHECK(gguf_find_tensor(&g, "blk.30.attn_q.weight") == NULL);
    CHECK(strcmp(gguf_type_name(GGUF_T_Q4_1), "Q4_1") == 0);

    /* every tensor lies in the mapping, aligned, and is found by its name */
    const uint8_t *base = g.map, *end = base + g.map_size;
    uint64_t total = 0;
    int bad = 0;
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const gguf_tensor *t = &g.tensors[i];
        const uint8_t *d = t->data;
        if (!(d >= base && d + t->n_bytes <= end)) bad++;
        if ((uint64_t)(d - base) % g.alignment) bad++;
        char name[80];
        snprintf(name, sizeof name, "%.*s", (int)t->name.n, t->name.p);
        if (gguf_find_tensor(&g, name) != t) bad++;
        total += t->n_bytes;
    }
    CHECK(bad == 0);
    CHECK(total < g.map_size && total > g.map_size - 2 * 1024 * 1024);
    gguf_close(&g);
}

TEST(type_sizes) {
    CHECK(gguf_type_size(GGUF_T_F32, 10) == 40);
    CHECK(gguf_type_size(GGUF_T_F16, 10) == 20);
    CHECK(gguf_type_size(GGUF_T_BF16, 10) == 20);
    CHECK(gguf_type_size(GGUF_T_Q4_0, 64) == 36);
    CHECK(gguf_type_size(GGUF_T_Q4_1, 64) == 40);
    CHECK(gguf_type_size(GGUF_T_Q8_0, 64) == 68);
    CHECK(gguf_type_size(GGUF_T_Q4_K, 512) == 288);
    CHECK(gguf_type_size(GGUF_T_Q6_K, 512) == 420);
    CHECK(gguf_type_size(GGUF_T_Q4_1, 33) == 0);            /* not whole blocks */
    CHECK(gguf_type_size((enum gguf_ttype)4, 32) == 0);     /* removed from ggml */
    CHECK(gguf_type_size((enum gguf_ttype)1000, 32) == 0);
    CHECK(gguf_type_size(GGUF_T_F32, UINT64_MAX / 2) == 0);  /* overflow */
    CHECK(gguf_block_elems(GGUF_T_Q6_K) == 256);
    CHECK(gguf_block_elems((enum gguf_ttype)-1) == 0);
    CHECK_STR(gguf_type_name(GGUF_T_Q5_K), "Q5_K");
    CHECK_STR(gguf_type_name((enum gguf_ttype)77), "unknown");
    /* a type that sizes but does not dequantize (IQ2_XXS) */
    float out[256];
    uint8_t blk[66] = {0};
    gguf_tensor t = {.type = GGUF_T_IQ2_XXS, .n_elems = 256, .data = blk};
    CHECK(gguf_dequantize(&t, out) == -1);
    /* every type ggml knows that sr leaves refused, and those it reads */
    const enum gguf_ttype refused[] = {GGUF_T_IQ2_XXS, GGUF_T_IQ2_XS, GGUF_T_IQ2_S, GGUF_T_IQ3_XXS,
                                       GGUF_T_IQ3_S, GGUF_T_IQ1_S, GGUF_T_IQ1_M, GGUF_T_TQ1_0,
                                       GGUF_T_TQ2_0, GGUF_T_MXFP4, GGUF_T_I8, GGUF_T_F64};
    for (size_t k = 0; k < sizeof refused / sizeof *refused; k++) CHECK(!quant_supported(refused[k]));
    const enum gguf_ttype read[] = {GGUF_T_F32, GGUF_T_F16, GGUF_T_BF16, GGUF_T_Q4_0, GGUF_T_Q4_1,
                                    GGUF_T_Q5_0, GGUF_T_Q5_1, GGUF_T_Q8_0, GGUF_T_Q2_K, GGUF_T_Q3_K,
                                    GGUF_T_Q4_K, GGUF_T_Q5_K, GGUF_T_Q6_K, GGUF_T_Q8_K,
                                    GGUF_T_IQ4_NL, GGUF_T_IQ4_XS};
    for (size_t k = 0; k < sizeof read / sizeof *read; k++) CHECK(quant_supported(read[k]));
}

/* --- golden dequantization ------------------------------------------------- */

static json_t *golden(void) {
    json_error_t e;
    json_t *j = json_load_file(GOLDEN, 0, &e);
    if (!j) printf("#   %s: %s (line %d)\n", GOLDEN, e.text, e.line);
    return j;
}

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

TEST(dequant_model_golden) {
    const char *path = test_model_path();
    if (!path) return;
    json_t *j = golden();
    CHECK(j != NULL);
    if (!j) return;
    gguf_file g;
    char err[512];
    if (gguf_open(&g, path, err, sizeof err)) { CHECK(!"open"); printf("#   %s\n", err); json_decref(j); return; }
    json_t *ts = json_object_get(j, "tensors");
    CHECK(json_array_size(ts) >= 4);
    for (size_t k = 0; k < json_array_size(ts); k++) {
        json_t *jt = json_array_get(ts, k);
        const char *name = json_string_value(json_object_get(jt, "name"));
        const gguf_tensor *t = gguf_find_tensor(&g, name);
        CHECK(t != NULL);
        if (!t) continue;
        CHECK_STR(gguf_type_name(t->type), json_string_value(json_object_get(jt, "type")));
        CHECK(t->n_elems == (uint64_t)json_integer_value(json_object_get(jt, "n")));
        float *out = malloc(t->n_elems * sizeof *out);
        CHECK(gguf_dequantize(t, out) == 0);
        json_t *first = json_object_get(jt, "first");
        size_t nf = json_array_size(first), mismatched = 0;
        double maxdiff = 0, sum = 0, sumsq = 0;
        for (size_t i = 0; i < nf; i++) {
            double want = json_number_value(json_array_get(first, i));
            if (out[i] != (float)want) mismatched++;
            if (fabs(out[i] - want) > maxdiff) maxdiff = fabs(out[i] - want);
        }
        for (uint64_t i = 0; i < t->n_elems; i++) { sum += out[i]; sumsq += (double)out[i] * out[i]; }
        double wsum = json_number_value(json_object_get(jt, "sum"));
        double wsq = json_number_value(json_object_get(jt, "sumsq"));
        printf("# %-24s %-4s %9llu values: %zu of the first %zu differ (max |diff| %.3g); "
               "sum %.9g (want %.9g), sumsq %.9g (want %.9g)\n", name, gguf_type_name(t->type),
               (unsigned long long)t->n_elems, mismatched, nf, maxdiff, sum, wsum, sumsq, wsq);
        CHECK(nf > 0 && maxdiff <= 1e-6);
        CHECK(mismatched == 0);
        CHECK_NEAR(sum, wsum, 1e-9 * (fabs(wsum) + sqrt(wsq) + 1));
        CHECK_NEAR(sumsq, wsq, 1e-9 * wsq);
        free(out);
    }
    gguf_close(&g);
    json_decref(j);
}

TEST(dequant_block_golden) {
    json_t *j = golden();
    CHECK(j != NULL);
    if (!j) return;
    json_t *bs = json_object_get(j, "blocks");
    const char *want_types[] = {"Q4_0", "Q4_1", "Q8_0", "Q4_K", "Q6_K", "F16", "BF16"};
    int seen = 0;
    for (size_t k = 0; k < json_array_size(bs); k++) {
        json_t *jb = json_array_get(bs, k);
        const char *type = json_string_value(json_object_get(jb, "type"));
        const char *hex = json_string_value(json_object_get(jb, "hex"));
        json_t *vals = json_object_get(jb, "values");
        size_t n = json_array_size(vals), nb = strlen(hex) / 2;
        enum gguf_ttype tt = (enum gguf_ttype)-1;
        for (int c = 0; c < 64; c++)
            if (strcmp(gguf_type_name((enum gguf_ttype)c), type) == 0) { tt = (enum gguf_ttype)c; break; }
        for (int w = 0; w < 7; w++) if (strcmp(type, want_types[w]) == 0) seen |= 1 << w;
        CHECK(gguf_type_size(tt, n) == nb);
        uint8_t *raw = malloc(nb);
        for (size_t i = 0; i < nb; i++) raw[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
        float *out = malloc(n * sizeof *out);
        CHECK(quant_dequantize(tt, raw, out, n) == 0);
        size_t mismatched = 0;
        double maxdiff = 0;
        for (size_t i = 0; i < n; i++) {
            double want = json_number_value(json_array_get(vals, i));
            if (out[i] != (float)want) mismatched++;
            if (fabs(out[i] - want) > maxdiff) maxdiff = fabs(out[i] - want);
        }
        printf("# %-4s %4zu values from %4zu bytes: %zu differ (max |diff| %.3g)\n", type, n, nb,
               mismatched, maxdiff);
        CHECK(mismatched == 0 && maxdiff <= 1e-6);
        free(raw);
        free(out);
    }
    CHECK(seen == 0x7f);
    json_decref(j);
}

/* Scale fields set to NaN, +-inf, subnormals, +-0 and random bits, for every
 * type sr dequantizes: the float32 bit patterns must be gguf-py's (libggml's
 * for Q8_K), NaN payloads included. */
static enum gguf_ttype type_named(const char *name) {
    for (int c = 0; c < 64; c++)
        if (strcmp(gguf_type_name((enum gguf_ttype)c), name) == 0) return (enum gguf_ttype)c;
    return (enum gguf_ttype)-1;
}

static uint8_t *unhex(const char *hex, size_t nbytes) {
    uint8_t *raw = malloc(nbytes ? nbytes : 1);
    for (size_t i = 0; i < nbytes; i++) raw[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
    return raw;
}

TEST(dequant_edge_golden) {
    json_t *j = golden();
    CHECK(j != NULL);
    if (!j) return;
    json_t *bs = json_object_get(j, "edge_blocks");
    const char *want[] = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K",
                          "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ4_NL", "IQ4_XS"};
    int seen = 0;
    for (size_t k = 0; k < json_array_size(bs); k++) {
        json_t *jb = json_array_get(bs, k);
        const char *type = json_string_value(json_object_get(jb, "type"));
        const char *hex = json_string_value(json_object_get(jb, "hex"));
        const char *bits = json_string_value(json_object_get(jb, "bits"));
        size_t n = (size_t)json_integer_value(json_object_get(jb, "n")), nb = strlen(hex) / 2;
        enum gguf_ttype tt = type_named(type);
        for (int w = 0; w < 13; w++) if (strcmp(type, want[w]) == 0) seen |= 1 << w;
        CHECK(strlen(bits) == 8 * n && gguf_type_size(tt, n) == nb);
        if (strlen(bits) != 8 * n || gguf_type_size(tt, n) != nb) continue;
        uint8_t *raw = unhex(hex, nb), *wb = unhex(bits, 4 * n);
        uint32_t *out = malloc(n * sizeof *out);
        CHECK(quant_dequantize(tt, raw, (float *)out, n) == 0);
        size_t bad = 0, nans = 0, infs = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t w = (uint32_t)wb[4 * i] << 24 | (uint32_t)wb[4 * i + 1] << 16 |
                         (uint32_t)wb[4 * i + 2] << 8 | wb[4 * i + 3];
            if ((w & 0x7f800000) == 0x7f800000) { if (w & 0x7fffff) nans++; else infs++; }
            if (out[i] != w && bad++ < 3) printf("#   %s value %zu: %08x, want %08x\n", type, i, out[i], w);
        }
        printf("# %-6s %5zu values from %5zu bytes (%zu NaN, %zu inf): %zu bit patterns differ\n",
               type, n, nb, nans, infs, bad);
        CHECK(bad == 0 && nans > 0 && infs > 0);
        free(raw);
        free(wb);
        free(out);
    }
    CHECK(seen == 0x1fff);
    json_decref(j);
}

/* --- fp16 / bf16 ------------------------------------------------------------ */

static float from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

TEST(convert_golden) {
    json_t *j = golden();
    CHECK(j != NULL);
    if (!j) return;
    json_t *c = json_object_get(j, "convert");
    json_t *in = json_object_get(c, "f32_bits"), *h = json_object_get(c, "f16_bits"),
           *b = json_object_get(c, "bf16_bits");
    size_t n = json_array_size(in), bad16 = 0, badb = 0, nans = 0;
    CHECK(n > 1000 && json_array_size(h) == n && json_array_size(b) == n);
    for (size_t i = 0; i < n; i++) {
        float f = from_bits((uint32_t)json_integer_value(json_array_get(in, i)));
        uint16_t got = quant_f32_to_fp16(f);
        json_t *w = json_array_get(h, i);
        if (json_is_null(w)) {   /* NaN: must stay NaN */
            nans++;
            if ((got & 0x7c00) != 0x7c00 || !(got & 0x3ff)) bad16++;
        } else if (got != (uint16_t)json_integer_value(w)) {
            if (bad16 < 5) printf("#   fp16(%a) = %04x, want %04x\n", f, got, (unsigned)json_integer_value(w));
            bad16++;
        }
        uint16_t gb = quant_f32_to_bf16(f);
        if (gb != (uint16_t)json_integer_value(json_array_get(b, i))) {
            if (badb < 5) printf("#   bf16(%a) = %04x, want %04x\n", f, gb,
                                 (unsigned)json_integer_value(json_array_get(b, i)));
            badb++;
        }
    }
    printf("# %zu conversions (%zu NaN): %zu fp16 and %zu bf16 differ\n", n, nans, bad16, badb);
    CHECK(bad16 == 0 && badb == 0 && nans > 0);
    json_decref(j);
}

TEST(convert_roundtrip) {
    /* every fp16 and bf16 value survives a trip through fp32 */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = quant_fp16_to_f32((uint16_t)h);
        int nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        uint16_t back = quant_f32_to_fp16(f);
        if (nan ? !isnan(f) || (back & 0x7fff) <= 0x7c00 : back != h) bad++;
        float g = quant_bf16_to_f32((uint16_t)h);
        int bnan = (h & 0x7f80) == 0x7f80 && (h & 0x7f);
        uint16_t bb = quant_f32_to_bf16(g);
        if (bnan ? !isnan(g) : bb != h) bad++;
    }
    CHECK(bad == 0);
    CHECK(quant_fp16_to_f32(0x3c00) == 1.0f);
    CHECK(quant_fp16_to_f32(0x0001) == 0x1p-24f);
    CHECK(quant_fp16_to_f32(0x7bff) == 65504.0f);
    CHECK(isinf(quant_fp16_to_f32(0x7c00)));
    CHECK(quant_f32_to_fp16(65520.0f) == 0x7c00);                    /* halfway to inf: up */
    CHECK(quant_f32_to_fp16(65519.0f) == 0x7bff);
    CHECK(quant_f32_to_fp16(1.0f + 0x1p-11f) == 0x3c00);            /* tie to even: down */
    CHECK(quant_f32_to_fp16(1.0f + 3 * 0x1p-11f) == 0x3c02);        /* tie to even: up */
    CHECK(quant_f32_to_fp16(0x1p-25f) == 0x0000);                   /* tie at the bottom */
    CHECK(quant_f32_to_fp16(0x1.8p-25f) == 0x0001);
    CHECK(quant_f32_to_fp16(-0.0f) == 0x8000);
    CHECK(quant_f32_to_bf16(1.0f + 0x1p-8f) == 0x3f80);             /* tie to even: down */
    CHECK(quant_f32_to_bf16(1.0f + 3 * 0x1p-8f) == 0x3f82);
    CHECK(quant_f32_to_bf16(from_bits(0x7f7fffff)) == 0x7f80);      /* overflow: inf */
    CHECK((quant_f32_to_bf16(from_bits(0x7f800001)) & 0x7fc0) == 0x7fc0);   /* NaN quieted */
    float src[3] = {1.5f, -2.25f, 1e-3f}, dst[3];
    uint16_t mid[3];
    quant_f32_to_bf16_row(src, mid, 3);
    quant_bf16_to_f32_row(mid, dst, 3);
    CHECK(dst[0] == 1.5f && dst[1] == -2.25f && fabsf(dst[2] - 1e-3f) < 1e-5f);
    quant_f32_to_fp16_row(src, mid, 3);
    quant_fp16_to_f32_row(mid, dst, 3);
    CHECK(dst[0] == 1.5f && dst[1] == -2.25f && fabsf(dst[2] - 1e-3f) < 1e-6f);
}

/* Hand-checked blocks: the nibble order and the K-quant scale packing. */
TEST(dequant_layouts) {
    block_q4_0 b0 = {.d = quant_f32_to_fp16(0.5f)};
    for (int j = 0; j < 16; j++) b0.qs[j] = (uint8_t)(j | (15 - j) << 4);
    float out[256];
    quant_dequant_q4_0(&b0, out, 32);
    CHECK(out[0] == -4.0f && out[15] == 3.5f);     /* low nibbles: elements 0..15 */
    CHECK(out[16] == 3.5f && out[31] == -4.0f);    /* high nibbles: elements 16..31 */

    block_q4_1 b1 = {.d = quant_f32_to_fp16(1.0f), .m = quant_f32_to_fp16(-2.0f)};
    b1.qs[3] = 0x5a;
    quant_dequant_q4_1(&b1, out, 32);
    CHECK(out[3] == 8.0f && out[19] == 3.0f && out[0] == -2.0f);

    block_q4_K k = {.d = quant_f32_to_fp16(1.0f), .dmin = quant_f32_to_fp16(1.0f)};
    /* sub-block 1: scale 2, min 3 (low 6 bits); sub-block 5: scale 0x25, min 0x31
     * (4 low bits in byte 9, top 2 bits in the spare bits of bytes 1 and 5) */
    k.scales[1] = 2 | (0x25 >> 4) << 6;
    k.scales[5] = 3 | (0x31 >> 4) << 6;
    k.scales[9] = (0x25 & 15) | (0x31 & 15) << 4;
    for (int l = 0; l < 128; l++) k.qs[l] = 0x71;
    quant_dequant_q4_K(&k, out, 256);
    CHECK(out[32] == 2.0f * 7 - 3);                /* sub-block 1: high nibbles of qs[0..31] */
    CHECK(out[160] == 0x25 * 7.0f - 0x31);         /* sub-block 5: high nibbles of qs[64..95] */
    CHECK(out[0] == 0.0f);                          /* sub-block 0: scale 0, min 0 */

    block_q6_K q6 = {.d = quant_f32_to_fp16(0.25f)};
    for (int s = 0; s < 16; s++) q6.scales[s] = (int8_t)(s - 8);
    q6.ql[0] = 0x21; q6.ql[32] = 0x43; q6.qh[0] = 0xe4;   /* qh fields 0,1,2,3 */
    q6.ql[64] = 0x0f; q6.qh[32] = 0x03;
    quant_dequant_q6_K(&q6, out, 256);
    CHECK(out[0] == 0.25f * -8 * (1 - 32));
    CHECK(out[32] == 0.25f * -6 * ((3 | 1 << 4) - 32));
    CHECK(out[64] == 0.25f * -4 * ((2 | 2 << 4) - 32));
    CHECK(out[96] == 0.25f * -2 * ((4 | 3 << 4) - 32));
    CHECK(out[128] == 0.25f * 0 * ((15 | 3 << 4) - 32));
    CHECK(out[17] == 0.25f * -7 * -32);
}

/* --- writing --------------------------------------------------------------- */

static int values_equal(const gguf_value *a, const gguf_value *b) {
    if (a->type != b->type) return 0;
    switch (a->type) {
    case GGUF_U8: case GGUF_U16: case GGUF_U32: case GGUF_U64: return a->v.u == b->v.u;
    case GGUF_I8: case GGUF_I16: case GGUF_I32: case GGUF_I64: return a->v.i == b->v.i;
    case GGUF_F32: case GGUF_F64: return memcmp(&a->v.f, &b->v.f, sizeof a->v.f) == 0;
    case GGUF_BOOL: return a->v.b == b->v.b;
    case GGUF_STRING: return a->v.s.n == b->v.s.n && memcmp(a->v.s.p, b->v.s.p, a->v.s.n) == 0;
    case GGUF_ARRAY:
        if (a->v.arr.type != b->v.arr.type || a->v.arr.n != b->v.arr.n) return 0;
        for (uint64_t i = 0; i < a->v.arr.n; i++)
            if (!values_equal(&a->v.arr.items[i], &b->v.arr.items[i])) return 0;
        return 1;
    }
    return 0;
}

static char tmpdir[64];

static const char *tmp_path(const char *name) {
    static char p[128];
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/sr-test-gguf.XXXXXX");
        if (!mkdtemp(tmpdir)) return NULL;
    }
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static int dir_entries(void) {
    DIR *d = opendir(tmpdir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

#define S(lit) ((gguf_str){lit, sizeof lit - 1})

TEST(write_read_roundtrip) {
    const char *path = test_model_path();
    if (!path) return;
    gguf_file g;
    char err[512];
    if (gguf_open(&g, path, err, sizeof err)) { CHECK(!"open"); printf("#   %s\n", err); return; }

    /* Every key of the model, plus one of each scalar type and nested arrays. */
    gguf_value inner_a[2] = {{GGUF_STRING, .v.s = S("x")}, {GGUF_STRING, .v.s = S("")}};
    gguf_value inner_b[1] = {{GGUF_STRING, .v.s = S("yz")}};
    gguf_value outer[3] = {
        {GGUF_ARRAY, .v.arr = {GGUF_STRING, 2, inner_a}},
        {GGUF_ARRAY, .v.arr = {GGUF_STRING, 0, NULL}},
        {GGUF_ARRAY, .v.arr = {GGUF_STRING, 1, inner_b}},
    };
    gguf_value f64s[2] = {{GGUF_F64, .v.f = 0.1}, {GGUF_F64, .v.f = -1e300}};
    gguf_kv extra[] = {
        {S("sr.u8"), {GGUF_U8, .v.u = 255}},   {S("sr.i8"), {GGUF_I8, .v.i = -128}},
        {S("sr.u16"), {GGUF_U16, .v.u = 65535}}, {S("sr.i16"), {GGUF_I16, .v.i = -32768}},
        {S("sr.u32"), {GGUF_U32, .v.u = 4000000000u}}, {S("sr.i32"), {GGUF_I32, .v.i = -2000000000}},
        {S("sr.u64"), {GGUF_U64, .v.u = UINT64_MAX}}, {S("sr.i64"), {GGUF_I64, .v.i = INT64_MIN}},
        {S("sr.f32"), {GGUF_F32, .v.f = 0.25}}, {S("sr.f64"), {GGUF_F64, .v.f = 1.0 / 3}},
        {S("sr.bool"), {GGUF_BOOL, .v.b = true}}, {S("sr.parent"), {GGUF_STRING, .v.s = S("abc")}},
        {S("sr.nested"), {GGUF_ARRAY, .v.arr = {GGUF_ARRAY, 3, outer}}},
        {S("sr.f64s"), {GGUF_ARRAY, .v.arr = {GGUF_F64, 2, f64s}}},
        {S("sr.empty"), {GGUF_ARRAY, .v.arr = {GGUF_U8, 0, NULL}}},
    };
    uint64_t n_extra = sizeof extra / sizeof extra[0], n_kv = g.n_kv + n_extra;
    gguf_kv *kv = malloc(n_kv * sizeof *kv);
    memcpy(kv, g.kv, g.n_kv * sizeof *kv);
    memcpy(kv + g.n_kv, extra, sizeof extra);

    /* Tensors: F32 as they are, Q4_1/Q8_0 dequantized to F32, F16 and BF16. */
    const char *names[] = {"output_norm.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight",
                           "blk.0.attn_v.weight", "blk.3.ffn_down.weight"};
    enum gguf_ttype as[] = {GGUF_T_F32, GGUF_T_F32, GGUF_T_F16, GGUF_T_BF16, GGUF_T_F32};
    gguf_tensor ts[7];
    void *bufs[7] = {0};
    int nt = 0;
    for (int k = 0; k < 5; k++, nt++) {
        const gguf_tensor *src = gguf_find_tensor(&g, names[k]);
        ts[nt] = *src;
        float *f = malloc(src->n_elems * sizeof *f);
        CHECK(gguf_dequantize(src, f) == 0);
        if (as[k] == GGUF_T_F16 || as[k] == GGUF_T_BF16) {
            uint16_t *h = malloc(src->n_elems * 2);
            (as[k] == GGUF_T_F16 ? quant_f32_to_fp16_row : quant_f32_to_bf16_row)(f, h, src->n_elems);
            free(f);
            bufs[nt] = h;
        } else {
            bufs[nt] = f;
        }
        ts[nt].type = as[k];
        ts[nt].data = bufs[nt];
    }
    float small[2 * 3 * 4 * 5];
    for (int i = 0; i < 120; i++) small[i] = (float)i * 0.5f - 7;
    ts[nt++] = (gguf_tensor){.name = S("sr.test.4d"), .n_dims = 4, .ne = {2, 3, 4, 5},
                             .type = GGUF_T_F32, .data = small};
    ts[nt++] = (gguf_tensor){.name = S("sr.test.3d"), .n_dims = 3, .ne = {5, 1, 3},
                             .type = GGUF_T_F32, .data = small + 7};   /* 60 bytes: padded */

    char out[128];
    snprintf(out, sizeof out, "%s", tmp_path("rt.gguf"));
    for (int pass = 0; pass < 2; pass++) {   /* the second write replaces the first */
        int rc = gguf_write(out, kv, n_kv, ts, (uint64_t)nt, 0, err, sizeof err);
        CHECK(rc == 0);
        if (rc) printf("#   %s\n", err);
    }
    CHECK(dir_entries() == 1);   /* no temporary left behind */

    gguf_file h;
    int rc = gguf_open(&h, out, err, sizeof err);
    CHECK(rc == 0);
    if (rc) printf("#   %s\n", err);
    if (rc == 0) {
        CHECK(h.version == 3 && h.alignment == 32);
        CHECK(h.n_kv == n_kv);
        int kbad = 0, tbad = 0;
        for (uint64_t i = 0; i < n_kv && i < h.n_kv; i++) {
            /* written in the given order */
            if (!(h.kv[i].key.n == kv[i].key.n && memcmp(h.kv[i].key.p, kv[i].key.p, kv[i].key.n) == 0 &&
                  values_equal(&h.kv[i].val, &kv[i].val))) {
                printf("#   key %.*s differs\n", (int)kv[i].key.n, kv[i].key.p);
                kbad++;
            }
        }
        CHECK(kbad == 0);
        CHECK(h.n_tensors == (uint64_t)nt);
        for (int k = 0; k < nt && (uint64_t)k < h.n_tensors; k++) {
            const gguf_tensor *a = &ts[k], *b = &h.tensors[k];
            uint64_t n = 1;
            for (uint32_t d = 0; d < a->n_dims; d++) n *= a->ne[d];
            int same = b->name.n == a->name.n && memcmp(b->name.p, a->name.p, a->name.n) == 0 &&
                       b->type == a->type && b->n_dims == a->n_dims && b->n_elems == n &&
                       memcmp(b->ne, a->ne, a->n_dims * sizeof b->ne[0]) == 0 &&
                       b->n_bytes == gguf_type_size(a->type, n) &&
                       memcmp(b->data, a->data, b->n_bytes) == 0 &&
                       (uint64_t)((const uint8_t *)b->data - (const uint8_t *)h.map) % 32 == 0;
            if (!same) { printf("#   tensor %.*s differs\n", (int)a->name.n, a->name.p); tbad++; }
        }
        CHECK(tbad == 0);
        /* the F16 copy is within fp16 rounding of the dequantized weights */
        const gguf_tensor *k16 = gguf_find_tensor(&h, "blk.0.attn_k.weight");
        float *a = malloc(k16->n_elems * 4), *b = malloc(k16->n_elems * 4);
        CHECK(gguf_dequantize(k16, a) == 0);
        CHECK(gguf_dequantize(gguf_find_tensor(&g, "blk.0.attn_k.weight"), b) == 0);
        double md = 0;
        for (uint64_t i = 0; i < k16->n_elems; i++) md = fmax(md, fabs(a[i] - b[i]) / (fabs(b[i]) + 1e-4));
        CHECK(md < 1e-3);
        free(a);
        free(b);
        gguf_close(&h);
    }

    /* A non-default alignment is recorded as general.alignment and honoured. */
    char out64[128];
    snprintf(out64, sizeof out64, "%s", tmp_path("a64.gguf"));
    rc = gguf_write(out64, extra, n_extra, ts + 5, 2, 64, err, sizeof err);
    CHECK(rc == 0);
    if (rc == 0 && gguf_open(&h, out64, err, sizeof err) == 0) {
        uint64_t a = 0;
        CHECK(h.alignment == 64);
        CHECK(gguf_get_u64(&h, "general.alignment", &a) == 0 && a == 64);
        CHECK(h.n_kv == n_extra + 1);
        for (uint64_t i = 0; i < h.n_tensors; i++)
            CHECK((uint64_t)((const uint8_t *)h.tensors[i].data - (const uint8_t *)h.map) % 64 == 0);
        CHECK(memcmp(gguf_find_tensor(&h, "sr.test.3d")->data, small + 7, 60) == 0);
        gguf_close(&h);
    } else {
        CHECK(!"reopen a64");
    }
    unlink(out);
    unlink(out64);
    for (int k = 0; k < nt; k++) free(bufs[k]);
    free(kv);
    gguf_close(&g);
}

TEST(write_rejects) {
    char err[512];
    const char *out = tmp_path("bad.gguf");
    float data[64] = {0};
    gguf_tensor t[2] = {
        {.name = S("a"), .n_dims = 1, .ne = {64}, .type = GGUF_T_F32, .data = data},
        {.name = S("b"), .n_dims = 1, .ne = {32}, .type = GGUF_T_F16, .data = data},
    };
    gguf_kv kv[2] = {{S("k"), {GGUF_U32, .v.u = 1}}, {S("j"), {GGUF_U32, .v.u = 2}}};

    CHECK(gguf_write(out, kv, 2, t, 2, 0, err, sizeof err) == 0);
    unlink(out);

    kv[1].key = S("k");
    CHECK(gguf_write(out, kv, 2, t, 2, 0, err, sizeof err) == -1 && strstr(err, "duplicate key 'k'"));
    kv[1].key = S("j");
    t[1].name = S("a");
    CHECK(gguf_write(out, kv, 2, t, 2, 0, err, sizeof err) == -1 && strstr(err, "duplicate tensor name 'a'"));
    t[1].name = S("b");
    t[1].type = (enum gguf_ttype)4;
    CHECK(gguf_write(out, kv, 2, t, 2, 0, err, sizeof err) == -1 && strstr(err, "unknown type"));
    t[1].type = GGUF_T_Q4_0;
    t[1].ne[0] = 33;
    CHECK(gguf_write(out, kv, 2, t, 2, 0, err, sizeof err) == -1 && strstr(err, "blocks"));
    t[1].type = GGUF_T_F16;
    t[1].ne[0] = 32;
    CHECK(gguf_write(out, kv, 2, t, 2, 3, err, sizeof err) == -1 && strstr(err, "power of two"));
    t[0].n_dims = 5;
    CHECK(gguf_write(out, kv, 2, t, 2, 0, err, sizeof err) == -1 && strstr(err, "n_dims"));
    t[0].n_dims = 1;
    t[0].name = S("0123456789012345678901234567890123456789012345678901234567890123");
    CHECK(gguf_write(out, kv, 2, t, 2, 0, err, sizeof err) == -1 && strstr(err, "name length"));
    t[0].name = S("a");
    kv[0].val.type = GGUF_U8;
    kv[0].val.v.u = 256;
    CHECK(gguf_write(out, kv, 2, t, 2, 0, err, sizeof err) == -1 && strstr(err, "key 'k'"));
    gguf_value items[2] = {{GGUF_U8, .v.u = 1}, {GGUF_I8, .v.i = 1}};
    kv[0].val = (gguf_value){GGUF_ARRAY, .v.arr = {GGUF_U8, 2, items}};
    CHECK(gguf_write(out, kv, 2, t, 2, 0, err, sizeof err) == -1 && strstr(err, "array item 1"));
    kv[0].val = (gguf_value){GGUF_U32, .v.u = 64};
    kv[0].key = S("general.alignment");
    CHECK(gguf_write(out, kv, 2, t, 2, 32, err, sizeof err) == -1 && strstr(err, "disagrees"));
    CHECK(gguf_write(out, kv, 2, t, 2, 0, err, sizeof err) == 0);   /* taken from the key */
    gguf_file g;
    CHECK(gguf_open(&g, out, err, sizeof err) == 0 && g.alignment == 64 && g.n_kv == 2);
    gguf_close(&g);
    unlink(out);
    CHECK(gguf_write("/nonexistent-dir/x.gguf", kv, 2, t, 2, 0, err, sizeof err) == -1 &&
          strstr(err, "/nonexistent-dir/x.gguf"));
    int left = dir_entries();
    CHECK(left == 0);   /* refusals leave nothing behind */
}

/* --- hand-built malformed files ------------------------------------------- */

typedef struct { uint8_t b[4096]; size_t n; } buf;
static void raw(buf *w, const void *p, size_t n) { memcpy(w->b + w->n, p, n); w->n += n; }
static void u32(buf *w, uint32_t v) { raw(w, &v, 4); }
static void u64(buf *w, uint64_t v) { raw(w, &v, 8); }
static void str(buf *w, const char *s) { u64(w, strlen(s)); raw(w, s, strlen(s)); }
static void header(buf *w, uint32_t version, uint64_t nt, uint64_t nkv) {
    w->n = 0; raw(w, "GGUF", 4); u32(w, version); u64(w, nt); u64(w, nkv);
}
static void tinfo(buf *w, const char *name, uint32_t nd, uint64_t ne0, uint32_t type, uint64_t off) {
    str(w, name); u32(w, nd); for (uint32_t d = 0; d < nd; d++) u64(w, d ? 1 : ne0);
    u32(w, type); u64(w, off);
}
static void pad(buf *w, size_t a) { while (w->n % a) w->b[w->n++] = 0; }
static void zeros(buf *w, size_t n) { memset(w->b + w->n, 0, n); w->n += n; }

/* Open a buffer; check the result and, on failure, that err mentions `want`. */
static int opens(const buf *w, const char *want) {
    gguf_file g;
    char err[512];
    /* copy to an exact-size heap block so a sanitizer sees any over-read */
    uint8_t *copy = malloc(w->n ? w->n : 1);
    memcpy(copy, w->b, w->n);
    int rc = gguf_open_mem(&g, copy, w->n, err, sizeof err);
    if (rc == 0) gguf_close(&g);
    int ok = want ? rc == -1 && strstr(err, want) != NULL : rc == 0;
    if (!ok) printf("#   want %s, got rc %d: %s\n", want ? want : "success", rc, rc ? err : "");
    free(copy);
    return ok;
}

TEST(malformed_files) {
    buf w;
    /* a valid little file: two kvs, two tensors */
    header(&w, 3, 2, 2);
    str(&w, "general.architecture"); u32(&w, GGUF_STRING); str(&w, "llama");
    str(&w, "n"); u32(&w, GGUF_ARRAY); u32(&w, GGUF_ARRAY); u64(&w, 2);
    u32(&w, GGUF_STRING); u64(&w, 1); str(&w, "ab");
    u32(&w, GGUF_I16); u64(&w, 2); uint16_t two[2] = {1, 0xffff}; raw(&w, two, 4);
    tinfo(&w, "x", 1, 8, GGUF_T_F32, 0);
    tinfo(&w, "y", 2, 32, GGUF_T_Q4_0, 32);
    pad(&w, 32);
    memset(w.b + w.n, 0x11, 64); w.n += 64;
    CHECK(opens(&w, NULL));
    gguf_file g;
    char err[256];
    uint8_t *copy = malloc(w.n);
    memcpy(copy, w.b, w.n);
    if (gguf_open_mem(&g, copy, w.n, err, sizeof err) == 0) {
        const gguf_value *n = gguf_get_arr(&g, "n");
        CHECK(n && n->v.arr.type == GGUF_ARRAY && n->v.arr.n == 2);
        CHECK(n && str_is(n->v.arr.items[0].v.arr.items[0].v.s, "ab"));
        CHECK(n && n->v.arr.items[1].v.arr.items[1].v.i == -1);
        CHECK(gguf_find_tensor(&g, "y")->data == copy + (w.n - 64) + 32);
        gguf_close(&g);
    } else {
        CHECK(!"valid small file");
    }
    /* every truncation of it fails cleanly */
    int trunc_bad = 0;
    for (size_t cut = 0; cut < w.n - 14; cut++) {   /* the last 14 bytes are past y's data */
        if (gguf_open_mem(&g, copy, cut, err, sizeof err) != -1 || !err[0]) trunc_bad++;
    }
    CHECK(trunc_bad == 0);
    free(copy);
    buf v = w;
    v.b[4] = 2; CHECK(opens(&v, NULL));                       /* v2 reads the same */
    v.b[4] = 1; CHECK(opens(&v, "version 1"));
    v.b[4] = 0; v.b[7] = 3; CHECK(opens(&v, "big-endian"));
    v = w; v.b[0] = 'X'; CHECK(opens(&v, "magic"));
    v = w; memset(v.b + 8, 0xff, 8); CHECK(opens(&v, "tensor count"));
    v = w; memset(v.b + 16, 0x7f, 8); CHECK(opens(&v, "metadata count"));
    buf e = {.n = 0}; CHECK(opens(&e, "magic"));

    /* one kv, then a broken thing */
    header(&w, 3, 0, 1); str(&w, "k"); u32(&w, GGUF_ARRAY); u32(&w, GGUF_STRING); u64(&w, 1ull << 60);
    CHECK(opens(&w, "array count 1152921504606846976 cannot fit"));
    header(&w, 3, 0, 1); str(&w, "k"); u32(&w, GGUF_ARRAY); u32(&w, 13); u64(&w, 0);
    CHECK(opens(&w, "unknown array element type 13"));
    header(&w, 3, 0, 1); str(&w, "k"); u32(&w, 77); zeros(&w, 16);
    CHECK(opens(&w, "key 'k': unknown value type 77"));
    header(&w, 3, 0, 1); str(&w, "k"); u32(&w, GGUF_STRING); u64(&w, 5); raw(&w, "abc", 3);
    CHECK(opens(&w, "string length 5 runs past the end"));
    header(&w, 3, 0, 1); u64(&w, UINT64_MAX); zeros(&w, 16); CHECK(opens(&w, "key length"));
    header(&w, 3, 0, 1); u64(&w, 0); u32(&w, GGUF_U8); zeros(&w, 16); CHECK(opens(&w, "key length 0"));
    header(&w, 3, 0, 1); str(&w, "b"); u32(&w, GGUF_BOOL); raw(&w, "\2", 1); CHECK(opens(&w, "bool value 2"));
    header(&w, 3, 0, 2); str(&w, "k"); u32(&w, GGUF_U8); raw(&w, "\1", 1);
    str(&w, "k"); u32(&w, GGUF_U8); raw(&w, "\1", 1); CHECK(opens(&w, "duplicate key 'k'"));
    header(&w, 3, 0, 1); str(&w, "k"); u32(&w, GGUF_ARRAY);   /* nested 9 deep */
    for (int d = 0; d < 9; d++) { u32(&w, GGUF_ARRAY); u64(&w, 1); }
    CHECK(opens(&w, "nested"));
    header(&w, 3, 0, 1); str(&w, "k"); u32(&w, GGUF_ARRAY);   /* 7 deep is fine */
    for (int d = 0; d < 6; d++) { u32(&w, GGUF_ARRAY); u64(&w, 1); }
    u32(&w, GGUF_U8); u64(&w, 1); raw(&w, "\7", 1);
    CHECK(opens(&w, NULL));
    /* alignment */
    uint32_t aligns[] = {0, 3, 48};
    for (int k = 0; k < 3; k++) {
        header(&w, 3, 0, 1); str(&w, "general.alignment"); u32(&w, GGUF_U32); u32(&w, aligns[k]);
        CHECK(opens(&w, "power of two"));
    }
    header(&w, 3, 0, 1); str(&w, "general.alignment"); u32(&w, GGUF_STRING); str(&w, "32");
    CHECK(opens(&w, "not an integer"));
    header(&w, 3, 1, 1); str(&w, "general.alignment"); u32(&w, GGUF_U8); raw(&w, "\x40", 1);
    tinfo(&w, "x", 1, 4, GGUF_T_F32, 0); pad(&w, 64); memset(w.b + w.n, 0, 16); w.n += 16;
    CHECK(opens(&w, NULL));
    w.n = 100;   /* cut inside the padding before the data (infos end at 87, data at 128) */
    CHECK(opens(&w, "ends before the tensor data"));

    /* tensor infos */
    struct { uint32_t nd; uint64_t ne0; uint32_t type; uint64_t off; const char *want; } tc[] = {
        {5, 8, GGUF_T_F32, 0, "n_dims 5 exceeds 4"},
        {1, 8, 99, 0, "unknown tensor type 99"},
        {1, 8, 4, 0, "unknown tensor type 4"},
        {1, 8, GGUF_T_F32, 16, "not a multiple of the alignment"},
        {1, 8, GGUF_T_F32, 64, "outside the"},
        {1, 8, GGUF_T_F32, UINT64_MAX - 31, "outside the"},
        {1, 16, GGUF_T_Q4_0, 0, "not a multiple of the Q4_0 block size"},
        {1, 1ull << 63, GGUF_T_F32, 0, "overflow"},
        {1, (1ull << 62) - 1, GGUF_T_F32, 0, "outside the"},
        {1, 8, GGUF_T_F32, 0, NULL},
    };
    for (size_t k = 0; k < sizeof tc / sizeof tc[0]; k++) {
        header(&w, 3, 1, 0);
        tinfo(&w, "t.w", tc[k].nd, tc[k].ne0, tc[k].type, tc[k].off);
        pad(&w, 32); memset(w.b + w.n, 0, 32); w.n += 32;
        int ok = opens(&w, tc[k].want);
        CHECK(ok);
        if (!ok) printf("#   case %zu\n", k);
    }
    header(&w, 3, 1, 0);   /* 4 dims whose product overflows */
    str(&w, "t"); u32(&w, 4); u64(&w, 1ull << 20); u64(&w, 1ull << 20); u64(&w, 1ull << 20); u64(&w, 1ull << 20);
    u32(&w, GGUF_T_F32); u64(&w, 0);
    CHECK(opens(&w, "overflow"));
    header(&w, 3, 1, 0);   /* a zero dimension does not hide a negative (as int64) one */
    str(&w, "t"); u32(&w, 2); u64(&w, 0); u64(&w, UINT64_MAX); u32(&w, GGUF_T_F32); u64(&w, 0); zeros(&w, 32);
    CHECK(opens(&w, "dimension 1 (18446744073709551615)"));
    header(&w, 3, 1, 0); str(&w, "0123456789012345678901234567890123456789012345678901234567890123");
    CHECK(opens(&w, "tensor name length 64"));
    header(&w, 3, 2, 0); tinfo(&w, "a", 1, 8, GGUF_T_F32, 0); tinfo(&w, "a", 1, 8, GGUF_T_F32, 32);
    pad(&w, 32); memset(w.b + w.n, 0, 64); w.n += 64;
    CHECK(opens(&w, "duplicate tensor name 'a'"));
    header(&w, 3, 2, 0); tinfo(&w, "a", 1, 16, GGUF_T_F32, 0); tinfo(&w, "b", 1, 8, GGUF_T_F32, 32);
    pad(&w, 32); memset(w.b + w.n, 0, 64); w.n += 64;
    CHECK(opens(&w, "overlaps"));
    header(&w, 3, 1, 0); str(&w, "bad\001name"); u32(&w, 9); zeros(&w, 16);
    CHECK(opens(&w, "tensor 'bad?name'"));
    header(&w, 3, 0, 0); CHECK(opens(&w, NULL));              /* empty but valid */
}

/* gguf_open's own failures name the path */
TEST(open_errors) {
    gguf_file g;
    char err[512];
    CHECK(gguf_open(&g, "/nonexistent/model.gguf", err, sizeof err) == -1 && strstr(err, "/nonexistent/model.gguf"));
    CHECK(gguf_open(&g, "/tmp", err, sizeof err) == -1 && strstr(err, "not a regular file"));
    const char *p = tmp_path("empty.gguf");
    FILE *f = fopen(p, "wb");
    if (f) fclose(f);
    CHECK(gguf_open(&g, p, err, sizeof err) == -1 && strstr(err, "empty.gguf") && strstr(err, "magic"));
    unlink(p);
}

int main(void) {
    RUN(model_metadata);
    RUN(model_tensors);
    RUN(type_sizes);
    RUN(dequant_model_golden);
    RUN(dequant_block_golden);
    RUN(dequant_edge_golden);
    RUN(convert_golden);
    RUN(convert_roundtrip);
    RUN(dequant_layouts);
    RUN(write_read_roundtrip);
    RUN(write_rejects);
    RUN(malformed_files);
    RUN(open_errors);
    if (tmpdir[0]) rmdir(tmpdir);
    return test_done();
}
