/* ordered.h — a generating stage over a stream of records, written in input
 * order: the one driver of sr-gen's candidates and sr-judge.
 *
 * Every record of the input is read first and turned into a prompt by the
 * stage (a bad one stops the stage before any generating, or is skipped
 * with --skip-bad). The engine (lm/generate.h) is then handed requests for
 * the records in turn and gives results back as they finish, in no fixed
 * order; the stage folds each into its record and says when the record is
 * complete. A record is written — its keys kept, the stage's added — once
 * it and every record before it are complete, so the output is in input
 * order for any --batch. The input records wait as packed bytes
 * (io/heldrec.h), released as soon as they are written.
 *
 * The stage is a table of callbacks over record indices 0, 1, ... (the kept
 * records, in input order); it keeps its own per-record results beside the
 * driver's. A request carries a tag of the stage's choosing (0 .. 65535)
 * that comes back with each of its results and follow-ups, so one record
 * can have requests of several kinds in flight (sr-judge: its judgements,
 * and the forced score line of each).
 *
 *   sr_ordered o;
 *   sr_ordered_read(&o, cli, &stage);            // the prompts; exits on bad input
 *   sr_ordered_run(&o, &llm.model, &eo, quiet, "records");   // exits on failure
 *   ... o.n, o.stats ...
 *   sr_ordered_free(&o);
 */
#ifndef SR_ORDERED_H
#define SR_ORDERED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/heldrec.h"
#include "io/progress.h"
#include "io/record.h"
#include "lm/generate.h"

/* What one request asks: n samples from record rec's prompt, with seed. */
typedef struct sr_ordered_req {
    size_t rec;
    int n;
    uint64_t seed;
    int tag;
    /* Optional: a prompt of the stage's own for this request, kept by the
     * stage until the request has been handed out (the engine copies it);
     * NULL: the record's prompt (sr-judge --pairwise: the swapped order). */
    const int32_t *prompt;
    int prompt_len;
} sr_ordered_req;

typedef struct sr_ordered_stage {
    void *ctx;
    /* A record read: 1 with its prompt in *prompt (the driver keeps the
     * tokens) to keep it as record `index`, or 0 to leave it out (a bad
     * record, after sr_rec_bad; one of another shard). */
    int  (*take)(void *ctx, const sr_rec *rec, size_t index, sr_ids *prompt);
    /* The first request of record i; rec is set already. */
    void (*start)(void *ctx, size_t i, sr_ordered_req *q);
    /* Optional: a request of the stage's own (a retry), asked for before
     * any new record's: 1 with *q filled, 0 when there is none. */
    int  (*again)(void *ctx, sr_ordered_req *q);
    /* A result of record i's request with this tag: 1 when the record is
     * complete, else 0. */
    int  (*done)(void *ctx, size_t i, int tag, const sr_gen_out *out);
    /* Optional: the engine's stop test (generate.h) for record i's request. */
    int  (*stop)(void *ctx, size_t i, int tag, const int32_t *tokens, int n);
    /* Optional: after done() for a sample, 1 to follow it up: f's tokens
     * and seed filled (its user is the driver's), *tag the follow-up's. */
    int  (*follow)(void *ctx, size_t i, int tag, const sr_gen_out *out, sr_gen_follow *f, int *follow_tag);
    /* Write complete record i, its input record in rec. */
    void (*write)(void *ctx, size_t i, const sr_rec *rec, sr_writer *out);
} sr_ordered_stage;

typedef struct sr_ordered_rec {
    sr_held held;             /* the input record, packed until written */
    int32_t *prompt;          /* its prompt tokens (freed once written) */
    int prompt_len;
    bool done;
} sr_ordered_rec;

typedef struct sr_ordered {
    sr_cli *cli;
    const sr_ordered_stage *stage;
    sr_ordered_rec *recs;
    size_t n, next_req, next_out;
    sr_writer *out;
    sr_progress prog;         /* done: records written; tokens: generated */
    sr_gen_stats stats;       /* over every engine run */
} sr_ordered;

/* Read every record of cli's input through stage->take. */
void sr_ordered_read(sr_ordered *o, sr_cli *cli, const sr_ordered_stage *stage);
/* Generate for every record read and write them all to cli's output, with
 * a progress line counting `unit` unless quiet. The engine runs again while
 * the stage has requests left (retries queued by the last results of a
 * run). Exits 1 when the engine fails. */
void sr_ordered_run(sr_ordered *o, sr_model *m, const sr_gen_opts *eo, bool quiet, const char *unit);
void sr_ordered_free(sr_ordered *o);

/* The text of a result of record i (sr_gen_text); exits 1 naming the record
 * and what was decoded when its tokens are not text. malloc'd. */
char *sr_ordered_text(const sr_ordered *o, const sr_tok *tok, size_t i, const sr_gen_out *out, const char *what,
                      size_t *len);

#endif
