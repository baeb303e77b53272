/* test_tokenizer.c — byte-level BPE: a tiny hand-made vocabulary (no model
 * needed), then the real model's tokenizer against llama.cpp's golden ids. */
#include "test.h"
#include "lm/tokenizer.h"
#include "lm/tokenizer_pre.h"

#include <jansson.h>
#include <stdint.h>
#include <time.h>

/* ---- a tiny vocabulary built in memory ----------------------------------- */

#define TINY_MAX 300
static char tiny_bytes[256][3];
static gguf_str tiny_tok[TINY_MAX];
static int32_t tiny_type[TINY_MAX];
static uint32_t tiny_n;

static int32_t tiny_add(const char *s, size_t n, int type)
{
    tiny_tok[tiny_n] = (gguf_str){ s, n };
    tiny_type[tiny_n] = type;
    return (int32_t)tiny_n++;
}

/* ids: 0 "<|end|>" (control), 1..256 the bytes, then merge results, then a
 * user-defined token. The merges build "hello", "Ġworld", runs of "a", and
 * — the trap — "<|end|>" itself, which data text must never reach. */
static const char *TINY_MERGES[] = {
    "h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld",
    "a a", "aa aa", "aaaa aaaa",
    "< |", "e n", "en d", "<| end", "| >", "<|end |>",
};
static const char *TINY_RESULTS[] = {
    "he", "ll", "hell", "hello", "Ġw", "or", "Ġwor", "ld", "Ġworld", "aa", "aaaa", "aaaaaaaa",
    "<|", "en", "end", "<|end", "|>",
};

static sr_tok *tiny(const char *pre, char *err, size_t errlen)
{
    tiny_n = 0;
    tiny_add("<|end|>", 7, SR_TOK_CONTROL);
    for (int b = 0; b < 256; b++) tiny_add(tiny_bytes[b], test_byte_char(b, tiny_bytes[b]), SR_TOK_NORMAL);
    for (size_t i = 0; i < sizeof TINY_RESULTS / sizeof *TINY_RESULTS; i++)
        tiny_add(TINY_RESULTS[i], strlen(TINY_RESULTS[i]), SR_TOK_NORMAL);
    tiny_add("[USR]", 5, SR_TOK_USER_DEFINED);
    gguf_str merges[32];
    size_t nm = sizeof TINY_MERGES / sizeof *TINY_MERGES;
    for (size_t i = 0; i < nm; i++) merges[i] = (gguf_str){ TINY_MERGES[i], strlen(TINY_MERGES[i]) };
    sr_tok_spec sp = { .model = "gpt2", .pre = pre, .n_tokens = tiny_n, .tokens = tiny_tok,
                       .types = tiny_type, .n_merges = (uint32_t)nm, .merges = merges,
                       .bos = -1, .eos = 0, .pad = -1 };
    sr_tok *t = NULL;
    if (sr_tok_new(&t, &sp, err, errlen) != 0) return NULL;
    return t;
}

static bool roundtrip(const sr_tok *t, const char *s, size_t n)
{
    char err[256];
    sr_ids ids = { 0 };
    size_t len = 0;
    char *d = NULL;
    bool ok = sr_tok_encode(t, s, n, &ids, err, sizeof err) == 0 &&
              (d = sr_tok_decode(t, ids.v, ids.n, 0, &len, err, sizeof err)) != NULL &&
              len == n && memcmp(d, s, n) == 0;
    if (!ok) printf("#   roundtrip failed for \"%.*s\" (%s)\n", (int)(n > 60 ? 60 : n), s, err);
    free(d);
    sr_ids_free(&ids);
    return ok;
}

static bool has_control(const sr_tok *t, const sr_ids *ids)
{
    for (size_t i = 0; i < ids->n; i++)
        if (sr_tok_is_control(t, ids->v[i])) return true;
    return false;
}

