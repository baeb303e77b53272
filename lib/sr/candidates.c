/* candidates.c — sr-gen's stage: candidate replies to prompt records (see candidates.h). */
#include "sr/candidates.h"

#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "io/record.h"
#include "sr/conversation.h"
#include "sr/ordered.h"

/* One sample as it finished: its reply, and what --emit-ids and
 * --logprobs keep of it (NULL when off). */
typedef struct cand_sample {
    char *text;
    int tokens, finish;
    int32_t *ids, *top_ids;   /* [tokens], [tokens × k] */
    float *top_lp, *lp;       /* [tokens × k], [tokens] */
} cand_sample;

/* A prompt record's samples as they finish. */
typedef struct cand {
    int n_done;
    cand_sample *s;           /* [n] */
} cand;

typedef struct cand_run {
    const sr_cand_opts *o;
    sr_llm *llm;
    sr_ordered ord;
    cand *c;                  /* [ord.n] */
    size_t cap;
} cand_run;

/* prompt_ids, taken as given: 1, or 0 after reporting the record bad. */
static int take_prompt_ids(cand_run *r, const sr_rec *rec, sr_ids *ids)
{
    const msgpack_object *v = sr_rec_get(rec, "prompt_ids");
    if (v->type != MSGPACK_OBJECT_ARRAY) {
        sr_rec_bad(rec, "prompt_ids", "expected an array of token ids, got %s", sr_type_name(v));
        return 0;
    }
    const msgpack_object_array *a = &v->via.array;
    uint32_t n_tok = sr_tok_n_vocab(r->llm->tok);
    uint64_t vocab = (uint64_t)r->llm->model.hp.vocab < n_tok ? (uint64_t)r->llm->model.hp.vocab : n_tok;
    if (a->size == 0) {
        sr_rec_bad(rec, "prompt_ids", "an empty array: generation needs at least one token");
        return 0;
    }
    if (a->size > (uint64_t)r->o->max_prompt_tokens) {
        sr_rec_bad(rec, "prompt_ids", "%u tokens, more than --max-prompt-tokens %ld", a->size,
                   r->o->max_prompt_tokens);
        return 0;
    }
    for (uint32_t i = 0; i < a->size; i++) {
        const msgpack_object *e = &a->ptr[i];
        if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER || e->via.u64 >= vocab) {
            if (e->type == MSGPACK_OBJECT_POSITIVE_INTEGER || e->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                sr_rec_bad(rec, "prompt_ids", "element %u: id %lld is outside the vocabulary "
                           "(0 to %llu)", i, e->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ?
                           (long long)e->via.i64 : (long long)e->via.u64, (unsigned long long)vocab - 1);
            else
                sr_rec_bad(rec, "prompt_ids", "element %u: expected a token id (an integer), got %s",
                           i, sr_type_name(e));
            sr_ids_free(ids);
            return 0;
        }
        if (sr_ids_push(ids, (int32_t)e->via.u64) != 0) sr_die(SR_EXIT_FAIL, "out of memory");
    }
    return 1;
}

/* A conversation's turns rendered with the chat format and the generation
 * prompt, checked against --max-prompt-tokens: 1, or 0 after reporting the
 * record bad under key. */
static int render_turns(cand_run *r, const sr_rec *rec, const sr_chat_msg *msgs, size_t nm, const char *key,
                        sr_ids *ids)
{
    char err[512];
    if (sr_chat_render_ids(&r->llm->chat, msgs, nm, true, ids, err, sizeof err) < 0) {
        sr_rec_bad(rec, key, "%s", err);
        return 0;
    }
    if (ids->n > (size_t)r->o->max_prompt_tokens) {
        sr_rec_bad(rec, key, "%zu tokens with the chat template, more than "
                   "--max-prompt-tokens %ld", ids->n, r->o->max_prompt_tokens);
        sr_ids_free(ids);
        return 0;
    }
    return 1;
}

/* The prompt and optional system turn (checked already). */
static int render_prompt(cand_run *r, const sr_rec *rec, sr_ids *ids)
{
    sr_str prompt, system = { 0 };
    sr_get_str(rec, "prompt", &prompt);
    int rc = sr_get_str(rec, "system", &system);
    sr_chat_msg msgs[2];
    int nm = 0;
    if (rc == 1) msgs[nm++] = (sr_chat_msg){ "system", system.p, system.n };
    msgs[nm++] = (sr_chat_msg){ "user", prompt.p, prompt.n };
    return render_turns(r, rec, msgs, (size_t)nm, "prompt", ids);
}

