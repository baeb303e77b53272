/* tok_body.h — the tokenizer harnesses' one body (fuzz_tok_bpe.c,
 * fuzz_tok_spm.c): each defines VOCABS (name, pre-tokenizer override or
 * NULL) and LOSSLESS (whether decode(encode(s)) must give s back) first.
 *
 * Input: byte 0 picks the vocabulary, byte 1 the flags, the rest is text.
 * Encoded (as data, or with special tokens parsed), the ids must be in
 * range and decode; the text's bytes read as ids (some out of range) must
 * decode or be refused with a message; the text read as written ids too. */
#ifndef SR_TOK_BODY_H
#define SR_TOK_BODY_H

#include "fuzz.h"

static const char *const vocab_names[][2] = { VOCABS };
#define N_VOCABS ((int)(sizeof vocab_names / sizeof vocab_names[0]))
static sr_tok *toks[N_VOCABS];
static int lossless[N_VOCABS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    int got = 0;
    for (int i = 0; i < N_VOCABS; i++) {
        toks[i] = fuzz_load_vocab_pre(vocab_names[i][0], vocab_names[i][1]);
        got += toks[i] != NULL;
        lossless[i] = LOSSLESS(vocab_names[i][0]);
    }
    if (!got) fprintf(stderr, "fuzz: no vocabulary under $SR_SHARED/data/vocab: every input skipped\n");
    return 0;
}

static void encode_decode(const sr_tok *t, int lossy, const char *s, size_t n, unsigned flags)
{
    int sp_space = strcmp(sr_tok_model(t), "gpt2") != 0;
    sr_ids ids = {0};
    char err[512];
    unsigned eflags = flags & (SR_ENCODE_NO_PREFIX | SR_ENCODE_SPECIAL);
    if (sr_tok_encode_ex(t, s, n, eflags, &ids, err, sizeof err) != 0) {
        if (!err[0] || ids.n) abort();
        sr_ids_free(&ids);
        return;
    }
    uint32_t nv = sr_tok_n_vocab(t);
    for (size_t i = 0; i < ids.n; i++)
        if (ids.v[i] < 0 || (uint32_t)ids.v[i] >= nv) abort();
    size_t len;
    unsigned dflags = (eflags & SR_ENCODE_NO_PREFIX) ? 0 : SR_DECODE_STRIP_PREFIX;
    char *back = sr_tok_decode(t, ids.v, ids.n, dflags, &len, err, sizeof err);
    if (!back) abort();   /* ids the encoder made always decode */
    /* SentencePiece reads a "▁" typed in the text as the space it stands for */
    if (!lossy && !(eflags & SR_ENCODE_SPECIAL) && !(sp_space && memmem(s, n, "\xe2\x96\x81", 3)) && (len != n || memcmp(back, s, n) != 0)) {
        fprintf(stderr, "decode(encode(s)) != s: %zu bytes in, %zu out\n", n, len);
        abort();
    }
    free(back);
    sr_ids_free(&ids);
}

static void decode_bytes(const sr_tok *t, const uint8_t *p, size_t n, unsigned flags)
{
    size_t k = n / 3;
    int32_t *ids = malloc((k ? k : 1) * sizeof *ids);
    if (!ids) abort();
    uint32_t nv = sr_tok_n_vocab(t);
    for (size_t i = 0; i < k; i++) {
        uint32_t v = (uint32_t)p[3 * i] | (uint32_t)p[3 * i + 1] << 8 | (uint32_t)p[3 * i + 2] << 16;
        /* mostly in range; the top values step just past the end, or negative */
        ids[i] = v < 0xfff000 ? (int32_t)(v % nv) : (v & 1) ? (int32_t)(nv + (v & 7)) : -(int32_t)(v & 7) - 1;
    }
    size_t len;
    char err[512];
    char *s = sr_tok_decode(t, ids, k, flags & 3, &len, err, sizeof err);
    if (s) free(s);
    else if (!err[0]) abort();
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    int which = 0;
    const sr_tok *t = fuzz_pick(toks, N_VOCABS, data[0], &which);
    if (!t) return 0;
    unsigned flags = data[1];
    char *s = malloc(size - 2 ? size - 2 : 1);   /* exactly the text */
    if (!s) abort();
    memcpy(s, data + 2, size - 2);
    encode_decode(t, !lossless[which], s, size - 2, flags);
    decode_bytes(t, data + 2, size - 2, flags >> 2);
    if (flags & 0x80) {
        char *c = fuzz_cstr(data + 2, size - 2);
        sr_ids ids = {0};
        char err[512];
        if (sr_tok_parse_ids(t, c, &ids, err, sizeof err) != 0 && !err[0]) abort();
        sr_ids_free(&ids);
        free(c);
    }
    free(s);
    return 0;
}

#endif