TEST(tiny_merges)
{
    char err[256];
    sr_tok *t = tiny("gpt2", err, sizeof err);
    CHECK(t != NULL);
    if (!t) { printf("#   %s\n", err); return; }
    sr_ids ids = { 0 };
    CHECK(sr_tok_encode(t, "hello world", 11, &ids, err, sizeof err) == 0);
    CHECK(ids.n == 2);
    if (ids.n == 2) {
        size_t l;
        const char *a = sr_tok_text(t, ids.v[0], &l);
        CHECK(l == 5 && memcmp(a, "hello", 5) == 0);
        const char *b = sr_tok_piece(t, ids.v[1], &l);
        CHECK(l == 6 && memcmp(b, " world", 6) == 0);     /* Ġ decodes to a space */
    }
    /* Runs of "a" merge leftmost-first at equal rank: 11 a's = 8 + 2 + 1. */
    ids.n = 0;
    CHECK(sr_tok_encode(t, "aaaaaaaaaaa", 11, &ids, err, sizeof err) == 0);
    CHECK(ids.n == 3);
    if (ids.n == 3) {
        CHECK(ids.v[0] == sr_tok_find(t, "aaaaaaaa", 8));
        CHECK(ids.v[1] == sr_tok_find(t, "aa", 2));
        CHECK(ids.v[2] == sr_tok_find(t, "a", 1));
    }
    sr_ids_free(&ids);
    sr_tok_free(t);
}

TEST(tiny_control_never_from_text)
{
    char err[256];
    sr_tok *t = tiny("gpt2", err, sizeof err);
    if (!t) { CHECK(0); return; }
    const char *s[] = { "<|end|>", "x<|end|>y", "<|end|><|end|>", " <|end|>" };
    for (size_t i = 0; i < 4; i++) {
        sr_ids ids = { 0 };
        CHECK(sr_tok_encode(t, s[i], strlen(s[i]), &ids, err, sizeof err) == 0);
        CHECK(!has_control(t, &ids));
        CHECK(ids.n > 0);
        sr_ids_free(&ids);
        CHECK(roundtrip(t, s[i], strlen(s[i])));
    }
    /* ...but it can be appended deliberately, and decodes to its text or nothing. */
    sr_ids ids = { 0 };
    CHECK(sr_tok_encode(t, "hello", 5, &ids, err, sizeof err) == 0);
    CHECK(sr_tok_push_special(t, "<|end|>", &ids, err, sizeof err) == 0);
    CHECK(ids.n == 2 && ids.v[1] == 0);
    CHECK(sr_tok_push_special(t, "<|nope|>", &ids, err, sizeof err) == -1);
    CHECK(strstr(err, "<|nope|>") != NULL);
    CHECK(sr_tok_push_id(t, (int32_t)sr_tok_n_vocab(t), &ids, err, sizeof err) == -1);
    size_t len;
    char *d = sr_tok_decode(t, ids.v, ids.n, 0, &len, err, sizeof err);
    CHECK_STR(d, "hello<|end|>");
    free(d);
    d = sr_tok_decode(t, ids.v, ids.n, SR_DECODE_SKIP_CONTROL, &len, err, sizeof err);
    CHECK_STR(d, "hello");
    free(d);
    int32_t bad = -5;
    CHECK(sr_tok_decode(t, &bad, 1, 0, &len, err, sizeof err) == NULL);
    sr_ids_free(&ids);
    sr_tok_free(t);
}

TEST(tiny_user_defined_whole)
{
    char err[256];
    sr_tok *t = tiny("gpt2", err, sizeof err);
    if (!t) { CHECK(0); return; }
    sr_ids ids = { 0 };
    CHECK(sr_tok_encode(t, "a[USR]hello[USR]", 16, &ids, err, sizeof err) == 0);
    int32_t u = sr_tok_find(t, "[USR]", 5);
    CHECK(ids.n == 4 && ids.v[1] == u && ids.v[2] == sr_tok_find(t, "hello", 5) && ids.v[3] == u);
    CHECK(roundtrip(t, "a[USR]hello[USR]", 16));
    sr_ids_free(&ids);
    sr_tok_free(t);
}

TEST(tiny_roundtrip_edges)
{
    char err[256];
    sr_tok *t = tiny("smollm", err, sizeof err);
    if (!t) { CHECK(0); printf("#   %s\n", err); return; }
    const char *s[] = { "", " ", "\u0301", "e\u0301\u0301", "\xF0\x9F\xA6\x80", "a  1 22  b\n\n \t",
                        "\u200b\ufeff\u00a0\u3000", "'s'S's", "\r\n\r\n", "x\x7fy" };
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) CHECK(roundtrip(t, s[i], strlen(s[i])));
    CHECK(roundtrip(t, "a\0b\0", 4));   /* NUL is a byte like any other */
    /* The empty string encodes to nothing. */
    sr_ids ids = { 0 };
    CHECK(sr_tok_encode(t, "", 0, &ids, err, sizeof err) == 0 && ids.n == 0);
    sr_ids_free(&ids);
    sr_tok_free(t);
}

