/* chat.c — the chat formats' names, recognising a template's family, and
 * setting up its special tokens. The rendering is chat_render.c's. */
#include "lm/chat.h"
#include "base/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sr_chat_format_parse(const char *name, enum sr_chat_format *out)
{
    static const struct { const char *name; enum sr_chat_format f; } F[] = {
        { "auto", SR_CHAT_AUTO }, { "chatml", SR_CHAT_CHATML },
        { "llama2", SR_CHAT_LLAMA2 }, { "llama3", SR_CHAT_LLAMA3 },
        { "llama3.1", SR_CHAT_LLAMA31 }, { "phi3", SR_CHAT_PHI3 }, { "gemma", SR_CHAT_GEMMA },
        { "deepseek3", SR_CHAT_DEEPSEEK3 }, { "mistral-v3-tekken", SR_CHAT_MISTRAL_V3_TEKKEN },
        { "mistral-v1", SR_CHAT_MISTRAL_V1 }, { "mistral-v3", SR_CHAT_MISTRAL_V3 },
        { "mistral-v7", SR_CHAT_MISTRAL_V7 }, { "mistral-v7-tekken", SR_CHAT_MISTRAL_V7_TEKKEN },
        { "deepseek2", SR_CHAT_DEEPSEEK2 }, { "none", SR_CHAT_NONE },
    };
    for (size_t i = 0; i < sizeof F / sizeof F[0]; i++)
        if (strcmp(name, F[i].name) == 0) { *out = F[i].f; return 0; }
    return -1;
}

const char *sr_chat_format_name(enum sr_chat_format f)
{
    switch (f) {
    case SR_CHAT_CHATML: return "chatml";
    case SR_CHAT_LLAMA2: return "llama2";
    case SR_CHAT_LLAMA3: return "llama3";
    case SR_CHAT_LLAMA31: return "llama3.1";
    case SR_CHAT_PHI3:   return "phi3";
    case SR_CHAT_GEMMA:  return "gemma";
    case SR_CHAT_DEEPSEEK3: return "deepseek3";
    case SR_CHAT_MISTRAL_V3_TEKKEN: return "mistral-v3-tekken";
    case SR_CHAT_MISTRAL_V1: return "mistral-v1";
    case SR_CHAT_MISTRAL_V3: return "mistral-v3";
    case SR_CHAT_MISTRAL_V7: return "mistral-v7";
    case SR_CHAT_MISTRAL_V7_TEKKEN: return "mistral-v7-tekken";
    case SR_CHAT_DEEPSEEK2: return "deepseek2";
    case SR_CHAT_NONE:   return "none";
    default:             return "auto";
    }
}

static bool contains(const char *s, size_t n, const char *needle)
{
    return s && memmem(s, n, needle, strlen(needle)) != NULL;
}

/* ---- the default system prompt of a ChatML template ---------------------- */

/* A template that inserts a system turn when the conversation has none holds
 * it as one Jinja string literal: '<|im_start|>system\n...<|im_end|>'. Take
 * the text between, with the literal's escapes undone; an occurrence that is
 * not such a literal (say '<|im_start|>system\n' + messages[0]['content'])
 * is passed over. */
