/* fuzz_tok_spm.c — SentencePiece ("llama" model: LLaMA, Phi-3, Baichuan)
 * and Gemma 4's merge-rank variant. LLaMA's and Baichuan's are lossless
 * once the dummy prefix is stripped; Phi-3 drops the spaces after a
 * user-defined token (as llama.cpp does), so only its ids are checked. */
#define VOCABS {"llama-spm", NULL}, {"phi-3", NULL}, {"baichuan", NULL}, {"gemma-4", NULL}
#define LOSSLESS(name) (strcmp(name, "phi-3") != 0)
#include "tok_body.h"