/* messages, a conversation to continue (sr/conversation.h): it must end
 * with the user's turn, which the reply answers. Checked, and rendered
 * when ids is not NULL: 1, or 0 after reporting the record bad. */
static int take_messages(cand_run *r, const sr_rec *rec, sr_ids *ids)
{
    sr_conv c = { 0 };
    int ok = sr_conv_read(rec, &c);
    if (ok && strcmp(c.m[c.n - 1].role, "user") != 0) {
        sr_rec_bad(rec, "messages", "the last turn is the %s's: sr-gen answers a user turn", c.m[c.n - 1].role);
        ok = 0;
    }
    if (ok && ids) ok = render_turns(r, rec, c.m, c.n, "messages", ids);
    sr_conv_free(&c);
    return ok;
}

/* A prompt record: its id, then its prompt_ids as they are, its messages,
 * or its prompt and optional system turn, rendered. Every shard checks the
 * keys' types; only a record's own shard renders it. */
static int cand_take(void *ctx, const sr_rec *rec, size_t index, sr_ids *ids)
{
    cand_run *r = ctx;
    sr_str id, prompt, system;
    if (!sr_need_str(rec, "id", &id)) return 0;
    bool raw = sr_rec_get(rec, "prompt_ids") != NULL, conv = !raw && sr_rec_get(rec, "messages") != NULL;
    if (raw && !take_prompt_ids(r, rec, ids)) return 0;
    if (conv && !take_messages(r, rec, NULL)) return 0;
    if (!raw && !conv && !sr_need_str(rec, "prompt", &prompt)) return 0;
    if (!raw && !conv && sr_get_str(rec, "system", &system) < 0) {
        sr_rec_bad(rec, "system", "expected a string, got %s", sr_type_name(sr_rec_get(rec, "system")));
        return 0;
    }
    if (!sr_shard_keep(id.p, id.n, r->o->shard_k, r->o->shard_n)) { sr_ids_free(ids); return 0; }
    if (conv && !take_messages(r, rec, ids)) return 0;
    if (!raw && !conv && !render_prompt(r, rec, ids)) return 0;
    if (index == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->c = realloc(r->c, r->cap * sizeof *r->c);
        if (!r->c) sr_die(SR_EXIT_FAIL, "out of memory");
    }
    cand *c = &r->c[index];
    c->n_done = 0;
    c->s = calloc((size_t)r->o->n, sizeof *c->s);
    if (!c->s) sr_die(SR_EXIT_FAIL, "out of memory");
    return 1;
}

static void cand_start(void *ctx, size_t i, sr_ordered_req *q)
{
    cand_run *r = ctx;
    const char *id = r->ord.recs[i].held.id;
    q->n = (int)r->o->n;
    q->seed = sr_record_seed(id, strlen(id), r->o->seed);
}

static void *dup_n(const void *p, size_t n)
{
    void *q = malloc(n ? n : 1);
    if (!q) sr_die(SR_EXIT_FAIL, "out of memory");
    if (n) memcpy(q, p, n);
    return q;
}

static int cand_done(void *ctx, size_t i, int tag, const sr_gen_out *o)
{
    (void)tag;
    cand_run *r = ctx;
    cand *c = &r->c[i];
    cand_sample *cs = &c->s[o->sample];
    size_t len, n = (size_t)o->n_tokens, k = (size_t)r->o->logprobs;
    cs->text = sr_ordered_text(&r->ord, r->llm->tok, i, o, "the reply", &len);
    cs->tokens = o->n_tokens;
    cs->finish = o->finish;
    if (r->o->emit_ids) cs->ids = dup_n(o->tokens, n * sizeof *o->tokens);
    if (k > 0) {
        cs->top_ids = dup_n(o->top_ids, n * k * sizeof *o->top_ids);
        cs->top_lp = dup_n(o->top_logprobs, n * k * sizeof *o->top_logprobs);
        cs->lp = dup_n(o->logprobs, n * sizeof *o->logprobs);
    }
    return ++c->n_done == r->o->n;
}

static void sample_free(cand_sample *cs)
{
    free(cs->text); free(cs->ids); free(cs->top_ids); free(cs->top_lp); free(cs->lp);
    memset(cs, 0, sizeof *cs);
}