static int default_system(sr_chat *c, const char *t, size_t n, char *err, size_t errlen)
{
    static const char HEAD[] = "<|im_start|>system", END[] = "<|im_end|>";
    const size_t hl = sizeof HEAD - 1;
    for (const char *h = t; (h = memmem(h, n - (size_t)(h - t), HEAD, hl)); h += hl) {
        if (h == t || (h[-1] != '\'' && h[-1] != '"')) continue;
        char quote = h[-1];
        const char *p = h + hl, *e = t + n;
        if (p < e && *p == '\n') p++;
        else if (e - p >= 2 && p[0] == '\\' && p[1] == 'n') p += 2;
        else continue;
        const char *end = memmem(p, (size_t)(e - p), END, sizeof END - 1);
        if (!end) continue;
        char *out = malloc((size_t)(end - p) + 1);
        if (!out) { snprintf(err, errlen, "out of memory"); return -1; }
        size_t k = 0;
        bool literal = true;
        for (const char *q = p; q < end && literal; q++) {
            if (*q == quote) literal = false;
            else if (*q == '{' && q + 1 < end && (q[1] == '{' || q[1] == '%')) literal = false;
            else if (*q != '\\') out[k++] = *q;
            else if (++q >= end) literal = false;
            else switch (*q) {
                case 'n': out[k++] = '\n'; break;
                case 't': out[k++] = '\t'; break;
                case 'r': out[k++] = '\r'; break;
                case '\\': case '\'': case '"': out[k++] = *q; break;
                default: literal = false;
            }
        }
        if (!literal || !sr_utf8_valid(out, k)) { free(out); continue; }
        out[k] = 0;
        c->default_system = out;
        c->default_system_len = k;
        return 0;
    }
    return 0;
}

/* ---- the default system prompt of a Mistral v7-tekken template ------------ */

/* The date written for the templates' today = strftime_now("%Y-%m-%d"):
 * fixed, as Llama 3.2's, so that renderings are reproducible. */
#define MISTRAL_TODAY "2024-07-26"

/* One Jinja string literal at *pp (quote ' or "), unescaped onto out[*k];
 * false when it is not one. */
static bool jinja_literal(const char **pp, const char *e, char *out, size_t *k)
{
    const char *p = *pp;
    char quote = *p++;
    for (; p < e && *p != quote; p++) {
        if (*p != '\\') { out[(*k)++] = *p; continue; }
        if (++p >= e) return false;
        switch (*p) {
        case 'n': out[(*k)++] = '\n'; break;
        case 't': out[(*k)++] = '\t'; break;
        case '\\': case '\'': case '"': out[(*k)++] = *p; break;
        default: return false;
        }
    }
    if (p >= e) return false;
    *pp = p + 1;
    return true;
}

/* {%- set default_system_message = 'A' + today + "B" %}: the literals
 * joined, today as MISTRAL_TODAY. A template that has none has no default
 * (and writes no system block without a system turn); one sr cannot read is
 * an error, since the rendering would then differ. */
static int mistral_default_system(sr_chat *c, const char *t, size_t n, char *err, size_t errlen)
{
    static const char KEY[] = "set default_system_message = ";
    const char *p = t ? memmem(t, n, KEY, sizeof KEY - 1) : NULL;
    if (!p) return 0;
    const char *e = t + n;   /* only now: t may be NULL (a named format, no template) */
    p += sizeof KEY - 1;
    char *out = malloc(2 * n + 1);   /* each "today" (5 bytes) writes 10 */
    if (!out) { snprintf(err, errlen, "out of memory"); return -1; }
    size_t k = 0;
    bool ok = false;
    for (;;) {
        while (p < e && *p == ' ') p++;
        if (p < e && (*p == '\'' || *p == '"')) { if (!jinja_literal(&p, e, out, &k)) break; }
        else if (e - p > 5 && memcmp(p, "today", 5) == 0 &&
                 contains(t, n, "today = strftime_now(\"%Y-%m-%d\")")) {
            memcpy(out + k, MISTRAL_TODAY, 10); k += 10; p += 5;
        } else break;
        while (p < e && *p == ' ') p++;
        if (p < e && *p == '+') { p++; continue; }
        ok = (e - p >= 2 && memcmp(p, "%}", 2) == 0) || (e - p >= 3 && memcmp(p, "-%}", 3) == 0);
        break;
    }
    if (!ok || !sr_utf8_valid(out, k)) {
        free(out);
        snprintf(err, errlen, "chat format mistral-v7-tekken: cannot read the template's "
                 "default_system_message");
        return -1;
    }
    out[k] = 0;
    c->default_system = out;
    c->default_system_len = k;
    return 0;
}

/* ---- recognising the family ---------------------------------------------- */

