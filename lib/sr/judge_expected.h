/* judge_expected.h — sr-judge --score expected: a judgement's score as the
 * probability-weighted mean of the scale's digits at the token where its
 * score was sampled (as G-Eval, Liu et al. 2023, weights its scores),
 * rather than the digit drawn.
 *
 * The engine reports, per generated token, the top SR_GEN_MAX_LOGPROBS ids
 * of the model's raw distribution (generate.h, opts.logprobs). At the token
 * holding the first digit of the score the parser read, the alternatives
 * whose text is one digit of the scale — with or without leading spaces,
 * so " 4" and "4" both count for 4, and text may follow that is not a digit
 * ("4." ) — are weighed by their probabilities, renormalised over those
 * digits: a digit outside the top k counts as probability 0. */
#ifndef SR_JUDGE_EXPECTED_H
#define SR_JUDGE_EXPECTED_H

#include <stddef.h>

#include "lm/generate.h"
#include "lm/tokenizer.h"

/* out: a sample decoded with opts.logprobs = k; its text is prefix_len
 * bytes of something before it (a forced score line) and then its tokens'
 * pieces (control tokens empty); at: the byte offset, in that text, of the
 * score's number (sr_judge_parse_score_at). 1 with *ev in [min, max], or 0
 * when the number is not a digit at the start of one token's piece (after
 * spaces) or no alternative is a digit of the scale: the caller keeps the
 * sampled score. */
int sr_judge_expected(const sr_tok *tok, const sr_gen_out *out, int k, size_t prefix_len, size_t at,
                      int min, int max, double *ev);

#endif
