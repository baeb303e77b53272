/* test_vocab.c — every vocabulary in ../shared/data/vocab against the ids
 * llama.cpp gives:
 *   - NAME.gguf.inp / NAME.gguf.out: llama.cpp's own test cases (inputs
 *     separated by "\n__ggml_vocab_test__\n", one line of ids per input);
 *   - tests/golden/vocab/NAME.jsonl: generated strings with the ids of
 *     llama.cpp's llama-tokenize (tests/golden/make_vocab_golden.py);
 *   - tests/golden/vocab/BASE@PRE.jsonl: BASE's vocabulary under another
 *     pre-tokenizer PRE (loaded with pre_override = PRE; "default", what
 *     an absent tokenizer.ggml.pre means, from a copy without the key), for
 *     the pre-tokenizers no vocabulary here uses
 *     (tests/golden/make_vocab_pre_golden.py).
 * Neither adds BOS/EOS or parses special tokens, as sr_tok_encode does not.
 * Wherever the tokenizer is lossless, decode(encode(s)) == s is checked too.
 * SR_VOCAB_ONLY=NAME restricts the run to one vocabulary (for debugging). */
#include <dirent.h>
#include <msgpack.h>
#include <unistd.h>

#include "io/json.h"
#include "lm/gguf.h"
#include "lm/tokenizer.h"
#include "test.h"

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *p = malloc(cap + 1);
    size_t got;
    while ((got = fread(p + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) p = realloc(p, (cap *= 2) + 1);
    }
    fclose(f);
    p[len] = 0;
    *n = len;
    return p;
}

/* Parse "id id id" into ids; returns the count. */
static size_t parse_ids(const char *s, const char *end, int32_t *out, size_t cap)
{
    size_t n = 0;
    while (s < end) {
        char *e;
        long v = strtol(s, &e, 10);
        if (e == s) { s++; continue; }
        if (n < cap) out[n] = (int32_t)v;
        n++;
        s = e;
    }
    return n;
}

/* One case: encode text, compare with want; check the round trip when the
 * vocabulary is lossless for this text. Prints the first few mismatches. */
static int shown;
static void check_case(const sr_tok *t, const char *name, const char *text, size_t tn,
                       const int32_t *want, size_t wn, bool roundtrip)
{
    sr_ids got = {0};
    char err[256];
    int rc = sr_tok_encode(t, text, tn, &got, err, sizeof err);
    bool same = rc == 0 && got.n == wn && (wn == 0 || !memcmp(got.v, want, wn * sizeof *want));
    if (!same) {
        test_cur_failed++;
        if (shown++ < 6) {
            printf("#   %s: text \"%.*s\"%s\n#     want", name, (int)(tn > 80 ? 80 : tn), text,
                   tn > 80 ? "..." : "");
            for (size_t i = 0; i < wn && i < 40; i++) printf(" %d", want[i]);
            printf("\n#     got ");
            if (rc) printf(" error: %s", err);
            for (size_t i = 0; i < got.n && i < 40; i++) printf(" %d", got.v[i]);
            printf("\n");
        }
    } else if (roundtrip) {
        size_t dn;
        char *d = sr_tok_decode(t, got.v, got.n, SR_DECODE_STRIP_PREFIX, &dn, err, sizeof err);
        if (!d || dn != tn || memcmp(d, text, tn)) {
            test_cur_failed++;
            if (shown++ < 6)
                printf("#   %s: decode(encode(\"%.*s\")) = \"%.*s\"\n", name, (int)(tn > 80 ? 80 : tn),
                       text, d ? (int)(dn > 80 ? 80 : dn) : 0, d ? d : "");
        }
        free(d);
    }
    sr_ids_free(&got);
}

/* Whether decode(encode(s)) == s is expected: SentencePiece vocabularies
 * with byte fallback and byte-level BPE are lossless on valid UTF-8, except
 * where llama.cpp's own pre-processing changes the text (none of the
 * vocabularies here normalises). Vocabularies that map some text to <unk>
 * are not lossless; a case whose expected ids hold the unknown token is
 * skipped for the round trip. */
static bool lossless(const sr_tok *t, const int32_t *want, size_t wn)
{
    int32_t unk = sr_tok_unk(t);
    for (size_t i = 0; i < wn; i++)
        if (want[i] == unk || sr_tok_type(t, want[i]) == SR_TOK_UNKNOWN) return false;
    return true;
}

