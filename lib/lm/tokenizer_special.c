/* tokenizer_special.c — the token types llama.cpp overrides by token text
 * when it loads a vocabulary, so that sr treats the same tokens as control.
 *
 * llama.cpp marks as control any token whose text names an end of
 * generation ("</s>", "<|end|>", "<|tool_response>", ...) or, when the file
 * names no such token by id, a fill-in-the-middle part ("<|fim_prefix|>",
 * "▁<PRE>", ...), whatever type the file gave it. A control token is never
 * matched in data text, so e.g. Phi-3's user-defined "</s>" typed by a user
 * is plain text in llama.cpp, and must be in sr too. Two later fix-ups:
 * Gemma 4 (and PLaMo 2) have a normal "</s>", and gpt-oss's "<|channel|>",
 * "<|message|>", "<|start|>" and "<|constrain|>" are user-defined.
 * Where llama.cpp takes only the first FIM match (in hash-map order), sr
 * takes every match: files have one. */
#include "lm/tokenizer_impl.h"

#include <string.h>

static const char *const EOG[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>", "[e~[", NULL,
};

/* Each FIM part: the key that names it by id, then the texts llama.cpp looks for. */
static const char *const FIM[][10] = {
    { "tokenizer.ggml.fim_pre_token_id", "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
      "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>", "<PRE>", "\xe2\x96\x81<PRE>",
      "<|code_prefix|>", "<|prefix|>", NULL },
    { "tokenizer.ggml.fim_suf_token_id", "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
      "<\xef\xbd\x9c" "fim\xe2\x96\x81" "hole\xef\xbd\x9c>", "<SUF>", "\xe2\x96\x81<SUF>",
      "<|code_suffix|>", "<|suffix|>", NULL },
    { "tokenizer.ggml.fim_mid_token_id", "<|fim_middle|>", "<fim-middle>", "<fim_middle>",
      "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>", "<MID>", "\xe2\x96\x81<MID>",
      "<|code_middle|>", "<|middle|>", NULL },
    { "tokenizer.ggml.fim_pad_token_id", "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL },
    { "tokenizer.ggml.fim_rep_token_id", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
      "<reponame>", NULL },
    { "tokenizer.ggml.fim_sep_token_id", "<|file_sep|>", NULL },
};

static const char *const GPT_OSS_USER[] = { "<|channel|>", "<|message|>", "<|start|>", "<|constrain|>", NULL };

static bool is(const gguf_str *s, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == s->n && memcmp(*list, s->p, s->n) == 0) return true;
    return false;
}

static bool has_text(const gguf_str *toks, uint32_t n, const char *text)
{
    const char *const one[2] = { text, NULL };
    for (uint32_t i = 0; i < n; i++)
        if (is(&toks[i], one)) return true;
    return false;
}

void tok_llama_cpp_types(const gguf_file *g, const gguf_str *toks, uint32_t n, int32_t *types)
{
    bool fim_by_text[6];
    for (int k = 0; k < 6; k++) fim_by_text[k] = gguf_find_kv(g, FIM[k][0]) == NULL;
    bool normal_s = has_text(toks, n, "<|tool_response>") || has_text(toks, n, "<|plamo:eos|>");
    for (uint32_t i = 0; i < n; i++) {
        bool control = is(&toks[i], EOG);
        for (int k = 0; k < 6 && !control; k++) control = fim_by_text[k] && is(&toks[i], FIM[k] + 1);
        if (control) types[i] = SR_TOK_CONTROL;
        if (normal_s && toks[i].n == 4 && memcmp(toks[i].p, "</s>", 4) == 0) types[i] = SR_TOK_NORMAL;
        if (is(&toks[i], GPT_OSS_USER)) types[i] = SR_TOK_USER_DEFINED;
    }
}