#define FORMAT_NAMES "chatml|llama2|llama3|llama3.1|phi3|gemma|deepseek2|deepseek3|" \
                     "mistral-v1|mistral-v3|mistral-v3-tekken|mistral-v7|mistral-v7-tekken" \
                     " (or none: no template)"
#define DS_USER "<\xEF\xBD\x9CUser\xEF\xBD\x9C>"             /* <｜User｜> */
#define DS_ASSISTANT "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>"  /* <｜Assistant｜> */
#define DS_EOS "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"

/* Mistral's templates, told apart by how they write their markers: v7 by
 * its system-prompt block (spaced "[SYSTEM_PROMPT] " in v7, unspaced in
 * v7-tekken; the reasoning models' templates, with [THINK] blocks, are not
 * rendered), v1 by " [INST] " before the system message or a spaced
 * tool-aware template, v3-tekken by "[INST]" quoted unspaced, v3 by the rest
 * of the tool-aware ones. 0 when t is none of them. */
static int recognise_mistral(const char *t, size_t n, enum sr_chat_format *f)
{
    if (contains(t, n, "[SYSTEM_PROMPT]")) {
        if (contains(t, n, "[THINK]")) return 0;
        *f = contains(t, n, "[SYSTEM_PROMPT] ") ? SR_CHAT_MISTRAL_V7 : SR_CHAT_MISTRAL_V7_TEKKEN;
        return 1;
    }
    bool v1 = contains(t, n, "' [INST] ' + system_message");
    if (!v1 && !contains(t, n, "[AVAILABLE_TOOLS]")) return 0;
    if (v1 || contains(t, n, " [INST]")) *f = SR_CHAT_MISTRAL_V1;
    else if (contains(t, n, "\"[INST]\"")) *f = SR_CHAT_MISTRAL_V3_TEKKEN;
    else *f = SR_CHAT_MISTRAL_V3;
    return 1;
}

/* Llama 3.1+ by its dated system header; plain Llama 3 by Meta-Llama-3's
 * turn (content trimmed, then <|eot_id|>). Other header-id templates (tool
 * prompts such as firefunction's) render otherwise: refused. */
static int recognise_llama3(const char *t, size_t n, enum sr_chat_format *f, char *err, size_t errlen)
{
    if (contains(t, n, "Cutting Knowledge Date")) *f = SR_CHAT_LLAMA31;
    else if (contains(t, n, "message['content'] | trim + '<|eot_id|>'")) *f = SR_CHAT_LLAMA3;
    else {
        snprintf(err, errlen, "chat template uses Llama 3's header tokens but is neither Meta's "
                 "Llama 3 nor 3.1+ form, which sr renders; name a format with --chat-format "
                 FORMAT_NAMES);
        return -1;
    }
    return 0;
}

/* By marker strings the family's templates all write (and others do not),
 * tested in an order where an earlier family's marker cannot appear in a
 * later one's template. */
static int recognise(const char *t, size_t n, enum sr_chat_format *f, char *err, size_t errlen)
{
    if (!t) {
        snprintf(err, errlen, "the model has no chat template (tokenizer.chat_template); "
                 "name a format with --chat-format " FORMAT_NAMES);
        return -1;
    }
    if (contains(t, n, "<|im_start|>")) *f = SR_CHAT_CHATML;
    /* Meta's form: BOS before every [INST], content stripped. Other <<SYS>>
     * templates (one BOS, a default system prompt, ...) render otherwise. */
    else if (contains(t, n, "<<SYS>>") && contains(t, n, "bos_token + '[INST] ' + content.strip()"))
        *f = SR_CHAT_LLAMA2;
    else if (contains(t, n, "<<SYS>>")) {
        snprintf(err, errlen, "chat template is a Llama 2 form other than Meta's (BOS before "
                 "every [INST], content stripped), which sr does not render; name a format "
                 "with --chat-format " FORMAT_NAMES);
        return -1;
    }
    else if (contains(t, n, "[INST]") && recognise_mistral(t, n, f)) {}
    else if (contains(t, n, "<|assistant|>") && contains(t, n, "<|end|>")) *f = SR_CHAT_PHI3;
    else if (contains(t, n, "<start_of_turn>")) *f = SR_CHAT_GEMMA;
    else if (contains(t, n, "<|start_header_id|>") && contains(t, n, "<|eot_id|>"))
        return recognise_llama3(t, n, f, err, errlen);
    else if (contains(t, n, DS_USER) && contains(t, n, DS_ASSISTANT) && contains(t, n, DS_EOS))
        *f = SR_CHAT_DEEPSEEK3;
    else if (contains(t, n, "'Assistant: ' + message['content'] + eos_token"))
        *f = SR_CHAT_DEEPSEEK2;
    else {
        snprintf(err, errlen, "chat template not recognised as ChatML, Llama 2, Llama 3(.1), "
                 "Phi-3, Gemma, DeepSeek 2/3 or Mistral v1/v3/v3-tekken/v7/v7-tekken (it begins "
                 "\"%.*s\"); name a format with --chat-format " FORMAT_NAMES,
                 (int)(n < 60 ? n : 60), t);   /* t need not be NUL-terminated */
        return -1;
    }
    return 0;
}

