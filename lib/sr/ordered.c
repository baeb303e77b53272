/* ordered.c — records in, requests to the engine, records out in input
 * order (see ordered.h). */
#include "sr/ordered.h"

#include <stdlib.h>

#include "io/cli.h"

/* A request's user pointer: its record and the stage's tag. */
enum { TAG_BITS = 16 };
static void *to_user(size_t rec, int tag) { return (void *)(((uintptr_t)rec << TAG_BITS) | (uintptr_t)tag); }
static size_t user_rec(const void *u) { return (uintptr_t)u >> TAG_BITS; }
static int user_tag(const void *u) { return (int)((uintptr_t)u & ((1u << TAG_BITS) - 1)); }

void sr_ordered_read(sr_ordered *o, sr_cli *cli, const sr_ordered_stage *stage)
{
    *o = (sr_ordered){ .cli = cli, .stage = stage };
    sr_reader *in = sr_reader_open(cli);
    sr_rec rec;
    size_t cap = 0;
    while (sr_read(in, &rec)) {
        sr_ids ids = { 0 };
        if (o->n == cap) {
            cap = cap ? 2 * cap : 64;
            o->recs = realloc(o->recs, cap * sizeof *o->recs);
            if (!o->recs) sr_die(SR_EXIT_FAIL, "out of memory");
        }
        if (!stage->take(stage->ctx, &rec, o->n, &ids)) continue;
        sr_ordered_rec *r = &o->recs[o->n++];
        *r = (sr_ordered_rec){ .prompt = ids.v, .prompt_len = (int)ids.n };
        if (sr_held_keep(&r->held, &rec) < 0) sr_die(SR_EXIT_FAIL, "out of memory");
    }
    sr_reader_close(in);
}

static int next(void *ctx, sr_gen_req *req)
{
    sr_ordered *o = ctx;
    const sr_ordered_stage *st = o->stage;
    sr_ordered_req q = { 0 };
    if (!(st->again && st->again(st->ctx, &q))) {
        if (o->next_req >= o->n) return 0;
        q.rec = o->next_req++;
        st->start(st->ctx, q.rec, &q);
    }
    const sr_ordered_rec *r = &o->recs[q.rec];
    *req = (sr_gen_req){ q.prompt ? q.prompt : r->prompt, q.prompt ? q.prompt_len : r->prompt_len,
                         q.n, q.seed, to_user(q.rec, q.tag) };
    return 1;
}

/* Write every record that is complete and has none before it still open. */
static void flush(sr_ordered *o)
{
    while (o->next_out < o->n && o->recs[o->next_out].done) {
        sr_ordered_rec *r = &o->recs[o->next_out];
        msgpack_unpacked u;
        sr_rec rec;
        if (sr_held_open(&r->held, o->cli, &u, &rec) < 0)
            sr_die(SR_EXIT_FAIL, "internal error: a stored record does not unpack");
        o->stage->write(o->stage->ctx, o->next_out, &rec, o->out);
        msgpack_unpacked_destroy(&u);
        sr_held_drop_bytes(&r->held);
        free(r->prompt);
        r->prompt = NULL;
        o->next_out++;
        o->prog.done++;
    }
}

static int done(void *ctx, const sr_gen_out *out)
{
    sr_ordered *o = ctx;
    size_t i = user_rec(out->req->user);
    o->prog.tokens += (uint64_t)out->n_tokens;
    if (o->stage->done(o->stage->ctx, i, user_tag(out->req->user), out)) {
        o->recs[i].done = true;
        flush(o);
    }
    sr_progress_show(&o->prog, false);
    return 0;
}

static int stop(void *ctx, const sr_gen_req *req, const int32_t *tokens, int n)
{
    sr_ordered *o = ctx;
    return o->stage->stop(o->stage->ctx, user_rec(req->user), user_tag(req->user), tokens, n);
}

static int follow(void *ctx, const sr_gen_out *out, sr_gen_follow *f)
{
    sr_ordered *o = ctx;
    size_t i = user_rec(out->req->user);
    int tag = 0;
    if (!o->stage->follow(o->stage->ctx, i, user_tag(out->req->user), out, f, &tag)) return 0;
    f->user = to_user(i, tag);
    return 1;
}

static void add_stats(sr_gen_stats *a, const sr_gen_stats *b)
{
    a->prompts += b->prompts;
    a->samples += b->samples;
    a->tokens += b->tokens;
    a->steps += b->steps;
    a->follows += b->follows;
}

/* A failed run: a broken row of logits is named by its record, like a
 * bad record, but it is the model that failed (exit 1). */
_Noreturn static void fail(const sr_ordered *o, const sr_gen_stats *st, const char *err)
{
    if (!st->non_finite) sr_die(SR_EXIT_FAIL, "%s", err);
    const sr_held *h = &o->recs[user_rec(st->fail_user)].held;
    if (h->id && h->id[0])
        sr_die(SR_EXIT_FAIL, "record %llu (id \"%.80s\"): %s", (unsigned long long)h->index, h->id, err);
    sr_die(SR_EXIT_FAIL, "record %llu: %s", (unsigned long long)h->index, err);
}

void sr_ordered_run(sr_ordered *o, sr_model *m, const sr_gen_opts *eo, bool quiet, const char *unit)
{
    const sr_ordered_stage *st = o->stage;
    o->out = sr_writer_open(o->cli);
    sr_progress_init(&o->prog, quiet, o->n, unit);
    sr_gen_io io = { .next = next, .done = done, .stop = st->stop ? stop : NULL,
                     .follow = st->follow ? follow : NULL, .ctx = o };
    char err[512];
    /* The engine stops asking for requests once there are none; retries
     * queued by the last results of a run go into another. */
    sr_gen_stats one;
    do {
        one = (sr_gen_stats){ 0 };
        if (sr_generate(m, eo, &io, &one, err, sizeof err) < 0) fail(o, &one, err);
        add_stats(&o->stats, &one);
    } while (o->next_out < o->n && one.prompts > 0);
    if (o->next_out != o->n)
        sr_die(SR_EXIT_FAIL, "internal error: %zu of %zu %s done", o->next_out, o->n, unit);
    sr_progress_show(&o->prog, true);
    sr_writer_close(o->out);
    o->out = NULL;
}

void sr_ordered_free(sr_ordered *o)
{
    for (size_t i = 0; i < o->n; i++) {
        sr_held_free(&o->recs[i].held);
        free(o->recs[i].prompt);
    }
    free(o->recs);
    *o = (sr_ordered){ 0 };
}

char *sr_ordered_text(const sr_ordered *o, const sr_tok *tok, size_t i, const sr_gen_out *out, const char *what,
                      size_t *len)
{
    char err[256];
    char *text = sr_gen_text(tok, out->tokens, out->n_tokens, len, err, sizeof err);
    if (!text) sr_die(SR_EXIT_FAIL, "record %llu (id \"%s\"): decoding %s: %s",
                      (unsigned long long)o->recs[i].held.index, o->recs[i].held.id, what, err);
    return text;
}
