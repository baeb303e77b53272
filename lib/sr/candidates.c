/* candidates.c — sr-gen's stage: candidate replies to prompt records (see candidates.h). */
#include "sr/candidates.h"

#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "io/record.h"
#include "sr/ordered.h"

/* A prompt record's samples as they finish. */
typedef struct cand {
    int n_done;
    char **text;              /* [n] replies */
    int *tokens, *finish;     /* [n] */
} cand;

typedef struct cand_run {
    const sr_cand_opts *o;
    sr_llm *llm;
    sr_ordered ord;
    cand *c;                  /* [ord.n] */
    size_t cap;
} cand_run;

/* A prompt record: its id, prompt and optional system turn, rendered and
 * checked against --max-prompt-tokens. */
static int cand_take(void *ctx, const sr_rec *rec, size_t index, sr_ids *ids)
{
    cand_run *r = ctx;
    sr_str id, prompt, system = { 0 };
    char err[512];
    if (!sr_need_str(rec, "id", &id) || !sr_need_str(rec, "prompt", &prompt)) return 0;
    int rc = sr_get_str(rec, "system", &system);
    if (rc < 0) {
        sr_rec_bad(rec, "system", "expected a string, got %s", sr_type_name(sr_rec_get(rec, "system")));
        return 0;
    }
    if (!sr_shard_keep(id.p, id.n, r->o->shard_k, r->o->shard_n)) return 0;
    sr_chat_msg msgs[2];
    int nm = 0;
    if (rc == 1) msgs[nm++] = (sr_chat_msg){ "system", system.p, system.n };
    msgs[nm++] = (sr_chat_msg){ "user", prompt.p, prompt.n };
    if (sr_chat_render_ids(&r->llm->chat, msgs, (size_t)nm, true, ids, err, sizeof err) < 0) {
        sr_rec_bad(rec, "prompt", "%s", err);
        return 0;
    }
    if (ids->n > (size_t)r->o->max_prompt_tokens) {
        sr_rec_bad(rec, "prompt", "%zu tokens with the chat template, more than "
                   "--max-prompt-tokens %ld", ids->n, r->o->max_prompt_tokens);
        sr_ids_free(ids);
        return 0;
    }
    if (index == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->c = realloc(r->c, r->cap * sizeof *r->c);
        if (!r->c) sr_die(SR_EXIT_FAIL, "out of memory");
    }
    cand *c = &r->c[index];
    c->n_done = 0;
    c->text = calloc((size_t)r->o->n, sizeof *c->text);
    c->tokens = calloc((size_t)r->o->n, sizeof *c->tokens);
    c->finish = calloc((size_t)r->o->n, sizeof *c->finish);
    if (!c->text || !c->tokens || !c->finish) sr_die(SR_EXIT_FAIL, "out of memory");
    return 1;
}

static void cand_start(void *ctx, size_t i, sr_ordered_req *q)
{
    cand_run *r = ctx;
    const char *id = r->ord.recs[i].held.id;
    q->n = (int)r->o->n;
    q->seed = sr_record_seed(id, strlen(id), r->o->seed);
}

static int cand_done(void *ctx, size_t i, int tag, const sr_gen_out *o)
{
    (void)tag;
    cand_run *r = ctx;
    cand *c = &r->c[i];
    char err[256];
    size_t len;
    char *text = sr_gen_text(r->llm->tok, o->tokens, o->n_tokens, &len, err, sizeof err);
    if (!text) sr_die(SR_EXIT_FAIL, "record %llu (id \"%s\"): decoding the reply: %s",
                      (unsigned long long)r->ord.recs[i].held.index, r->ord.recs[i].held.id, err);
    c->text[o->sample] = text;
    c->tokens[o->sample] = o->n_tokens;
    c->finish[o->sample] = o->finish;
    return ++c->n_done == r->o->n;
}

/* The candidates of one prompt record, in sample order, with its own keys. */
static void cand_write(void *ctx, size_t i, const sr_rec *rec, sr_writer *out)
{
    cand_run *r = ctx;
    cand *c = &r->c[i];
    const char *id = rec->id.p;
    for (long s = 0; s < r->o->n; s++) {
        char hex[17];
        sr_candidate_id(id, strlen(id), s, hex);
        sr_recb b;
        sr_recb_init(&b, rec);
        sr_recb_cstr(&b, "id", hex);
        sr_recb_cstr(&b, "prompt_id", id);
        sr_recb_cstr(&b, "response", c->text[s]);
        sr_recb_i64(&b, "sample", s);
        sr_recb_cstr(&b, "finish", sr_finish_name(c->finish[s]));
        sr_recb_i64(&b, "tokens", c->tokens[s]);
        sr_write(out, &b);
        sr_recb_free(&b);
        free(c->text[s]);
        c->text[s] = NULL;
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
    for (size_t i = 0; i < r.ord.n; i++) { free(r.c[i].text); free(r.c[i].tokens); free(r.c[i].finish); }
    free(r.c);
    sr_ordered_free(&r.ord);
}
