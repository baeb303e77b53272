/* chat_impl.h — what the chat renderers share (internal to lib/lm): the
 * builder that turns text and special tokens into rendered text and ids,
 * and Jinja's trim. chat_render.c holds the builder and most families;
 * chat_render_inst.c the [INST] families (Llama 2, Mistral). */
#ifndef SR_CHAT_IMPL_H
#define SR_CHAT_IMPL_H

#include "lm/chat.h"

struct build {
    const sr_chat *c;
    sr_ids *ids;            /* NULL: text only */
    char *p; size_t n, cap; /* the rendered text */
    size_t pend;            /* start of text not yet encoded */
    bool eat_space;         /* the last special token swallows the whitespace after it */
    bool tail_text;         /* text (not a special token) was the last thing encoded */
    char *err; size_t errlen;
};

/* Append text, or a special token by id; -1 with a message on error. */
int chat_text(struct build *b, const char *s, size_t n);
int chat_str(struct build *b, const char *s);
int chat_special(struct build *b, int32_t id);
/* A marker that is a special token in some vocabularies (id >= 0), text in others. */
int chat_marker(struct build *b, int32_t id, const char *text);
/* Python's str.strip() (Jinja's trim) on valid UTF-8, in place. */
void chat_strip(const char **s, size_t *n);
/* Turn i must be user when (i - first) is even, assistant when odd, as the
 * templates that raise "roles must alternate" demand; -1 with a message
 * naming the family otherwise. */
int chat_alternates(struct build *b, const sr_chat_msg *m, size_t i, size_t first,
                    const char *family);

/* chat_render_inst.c */
int chat_llama2(struct build *b, const sr_chat_msg *m, size_t n);
int chat_mistral(struct build *b, const sr_chat_msg *m, size_t n);
int chat_mistral_v7(struct build *b, const sr_chat_msg *m, size_t n);

#endif