/* ---- setting up ---------------------------------------------------------- */

static int need_token(const sr_tok *tok, const char *name, enum sr_chat_format f,
                      int32_t *out, char *err, size_t errlen)
{
    *out = sr_tok_find(tok, name, strlen(name));
    if (*out >= 0) return 0;
    snprintf(err, errlen, "chat format %s needs the token %s, which the vocabulary lacks",
             sr_chat_format_name(f), name);
    return -1;
}

static int need_id(int32_t id, const char *what, enum sr_chat_format f, char *err, size_t errlen)
{
    if (id >= 0) return 0;
    snprintf(err, errlen, "chat format %s needs a %s token, which the model does not name",
             sr_chat_format_name(f), what);
    return -1;
}

/* A marker's id when the vocabulary has it as a token that special-token
 * parsing splits out (control or user-defined); -1 when it is text there. */
static int32_t find_marker(const sr_tok *tok, const char *name)
{
    int32_t id = sr_tok_find(tok, name, strlen(name));
    int type = id >= 0 ? sr_tok_type(tok, id) : -1;
    return type == SR_TOK_CONTROL || type == SR_TOK_USER_DEFINED ? id : -1;
}

/* No template: BOS where the tokenizer adds one, and raw completion stops
 * where the model ends its text; without an eos (eot -1) a reply runs to
 * its token limit. */
static int setup_none(sr_chat *c, const sr_tok *tok)
{
    c->bos = sr_tok_add_bos(tok) ? sr_tok_bos(tok) : -1;
    c->eot = sr_tok_eos(tok);
    return 0;
}