/* llama.cpp's .inp/.out cases. Returns the number checked. */
static size_t run_inp(const sr_tok *t, const char *name, const char *inp_path, const char *out_path)
{
    size_t in_n, out_n;
    char *inp = slurp(inp_path, &in_n), *out = slurp(out_path, &out_n);
    if (!inp || !out) { printf("#   %s: cannot read %s or %s\n", name, inp_path, out_path); test_cur_failed++; free(inp); free(out); return 0; }
    static const char sep[] = "\n__ggml_vocab_test__\n";
    size_t seplen = sizeof sep - 1, cases = 0;
    /* The .inp file starts with its first case and ends with a separator. */
    char *s = inp, *o = out, *oend = out + out_n;
    int32_t *want = malloc(sizeof *want * 65536);
    for (;;) {
        char *e = strstr(s, sep);
        if (!e) break;
        char *nl = memchr(o, '\n', (size_t)(oend - o));
        if (!nl) nl = oend;
        size_t wn = parse_ids(o, nl, want, 65536);
        check_case(t, name, s, (size_t)(e - s), want, wn, lossless(t, want, wn));
        cases++;
        s = e + seplen;
        o = nl < oend ? nl + 1 : oend;
    }
    free(want);
    free(inp);
    free(out);
    return cases;
}

static const msgpack_object *map_get(const msgpack_object *m, const char *key)
{
    if (m->type != MSGPACK_OBJECT_MAP) return NULL;
    size_t kl = strlen(key);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl && !memcmp(k->via.str.ptr, key, kl))
            return &m->via.map.ptr[i].val;
    }
    return NULL;
}

/* tests/golden/vocab/NAME.jsonl: {"text": ..., "ids": [...]} per line, with
 * "roundtrip": false where the ids' pieces are not the text (U+2581 in a
 * SentencePiece vocabulary comes back as a space); those skip the round
 * trip. All lines are checked under a sanitizer too: the 2,736 lines of the
 * seven vocabularies sr reads take 0.7 s in the release build and 2.4 s
 * with ASan+UBSan, most of it loading the vocabularies.
 * A line with "unicode": 15 holds code points assigned in Unicode 15.0/15.1:
 * llama.cpp's tables are 15.1, PCRE2 10.42's are 14.0, and tokenizer_pre.c
 * widens PCRE2's classes to 15.1 — these lines check that it does.
 * Returns the number checked, or 0 when the file is absent. */
static size_t run_jsonl(const sr_tok *t, const char *name, const char *path)
{
    size_t n;
    char *all = slurp(path, &n);
    if (!all) return 0;
    size_t cases = 0, line = 0;
    int32_t *want = malloc(sizeof *want * 65536);
    for (char *s = all, *end = all + n; s < end;) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl) nl = end;
        if (nl > s) {
            line++;
            msgpack_zone z;
            msgpack_zone_init(&z, 4096);
            msgpack_object o;
            char err[256];
            if (sr_json_to_msgpack(s, (size_t)(nl - s), &z, &o, err, sizeof err) != 0) {
                printf("#   %s line %zu: %s\n", path, line, err);
                test_cur_failed++;
            } else {
                const msgpack_object *tx = map_get(&o, "text"), *ids = map_get(&o, "ids");
                if (!tx || tx->type != MSGPACK_OBJECT_STR || !ids || ids->type != MSGPACK_OBJECT_ARRAY) {
                    printf("#   %s line %zu: no text/ids\n", path, line);
                    test_cur_failed++;
                } else {
                    size_t wn = ids->via.array.size < 65536 ? ids->via.array.size : 65536;
                    for (size_t i = 0; i < wn; i++) want[i] = (int32_t)ids->via.array.ptr[i].via.i64;
                    const msgpack_object *rt = map_get(&o, "roundtrip");
                    bool exact = !rt || rt->type != MSGPACK_OBJECT_BOOLEAN || rt->via.boolean;
                    check_case(t, name, tx->via.str.ptr, tx->via.str.size, want, wn,
                               exact && lossless(t, want, wn));
                }
            }
            msgpack_zone_destroy(&z);
            cases++;
        }
        s = nl + 1;
    }
    free(want);
    free(all);
    return cases;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The vocabulary at path as a file without tokenizer.ggml.pre, the way
 * older converters wrote them, loaded with no override: llama.cpp falls back
 * to its "default" pre-tokenizer then, and so must sr. */
static sr_tok *load_without_pre(const char *path, char *err, size_t errlen)
{
    gguf_file g;
    if (gguf_open(&g, path, err, errlen) != 0) return NULL;
    gguf_kv *kv = malloc(g.n_kv * sizeof *kv);
    uint64_t n = 0;
    for (uint64_t i = 0; i < g.n_kv; i++)
        if (g.kv[i].key.n != 18 || memcmp(g.kv[i].key.p, "tokenizer.ggml.pre", 18)) kv[n++] = g.kv[i];
    char tmp[] = "/tmp/sr-test-vocab-XXXXXX";
    int fd = mkstemp(tmp);
    sr_tok *t = NULL;
    if (fd >= 0) close(fd);
    if (fd >= 0 && n + 1 == g.n_kv && gguf_write(tmp, kv, n, NULL, 0, 0, err, errlen) == 0) {
        gguf_file h;
        if (gguf_open(&h, tmp, err, errlen) == 0) {
            if (sr_tok_load(&t, &h, NULL, err, errlen) == 0 && strcmp(sr_tok_pre(t), "default")) {
                snprintf(err, errlen, "without the key the pre-tokenizer is '%s', not 'default'", sr_tok_pre(t));
                sr_tok_free(t);
                t = NULL;
            }
            gguf_close(&h);
        }
    } else if (fd < 0 || n + 1 != g.n_kv) snprintf(err, errlen, "no tokenizer.ggml.pre to remove");
    if (fd >= 0) unlink(tmp);
    free(kv);
    gguf_close(&g);
    return t;
}

