/* fuzz_tok_bpe.c — byte-level BPE ("gpt2" model) with each pre-tokenizer:
 * every such vocabulary in ../shared/data/vocab with its own, and GPT-2's
 * vocabulary under the pre-tokenizers no file there names. Byte-level BPE
 * loses nothing: decode(encode(s)) must be s for any valid UTF-8. */
#define VOCABS \
    {"gpt-2", NULL}, {"llama-bpe", NULL}, {"qwen2", NULL}, {"qwen35", NULL}, \
    {"deepseek-llm", NULL}, {"deepseek-coder", NULL}, {"falcon", NULL}, \
    {"starcoder", NULL}, {"refact", NULL}, {"mpt", NULL}, {"command-r", NULL}, \
    {"gpt-2", "default"}, {"gpt-2", "smollm"}, {"gpt-2", "tekken"}, \
    {"gpt-2", "gpt-4o"}, {"gpt-2", "deepseek-v3"}
#define LOSSLESS(name) 1
#include "tok_body.h"