/* top_logprobs: per reply token, k maps {id, logprob}, most probable first. */
static void put_top_logprobs(sr_recb *b, const cand_sample *cs, size_t k)
{
    const size_t n = (size_t)cs->tokens;
    msgpack_object *pos = calloc(n ? n : 1, sizeof *pos), *maps = calloc(n * k + 1, sizeof *maps);
    msgpack_object_kv *kv = calloc(2 * n * k + 1, sizeof *kv);
    if (!pos || !maps || !kv) sr_die(SR_EXIT_FAIL, "out of memory");
    for (size_t t = 0; t < n; t++) {
        pos[t].type = MSGPACK_OBJECT_ARRAY;
        pos[t].via.array = (msgpack_object_array){ (uint32_t)k, maps + t * k };
        for (size_t j = 0; j < k; j++) {
            msgpack_object_kv *e = kv + 2 * (t * k + j);
            e[0].key.type = e[1].key.type = MSGPACK_OBJECT_STR;
            e[0].key.via.str = (msgpack_object_str){ 2, "id" };
            e[0].val.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            e[0].val.via.u64 = (uint64_t)cs->top_ids[t * k + j];
            e[1].key.via.str = (msgpack_object_str){ 7, "logprob" };
            e[1].val.type = MSGPACK_OBJECT_FLOAT64;
            e[1].val.via.f64 = cs->top_lp[t * k + j];
            maps[t * k + j].type = MSGPACK_OBJECT_MAP;
            maps[t * k + j].via.map = (msgpack_object_map){ 2, e };
        }
    }
    msgpack_object all = { .type = MSGPACK_OBJECT_ARRAY };
    all.via.array = (msgpack_object_array){ (uint32_t)n, pos };
    sr_recb_obj(b, "top_logprobs", &all);
    free(pos); free(maps); free(kv);
}

/* The candidates of one prompt record, in sample order, with its own keys. */
static void cand_write(void *ctx, size_t i, const sr_rec *rec, sr_writer *out)
{
    cand_run *r = ctx;
    cand *c = &r->c[i];
    const char *id = rec->id.p;
    const size_t k = (size_t)r->o->logprobs;
    for (long s = 0; s < r->o->n; s++) {
        cand_sample *cs = &c->s[s];
        char hex[17];
        sr_candidate_id(id, strlen(id), s, hex);
        sr_recb b;
        sr_recb_init(&b, rec);
        sr_recb_cstr(&b, "id", hex);
        sr_recb_cstr(&b, "prompt_id", id);
        sr_recb_cstr(&b, "response", cs->text);
        sr_recb_i64(&b, "sample", s);
        sr_recb_cstr(&b, "finish", sr_finish_name(cs->finish));
        sr_recb_i64(&b, "tokens", cs->tokens);
        if (cs->ids) sr_recb_i32_array(&b, "response_ids", cs->ids, (size_t)cs->tokens);
        if (k > 0) {
            put_top_logprobs(&b, cs, k);
            double *lp = malloc(sizeof *lp * ((size_t)cs->tokens + 1));
            if (!lp) sr_die(SR_EXIT_FAIL, "out of memory");
            for (int t = 0; t < cs->tokens; t++) lp[t] = cs->lp[t];
            sr_recb_f64_array(&b, "response_logprobs", lp, (size_t)cs->tokens);
            free(lp);
        }
        sr_write(out, &b);
        sr_recb_free(&b);
        sample_free(cs);
    }
}

void sr_candidates_run(sr_cli *cli, sr_llm *llm, const sr_cand_opts *o, const sr_gen_opts *eo)
{
    cand_run r = { .o = o, .llm = llm };
    const sr_ordered_stage stage = { .ctx = &r, .take = cand_take, .start = cand_start,
                                     .done = cand_done, .write = cand_write };
    sr_ordered_read(&r.ord, cli, &stage);
    sr_ordered_run(&r.ord, &llm->model, eo, o->quiet, "prompts");
    if (!o->quiet) {
        double el = sr_progress_elapsed(&r.ord.prog);
        const sr_gen_stats *st = &r.ord.stats;
        sr_warn("%zu prompts, %llu candidates, %llu tokens in %.1f s (%.1f tokens/s)", r.ord.n,
                (unsigned long long)st->samples, (unsigned long long)st->tokens, el,
                el > 0 ? st->tokens / el : 0.0);
    }
    for (size_t i = 0; i < r.ord.n; i++) {
        for (long s = 0; r.c[i].s && s < o->n; s++) sample_free(&r.c[i].s[s]);
        free(r.c[i].s);
    }
    free(r.c);
    sr_ordered_free(&r.ord);
}
