/* chat_render_inst.c — the [INST] families: Meta's Llama 2 and Mistral's
 * v1, v3, v3-tekken and v7, each as its real template writes it (tested
 * against Jinja renderings in tests/golden/chat/). Their prompts end with
 * [/INST]: a generation prompt adds nothing. The builder is chat_render.c's. */
#include "lm/chat_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Meta's Llama 2 template: an optional leading system turn folded into the
 * first user turn, then strictly alternating user and assistant turns. */
int chat_llama2(struct build *b, const sr_chat_msg *m, size_t n)
{
    const sr_chat *c = b->c;
    const sr_chat_msg *sys = n > 0 && strcmp(m[0].role, "system") == 0 ? &m[0] : NULL;
    size_t first = sys ? 1 : 0;
    char *tmp = NULL;
    int rc = -1;
    for (size_t i = first; i < n; i++) {
        bool user = strcmp(m[i].role, "user") == 0;
        if (chat_alternates(b, m, i, first, "llama2") != 0) goto done;
        const char *s = m[i].content;
        size_t l = m[i].content_len;
        if (i == first && sys) {   /* strip() applies to the whole, <<SYS>> block included */
            static const char A[] = "<<SYS>>\n", B[] = "\n<</SYS>>\n\n";
            size_t tl = sizeof A - 1 + sys->content_len + sizeof B - 1 + l;
            if (!(tmp = malloc(tl + 1))) { snprintf(b->err, b->errlen, "out of memory"); goto done; }
            size_t k = 0;
            memcpy(tmp + k, A, sizeof A - 1); k += sizeof A - 1;
            memcpy(tmp + k, sys->content, sys->content_len); k += sys->content_len;
            memcpy(tmp + k, B, sizeof B - 1); k += sizeof B - 1;
            memcpy(tmp + k, s, l); k += l;
            s = tmp; l = k;
        }
        chat_strip(&s, &l);
        if (user) {
            if (chat_special(b, c->bos) || chat_str(b, "[INST] ") || chat_text(b, s, l) ||
                chat_str(b, " [/INST]")) goto done;
        } else {
            if (chat_str(b, " ") || chat_text(b, s, l) || chat_str(b, " ") || chat_special(b, c->eot))
                goto done;
        }
        free(tmp);
        tmp = NULL;
    }
    rc = 0;
done:
    free(tmp);
    return rc;
}


/* Mistral v1 (7B v0.1/v0.2), v3 (7B v0.3, Large 2407) and v3-tekken (Nemo):
 * an optional leading system turn, then user and assistant turns
 * alternating. They differ in spacing and in where the system message goes:
 *   v1:     " [INST] " + system "\n\n" (first user turn) + user + " [/INST]",
 *           " " + assistant + "</s>";
 *   v3:     "[INST] " + system "\n\n" (last turn, if a user turn) + user + "[/INST]",
 *           " " + trimmed assistant + "</s>";
 *   tekken: "[INST]" + system "\n\n" (the same) + user + "[/INST]",
 *           assistant + "</s>".
 * Nothing else is trimmed. */
int chat_mistral(struct build *b, const sr_chat_msg *m, size_t n)
{
    const sr_chat *c = b->c;
    const bool v1 = c->format == SR_CHAT_MISTRAL_V1, v3 = c->format == SR_CHAT_MISTRAL_V3;
    const char *pad = c->format == SR_CHAT_MISTRAL_V3_TEKKEN ? "" : " ";
    const sr_chat_msg *sys = n > 0 && strcmp(m[0].role, "system") == 0 ? &m[0] : NULL;
    size_t first = sys ? 1 : 0;
    if (chat_special(b, c->bos)) return -1;
    for (size_t i = first; i < n; i++) {
        if (chat_alternates(b, m, i, first, "mistral") != 0) return -1;
        const char *s = m[i].content;
        size_t l = m[i].content_len;
        if (strcmp(m[i].role, "user") != 0) {
            if (v3) chat_strip(&s, &l);
            if (chat_str(b, pad) || chat_text(b, s, l) || chat_special(b, c->eot)) return -1;
            continue;
        }
        bool with_sys = sys && (v1 ? i == first : i == n - 1);
        if ((v1 && chat_str(b, " ")) || chat_marker(b, c->role_tok[1], "[INST]") ||
            chat_str(b, pad) ||
            (with_sys && (chat_text(b, sys->content, sys->content_len) || chat_str(b, "\n\n"))) ||
            chat_text(b, s, l) || (v1 && chat_str(b, " ")) ||
            chat_marker(b, c->role_tok[2], "[/INST]")) return -1;
    }
    return 0;
}

static int v7_block(struct build *b, int32_t open, const char *open_text, const char *pad,
                    const char *s, size_t l, int32_t close, const char *close_text)
{
    return chat_marker(b, open, open_text) || chat_str(b, pad) || chat_text(b, s, l) ||
           chat_marker(b, close, close_text) ? -1 : 0;
}

/* Mistral v7 (Large 2411): every turn in its place, system turns included,
 * in no required order; "[SYSTEM_PROMPT] " ... "[/SYSTEM_PROMPT]",
 * "[INST] " ... "[/INST]", " " + assistant + "</s>"; nothing trimmed.
 * v7-tekken (Small 3.x, Devstral) writes no spaces, always begins with a
 * system block (the first turn when it is a system turn, else the
 * template's default) and wants user and assistant turns alternating. */
int chat_mistral_v7(struct build *b, const sr_chat_msg *m, size_t n)
{
    const sr_chat *c = b->c;
    const bool tekken = c->format == SR_CHAT_MISTRAL_V7_TEKKEN;
    const char *pad = tekken ? "" : " ";
    size_t first = 0;
    if (chat_special(b, c->bos)) return -1;
    if (tekken) {
        bool sys = n > 0 && strcmp(m[0].role, "system") == 0;
        const char *s = sys ? m[0].content : c->default_system;
        size_t l = sys ? m[0].content_len : c->default_system_len;
        first = sys ? 1 : 0;
        if (s && v7_block(b, c->role_tok[0], "[SYSTEM_PROMPT]", "", s, l,
                          c->sys_end, "[/SYSTEM_PROMPT]")) return -1;
    }
    for (size_t i = first; i < n; i++) {
        const char *r = m[i].role, *s = m[i].content;
        size_t l = m[i].content_len;
        int rc;
        if (tekken && chat_alternates(b, m, i, first, "mistral-v7-tekken") != 0) return -1;
        if (strcmp(r, "system") == 0)
            rc = v7_block(b, c->role_tok[0], "[SYSTEM_PROMPT]", pad, s, l,
                          c->sys_end, "[/SYSTEM_PROMPT]");
        else if (strcmp(r, "user") == 0)
            rc = v7_block(b, c->role_tok[1], "[INST]", pad, s, l, c->role_tok[2], "[/INST]");
        else
            rc = chat_str(b, pad) || chat_text(b, s, l) || chat_special(b, c->eot);
        if (rc) return -1;
    }
    return 0;
}
