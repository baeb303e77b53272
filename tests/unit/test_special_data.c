/* test_special_data.c — special tokens typed in data stay plain text.
 *
 * For every vocabulary in ../shared/data/vocab, every control (and unknown)
 * token's text is tokenized as the tools tokenize data (sr_tok_encode, no
 * SR_ENCODE_SPECIAL): alone, at the start of a sequence and continuing one,
 * and between words. No control id may come out: control tokens enter a
 * sequence only where the chat template puts them (sr_tok_push_special).
 * With SR_ENCODE_SPECIAL, the inspection path, the same text is the id, so
 * the test knows it really typed each token. User-defined tokens are
 * matched whole in data, as llama.cpp matches them; they are not checked
 * here. Under ASan one token in 16 is tried.
 * Then, where the vocabulary's GGUF has a chat template sr knows, a user
 * turn holding every such text is rendered: its control ids are exactly
 * those of the same turn without them, in the same order (the template's). */
#include <dirent.h>

#include "lm/chat.h"
#include "lm/gguf.h"
#include "lm/tokenizer.h"
#include "test.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int shown;

/* The first control id in ids, or -1. */
static int32_t first_control(const sr_tok *t, const sr_ids *ids)
{
    for (size_t i = 0; i < ids->n; i++)
        if (sr_tok_type(t, ids->v[i]) == SR_TOK_CONTROL || sr_tok_type(t, ids->v[i]) == SR_TOK_UNKNOWN)
            return ids->v[i];
    return -1;
}

/* text (with id's token inside) encoded as data: no control id. */
static void check_plain(const sr_tok *t, const char *name, int32_t id, const char *text, size_t n,
                        unsigned flags)
{
    sr_ids ids = {0};
    char err[256];
    int rc = sr_tok_encode_ex(t, text, n, flags, &ids, err, sizeof err);
    int32_t bad = rc == 0 ? first_control(t, &ids) : -1;
    /* invalid UTF-8 in a token's text (a byte token's) is refused, not a leak */
    if (rc == 0 && bad >= 0) {
        test_cur_failed++;
        if (shown++ < 8)
            printf("#   %s: token %d: data \"%.*s\" gave control id %d\n", name, id, (int)n, text, bad);
    }
    sr_ids_free(&ids);
}

/* Returns how many tokens were tried. */
static size_t run_vocab(const sr_tok *t, const char *name)
{
    size_t tried = 0, step = SANITIZED ? 16 : 1;
    for (int32_t id = 0; id < (int32_t)sr_tok_n_vocab(t); id += (int32_t)step) {
        int type = sr_tok_type(t, id);
        if (type != SR_TOK_CONTROL && type != SR_TOK_UNKNOWN) continue;
        size_t n;
        const char *text = sr_tok_text(t, id, &n);
        if (!text || n == 0 || n > 200) continue;
        /* the inspection path does see it: the text really is the token */
        sr_ids sp = {0};
        char err[256], buf[512];
        if (sr_tok_encode_ex(t, text, n, SR_ENCODE_SPECIAL | SR_ENCODE_NO_PREFIX, &sp, err, sizeof err) == 0 &&
            !(sp.n == 1 && sp.v[0] == id) && type == SR_TOK_CONTROL && shown++ < 8)
            printf("#   %s: note: token %d \"%.*s\" with SR_ENCODE_SPECIAL is %zu ids\n", name, id,
                   (int)n, text, sp.n);
        sr_ids_free(&sp);
        check_plain(t, name, id, text, n, 0);
        check_plain(t, name, id, text, n, SR_ENCODE_NO_PREFIX);
        int m = snprintf(buf, sizeof buf, "Hello %.*s world%.*s", (int)n, text, (int)n, text);
        check_plain(t, name, id, buf, (size_t)m, 0);
        tried++;
    }
    return tried;
}

/* The control ids of ids, in order, into out (n returned). */
static size_t controls(const sr_tok *t, const sr_ids *ids, int32_t *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < ids->n; i++)
        if (sr_tok_type(t, ids->v[i]) == SR_TOK_CONTROL && k < cap) out[k++] = ids->v[i];
    return k;
}

