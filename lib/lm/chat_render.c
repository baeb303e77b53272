/* chat_render.c — rendering turns in a chat family's form, as text and ids.
 *
 * Rendering goes through one builder: text is appended to the rendered text
 * and held as "pending"; a special token first encodes the pending text as
 * one stretch (so "user\n" + content is one piece of text, exactly as when
 * the rendered text is tokenized with special tokens split out), then adds
 * its own id. Recognising the family and setting up is chat.c's; the
 * [INST] families (Llama 2, Mistral) are chat_render_inst.c's. */
#include "lm/chat_impl.h"
#include "base/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the builder --------------------------------------------------------- */


int chat_text(struct build *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) { snprintf(b->err, b->errlen, "out of memory"); return -1; }
        b->p = p; b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

int chat_str(struct build *b, const char *s) { return chat_text(b, s, strlen(s)); }

/* Phi-3's tokenizer marks its chat tokens rstrip (llama.cpp does the same
 * for a GGUF named phi-3): the ASCII whitespace after one is not tokenized,
 * though the text keeps it. <|endoftext|> is the exception. */
static bool eats_space(const sr_chat *c, int32_t id)
{
    return c->format == SR_CHAT_PHI3 && id != c->eos;
}

static size_t ascii_space_prefix(const char *s, size_t n)
{
    size_t k = 0;
    while (k < n && (s[k] == ' ' || (s[k] >= '\t' && s[k] <= '\r'))) k++;
    return k;
}

static int flush(struct build *b)
{
    if (b->eat_space) b->pend += ascii_space_prefix(b->p + b->pend, b->n - b->pend);
    b->eat_space = false;
    if (b->n > b->pend) b->tail_text = true;
    if (b->ids && b->n > b->pend &&
        sr_tok_encode(b->c->tok, b->p + b->pend, b->n - b->pend, b->ids, b->err, b->errlen) != 0)
        return -1;
    b->pend = b->n;
    return 0;
}

int chat_special(struct build *b, int32_t id)
{
    size_t l = 0;
    const char *t = sr_tok_text(b->c->tok, id, &l);
    if (!t) { snprintf(b->err, b->errlen, "special token id %d is outside the vocabulary", id); return -1; }
    if (flush(b) != 0 || chat_text(b, t, l) != 0) return -1;
    b->pend = b->n;
    b->tail_text = false;
    b->eat_space = eats_space(b->c, id);
    if (b->ids && sr_tok_push_id(b->c->tok, id, b->ids, b->err, b->errlen) != 0) return -1;
    return 0;
}

/* Python's str.isspace(), which Jinja's trim and str.strip() use. */
static bool py_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

/* The code point that starts at s (valid UTF-8), and its length. */
static uint32_t cp_at(const unsigned char *s, size_t *len)
{
    if (s[0] < 0x80) { *len = 1; return s[0]; }
    if (s[0] < 0xE0) { *len = 2; return (s[0] & 0x1Fu) << 6 | (s[1] & 0x3Fu); }
    if (s[0] < 0xF0) { *len = 3; return (s[0] & 0x0Fu) << 12 | (s[1] & 0x3Fu) << 6 | (s[2] & 0x3Fu); }
    *len = 4;
    return (s[0] & 0x07u) << 18 | (s[1] & 0x3Fu) << 12 | (s[2] & 0x3Fu) << 6 | (s[3] & 0x3Fu);
}

void chat_strip(const char **s, size_t *n)
{
    const unsigned char *p = (const unsigned char *)*s, *e = p + *n;
    size_t l;
    while (p < e && py_space(cp_at(p, &l))) p += l;
    while (e > p) {
        const unsigned char *q = e - 1;
        while (q > p && (*q & 0xC0) == 0x80) q--;   /* back to the start of the last code point */
        if (!py_space(cp_at(q, &l))) break;
        e = q;
    }
    *s = (const char *)p;
    *n = (size_t)(e - p);
}

/* ---- the formats ---------------------------------------------------------- */

static int check_turns(const sr_chat_msg *m, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const char *r = m[i].role ? m[i].role : "(none)";
        if (strcmp(r, "system") != 0 && strcmp(r, "user") != 0 && strcmp(r, "assistant") != 0) {
            snprintf(err, errlen, "turn %zu: role '%s' is not system, user or assistant", i, r);
            return -1;
        }
        size_t bad = sr_utf8_valid_prefix(m[i].content, m[i].content_len);
        if (bad != m[i].content_len) {
            snprintf(err, errlen, "turn %zu (%s): content is not valid UTF-8 at byte %zu", i, r, bad);
            return -1;
        }
    }
    return 0;
}

