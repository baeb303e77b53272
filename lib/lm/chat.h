/* chat.h — chat templates rendered in code: turns → token ids (and text).
 *
 * A GGUF carries its chat template as Jinja (tokenizer.chat_template). sr
 * does not interpret Jinja: it recognises the family from the template text
 * and renders that family here — ChatML (with the default system prompt
 * some models' templates insert, read from the template), Llama 2,
 * Llama 3, Llama 3.1+ (with its dated system header), Phi-3, Gemma,
 * DeepSeek V2 and V3/R1, and Mistral v1, v3, v3-tekken, v7 and v7-tekken
 * (with the default system prompt its template holds). An unrecognised
 * template is an error; a format can be named instead (--chat-format, one of
 * SR_CHAT_FORMAT_NAMES). The format "none" is no template at all: raw text
 * for completion, BOS as the tokenizer says, the turns' text as it is.
 *
 * Rendering to ids gives exactly what tokenizing the rendered text with
 * special tokens parsed would give — the template's special tokens by id,
 * the text between them through the plain encoder — except that special
 * tokens typed inside message content stay plain text. */
#ifndef SR_CHAT_H
#define SR_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lm/gguf.h"
#include "lm/tokenizer.h"

enum sr_chat_format {
    SR_CHAT_AUTO = 0, SR_CHAT_CHATML, SR_CHAT_LLAMA2, SR_CHAT_LLAMA3,
    SR_CHAT_LLAMA31,    /* Llama 3.1/3.2/3.3: a dated system header ("26 Jul 2024") */
    SR_CHAT_PHI3,       /* <|user|>\n ... <|end|>\n */
    SR_CHAT_GEMMA,      /* <start_of_turn>user\n ... <end_of_turn>\n, role "model" */
    SR_CHAT_DEEPSEEK3,  /* DeepSeek V3 / R1: <｜User｜>...<｜Assistant｜>...<｜end▁of▁sentence｜> */
    SR_CHAT_MISTRAL_V3_TEKKEN, /* Mistral Nemo: [INST]...[/INST]...</s>, no spaces */
    SR_CHAT_MISTRAL_V1, /* Mistral 7B v0.1/v0.2: " [INST] ... [/INST] ...</s>" */
    SR_CHAT_MISTRAL_V3, /* Mistral 7B v0.3, Large 2407: "[INST] ...[/INST] ...</s>" */
    SR_CHAT_MISTRAL_V7, /* Mistral Large 2411: [SYSTEM_PROMPT] ...[/SYSTEM_PROMPT] */
    SR_CHAT_MISTRAL_V7_TEKKEN, /* Mistral Small 3.x, Devstral: the same unspaced, always
                                  with a system block (the template's default) */
    SR_CHAT_DEEPSEEK2,  /* DeepSeek V2: "User: ...\n\nAssistant: ...<｜end▁of▁sentence｜>" */
    SR_CHAT_NONE,       /* no template: BOS when the tokenizer adds one, then the turns'
                           text as it is, joined without separators; ends with eos */
};

/* The names --chat-format takes, for help and messages. */
#define SR_CHAT_FORMAT_NAMES "chatml, llama2, llama3, llama3.1, phi3, gemma, deepseek2, " \
    "deepseek3, mistral-v1, mistral-v3, mistral-v3-tekken, mistral-v7, mistral-v7-tekken" \
    ", none"

/* "auto", "chatml", "llama2", "llama3", "llama3.1", "phi3", "gemma",
 * "deepseek2", "deepseek3", "mistral-v1", "mistral-v3", "mistral-v3-tekken",
 * "mistral-v7", "mistral-v7-tekken", "none" → the format; -1 for another name. */
int sr_chat_format_parse(const char *name, enum sr_chat_format *out);
const char *sr_chat_format_name(enum sr_chat_format f);

/* One turn. role: "system", "user" or "assistant" (NUL-terminated);
 * content: content_len bytes of UTF-8, not necessarily NUL-terminated. */
typedef struct sr_chat_msg {
    const char *role;
    const char *content;
    size_t content_len;
} sr_chat_msg;

typedef struct sr_chat {
    enum sr_chat_format format;
    const sr_tok *tok;          /* borrowed: must outlive the sr_chat */
    char *default_system;       /* ChatML, Mistral v7-tekken: inserted when the first
                                   turn is not a system turn; NULL when the template
                                   has none */
    size_t default_system_len;
    int32_t eot;                /* the token that ends a turn; generation stops on it */
    int32_t bos;                /* Llama 2/3: begins the conversation or turn */
    int32_t turn_start;         /* ChatML <|im_start|>, Llama 3 <|start_header_id|>,
                                   Gemma <start_of_turn> */
    int32_t header_end;         /* Llama 3 <|end_header_id|> */
    int32_t role_tok[3];        /* Phi-3 <|system|>, <|user|>, <|assistant|>;
                                   DeepSeek -, <｜User｜>, <｜Assistant｜>;
                                   Mistral [SYSTEM_PROMPT], [INST], [/INST]
                                   (-1: plain text) */
    int32_t sys_end;            /* Mistral v7 [/SYSTEM_PROMPT] (-1: plain text) */
    bool think;                 /* DeepSeek R1: the generation prompt opens <think>\n */
    int32_t eos;                /* Phi-3: ends a conversation rendered without gen_prompt */
} sr_chat;

/* Set up from a template text (tmpl may be NULL when format is named).
 * format SR_CHAT_AUTO recognises the family from tmpl; a named format
 * overrides it (a ChatML template's default system prompt is still read from
 * tmpl when there is one). Fails when the family is not recognised or the
 * vocabulary lacks the format's special tokens. */
int  sr_chat_init(sr_chat *c, const sr_tok *tok, const char *tmpl, size_t tmpl_len,
                  enum sr_chat_format format, char *err, size_t errlen);
/* The same with the template read from the GGUF's tokenizer.chat_template. */
int  sr_chat_load(sr_chat *c, const sr_tok *tok, const gguf_file *g,
                  enum sr_chat_format format, char *err, size_t errlen);
void sr_chat_free(sr_chat *c);

static inline int32_t sr_chat_eot(const sr_chat *c) { return c->eot; }

/* Render turns (and, when gen_prompt, the start of the assistant's reply)
 * as ids appended to out. Returns 0, or -1 (bad role or order, invalid UTF-8
 * in content, out of memory) with out unchanged. */
int sr_chat_render_ids(const sr_chat *c, const sr_chat_msg *m, size_t n, bool gen_prompt,
                       sr_ids *out, char *err, size_t errlen);
/* The same as text, for display and debugging: malloc'd, NUL-terminated,
 * length in *len; NULL with a message on error. */
char *sr_chat_render_text(const sr_chat *c, const sr_chat_msg *m, size_t n, bool gen_prompt,
                          size_t *len, char *err, size_t errlen);

/* A training example: the prompt turns with the generation prompt, then the
 * response as the model would generate it after that prompt (encoded on its
 * own, as generation produces it), ended by the end-of-turn token.
 * *response_start is the index in out->v of the first response token, so the
 * loss can be masked to response tokens. */
int sr_chat_render_pair(const sr_chat *c, const sr_chat_msg *m, size_t n,
                        const char *response, size_t response_len,
                        sr_ids *out, size_t *response_start, char *err, size_t errlen);

#endif
