/* sr_logits.c — sr's logits for a token sequence, in llama_logits.c's
 * format (one line per position, each logit's float32 bits in hex), so the
 * two can be compared on the same file. Built and run only by
 * tests/golden/make_arch_golden.py (never by make), against build/rel/libsr.a.
 *
 *   sr_logits MODEL.gguf ID...   (at most 64 ids) */
#include "lm/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 66) { fprintf(stderr, "usage: sr_logits MODEL ID... (1 to 64 ids)\n"); return 2; }
    char err[1024];
    sr_model m;
    const int n = argc - 2;
    sr_model_opts o = { .max_batch = 1, .max_seq = n, .keep_acts = 0, .threads = 1 };
    if (sr_model_load(&m, argv[1], &o, err, sizeof err) < 0) { fprintf(stderr, "%s\n", err); return 1; }
    int32_t tok[64];
    for (int i = 0; i < n; i++) tok[i] = (int32_t)atoi(argv[i + 2]);
    if (sr_model_forward(&m, tok, 1, n, NULL, err, sizeof err) < 0) { fprintf(stderr, "%s\n", err); return 1; }
    const float *lg = sr_model_logits(&m, n);
    for (int t = 0; t < n; t++) {
        for (int v = 0; v < m.hp.vocab; v++) {
            unsigned u;
            memcpy(&u, &lg[(size_t)t * m.hp.vocab + v], 4);
            printf("%08x", u);
        }
        putchar('\n');
    }
    sr_model_free(&m);
    return 0;
}
