/* vocab_ref.c — llama.cpp's token ids for many strings, one process per
 * vocabulary. Built and run only by make_vocab_golden.py (never by the
 * Makefile): it links llama.cpp's libllama, which sr itself never needs.
 *
 *   vocab_ref VOCAB.gguf < records > lines
 *
 * A record on stdin is a decimal byte count, a newline, then that many bytes
 * of text. For each record one line goes to stdout, flushed at once so that
 * the caller knows which record was being worked on if llama.cpp aborts:
 *   "OK id id ...\tHEX"   the ids of llama_tokenize(add_special = false,
 *                         parse_special = false), then the bytes of their
 *                         pieces (llama_token_to_piece, special = false)
 *                         one after the other, as lowercase hex;
 *   "ERR what code"       llama.cpp returned an error.
 * Nothing but these lines is written to stdout; llama.cpp's log is silenced
 * (errors still reach stderr). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

static void quiet_log(enum ggml_log_level level, const char *text, void *user)
{
    (void)user;
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

/* Reads one record; returns its length, or -1 at the end of input. The
 * buffer grows as needed. */
static long read_record(char **buf, size_t *cap)
{
    long n;
    if (scanf("%ld", &n) != 1 || n < 0) return -1;
    if (getchar() != '\n') return -1;
    if ((size_t)n + 1 > *cap) {
        *cap = (size_t)n + 1;
        *buf = realloc(*buf, *cap);
        if (!*buf) { perror("realloc"); exit(2); }
    }
    if (n && fread(*buf, 1, (size_t)n, stdin) != (size_t)n) return -1;
    (*buf)[n] = 0;
    return n;
}

/* Tokenizes and detokenizes one text and prints its line. */
static void one(const struct llama_vocab *vocab, const char *text, long n)
{
    int32_t cap = (int32_t)n + 16;
    llama_token *ids = malloc(sizeof *ids * (size_t)cap);
    int32_t k = llama_tokenize(vocab, text, (int32_t)n, ids, cap, false, false);
    if (k < 0) {
        cap = -k;
        ids = realloc(ids, sizeof *ids * (size_t)cap);
        k = llama_tokenize(vocab, text, (int32_t)n, ids, cap, false, false);
    }
    if (k < 0) { printf("ERR tokenize %d\n", k); free(ids); fflush(stdout); return; }
    /* The pieces one after the other, as they are (no clean-up of spaces as
     * llama_detokenize may do), so that the caller can tell whether the ids
     * give the text back. */
    size_t tcap = (size_t)n * 4 + 64, m = 0;
    char *out = malloc(tcap);
    for (int32_t i = 0; i < k; i++) {
        char piece[256];
        int32_t len = llama_token_to_piece(vocab, ids[i], piece, sizeof piece, 0, false);
        if (len < 0) { printf("ERR piece %d\n", ids[i]); free(ids); free(out); fflush(stdout); return; }
        if (m + (size_t)len > tcap) out = realloc(out, tcap = 2 * (m + (size_t)len));
        memcpy(out + m, piece, (size_t)len);
        m += (size_t)len;
    }
    fputs("OK", stdout);
    for (int32_t i = 0; i < k; i++) printf(" %d", ids[i]);
    putchar('\t');
    for (size_t i = 0; i < m; i++) printf("%02x", (unsigned char)out[i]);
    putchar('\n');
    fflush(stdout);
    free(ids);
    free(out);
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: vocab_ref VOCAB.gguf < records\n"); return 2; }
    llama_log_set(quiet_log, NULL);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "vocab_ref: cannot load %s\n", argv[1]); return 1; }
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    char *buf = NULL;
    size_t cap = 0;
    long n;
    while ((n = read_record(&buf, &cap)) >= 0) one(vocab, buf, n);
    free(buf);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
