/* selfinstruct.h — new prompts by few-shot prompting (METHOD step 1): the
 * parts that are text — the few-shot prompt, parsing a continuation into one
 * prompt, and the filters of Self-Instruct (Wang et al. 2023): length
 * bounds, a keyword filter for what a text model cannot do, ROUGE-L overlap
 * with every prompt already known, and deduplication of normalised text —
 * and the stage of sr-gen --self-instruct that runs them on the model. */
#ifndef SR_SELFINSTRUCT_H
#define SR_SELFINSTRUCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/cli.h"
#include "lm/generate.h"
#include "lm/llm.h"

/* The few-shot prompt as plain text to continue:
 *   "<preamble>\n\nTask 1: <ex 0>\nTask 2: <ex 1>\n...\nTask k+1:"
 * Each example is put on one line (its whitespace runs collapsed).
 * malloc'd, NUL-terminated; NULL when out of memory. */
char *sr_si_fewshot(const char *const *examples, const size_t *lens, int k, size_t *len);

/* One prompt from a continuation of sr_si_fewshot: its first line, with
 * surrounding whitespace and a stray "Task N:" marker removed. malloc'd,
 * NUL-terminated (possibly empty); NULL when out of memory. */
char *sr_si_parse(const char *s, size_t n, size_t *len);

/* Whether a token's text ends the continuation (it holds a newline). */
bool sr_si_ends_line(const char *piece, size_t n);

/* Lower-case ASCII, whitespace runs as one space, no leading or trailing
 * space: the form dedup keys and ROUGE-L read. Returns the length written
 * to out (room for n + 1). */
size_t sr_si_normalise(const char *s, size_t n, char *out);
/* XXH64 of the normalised text: the dedup key and, in hex, the id. */
uint64_t sr_si_key(const char *s, size_t n);

/* Words for ROUGE-L: maximal runs of letters and digits (ASCII, compared
 * case-blind; any non-ASCII byte counts as a letter), hashed. */
typedef struct sr_words { uint32_t *w; int n; } sr_words;
int    sr_words_of(const char *s, size_t n, sr_words *out);   /* 0, or -1 out of memory */
void   sr_words_free(sr_words *w);
/* ROUGE-L F-measure: LCS(a, b) as precision over a and recall over b,
 * 2PR / (P + R); 0 when either is empty. */
double sr_rouge_l(const sr_words *a, const sr_words *b);

/* Why a candidate prompt is refused, before the ROUGE-L and dedup tests. */
enum sr_si_reject {
    SR_SI_OK = 0,
    SR_SI_EMPTY,          /* nothing parsed */
    SR_SI_SHORT,          /* fewer than min_words words */
    SR_SI_LONG,           /* more than max_words words */
    SR_SI_PUNCT,          /* starts with punctuation */
    SR_SI_NONASCII,       /* fewer than half of its letters are ASCII */
    SR_SI_KEYWORD,        /* asks for something a text model cannot do */
};
/* The checks in the order above; *keyword (may be NULL) names the keyword. */
int sr_si_check(const char *s, size_t n, int min_words, int max_words, const char **keyword);
/* The keyword of the filter found in s as a whole word (or phrase), or NULL. */
const char *sr_si_keyword(const char *s, size_t n);

/* ---- the stage (sr-gen --self-instruct) ------------------------------------------ */

/* Rounds of SR_SI_ROUND requests (2 × --count when that is smaller), each
 * prompt made of 6 seeds and 2 prompts kept so far, drawn from the request's
 * own stream (sr_si_request_seed, sr_si_shots_rng in base/ids.h); the
 * replies of a round are filtered in request order, so the output is the
 * same for any --batch. A kept prompt is written as {id, prompt, source:
 * "self-instruct"}, its id the hex of sr_si_key. The stage gives up after
 * 20 × count + 10 rounds' worth of tries. */
enum { SR_SI_ROUND = 32, SR_SI_MAX_TOKENS = 256 };   /* the most new tokens a reply needs */

typedef struct sr_si_opts {
    long count;               /* prompts wanted */
    long max_prompt_tokens;   /* the few-shot prompt is cut to fit */
    uint64_t seed;            /* --seed */
    bool quiet;               /* no progress or summary */
} sr_si_opts;

typedef struct sr_si sr_si;
/* The seed prompts: every input record's prompt (a bad record exits 3, or is
 * skipped), each text once. Exits 3 when none is 3 to 150 words long, the
 * bounds of an example. */
sr_si *sr_si_read(sr_cli *cli);
/* Known prompts from the file at path (sr-gen --known: earlier iterations'
 * prompts): a new prompt must differ from them as from the seeds (dedup and
 * ROUGE-L), but they are never shots — the 6 shots of a request are seeds,
 * the other 2 prompts this run made (METHOD step 1). Bad records exit 3, or
 * are skipped. */
void sr_si_read_known(sr_si *s, sr_cli *cli, const char *path);
/* Write each kept prompt with the key "shots": the ids of its request's
 * examples, in prompt order (a seed's record id, or the hex dedup key when
 * it has none; a kept prompt's id). */
void sr_si_with_shots(sr_si *s, bool on);
/* Make new prompts and write them to cli's output; the summary on standard
 * error unless quiet. eo's max_tokens is at most SR_SI_MAX_TOKENS and its
 * cap max_prompt_tokens + max_tokens. Exits 1 on failure. */
void sr_si_run(sr_si *s, sr_cli *cli, sr_llm *llm, const sr_si_opts *o, const sr_gen_opts *eo);
void sr_si_free(sr_si *s);

#endif
