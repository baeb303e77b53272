/* fuzz_chat.c — the chat-template recognizer (sr_chat_init on arbitrary
 * template text, or a named format) and the renderer (turns with arbitrary
 * roles and content, to ids and to text, and as a training pair).
 *
 * Input: byte 0 picks the vocabulary, byte 1 the format (auto, or one by
 * number) and gen_prompt; then the template text and the turns, separated
 * by 0x1e; each turn's first byte picks its role (some invalid). */
#include "fuzz.h"

#include "lm/chat.h"

static const char *const names[] = { "qwen2", "llama-bpe", "phi-3", "gemma-4", "llama-spm",
                                      "deepseek-llm", "command-r" };
#define N ((int)(sizeof names / sizeof names[0]))
static sr_tok *toks[N];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_load_vocabs(names, N, toks);
    return 0;
}

enum { MAX_TURNS = 16 };
static const char *const roles[] = { "system", "user", "assistant", "tool", "" };

static void render(const sr_chat *c, const sr_chat_msg *m, size_t n, bool gen)
{
    char err[512];
    sr_ids ids = {0};
    if (sr_chat_render_ids(c, m, n, gen, &ids, err, sizeof err) != 0 && (!err[0] || ids.n)) abort();
    uint32_t nv = sr_tok_n_vocab(c->tok);
    for (size_t i = 0; i < ids.n; i++)
        if (ids.v[i] < 0 || (uint32_t)ids.v[i] >= nv) abort();
    sr_ids_free(&ids);
    size_t len;
    char *text = sr_chat_render_text(c, m, n, gen, &len, err, sizeof err);
    if (text) free(text);
    else if (!err[0]) abort();
    if (n >= 2) {
        size_t start;
        sr_ids pair = {0};
        if (sr_chat_render_pair(c, m, n - 1, m[n - 1].content, m[n - 1].content_len, &pair, &start,
                                err, sizeof err) == 0) {
            if (start > pair.n) abort();
        } else if (!err[0]) {
            abort();
        }
        sr_ids_free(&pair);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    const sr_tok *t = fuzz_pick(toks, N, data[0], NULL);
    if (!t) return 0;
    unsigned fb = data[1];
    enum sr_chat_format fmt = (fb & 0x70) ? (enum sr_chat_format)((fb & 0x0f) % (SR_CHAT_NONE + 1)) : SR_CHAT_AUTO;
    bool gen = (fb & 0x80) != 0;
    /* one copy of the rest, cut in place into the template and the turns */
    size_t n = size - 2;
    char *buf = malloc(n ? n : 1);
    if (!buf) abort();
    memcpy(buf, data + 2, n);
    char *seg[MAX_TURNS + 1];
    size_t seglen[MAX_TURNS + 1];
    int nseg = 0;
    size_t at = 0;
    while (nseg < MAX_TURNS + 1) {
        char *sep = at < n ? memchr(buf + at, 0x1e, n - at) : NULL;
        size_t l = sep ? (size_t)(sep - (buf + at)) : n - at;
        seg[nseg] = buf + at;
        seglen[nseg++] = l;
        if (!sep) break;
        at += l + 1;
    }
    sr_chat c;
    char err[512];
    if (sr_chat_init(&c, t, seglen[0] ? seg[0] : NULL, seglen[0], fmt, err, sizeof err) == 0) {
        sr_chat_msg m[MAX_TURNS];
        size_t nm = 0;
        for (int i = 1; i < nseg; i++) {
            unsigned r = seglen[i] ? (unsigned char)seg[i][0] : 1;
            m[nm].role = roles[r % 5 == 4 && r < 0xf0 ? 1 : r % 5];
            m[nm].content = seglen[i] ? seg[i] + 1 : seg[i];
            m[nm].content_len = seglen[i] ? seglen[i] - 1 : 0;
            nm++;
        }
        render(&c, m, nm, gen);
        sr_chat_free(&c);
    } else if (!err[0]) {
        abort();
    }
    free(buf);
    return 0;
}