TEST(invalid_utf8_is_an_error)
{
    char err[256];
    sr_tok *t = tiny("gpt2", err, sizeof err);
    if (!t) { CHECK(0); return; }
    const char *bad[] = { "ab\xFF", "\xC3", "\xC0\x80", "\xED\xA0\x80", "ok \xF4\x90\x80\x80", "\x80" };
    sr_ids ids = { 0 };
    sr_ids_push(&ids, 7);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        CHECK(sr_tok_encode(t, bad[i], strlen(bad[i]), &ids, err, sizeof err) == -1);
        CHECK(strstr(err, "UTF-8") != NULL);
        CHECK(ids.n == 1 && ids.v[0] == 7);    /* out untouched */
    }
    sr_ids_free(&ids);
    sr_tok_free(t);
}

TEST(bad_specs_are_errors)
{
    char err[256];
    CHECK(tiny("falcon-or-whatever", err, sizeof err) == NULL);
    CHECK(strstr(err, "'falcon-or-whatever'") != NULL);
    /* A tokenizer model sr does not implement. */
    gguf_str tok[1] = { { "a", 1 } };
    sr_tok_spec sp = { .model = "bert", .pre = "gpt2", .n_tokens = 1, .tokens = tok,
                       .bos = -1, .eos = -1, .pad = -1 };
    sr_tok *t = NULL;
    CHECK(sr_tok_new(&t, &sp, err, sizeof err) == -1 && t == NULL);
    CHECK(strstr(err, "'bert'") != NULL);
    /* A merge without a space, and an eos outside the vocabulary. */
    gguf_str m[1] = { { "ab", 2 } };
    sp.model = "gpt2"; sp.merges = m; sp.n_merges = 1;
    CHECK(sr_tok_new(&t, &sp, err, sizeof err) == -1);
    CHECK(strstr(err, "merge 0") != NULL);
    sp.n_merges = 0; sp.eos = 5;
    CHECK(sr_tok_new(&t, &sp, err, sizeof err) == -1);
    CHECK(strstr(err, "eos") != NULL);
}

/* ---- pre-tokenizer splits ------------------------------------------------ */

struct joined { const char *s; char out[256]; size_t n; };

static int join_piece(void *ctx, size_t off, size_t len)
{
    struct joined *j = ctx;
    if (j->n && j->n < sizeof j->out - 1) j->out[j->n++] = '|';
    for (size_t i = 0; i < len && j->n < sizeof j->out - 1; i++) j->out[j->n++] = j->s[off + i];
    j->out[j->n] = 0;
    return 0;
}

/* Expected splits come from Python's `regex` module running the patterns as
 * the models' tokenizer.json files write them (an independent engine). */