/* Every tests/golden/vocab/BASE@PRE.jsonl, one test each. */
static void run_pre_goldens(const char *dir, const char *only)
{
    DIR *d = opendir("tests/golden/vocab");
    char *files[256];
    size_t nf = 0;
    for (struct dirent *e; d && (e = readdir(d)) && nf < 256;) {
        size_t l = strlen(e->d_name);
        if (l > 6 && !strcmp(e->d_name + l - 6, ".jsonl") && strchr(e->d_name, '@'))
            files[nf++] = strndup(e->d_name, l - 6);
    }
    if (d) closedir(d);
    qsort(files, nf, sizeof *files, cmp_str);
    for (size_t i = 0; i < nf; i++) {
        char *at = strchr(files[i], '@');
        *at = 0;
        const char *base = files[i], *pre = at + 1;
        if (only && strcmp(only, base) && strcmp(only, pre)) { free(files[i]); continue; }
        test_cur_failed = 0; test_skip_reason = NULL; shown = 0;
        char path[4200], js[600], tname[300], err[512];
        snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf", dir, base);
        snprintf(js, sizeof js, "tests/golden/vocab/%s@%s.jsonl", base, pre);
        snprintf(tname, sizeof tname, "vocab %s, pre-tokenizer %s", base, pre);
        gguf_file g;
        sr_tok *t = NULL;
        if (!strcmp(pre, "default")) {
            if (!(t = load_without_pre(path, err, sizeof err))) { printf("#   %s@%s: %s\n", base, pre, err); test_cur_failed++; }
        } else if (gguf_open(&g, path, err, sizeof err) != 0) { printf("#   %s\n", err); test_cur_failed++; }
        else {
            if (sr_tok_load(&t, &g, pre, err, sizeof err) != 0) { printf("#   %s@%s: %s\n", base, pre, err); test_cur_failed++; }
            gguf_close(&g);
        }
        if (t) {
            size_t n = run_jsonl(t, pre, js);
            printf("#   %s@%s: %zu generated\n", base, pre, n);
            if (n == 0) { printf("#   %s: no cases\n", js); test_cur_failed++; }
            sr_tok_free(t);
        }
        test_report(tname);
        free(files[i]);
    }
}

int main(void)
{
    const char *probe = test_shared_path("data/vocab/README.md");
    if (!probe) { test_report("vocabularies"); return test_done(); }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", probe);
    *strrchr(dir, '/') = 0;
    const char *only = getenv("SR_VOCAB_ONLY");

    DIR *d = opendir(dir);
    char *names[128];
    size_t nn = 0;
    for (struct dirent *e; d && (e = readdir(d)) && nn < 128;) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".gguf") && !strncmp(e->d_name, "ggml-vocab-", 11))
            names[nn++] = strndup(e->d_name + 11, l - 16);
    }
    if (d) closedir(d);
    qsort(names, nn, sizeof *names, cmp_str);

    for (size_t i = 0; i < nn; i++) {
        if (only && strcmp(only, names[i])) { free(names[i]); continue; }
        test_cur_failed = 0; test_skip_reason = NULL; shown = 0;
        char path[4200], inp[4300], out[4300], js[4300], tname[256];
        snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf", dir, names[i]);
        snprintf(inp, sizeof inp, "%s.inp", path);
        snprintf(out, sizeof out, "%s.out", path);
        snprintf(js, sizeof js, "tests/golden/vocab/%s.jsonl", names[i]);
        snprintf(tname, sizeof tname, "vocab %s", names[i]);
        char err[512];
        gguf_file g;
        sr_tok *t = NULL;
        if (gguf_open(&g, path, err, sizeof err) != 0) { printf("#   %s\n", err); test_cur_failed++; }
        else {
            if (sr_tok_load(&t, &g, NULL, err, sizeof err) != 0) { printf("#   %s: %s\n", names[i], err); test_cur_failed++; }
            gguf_close(&g);
        }
        size_t a = 0, b = 0;
        if (t) {
            FILE *f = fopen(inp, "rb");
            if (f) { fclose(f); a = run_inp(t, names[i], inp, out); }
            b = run_jsonl(t, names[i], js);
            sr_tok_free(t);
        }
        printf("#   %s: %zu llama.cpp cases, %zu generated\n", names[i], a, b);
        test_report(tname);
        free(names[i]);
    }
    run_pre_goldens(dir, only);
    return test_done();
}
