/* judge_expected.c — the expected score of a judgement (judge_expected.h). */
#include "sr/judge_expected.h"

#include <math.h>

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* A token's digit: its piece, after leading blanks, one digit of min..max
 * not followed by another digit; -1 otherwise. */
static int digit_of(const sr_tok *tok, int32_t id, int min, int max)
{
    size_t n;
    const char *p = sr_tok_is_control(tok, id) ? NULL : sr_tok_piece(tok, id, &n);
    if (!p) return -1;
    size_t i = 0;
    while (i < n && is_blank(p[i])) i++;
    if (i >= n || p[i] < '0' || p[i] > '9') return -1;
    if (i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '9') return -1;
    int d = p[i] - '0';
    return d >= min && d <= max ? d : -1;
}

/* The token of out whose piece covers byte `at` of the text, or -1. */
static int token_at(const sr_tok *tok, const sr_gen_out *out, size_t prefix_len, size_t at)
{
    size_t off = prefix_len;
    for (int t = 0; t < out->n_tokens && off <= at; t++) {
        size_t n = 0;
        const char *p = sr_tok_is_control(tok, out->tokens[t]) ? NULL : sr_tok_piece(tok, out->tokens[t], &n);
        if (!p) n = 0;
        if (at < off + n) {
            /* the number must start the piece, after blanks: " 4", "4", "4." */
            for (size_t i = 0; i < at - off; i++)
                if (!is_blank(p[i])) return -1;
            return t;
        }
        off += n;
    }
    return -1;
}

int sr_judge_expected(const sr_tok *tok, const sr_gen_out *out, int k, size_t prefix_len, size_t at,
                      int min, int max, double *ev)
{
    if (k <= 0 || !out->top_ids || at < prefix_len) return 0;
    const int t = token_at(tok, out, prefix_len, at);
    if (t < 0 || digit_of(tok, out->tokens[t], min, max) < 0) return 0;
    double w = 0, sum = 0;
    for (int j = 0; j < k; j++) {
        const size_t e = (size_t)t * k + j;
        const int d = digit_of(tok, out->top_ids[e], min, max);
        if (d < 0 || !isfinite(out->top_logprobs[e])) continue;
        const double p = exp((double)out->top_logprobs[e]);
        w += p;
        sum += p * d;
    }
    if (!(w > 0)) return 0;
    *ev = sum / w;
    return 1;
}