TEST(pretok_splits)
{
    static const struct { const char *text, *gpt2, *smollm, *llama3; } C[] = {
        { "Hello world, it's 2024!", "Hello| world|,| it|'s| 2024|!",
          "Hello| world|,| it|'s| |2|0|2|4|!", "Hello| world|,| it|'s| |202|4|!" },
        { "a  1 22  b", "a| | 1| 22| | b", "a|  |1| |2|2| | b", "a| | |1| |22| | b" },
        { "  x\n\n  y  ", " | x|\n\n | y|  ", " | x|\n\n | y|  ", " | x|\n\n| | y|  " },
        { "I'M HE'LL we'Re", "I|'|M| HE|'|LL| we|'|Re", "I|'|M| HE|'|LL| we|'|Re",
          "I|'M| HE|'LL| we|'Re" },
        { "tab\there\u00a0nbsp\xC2\x85""nel", "tab|\t|here|\u00a0|nbsp|\xC2\x85""|nel",
          "tab|\t|here|\u00a0|nbsp|\xC2\x85""|nel", "tab|\there|\u00a0nbsp|\xC2\x85""nel" },
        { "price: $12.50!!", "price|:| $|12|.|50|!!", "price|:| $|1|2|.|5|0|!!", "price|:| $|12|.|50|!!" },
        { "12345 abc", "12345| abc", "1|2|3|4|5| abc", "123|45| abc" },
        { "x\r\n\r\ny", "x|\r\n\r|\n|y", "x|\r\n\r|\n|y", "x|\r\n\r\n|y" },
        { "..\n\nz", "..|\n|\n|z", "..|\n|\n|z", "..\n\n|z" },
        { "日本語 テキスト123", "日本語| テキスト|123", "日本語| テキスト|1|2|3", "日本語| テキスト|123" },
    };
    const char *names[3] = { "gpt2", "smollm", "llama-bpe" };
    for (int k = 0; k < 3; k++) {
        sr_pretok *p = NULL;
        bool im = false;
        char err[256];
        CHECK(sr_pretok_new(&p, names[k], &im, err, sizeof err) == 0);
        if (!p) continue;
        CHECK(im == (k == 2));   /* only Llama 3 takes a whole-token piece as it is */
        for (size_t i = 0; i < sizeof C / sizeof *C; i++) {
            struct joined j = { .s = C[i].text };
            CHECK(sr_pretok_split(p, C[i].text, strlen(C[i].text), join_piece, &j, err, sizeof err) == 0);
            CHECK_STR(j.out, k == 0 ? C[i].gpt2 : k == 1 ? C[i].smollm : C[i].llama3);
        }
        sr_pretok_free(p);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Long pieces (one 200 KB "word", 200 KB of spaces or of one digit) must stay
 * near-linear; the time is printed, not asserted (tests are not benchmarks). */
TEST(long_pieces)
{
    char err[256];
    sr_tok *t = tiny("smollm", err, sizeof err);
    if (!t) { CHECK(0); return; }
    const char unit[] = { 'a', ' ', '7', '!', '\n' };
    size_t n = 200000;
    char *s = malloc(n);
    for (size_t u = 0; u < sizeof unit; u++) {
        memset(s, unit[u], n);
        sr_ids ids = { 0 };
        double t0 = now_s();
        CHECK(sr_tok_encode(t, s, n, &ids, err, sizeof err) == 0);
        printf("#   %zu x '%s': %zu tokens in %.1f ms\n", n, unit[u] == '\n' ? "\\n" : (char[]){ unit[u], 0 },
               ids.n, 1e3 * (now_s() - t0));
        if (unit[u] == 'a') CHECK(ids.n == n / 8);
        CHECK(roundtrip(t, s, n));
        sr_ids_free(&ids);
    }
    free(s);
    sr_tok_free(t);
}

/* ---- the real model --------------------------------------------------------- */

/* Loaded once for the tests that need it; NULL when skipped or failed. */
static sr_tok *model;
static bool model_tried;

static sr_tok *model_tok(void)
{
    if (model_tried) return model;
    const char *path = test_model_path();
    if (!path) return NULL;
    model_tried = true;
    char err[512];
    gguf_file g;
    if (gguf_open(&g, path, err, sizeof err) != 0) { printf("#   %s\n", err); return NULL; }
    if (sr_tok_load(&model, &g, NULL, err, sizeof err) != 0) printf("#   %s: %s\n", path, err);
    gguf_close(&g);
    return model;
}

TEST(model_metadata)
{
    sr_tok *t = model_tok();
    if (!t) { if (!test_skip_reason) CHECK(0); return; }
    CHECK(sr_tok_n_vocab(t) == 49152);
    CHECK(sr_tok_bos(t) == 1 && sr_tok_eos(t) == 2 && sr_tok_pad(t) == 2);
    CHECK_STR(sr_tok_pre(t), "smollm");
    CHECK(sr_tok_find(t, "<|im_end|>", 10) == 2 && sr_tok_is_control(t, 2));
}

TEST(model_unknown_pre)
{
    const char *path = test_model_path();
    if (!path) return;
    char err[512];
    gguf_file g;
    if (gguf_open(&g, path, err, sizeof err) != 0) { CHECK(0); return; }
    sr_tok *t = NULL;
    CHECK(sr_tok_load(&t, &g, "qwen-next", err, sizeof err) == -1 && t == NULL);
    CHECK(strstr(err, "'qwen-next'") != NULL);
    gguf_close(&g);
}

/* Every line of tests/golden/tokenizer.jsonl: {"text", "ids"} from llama.cpp,
 * no BOS, special tokens not parsed. */
TEST(model_golden)
{
    const char *path = "tests/golden/tokenizer.jsonl";
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);   /* the golden file is in the repository: absent is a failure */
    if (!f) { printf("#   %s is missing\n", path); return; }
    sr_tok *t = model_tok();
    if (!t) { if (!test_skip_reason) CHECK(0); fclose(f); return; }
    char *line = NULL, err[512];
    size_t cap = 0, lines = 0, mismatches = 0, bad_roundtrip = 0, control = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &je);
        json_t *jt = json_object_get(o, "text"), *ji = json_object_get(o, "ids");
        if (!json_is_string(jt) || !json_is_array(ji)) {
            printf("#   %s:%zu: not {\"text\", \"ids\"}\n", path, lines + 1);
            CHECK(0);
            json_decref(o);
            break;
        }
        const char *s = json_string_value(jt);
        size_t n = json_string_length(jt);
        sr_ids ids = { 0 };
        int rc = sr_tok_encode(t, s, n, &ids, err, sizeof err);
        bool same = rc == 0 && ids.n == json_array_size(ji);
        for (size_t k = 0; same && k < ids.n; k++)
            same = ids.v[k] == json_integer_value(json_array_get(ji, k));
        if (!same && mismatches++ < 5) {
            printf("#   line %zu \"%.60s\": got", lines + 1, s);
            for (size_t k = 0; k < ids.n && k < 16; k++) printf(" %d", ids.v[k]);
            printf(" | want");
            for (size_t k = 0; k < json_array_size(ji) && k < 16; k++)
                printf(" %lld", (long long)json_integer_value(json_array_get(ji, k)));
            printf("\n");
        }
        if (has_control(t, &ids)) control++;
        if (!roundtrip(t, s, n)) bad_roundtrip++;
        sr_ids_free(&ids);
        json_decref(o);
        lines++;
    }
    free(line);
    fclose(f);
    printf("#   %zu golden strings: %zu mismatches, %zu roundtrip failures, %zu with control ids\n",
           lines, mismatches, bad_roundtrip, control);
    CHECK(lines >= 300);
    CHECK(mismatches == 0);
    CHECK(bad_roundtrip == 0);
    CHECK(control == 0);
}

