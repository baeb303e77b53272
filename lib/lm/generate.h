/* generate.h — batched generation with a KV cache per sequence slot and
 * continuous batching (DESIGN §7).
 *
 * The caller hands out requests — "this prompt, n continuations" — through a
 * callback. The engine prefills a request's prompt once, forks the cache for
 * each of its n samples, and runs every active slot in one forward per
 * step; when a sample ends (the end-of-turn token, max_tokens, or the
 * caller's stop test) its slot takes the next sample. Results come back
 * through a second callback as they finish, in no fixed order: a caller that
 * writes in input order buffers them. A finished sample can also be
 * continued where it stands (a follow-up: more tokens appended, then a new
 * sample decoded from there), its KV cache kept, so nothing is prefilled
 * twice.
 *
 * What a sample gets depends only on its prompt, its record seed and its
 * index: decoding steps use batch-independent matmuls, each sample has its
 * own random stream (sample.h), and the prefill runs one prompt at a time.
 * So the output is the same for any slot count, order or thread count. A
 * follow-up's tokens go through a decoding step's batch-independent
 * matmuls, so it too depends only on its sequence and seed (its numbers are
 * not bit for bit those of prefilling the same sequence anew). */
#ifndef SR_GENERATE_H
#define SR_GENERATE_H

#include <stdint.h>

#include "lm/model.h"
#include "lm/sample.h"
#include "lm/tokenizer.h"

enum sr_finish { SR_FINISH_STOP = 0, SR_FINISH_LENGTH = 1 };
const char *sr_finish_name(int finish);    /* "stop", "length" */

typedef struct sr_gen_req {
    const int32_t *prompt;   /* copied by the engine when taken */
    int prompt_len;          /* >= 1; prompt_len + max_tokens <= the engine's cap */
    int n;                   /* samples; 0 is allowed (nothing comes back) */
    uint64_t seed;           /* the record's seed, sr_record_seed(id, --seed) */
    void *user;              /* the caller's, handed back with each result */
} sr_gen_req;

typedef struct sr_gen_out {
    const sr_gen_req *req;   /* the engine's copy; user as given */
    int sample;              /* 0 .. n-1 */
    const int32_t *tokens;   /* the reply, without the end-of-turn token */
    int n_tokens;
    int finish;              /* SR_FINISH_STOP or SR_FINISH_LENGTH */
    /* With opts.logprobs = k > 0, per reply token t (the end-of-turn token
     * has none, as it is not in tokens): top_ids[t*k .. t*k+k) and
     * top_logprobs[same] the k most probable ids at that step and their
     * log-probabilities, and logprobs[t] that of tokens[t] — all of the
     * model's raw distribution (sr_sample_logprobs). NULL when k is 0. */
    const int32_t *top_ids;
    const float *top_logprobs, *logprobs;
} sr_gen_out;

/* A follow-up to a finished sample: tokens appended to its sequence (after
 * its reply, the end-of-turn token left out), then one more sample decoded
 * in the same slot, from the same KV cache. It comes back through done() as
 * sample 0 of a request of its own: prompt = the whole sequence so far,
 * n = 1, seed and user as given here; its tokens are the new ones only. */
typedef struct sr_gen_follow {
    const int32_t *tokens;   /* copied by the engine; n_tokens >= 1 */
    int n_tokens;
    uint64_t seed;
    void *user;
} sr_gen_follow;

typedef struct sr_gen_io {
    /* Fill *req and return 1, or return 0 when there are no more requests.
     * Return -1 to abort the run (sr_generate then returns -1). */
    int  (*next)(void *ctx, sr_gen_req *req);
    /* A finished sample; its pointers are valid during the call only.
     * Return 0, or -1 to abort. */
    int  (*done)(void *ctx, const sr_gen_out *out);
    /* Optional: after each new token (tokens[n-1]), 1 to end the sample
     * there with finish "stop" (the token is kept), else 0. */
    int  (*stop)(void *ctx, const sr_gen_req *req, const int32_t *tokens, int n);
    /* Optional: after done() for a sample, fill *f and return 1 to follow
     * it up (above); 0 frees its slot, -1 aborts. */
    int  (*follow)(void *ctx, const sr_gen_out *out, sr_gen_follow *f);
    void *ctx;
} sr_gen_io;

typedef struct sr_gen_opts {
    sr_sample_opts sample;
    int max_tokens;          /* new tokens per sample, >= 1 */
    int slots;               /* sequences decoded together, >= 1 */
    int cap;                 /* longest prompt + max_tokens a slot holds; <= the model's max_seq */
    int32_t eot;             /* the end-of-turn token (sr_chat_eot); -1: none, every
                                sample runs to max_tokens or the stop test */
    int logprobs;            /* k > 0: report the top k and the chosen token's
                                log-probabilities (sr_gen_out); <= SR_GEN_MAX_LOGPROBS */
} sr_gen_opts;

#define SR_GEN_MAX_LOGPROBS 20

typedef struct sr_gen_stats {
    uint64_t prompts, samples, tokens;   /* tokens: generated, over all samples */
    uint64_t steps;                      /* batched decoding forwards */
    uint64_t follows;                    /* follow-ups (their samples are in samples) */
    int non_finite;                      /* the run failed on a row of logits that was not
                                            finite: fail_user is its request's user pointer */
    void *fail_user;
} sr_gen_stats;

/* Run until next() has no more requests and every sample is done. The
 * model must have been set up with max_seq >= opts->cap and room for
 * opts->slots sequences (max_batch × max_seq >= slots). Returns 0, or -1
 * with err set: a bad request, out of memory, a row of logits with a NaN or
 * an infinity ("non-finite logits at token N of sample S", with
 * stats->non_finite set and the request's user in stats->fail_user, so the
 * caller can name its record), or a callback's abort (err empty then).
 * stats may be NULL. */
int sr_generate(sr_model *m, const sr_gen_opts *opts, const sr_gen_io *io,
                sr_gen_stats *stats, char *err, size_t errlen);

/* A reply as record text: the tokens decoded without control tokens, as
 * valid UTF-8 — a multi-byte character cut by max_tokens at the end is
 * dropped, and any other invalid byte becomes U+FFFD. malloc'd and
 * NUL-terminated (length in *len); NULL with err set on failure. */
char *sr_gen_text(const sr_tok *tok, const int32_t *tokens, int n, size_t *len,
                  char *err, size_t errlen);

#endif