int chat_alternates(struct build *b, const sr_chat_msg *m, size_t i, size_t first,
                    const char *family)
{
    bool user = strcmp(m[i].role, "user") == 0;
    if (user == ((i - first) % 2 == 0)) return 0;
    snprintf(b->err, b->errlen, "turn %zu (%s): %s needs a system turn only first, "
             "then user and assistant turns alternating, starting with user", i, m[i].role, family);
    return -1;
}

static int chatml(struct build *b, const sr_chat_msg *m, size_t n, bool gen)
{
    const sr_chat *c = b->c;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 && strcmp(m[0].role, "system") != 0 && c->default_system) {
            if (chat_special(b, c->turn_start) || chat_str(b, "system\n") ||
                chat_text(b, c->default_system, c->default_system_len) ||
                chat_special(b, c->eot) || chat_str(b, "\n")) return -1;
        }
        if (chat_special(b, c->turn_start) || chat_str(b, m[i].role) || chat_str(b, "\n") ||
            chat_text(b, m[i].content, m[i].content_len) ||
            chat_special(b, c->eot) || chat_str(b, "\n")) return -1;
    }
    if (gen && (chat_special(b, c->turn_start) || chat_str(b, "assistant\n"))) return -1;
    return 0;
}

/* Llama 3.1's system turn always comes first, dated: the templates' default
 * date (3.2's strftime_now() is fixed to it so renderings are reproducible),
 * then the system message trimmed, or nothing. */
static int llama31_header(struct build *b, const sr_chat_msg *m, size_t n, size_t *first)
{
    const sr_chat *c = b->c;
    const char *s = "";
    size_t l = 0;
    *first = 0;
    if (n > 0 && strcmp(m[0].role, "system") == 0) {
        s = m[0].content; l = m[0].content_len;
        chat_strip(&s, &l);
        *first = 1;
    }
    if (chat_special(b, c->bos) || chat_special(b, c->turn_start) || chat_str(b, "system") ||
        chat_special(b, c->header_end) ||
        chat_str(b, "\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n") ||
        chat_text(b, s, l) || chat_special(b, c->eot)) return -1;
    return 0;
}

static int llama3(struct build *b, const sr_chat_msg *m, size_t n, bool gen)
{
    const sr_chat *c = b->c;
    size_t first = 0;
    bool v31 = c->format == SR_CHAT_LLAMA31;
    if (v31 && llama31_header(b, m, n, &first) != 0) return -1;
    for (size_t i = first; i < n; i++) {
        const char *s = m[i].content;
        size_t l = m[i].content_len;
        chat_strip(&s, &l);
        if ((i == 0 && !v31 && chat_special(b, c->bos)) ||
            chat_special(b, c->turn_start) || chat_str(b, m[i].role) ||
            chat_special(b, c->header_end) || chat_str(b, "\n\n") || chat_text(b, s, l) ||
            chat_special(b, c->eot)) return -1;
    }
    if (gen && (chat_special(b, c->turn_start) || chat_str(b, "assistant") ||
                chat_special(b, c->header_end) || chat_str(b, "\n\n"))) return -1;
    return 0;
}

/* Phi-3: a role token and a newline open each turn; an empty system turn is
 * left out; a conversation without the generation prompt ends with eos. */
static int phi3(struct build *b, const sr_chat_msg *m, size_t n, bool gen)
{
    const sr_chat *c = b->c;
    for (size_t i = 0; i < n; i++) {
        int r = strcmp(m[i].role, "system") == 0 ? 0 : strcmp(m[i].role, "user") == 0 ? 1 : 2;
        if (r == 0 && m[i].content_len == 0) continue;
        if (chat_special(b, c->role_tok[r]) || chat_str(b, "\n") ||
            chat_text(b, m[i].content, m[i].content_len) ||
            chat_special(b, c->eot) || chat_str(b, "\n")) return -1;
    }
    if (gen) return chat_special(b, c->role_tok[2]) || chat_str(b, "\n") ? -1 : 0;
    return chat_special(b, c->eos);
}

/* Gemma: user and model turns alternating from user, content trimmed. Gemma
 * has no system role; a leading system turn goes before the first user
 * message with a blank line, as Gemma 3's template puts it (Gemma 2's refuses). */
static int gemma(struct build *b, const sr_chat_msg *m, size_t n, bool gen)
{
    const sr_chat *c = b->c;
    const sr_chat_msg *sys = n > 0 && strcmp(m[0].role, "system") == 0 ? &m[0] : NULL;
    size_t first = sys ? 1 : 0;
    if (chat_special(b, c->bos)) return -1;
    for (size_t i = first; i < n; i++) {
        bool user = strcmp(m[i].role, "user") == 0;
        if (chat_alternates(b, m, i, first, "gemma") != 0) return -1;
        const char *s = m[i].content;
        size_t l = m[i].content_len;
        chat_strip(&s, &l);
        if (chat_special(b, c->turn_start) || chat_str(b, user ? "user\n" : "model\n") ||
            (i == first && sys && (chat_text(b, sys->content, sys->content_len) ||
                                   chat_str(b, "\n\n"))) ||
            chat_text(b, s, l) || chat_special(b, c->eot) || chat_str(b, "\n")) return -1;
    }
    if (gen && (chat_special(b, c->turn_start) || chat_str(b, "model\n"))) return -1;
    return 0;
}