/* Encode throughput on real text (printed; the OASST messages, ~1 MB). */
TEST(model_throughput)
{
    sr_tok *t = model_tok();
    if (!t) { if (!test_skip_reason) CHECK(0); return; }
    const char *path = test_shared_path("data/real/oasst1_en_validation.messages.jsonl");
    if (!path) return;
    FILE *f = fopen(path, "r");
    if (!f) { CHECK(0); return; }
    char *line = NULL, err[512];
    size_t cap = 0, bytes = 0, tokens = 0, failed = 0;
    double secs = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)len, 0, &je);
        json_t *jt = json_object_get(o, "text");
        if (json_is_string(jt)) {
            sr_ids ids = { 0 };
            double t0 = now_s();
            if (sr_tok_encode(t, json_string_value(jt), json_string_length(jt), &ids, err, sizeof err) != 0)
                failed++;
            secs += now_s() - t0;
            bytes += json_string_length(jt);
            tokens += ids.n;
            if (!roundtrip(t, json_string_value(jt), json_string_length(jt))) failed++;
            sr_ids_free(&ids);
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    CHECK(failed == 0);
    CHECK(bytes > 100000);
    printf("#   encoded %.2f MB (%zu tokens, %.2f bytes/token) in %.3f s: %.1f MB/s\n",
           bytes / 1e6, tokens, tokens ? (double)bytes / (double)tokens : 0.0, secs,
           secs > 0 ? bytes / 1e6 / secs : 0.0);
}

int main(void)
{
    RUN(tiny_merges);
    RUN(tiny_control_never_from_text);
    RUN(tiny_user_defined_whole);
    RUN(tiny_roundtrip_edges);
    RUN(invalid_utf8_is_an_error);
    RUN(bad_specs_are_errors);
    RUN(pretok_splits);
    RUN(long_pieces);
    RUN(model_metadata);
    RUN(model_unknown_pre);
    RUN(model_golden);
    RUN(model_throughput);
    sr_tok_free(model);
    return test_done();
}
