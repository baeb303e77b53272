/* sr_greedy.c — greedy continuations of the golden prompts by sr's own
 * forward, for comparison with llama.cpp (check_llamacpp_checkpoint.py).
 *
 *   sr_greedy MODEL.gguf PROMPTS.jsonl N_TOKENS [N_PROMPTS]
 *
 * Reads {"name", "ids"} lines, decodes each greedily by repeated full
 * forwards (no KV cache: the simplest correct decoder) for up to N tokens,
 * stopping at the end-of-turn token, and prints {"name", "out": [ids]}. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "lm/chat.h"
#include "lm/model.h"
#include "lm/tokenizer.h"

int main(int argc, char **argv)
{
    if (argc < 4) { fprintf(stderr, "usage: sr_greedy MODEL PROMPTS.jsonl N [N_PROMPTS]\n"); return 2; }
    int n_new = atoi(argv[3]), n_prompts = argc > 4 ? atoi(argv[4]) : 1 << 30;
    char err[512];
    gguf_file g;
    sr_tok *tok;
    sr_chat chat;
    if (gguf_open(&g, argv[1], err, sizeof err) < 0 || sr_tok_load(&tok, &g, NULL, err, sizeof err) < 0 ||
        sr_chat_load(&chat, tok, &g, SR_CHAT_AUTO, err, sizeof err) < 0) {
        fprintf(stderr, "sr_greedy: %s\n", err);
        return 1;
    }
    sr_model m;
    sr_model_opts o = { .max_batch = 1, .max_seq = 512, .keep_acts = 0, .threads = 0 };
    if (sr_model_load_gguf(&m, &g, &o, err, sizeof err) < 0) { fprintf(stderr, "sr_greedy: %s\n", err); return 1; }
    FILE *f = fopen(argv[2], "r");
    if (!f) { perror(argv[2]); return 1; }
    char *line = NULL;
    size_t cap = 0;
    for (int p = 0; p < n_prompts && getline(&line, &cap, f) > 0; p++) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        json_t *ids = j ? json_object_get(j, "ids") : NULL;
        if (!json_is_array(ids)) { fprintf(stderr, "sr_greedy: bad line %d\n", p + 1); return 1; }
        int n = (int)json_array_size(ids);
        int32_t *seq = malloc(sizeof(int32_t) * (size_t)(n + n_new));
        for (int i = 0; i < n; i++) seq[i] = (int32_t)json_integer_value(json_array_get(ids, (size_t)i));
        json_t *out = json_array();
        for (int k = 0; k < n_new && n + k < 512; k++) {
            if (sr_model_forward(&m, seq, 1, n + k, NULL, err, sizeof err) < 0) { fprintf(stderr, "%s\n", err); return 1; }
            int32_t next = sr_argmax(m.act.logits + (size_t)(n + k - 1) * m.hp.vocab, m.hp.vocab);
            seq[n + k] = next;
            json_array_append_new(out, json_integer(next));
            if (next == sr_chat_eot(&chat)) break;
        }
        json_t *r = json_pack("{s:O, s:o}", "name", json_object_get(j, "name"), "out", out);
        char *s = json_dumps(r, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(r);
        json_decref(j);
        free(seq);
    }
    free(line);
    fclose(f);
    sr_model_free(&m);
    sr_chat_free(&chat);
    sr_tok_free(tok);
    gguf_close(&g);
    return 0;
}