int sr_chat_init(sr_chat *c, const sr_tok *tok, const char *tmpl, size_t tmpl_len,
                 enum sr_chat_format format, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->tok = tok;
    c->eot = c->bos = c->turn_start = c->header_end = c->eos = c->sys_end = -1;
    c->role_tok[0] = c->role_tok[1] = c->role_tok[2] = -1;
    if (!tmpl) tmpl_len = 0;

    enum sr_chat_format f = format;
    if (f == SR_CHAT_AUTO && recognise(tmpl, tmpl_len, &f, err, errlen) != 0) return -1;
    c->format = f;
    switch (f) {
    case SR_CHAT_CHATML:
        if (need_token(tok, "<|im_start|>", f, &c->turn_start, err, errlen) != 0 ||
            need_token(tok, "<|im_end|>", f, &c->eot, err, errlen) != 0) return -1;
        return tmpl ? default_system(c, tmpl, tmpl_len, err, errlen) : 0;
    case SR_CHAT_LLAMA3:
    case SR_CHAT_LLAMA31:
        c->bos = sr_tok_bos(tok);
        if (need_id(c->bos, "beginning-of-text (bos)", f, err, errlen) != 0 ||
            need_token(tok, "<|start_header_id|>", f, &c->turn_start, err, errlen) != 0 ||
            need_token(tok, "<|end_header_id|>", f, &c->header_end, err, errlen) != 0 ||
            need_token(tok, "<|eot_id|>", f, &c->eot, err, errlen) != 0) return -1;
        return 0;
    case SR_CHAT_PHI3:
        c->eos = sr_tok_eos(tok);
        if (need_id(c->eos, "eos", f, err, errlen) != 0 ||
            need_token(tok, "<|system|>", f, &c->role_tok[0], err, errlen) != 0 ||
            need_token(tok, "<|user|>", f, &c->role_tok[1], err, errlen) != 0 ||
            need_token(tok, "<|assistant|>", f, &c->role_tok[2], err, errlen) != 0 ||
            need_token(tok, "<|end|>", f, &c->eot, err, errlen) != 0) return -1;
        return 0;
    case SR_CHAT_GEMMA:
        c->bos = sr_tok_bos(tok);
        if (need_id(c->bos, "bos", f, err, errlen) != 0 ||
            need_token(tok, "<start_of_turn>", f, &c->turn_start, err, errlen) != 0 ||
            need_token(tok, "<end_of_turn>", f, &c->eot, err, errlen) != 0) return -1;
        return 0;
    case SR_CHAT_DEEPSEEK3:
        c->bos = sr_tok_bos(tok);
        /* R1's templates open the reply's thinking in the generation prompt. */
        c->think = tmpl && contains(tmpl, tmpl_len, DS_ASSISTANT "<think>\\n");
        if (need_id(c->bos, "bos", f, err, errlen) != 0 ||
            need_token(tok, DS_USER, f, &c->role_tok[1], err, errlen) != 0 ||
            need_token(tok, DS_ASSISTANT, f, &c->role_tok[2], err, errlen) != 0 ||
            need_token(tok, DS_EOS, f, &c->eot, err, errlen) != 0) return -1;
        return 0;
    case SR_CHAT_MISTRAL_V7_TEKKEN:
        if (mistral_default_system(c, tmpl, tmpl_len, err, errlen) != 0) return -1;
        /* fall through */
    case SR_CHAT_MISTRAL_V7:
        c->role_tok[0] = find_marker(tok, "[SYSTEM_PROMPT]");
        c->sys_end = find_marker(tok, "[/SYSTEM_PROMPT]");
        /* fall through */
    case SR_CHAT_MISTRAL_V3:
    case SR_CHAT_MISTRAL_V3_TEKKEN:
        /* [INST] and [/INST] are control tokens in v3's and tekken's
         * vocabularies; text in the older 32000-piece one (and v1's). */
        c->role_tok[1] = find_marker(tok, "[INST]");
        c->role_tok[2] = find_marker(tok, "[/INST]");
        /* bos and eos as Llama 2: */
        /* fall through */
    case SR_CHAT_MISTRAL_V1:
    case SR_CHAT_DEEPSEEK2:
    case SR_CHAT_LLAMA2:
        c->bos = sr_tok_bos(tok);
        c->eot = sr_tok_eos(tok);
        if (need_id(c->bos, "bos", f, err, errlen) != 0 ||
            need_id(c->eot, "eos", f, err, errlen) != 0) {
            sr_chat_free(c);   /* v7-tekken's default system prompt */
            return -1;
        }
        return 0;
    case SR_CHAT_NONE: return setup_none(c, tok);
    default:
        snprintf(err, errlen, "unknown chat format %d", (int)f);
        return -1;
    }
}

int sr_chat_load(sr_chat *c, const sr_tok *tok, const gguf_file *g,
                 enum sr_chat_format format, char *err, size_t errlen)
{
    gguf_str s = { NULL, 0 };
    if (gguf_get_str(g, "tokenizer.chat_template", &s) != 0) s.p = NULL;
    return sr_chat_init(c, tok, s.p, (size_t)s.n, format, err, errlen);
}

void sr_chat_free(sr_chat *c)
{
    free(c->default_system);
    c->default_system = NULL;
}