/* DeepSeek V3/R1: bos, the (last) system message as bare text, then user
 * and assistant turns by their tokens; an assistant turn keeps only what
 * follows its last </think>, and only it ends with the end token. */
static int deepseek3(struct build *b, const sr_chat_msg *m, size_t n, bool gen)
{
    const sr_chat *c = b->c;
    const sr_chat_msg *sys = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].role, "system") == 0) sys = &m[i];
    if (chat_special(b, c->bos) || (sys && chat_text(b, sys->content, sys->content_len))) return -1;
    for (size_t i = 0; i < n; i++) {
        const char *s = m[i].content;
        size_t l = m[i].content_len;
        if (strcmp(m[i].role, "user") == 0) {
            if (chat_special(b, c->role_tok[1]) || chat_text(b, s, l)) return -1;
        } else if (strcmp(m[i].role, "assistant") == 0) {
            for (const char *q; (q = memmem(s, l, "</think>", 8)); ) {
                l -= (size_t)(q + 8 - s);
                s = q + 8;
            }
            if (chat_special(b, c->role_tok[2]) || chat_text(b, s, l) || chat_special(b, c->eot))
                return -1;
        }
    }
    if (gen && (chat_special(b, c->role_tok[2]) || (c->think && chat_str(b, "<think>\n"))))
        return -1;
    return 0;
}

/* DeepSeek V2: bos, then every turn as plain text in its order: a system
 * turn as it is, "User: " and "Assistant: " before the others; only an
 * assistant turn ends with the end token. */
static int deepseek2(struct build *b, const sr_chat_msg *m, size_t n, bool gen)
{
    if (chat_special(b, b->c->bos)) return -1;
    for (size_t i = 0; i < n; i++) {
        const char *r = m[i].role;
        bool asst = strcmp(r, "assistant") == 0;
        if (chat_str(b, asst ? "Assistant: " : strcmp(r, "user") == 0 ? "User: " : "") ||
            chat_text(b, m[i].content, m[i].content_len) ||
            (asst ? chat_special(b, b->c->eot) : chat_str(b, "\n\n"))) return -1;
    }
    return gen ? chat_str(b, "Assistant:") : 0;
}

/* No template: BOS when the tokenizer adds one, then every turn's content
 * as it is, one stretch of text (so it tokenizes as the joined text does). */
static int none(struct build *b, const sr_chat_msg *m, size_t n)
{
    if (b->c->bos >= 0 && chat_special(b, b->c->bos)) return -1;
    for (size_t i = 0; i < n; i++)
        if (chat_text(b, m[i].content, m[i].content_len)) return -1;
    return 0;
}

int chat_marker(struct build *b, int32_t id, const char *text)
{
    return id >= 0 ? chat_special(b, id) : chat_str(b, text);
}

static int render(struct build *b, const sr_chat_msg *m, size_t n, bool gen)
{
    if (check_turns(m, n, b->err, b->errlen) != 0) return -1;
    int rc;
    switch (b->c->format) {
    case SR_CHAT_CHATML: rc = chatml(b, m, n, gen); break;
    case SR_CHAT_LLAMA3:
    case SR_CHAT_LLAMA31: rc = llama3(b, m, n, gen); break;
    case SR_CHAT_PHI3:   rc = phi3(b, m, n, gen); break;
    case SR_CHAT_GEMMA:  rc = gemma(b, m, n, gen); break;
    case SR_CHAT_DEEPSEEK3: rc = deepseek3(b, m, n, gen); break;
    case SR_CHAT_DEEPSEEK2: rc = deepseek2(b, m, n, gen); break;
    /* The [INST] families' prompts end with [/INST]: gen adds nothing. */
    case SR_CHAT_MISTRAL_V1:
    case SR_CHAT_MISTRAL_V3:
    case SR_CHAT_MISTRAL_V3_TEKKEN: rc = chat_mistral(b, m, n); break;
    case SR_CHAT_MISTRAL_V7:
    case SR_CHAT_MISTRAL_V7_TEKKEN: rc = chat_mistral_v7(b, m, n); break;
    case SR_CHAT_LLAMA2: rc = chat_llama2(b, m, n); break;
    case SR_CHAT_NONE:   rc = none(b, m, n); break;   /* gen adds nothing */
    default:
        snprintf(b->err, b->errlen, "chat format not set up (call sr_chat_init)");
        return -1;
    }
    return rc != 0 ? -1 : flush(b);
}

