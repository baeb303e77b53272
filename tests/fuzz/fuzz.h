/* fuzz.h — what the libFuzzer harnesses in tests/fuzz share.
 *
 * Each fuzz_<target>.c defines LLVMFuzzerTestOneInput (and, when it needs a
 * vocabulary, LLVMFuzzerInitialize). The same file is built two ways:
 * with clang -fsanitize=fuzzer,address,undefined by `make fuzz`, and with
 * the normal compiler into a unit test (replay.c supplies main) that feeds
 * it the files in tests/fuzz/regress/<target>/ and corpus/<target>/, so
 * every finding stays a regression case in `make test` without clang.
 *
 * A harness keeps no state between inputs but what Initialize loads once
 * (read-only tokenizers); each input's allocations are freed before return,
 * so LeakSanitizer reports a leak as a finding. */
#ifndef SR_FUZZ_H
#define SR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm/gguf.h"
#include "lm/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* How many vocabularies a harness asked for and could not load (set in
 * LLVMFuzzerInitialize, read by replay.c to skip, or fail under CI=true).
 * Weak, so the harness and replay.c share one without either owning it. */
__attribute__((weak)) int fuzz_vocab_missing;

/* A vocabulary under $SR_SHARED/data/vocab (default ../shared, as the unit
 * tests find it), built into a tokenizer; NULL, saying why on stderr, when
 * the file is absent or will not load — the harness then skips its input.
 * pre, when not NULL, replaces the file's pre-tokenizer (to reach the
 * pre-tokenizers no vocabulary in ../shared names). */
static inline sr_tok *fuzz_load_vocab_pre(const char *name, const char *pre)
{
    const char *root = getenv("SR_SHARED");
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/data/vocab/ggml-vocab-%s.gguf", root ? root : "../shared", name);
    gguf_file g;
    if (gguf_open(&g, path, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz: %s: %s (skipped)\n", path, err);
        fuzz_vocab_missing++;
        return NULL;
    }
    sr_tok *t = NULL;
    if (sr_tok_load(&t, &g, pre, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz: %s: %s (skipped)\n", path, err);
        fuzz_vocab_missing++;
        t = NULL;
    }
    gguf_close(&g);
    return t;
}

static inline sr_tok *fuzz_load_vocab(const char *name) { return fuzz_load_vocab_pre(name, NULL); }

/* Load names[0..n) into toks; returns how many loaded (the rest NULL). */
static inline int fuzz_load_vocabs(const char *const *names, int n, sr_tok **toks)
{
    int got = 0;
    for (int i = 0; i < n; i++) got += (toks[i] = fuzz_load_vocab(names[i])) != NULL;
    if (!got) fprintf(stderr, "fuzz: no vocabulary under $SR_SHARED/data/vocab: every input skipped\n");
    return got;
}

/* The i-th loaded tokenizer counting round from k (NULL when none is). */
static inline sr_tok *fuzz_pick(sr_tok **toks, int n, unsigned k, int *index)
{
    for (int i = 0; i < n; i++) {
        int j = (int)((k + (unsigned)i) % (unsigned)n);
        if (toks[j]) { if (index) *index = j; return toks[j]; }
    }
    return NULL;
}

/* A NUL-terminated copy of the input (the parsers that want C strings). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

#endif