/* A user turn with every control text in it (buf) renders the template's
 * control ids only: those of the same turn without them, in their order. */
static void check_chat(const sr_tok *t, const sr_chat *c, const char *name, const char *fmt,
                       const char *buf, size_t len)
{
    char err[512];
    sr_chat_msg plain[1] = { { "user", "Hi", 2 } }, typed[1] = { { "user", buf, len } };
    sr_ids a = {0}, b = {0};
    int32_t ca[256], cb[256];
    int ok = sr_chat_render_ids(c, plain, 1, true, &a, err, sizeof err) == 0 &&
             sr_chat_render_ids(c, typed, 1, true, &b, err, sizeof err) == 0;
    if (!ok) printf("#   %s (%s): render: %s\n", name, fmt, err);
    size_t na = ok ? controls(t, &a, ca, 256) : 0, nb = ok ? controls(t, &b, cb, 256) : 0;
    if (!ok || na != nb || memcmp(ca, cb, na * sizeof *ca)) {
        test_cur_failed++;
        printf("#   %s (%s): the typed turn has %zu control ids, the template's %zu\n", name, fmt, nb, na);
    }
    sr_ids_free(&a);
    sr_ids_free(&b);
}

/* The GGUF's own template and every named format the vocabulary has the
 * tokens for. Returns how many were checked. */
static int run_chat(const sr_tok *t, const gguf_file *g, const char *name)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    len += (size_t)snprintf(buf, cap, "Hi");
    for (int32_t id = 0; id < (int32_t)sr_tok_n_vocab(t); id++) {
        size_t n;
        const char *text = sr_tok_text(t, id, &n);
        if (sr_tok_type(t, id) != SR_TOK_CONTROL || !text || n == 0 || len + n + 2 > cap) continue;
        buf[len++] = ' ';
        memcpy(buf + len, text, n);
        len += n;
    }
    int checked = 0;
    char err[512];
    for (int f = SR_CHAT_AUTO; f < SR_CHAT_NONE; f++) {
        sr_chat c;
        int rc = f == SR_CHAT_AUTO ? sr_chat_load(&c, t, g, SR_CHAT_AUTO, err, sizeof err)
                                   : sr_chat_init(&c, t, NULL, 0, (enum sr_chat_format)f, err, sizeof err);
        if (rc != 0) continue;
        check_chat(t, &c, name, f == SR_CHAT_AUTO ? "its template" : sr_chat_format_name(c.format), buf, len);
        checked++;
        sr_chat_free(&c);
    }
    printf("#   %s: %d chat formats checked\n", name, checked);
    free(buf);
    return checked;
}

int main(void)
{
    const char *probe = test_shared_path("data/vocab/README.md");
    if (!probe) { test_report("special tokens in data"); return test_done(); }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", probe);
    *strrchr(dir, '/') = 0;
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
    int chats = 0;
    for (size_t i = 0; i < nn; i++) {
        test_cur_failed = 0; test_skip_reason = NULL; shown = 0;
        char path[4200], tname[256], err[512];
        snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf", dir, names[i]);
        snprintf(tname, sizeof tname, "special tokens in data: %s", names[i]);
        gguf_file g;
        sr_tok *t = NULL;
        if (gguf_open(&g, path, err, sizeof err) != 0) { printf("#   %s\n", err); test_cur_failed++; }
        else {
            if (sr_tok_load(&t, &g, NULL, err, sizeof err) != 0) { printf("#   %s: %s\n", names[i], err); test_cur_failed++; }
            if (t) {
                printf("#   %s: %zu control/unknown tokens typed as data\n", names[i], run_vocab(t, names[i]));
                chats += run_chat(t, &g, names[i]);
                sr_tok_free(t);
            }
            gguf_close(&g);
        }
        test_report(tname);
        free(names[i]);
    }
    printf("#   %d (vocabulary, chat format) pairs checked\n", chats);
    return test_done();
}