/* The rendering as ids; *tail_text tells whether it ends with text rather
 * than a special token (what follows then continues that text). */
static int render_ids(const sr_chat *c, const sr_chat_msg *m, size_t n, bool gen_prompt,
                      sr_ids *out, bool *tail_text, char *err, size_t errlen)
{
    size_t n0 = out->n;
    struct build b = { .c = c, .ids = out, .err = err, .errlen = errlen };
    int rc = render(&b, m, n, gen_prompt);
    free(b.p);
    if (rc != 0) out->n = n0;
    *tail_text = b.tail_text;
    return rc;
}

int sr_chat_render_ids(const sr_chat *c, const sr_chat_msg *m, size_t n, bool gen_prompt,
                       sr_ids *out, char *err, size_t errlen)
{
    bool tail;
    return render_ids(c, m, n, gen_prompt, out, &tail, err, errlen);
}

char *sr_chat_render_text(const sr_chat *c, const sr_chat_msg *m, size_t n, bool gen_prompt,
                          size_t *len, char *err, size_t errlen)
{
    struct build b = { .c = c, .err = err, .errlen = errlen };
    if (render(&b, m, n, gen_prompt) != 0 || (!b.p && chat_text(&b, "", 0) != 0)) {
        free(b.p);
        return NULL;
    }
    *len = b.n;
    return b.p;
}

/* How the family's assistant turn holds its content between the end of the
 * generation prompt and the end-of-turn token: text before it, trimmed or
 * not, text after it. */
static const char *response_shape(const sr_chat *c, bool *trim, const char **trail)
{
    *trail = "";
    *trim = false;
    switch (c->format) {
    case SR_CHAT_LLAMA3: case SR_CHAT_LLAMA31: case SR_CHAT_GEMMA:
        *trim = true; return "";
    case SR_CHAT_LLAMA2:
        *trim = true; *trail = " "; return " ";
    case SR_CHAT_MISTRAL_V3:
        *trim = true; return " ";
    case SR_CHAT_MISTRAL_V1: case SR_CHAT_MISTRAL_V7: case SR_CHAT_DEEPSEEK2:
        return " ";   /* after " [/INST]", "[/INST]" or "Assistant:" */
    default:
        return "";    /* ChatML, Phi-3, DeepSeek 3, Mistral v3-/v7-tekken: as it is */
    }
}

int sr_chat_render_pair(const sr_chat *c, const sr_chat_msg *m, size_t n,
                        const char *response, size_t response_len,
                        sr_ids *out, size_t *response_start, char *err, size_t errlen)
{
    size_t n0 = out->n;
    bool tail_text;
    if (c->eot < 0) {
        snprintf(err, errlen, "chat format %s: the model names no eos token to end a response",
                 sr_chat_format_name(c->format));
        return -1;
    }
    if (render_ids(c, m, n, true, out, &tail_text, err, errlen) != 0) return -1;
    *response_start = out->n;

    size_t bad = sr_utf8_valid_prefix(response, response_len);
    if (bad != response_len) {
        snprintf(err, errlen, "response is not valid UTF-8 at byte %zu", bad);
        out->n = n0;
        return -1;
    }
    /* The response as its assistant turn holds it, then the turn's end token
     * (the template's "\n" after it is the next turn's business). */
    bool trim;
    const char *trail, *lead = response_shape(c, &trim, &trail);
    const char *s = response;
    size_t l = response_len;
    if (trim) chat_strip(&s, &l);
    if (c->format == SR_CHAT_PHI3) {   /* after <|assistant|>\n, as in the whole conversation */
        size_t k = ascii_space_prefix(s, l);
        s += k; l -= k;
    }
    size_t ll = strlen(lead), tl = strlen(trail);
    char *tmp = malloc(ll + l + tl + 1);
    if (!tmp) { snprintf(err, errlen, "out of memory"); out->n = n0; return -1; }
    memcpy(tmp, lead, ll);
    if (l) memcpy(tmp + ll, s, l);
    memcpy(tmp + ll + l, trail, tl);
    /* Encoded as the piece of text it is in the whole conversation: one that
     * goes on from the prompt's text takes no SentencePiece dummy prefix. */
    int rc = sr_tok_encode_ex(c->tok, tmp, ll + l + tl, tail_text ? SR_ENCODE_NO_PREFIX : 0,
                              out, err, errlen);
    free(tmp);
    if (rc != 0 || sr_tok_push_id(c->tok, c->eot, out, err, errlen) != 0) {
        out->n = n0;
        return -1;
    }
    return 0;
}
