/* sr-gen — generation: N candidate replies per prompt record (METHOD step 2),
 * or with --self-instruct new prompt records by few-shot prompting (step 1).
 * Both run on lib/generate's continuous-batching engine, so the output for a
 * given input and --seed is the same for any --batch, --threads or --shard. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/cli.h"
#include "lm/generate.h"
#include "io/heldrec.h"
#include "base/ids.h"
#include "sr/lm_cli.h"
#include "io/progress.h"
#include "io/record.h"
#include "sr/selfinstruct.h"

typedef struct gen_opts {
    long n, top_k, max_tokens, max_prompt_tokens, batch, seed, count;
    double temperature, top_p, min_p, repeat_penalty;
    const char *shard;
    bool self_instruct, quiet;
} gen_opts;

/* ---- the model and the engine's options ----------------------------------- */

static void open_model(sr_llm *llm, const sr_llm_opts *lo, int cap, int slots)
{
    sr_model_opts mo = { .max_batch = (slots + cap - 1) / cap, .max_seq = cap, .keep_acts = 0 };
    sr_llm_open(llm, lo, &mo);
}

static sr_gen_opts engine_opts(const gen_opts *g, int max_tokens, int cap, int32_t eot, double temp)
{
    sr_gen_opts o = { { (float)temp, (float)g->top_p, (float)g->min_p, (float)g->repeat_penalty,
                        (int)g->top_k },
                      max_tokens, (int)g->batch, cap, eot };
    return o;
}

/* ---- candidates ----------------------------------------------------------- */

/* One prompt record: kept as packed bytes (its keys are written through),
 * its rendered prompt, and its samples as they finish. */
typedef struct cand_rec {
    sr_held held;
    int32_t *ids;
    int n_ids;
    int n_done;
    char **text;          /* [n] replies */
    int *tokens, *finish; /* [n] */
} cand_rec;

typedef struct cand_run {
    sr_cli *cli;
    sr_llm *llm;
    cand_rec *recs;
    size_t n_recs, next_req, next_out;
    long n;
    uint64_t seed;
    sr_writer *out;
    sr_progress prog;
} cand_run;

/* Read every prompt record of this shard, rendered and checked: a bad one
 * stops the stage (exit 3) before any generating, or is skipped. */
static void read_prompts(cand_run *r, const gen_opts *g, uint64_t sk, uint64_t sn, int *longest)
{
    sr_reader *in = sr_reader_open(r->cli);
    sr_rec rec;
    size_t cap = 0;
    char err[512];
    *longest = 1;
    while (sr_read(in, &rec)) {
        sr_str id, prompt, system = { 0 };
        if (!sr_need_str(&rec, "id", &id) || !sr_need_str(&rec, "prompt", &prompt)) continue;
        int rc = sr_get_str(&rec, "system", &system);
        if (rc < 0) {
            sr_rec_bad(&rec, "system", "expected a string, got %s", sr_type_name(sr_rec_get(&rec, "system")));
            continue;
        }
        if (!sr_shard_keep(id.p, id.n, sk, sn)) continue;
        sr_chat_msg msgs[2];
        int nm = 0;
        if (rc == 1) msgs[nm++] = (sr_chat_msg){ "system", system.p, system.n };
        msgs[nm++] = (sr_chat_msg){ "user", prompt.p, prompt.n };
        sr_ids ids = { 0 };
        if (sr_chat_render_ids(&r->llm->chat, msgs, (size_t)nm, true, &ids, err, sizeof err) < 0) {
            sr_rec_bad(&rec, "prompt", "%s", err);
            continue;
        }
        if (ids.n > (size_t)g->max_prompt_tokens) {
            sr_rec_bad(&rec, "prompt", "%zu tokens with the chat template, more than "
                       "--max-prompt-tokens %ld", ids.n, g->max_prompt_tokens);
            sr_ids_free(&ids);
            continue;
        }
        if (r->n_recs == cap) {
            cap = cap ? 2 * cap : 64;
            r->recs = realloc(r->recs, cap * sizeof *r->recs);
            if (!r->recs) sr_die(SR_EXIT_FAIL, "out of memory");
        }
        cand_rec *c = &r->recs[r->n_recs++];
        *c = (cand_rec){ .ids = ids.v, .n_ids = (int)ids.n };
        if (sr_held_keep(&c->held, &rec) < 0) sr_die(SR_EXIT_FAIL, "out of memory");
        c->text = calloc((size_t)g->n, sizeof *c->text);
        c->tokens = calloc((size_t)g->n, sizeof *c->tokens);
        c->finish = calloc((size_t)g->n, sizeof *c->finish);
        if (!c->text || !c->tokens || !c->finish) sr_die(SR_EXIT_FAIL, "out of memory");
        if ((int)ids.n > *longest) *longest = (int)ids.n;
    }
    sr_reader_close(in);
}

static int cand_next(void *ctx, sr_gen_req *req)
{
    cand_run *r = ctx;
    if (r->next_req >= r->n_recs) return 0;
    cand_rec *c = &r->recs[r->next_req];
    *req = (sr_gen_req){ c->ids, c->n_ids, (int)r->n, sr_record_seed(c->held.id, strlen(c->held.id), r->seed),
                         (void *)r->next_req };
    r->next_req++;
    return 1;
}

/* The candidates of one prompt record, in sample order, with its own keys. */
static void write_candidates(cand_run *r, cand_rec *c)
{
    msgpack_unpacked u;
    sr_rec rec;
    if (sr_held_open(&c->held, r->cli, &u, &rec) < 0)
        sr_die(SR_EXIT_FAIL, "internal error: a stored record does not unpack");
    const char *id = c->held.id;
    for (long s = 0; s < r->n; s++) {
        char key[64 + 24], hex[17];
        int kn = snprintf(key, sizeof key, "/%ld", s);
        size_t idn = strlen(id);
        char *buf = malloc(idn + (size_t)kn);
        if (!buf) sr_die(SR_EXIT_FAIL, "out of memory");
        memcpy(buf, id, idn);
        memcpy(buf + idn, key, (size_t)kn);
        sr_hex64(sr_hash(buf, idn + (size_t)kn, 0), hex);
        free(buf);
        sr_recb b;
        sr_recb_init(&b, &rec);
        sr_recb_cstr(&b, "id", hex);
        sr_recb_cstr(&b, "prompt_id", id);
        sr_recb_cstr(&b, "response", c->text[s]);
        sr_recb_i64(&b, "sample", s);
        sr_recb_cstr(&b, "finish", sr_finish_name(c->finish[s]));
        sr_recb_i64(&b, "tokens", c->tokens[s]);
        sr_write(r->out, &b);
        sr_recb_free(&b);
        free(c->text[s]);
        c->text[s] = NULL;
    }
    msgpack_unpacked_destroy(&u);
    sr_held_drop_bytes(&c->held);
    free(c->ids); c->ids = NULL;
}

static int cand_done(void *ctx, const sr_gen_out *o)
{
    cand_run *r = ctx;
    cand_rec *c = &r->recs[(size_t)o->req->user];
    char err[256];
    size_t len;
    char *text = sr_gen_text(r->llm->tok, o->tokens, o->n_tokens, &len, err, sizeof err);
    if (!text) sr_die(SR_EXIT_FAIL, "record %llu (id \"%s\"): decoding the reply: %s",
                      (unsigned long long)c->held.index, c->held.id, err);
    c->text[o->sample] = text;
    c->tokens[o->sample] = o->n_tokens;
    c->finish[o->sample] = o->finish;
    c->n_done++;
    r->prog.tokens += (uint64_t)o->n_tokens;
    /* Written in input order: a record goes out once it and all before it are done. */
    while (r->next_out < r->n_recs && r->recs[r->next_out].n_done == r->n) {
        write_candidates(r, &r->recs[r->next_out]);
        r->next_out++;
        r->prog.done++;
    }
    sr_progress_show(&r->prog, false);
    return 0;
}

static void run_candidates(sr_cli *cli, const gen_opts *g, const sr_llm_opts *lo, uint64_t sk, uint64_t sn)
{
    sr_llm llm;
    cand_run r = { .cli = cli, .llm = &llm, .n = g->n, .seed = (uint64_t)g->seed };
    /* Sized for the longest prompt allowed: the arena and the caches are
     * only touched as far as the prompts really reach. */
    int cap = (int)(g->max_prompt_tokens + g->max_tokens), longest;
    open_model(&llm, lo, cap, (int)g->batch);
    read_prompts(&r, g, sk, sn, &longest);
    r.out = sr_writer_open(cli);
    sr_progress_init(&r.prog, g->quiet, r.n_recs, "prompts");
    sr_gen_opts eo = engine_opts(g, (int)g->max_tokens, cap, sr_chat_eot(&llm.chat), g->temperature);
    sr_gen_io io = { .next = cand_next, .done = cand_done, .ctx = &r };
    sr_gen_stats st;
    char err[512];
    if (sr_generate(&llm.model, &eo, &io, &st, err, sizeof err) < 0)
        sr_die(SR_EXIT_FAIL, "%s", err);
    sr_progress_show(&r.prog, true);
    sr_writer_close(r.out);
    if (!g->quiet) {
        double el = sr_progress_elapsed(&r.prog);
        sr_warn("%zu prompts, %llu candidates, %llu tokens in %.1f s (%.1f tokens/s)", r.n_recs,
                (unsigned long long)st.samples, (unsigned long long)st.tokens, el,
                el > 0 ? st.tokens / el : 0.0);
    }
    for (size_t i = 0; i < r.n_recs; i++) {
        sr_held_free(&r.recs[i].held); free(r.recs[i].ids);
        free(r.recs[i].text); free(r.recs[i].tokens); free(r.recs[i].finish);
    }
    free(r.recs);
    sr_llm_close(&llm);
}

/* ---- self-instruct --------------------------------------------------------- */

enum { SI_ROUND = 32, SI_SEEDS = 6, SI_FROM_NEW = 2, SI_MIN_WORDS = 3, SI_MAX_WORDS = 150,
       SI_MAX_TOKENS = 256 };

typedef struct si_prompt { char *text; size_t len; sr_words words; } si_prompt;

typedef struct si_run {
    sr_llm *llm;
    si_prompt *seeds, *kept;
    size_t n_seeds, n_kept;
    size_t *examples;            /* seeds usable as examples (within the length bounds) */
    size_t n_examples;
    uint64_t *keys;              /* dedup keys: seeds and kept, sorted */
    size_t n_keys;
    /* the round in flight */
    int32_t *ids[SI_ROUND];
    int n_ids[SI_ROUND];
    char *reply[SI_ROUND];
    size_t reply_len[SI_ROUND];
    int n_round, next_req;
    uint64_t round_seed[SI_ROUND];
    sr_progress prog;
    uint64_t rejected[SR_SI_KEYWORD + 3];   /* by reason; + rouge, duplicate */
    uint64_t tried;
} si_run;

enum { SI_ROUGE = SR_SI_KEYWORD + 1, SI_DUP = SR_SI_KEYWORD + 2 };

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static bool has_key(const si_run *s, uint64_t k)
{
    return s->n_keys && bsearch(&k, s->keys, s->n_keys, sizeof k, cmp_u64) != NULL;
}

static void add_key(si_run *s, uint64_t k)
{
    s->keys = realloc(s->keys, (s->n_keys + 1) * sizeof *s->keys);
    if (!s->keys) sr_die(SR_EXIT_FAIL, "out of memory");
    size_t i = s->n_keys++;
    while (i > 0 && s->keys[i - 1] > k) { s->keys[i] = s->keys[i - 1]; i--; }
    s->keys[i] = k;
}

static si_prompt make_prompt(const char *t, size_t n)
{
    si_prompt p = { malloc(n + 1), n, { 0 } };
    if (!p.text || sr_words_of(t, n, &p.words) < 0) sr_die(SR_EXIT_FAIL, "out of memory");
    memcpy(p.text, t, n);
    p.text[n] = 0;
    return p;
}

static void read_seeds(sr_cli *cli, si_run *s)
{
    sr_reader *in = sr_reader_open(cli);
    sr_rec rec;
    size_t cap = 0;
    while (sr_read(in, &rec)) {
        sr_str prompt;
        if (!sr_need_str(&rec, "prompt", &prompt)) continue;
        if (s->n_seeds == cap) {
            cap = cap ? 2 * cap : 64;
            s->seeds = realloc(s->seeds, cap * sizeof *s->seeds);
            s->examples = realloc(s->examples, cap * sizeof *s->examples);
            if (!s->seeds || !s->examples) sr_die(SR_EXIT_FAIL, "out of memory");
        }
        uint64_t k = sr_si_key(prompt.p, prompt.n);
        if (has_key(s, k)) continue;           /* the same seed twice counts once */
        add_key(s, k);
        if (sr_si_check(prompt.p, prompt.n, SI_MIN_WORDS, SI_MAX_WORDS, NULL) == SR_SI_OK)
            s->examples[s->n_examples++] = s->n_seeds;
        s->seeds[s->n_seeds++] = make_prompt(prompt.p, prompt.n);
    }
    sr_reader_close(in);
}

/* The few-shot prompt of request g: 6 seeds and 2 earlier kept prompts,
 * drawn without replacement from a stream of this request alone. */
static void build_request(si_run *s, int slot, uint64_t g, uint64_t seed, int max_prompt_tokens)
{
    char id[32];
    snprintf(id, sizeof id, "self-instruct/%llu", (unsigned long long)g);
    uint64_t rs = sr_record_seed(id, strlen(id), seed);
    sr_rng rng = sr_rng_for(rs, 1u << 30);     /* apart from the sampler's streams 0.. */
    const char *ex[SI_SEEDS + SI_FROM_NEW];
    size_t len[SI_SEEDS + SI_FROM_NEW];
    int k = 0;
    size_t pick[SI_SEEDS];
    int ns = s->n_examples < SI_SEEDS ? (int)s->n_examples : SI_SEEDS;
    for (int i = 0; i < ns; i++) {        /* a partial Fisher-Yates over the example indices */
        size_t j;
        bool again;
        do {
            j = s->examples[sr_rng_next(&rng) % s->n_examples];
            again = false;
            for (int q = 0; q < i; q++) again |= pick[q] == j;
        } while (again);
        pick[i] = j;
        ex[k] = s->seeds[j].text; len[k++] = s->seeds[j].len;
    }
    int nn = s->n_kept < SI_FROM_NEW ? (int)s->n_kept : SI_FROM_NEW;
    size_t first = s->n_kept ? sr_rng_next(&rng) % s->n_kept : 0;
    for (int i = 0; i < nn; i++) {
        size_t j = (first + i * (s->n_kept / 2 + 1)) % s->n_kept;
        ex[k] = s->kept[j].text; len[k++] = s->kept[j].len;
    }
    /* shuffle so the new prompts are not always last */
    for (int i = k - 1; i > 0; i--) {
        int j = (int)(sr_rng_next(&rng) % (uint64_t)(i + 1));
        const char *t = ex[i]; ex[i] = ex[j]; ex[j] = t;
        size_t l = len[i]; len[i] = len[j]; len[j] = l;
    }
    char err[256];
    for (;;) {
        size_t n;
        char *text = sr_si_fewshot(ex, len, k, &n);
        if (!text) sr_die(SR_EXIT_FAIL, "out of memory");
        sr_ids ids = { 0 };
        if (sr_tok_encode(s->llm->tok, text, n, &ids, err, sizeof err) < 0)
            sr_die(SR_EXIT_FAIL, "encoding a few-shot prompt: %s", err);
        free(text);
        if ((long)ids.n <= max_prompt_tokens || k == 1) {
            s->ids[slot] = ids.v;
            s->n_ids[slot] = (int)ids.n < max_prompt_tokens ? (int)ids.n : max_prompt_tokens;
            break;
        }
        sr_ids_free(&ids);
        k--;                                  /* too long: one example fewer */
    }
    s->round_seed[slot] = rs;
}

static int si_next(void *ctx, sr_gen_req *req)
{
    si_run *s = ctx;
    if (s->next_req >= s->n_round) return 0;
    int i = s->next_req++;
    *req = (sr_gen_req){ s->ids[i], s->n_ids[i], 1, s->round_seed[i], (void *)(intptr_t)i };
    return 1;
}

static int si_done(void *ctx, const sr_gen_out *o)
{
    si_run *s = ctx;
    int i = (int)(intptr_t)o->req->user;
    char err[256];
    s->reply[i] = sr_gen_text(s->llm->tok, o->tokens, o->n_tokens, &s->reply_len[i], err, sizeof err);
    if (!s->reply[i]) sr_die(SR_EXIT_FAIL, "decoding a reply: %s", err);
    s->prog.tokens += (uint64_t)o->n_tokens;
    return 0;
}

static int si_stop(void *ctx, const sr_gen_req *req, const int32_t *t, int n)
{
    (void)req;
    si_run *s = ctx;
    size_t len;
    const char *piece = sr_tok_piece(s->llm->tok, t[n - 1], &len);
    return piece && sr_si_ends_line(piece, len);
}

/* Parse and filter one reply; 1 when kept (and written). */
static int si_take(si_run *s, sr_writer *out, const char *reply, size_t n)
{
    size_t len;
    char *p = sr_si_parse(reply, n, &len);
    if (!p) sr_die(SR_EXIT_FAIL, "out of memory");
    int why = sr_si_check(p, len, SI_MIN_WORDS, SI_MAX_WORDS, NULL);
    uint64_t key = 0;
    if (why == SR_SI_OK) {
        key = sr_si_key(p, len);
        if (has_key(s, key)) why = SI_DUP;
    }
    si_prompt cand = { 0 };
    if (why == SR_SI_OK) {
        cand = make_prompt(p, len);
        for (size_t i = 0; i < s->n_seeds && why == SR_SI_OK; i++)
            if (sr_rouge_l(&cand.words, &s->seeds[i].words) >= 0.7) why = SI_ROUGE;
        for (size_t i = 0; i < s->n_kept && why == SR_SI_OK; i++)
            if (sr_rouge_l(&cand.words, &s->kept[i].words) >= 0.7) why = SI_ROUGE;
    }
    free(p);
    if (why != SR_SI_OK) {
        s->rejected[why]++;
        free(cand.text);
        sr_words_free(&cand.words);
        return 0;
    }
    add_key(s, key);
    s->kept = realloc(s->kept, (s->n_kept + 1) * sizeof *s->kept);
    if (!s->kept) sr_die(SR_EXIT_FAIL, "out of memory");
    s->kept[s->n_kept++] = cand;
    char hex[17];
    sr_hex64(key, hex);
    sr_recb b;
    sr_recb_init(&b, NULL);
    sr_recb_cstr(&b, "id", hex);
    sr_recb_str(&b, "prompt", cand.text, cand.len);
    sr_recb_cstr(&b, "source", "self-instruct");
    sr_write(out, &b);
    sr_recb_free(&b);
    return 1;
}

static void run_self_instruct(sr_cli *cli, const gen_opts *g, const sr_llm_opts *lo, double temp)
{
    if (g->count <= 0) sr_usage_error("--self-instruct needs --count K (how many new prompts)");
    sr_llm llm;
    si_run s = { .llm = &llm };
    int max_tokens = g->max_tokens < SI_MAX_TOKENS ? (int)g->max_tokens : SI_MAX_TOKENS;
    int cap = (int)g->max_prompt_tokens + max_tokens;
    read_seeds(cli, &s);
    if (s.n_examples == 0)
        sr_die(SR_EXIT_DATA, "--self-instruct: no input record has a prompt of %d to %d words to use "
               "as an example", SI_MIN_WORDS, SI_MAX_WORDS);
    open_model(&llm, lo, cap, (int)g->batch);
    if (cap > llm.model.hp.n_ctx)
        sr_usage_error("--max-prompt-tokens %ld + %d new tokens exceed the model's context of %d",
                       g->max_prompt_tokens, max_tokens, llm.model.hp.n_ctx);
    sr_writer *out = sr_writer_open(cli);
    sr_progress_init(&s.prog, g->quiet, (uint64_t)g->count, "prompts");
    sr_gen_opts eo = engine_opts(g, max_tokens, cap, sr_chat_eot(&llm.chat), temp);
    sr_gen_io io = { .next = si_next, .done = si_done, .stop = si_stop, .ctx = &s };
    /* Rounds of a fixed size, each built from what the rounds before kept,
     * and judged in request order: the same output for any --batch. Give up
     * when the model keeps failing the filters. */
    uint64_t g_next = 0, limit = 20 * (uint64_t)g->count + 10 * SI_ROUND;
    /* a small --count needs no full round (the size depends on --count, never --batch) */
    const int round = g->count < SI_ROUND / 2 ? 2 * (int)g->count : SI_ROUND;
    char err[512];
    while (s.n_kept < (size_t)g->count && g_next < limit) {
        s.n_round = round;
        s.next_req = 0;
        for (int i = 0; i < round; i++)
            build_request(&s, i, g_next + (uint64_t)i, (uint64_t)g->seed, (int)g->max_prompt_tokens);
        g_next += (uint64_t)round;
        if (sr_generate(&llm.model, &eo, &io, NULL, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
        for (int i = 0; i < round; i++) {
            if (s.n_kept < (size_t)g->count) {
                s.tried++;
                s.prog.done += (uint64_t)si_take(&s, out, s.reply[i], s.reply_len[i]);
            }
            free(s.reply[i]); s.reply[i] = NULL;
            free(s.ids[i]); s.ids[i] = NULL;
        }
        sr_progress_show(&s.prog, false);
    }
    sr_progress_show(&s.prog, true);
    sr_writer_close(out);
    if (!g->quiet)
        sr_warn("self-instruct: %llu generated, %zu kept; removed: %llu empty, %llu too short, "
                "%llu too long, %llu punctuation first, %llu non-ASCII, %llu keyword, %llu ROUGE-L >= 0.7, "
                "%llu duplicate", (unsigned long long)s.tried, s.n_kept,
                (unsigned long long)s.rejected[SR_SI_EMPTY], (unsigned long long)s.rejected[SR_SI_SHORT],
                (unsigned long long)s.rejected[SR_SI_LONG], (unsigned long long)s.rejected[SR_SI_PUNCT],
                (unsigned long long)s.rejected[SR_SI_NONASCII], (unsigned long long)s.rejected[SR_SI_KEYWORD],
                (unsigned long long)s.rejected[SI_ROUGE], (unsigned long long)s.rejected[SI_DUP]);
    if (s.n_kept < (size_t)g->count)
        sr_warn("self-instruct: stopped after %llu tries with %zu of %ld prompts",
                (unsigned long long)s.tried, s.n_kept, g->count);
    for (size_t i = 0; i < s.n_seeds; i++) { free(s.seeds[i].text); sr_words_free(&s.seeds[i].words); }
    for (size_t i = 0; i < s.n_kept; i++) { free(s.kept[i].text); sr_words_free(&s.kept[i].words); }
    free(s.seeds); free(s.kept); free(s.examples); free(s.keys);
    sr_llm_close(&llm);
}

/* ---- main ------------------------------------------------------------------- */

static bool given(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], name, n) == 0 && (argv[i][n] == 0 || argv[i][n] == '=')) return true;
    return false;
}

int main(int argc, char **argv)
{
    gen_opts g = { .n = 4, .top_k = 0, .max_tokens = 512, .max_prompt_tokens = 1024, .batch = 16,
                   .seed = 0, .count = 0, .temperature = 0.7, .top_p = 0.9, .min_p = 0,
                   .repeat_penalty = 1.0 };
    sr_llm_opts lo = SR_LLM_OPTS_INIT;
    const sr_opt opts[] = {
        { "samples", 'n', SR_OPT_INT, &g.n, "N", "candidates per prompt", 1, 1000 },
        { "temperature", 0, SR_OPT_DOUBLE, &g.temperature, "T",
          "sampling temperature, 0 = greedy (--self-instruct: 0.6 unless given)", 0, 100 },
        { "top-p", 0, SR_OPT_DOUBLE, &g.top_p, "P", "nucleus sampling; 1 = off", 1e-9, 1 },
        { "top-k", 0, SR_OPT_INT, &g.top_k, "K", "keep the K most likely tokens; 0 = off", 0, 1 << 24 },
        { "min-p", 0, SR_OPT_DOUBLE, &g.min_p, "P", "drop tokens below P × the most likely; 0 = off", 0, 1 },
        { "repeat-penalty", 0, SR_OPT_DOUBLE, &g.repeat_penalty, "R",
          "penalise tokens already in the prompt or reply; 1 = off", 1e-3, 100 },
        { "max-tokens", 0, SR_OPT_INT, &g.max_tokens, "N",
          "new tokens per reply (--self-instruct: at most 256)", 1, 1 << 20 },
        { "max-prompt-tokens", 0, SR_OPT_INT, &g.max_prompt_tokens, "N",
          "longest prompt accepted, chat template included", 1, 1 << 20 },
        { "batch", 0, SR_OPT_INT, &g.batch, "N", "sequences decoded together", 1, 4096 },
        { "seed", 0, SR_OPT_INT, &g.seed, "N", "random seed", 0, 9007199254740991.0 },
        { "shard", 0, SR_OPT_STR, &g.shard, "K/N", "only prompts with XXH64(id) % N == K", 0, 0 },
        { "self-instruct", 0, SR_OPT_FLAG, &g.self_instruct, NULL,
          "write new prompt records made from the input's prompts", 0, 0 },
        { "count", 0, SR_OPT_INT, &g.count, "K", "--self-instruct: how many new prompts", 0, 1e9 },
        { "quiet", 'q', SR_OPT_FLAG, &g.quiet, NULL, "no progress or summary on standard error", 0, 0 },
        SR_LLM_OPTS(&lo),
        SR_OPT_END,
    };
    sr_cli cli = {
        .name = "sr-gen",
        .summary = "Generate N candidate replies per prompt record, or new prompts (--self-instruct).",
        .usage = "[OPTION]... [-i PROMPTS] [-o OUT]",
        .details = "Input: msgpack records {id, prompt, [system]}; every key is kept.\n"
                   "Output: {id, prompt_id, prompt, response, sample, finish, tokens} per candidate,\n"
                   "in input order; with --self-instruct, {id, prompt, source}.",
    };
    sr_cli_parse(&cli, opts, argc, argv);
    uint64_t sk = 0, sn = 1;
    if (g.shard && sr_shard_parse(g.shard, &sk, &sn) < 0)
        sr_usage_error("--shard: '%s' is not K/N with 0 <= K < N", g.shard);
    if (g.self_instruct && g.shard)
        sr_usage_error("--shard does not apply to --self-instruct (its output depends on all of it)");

    if (g.self_instruct)
        run_self_instruct(&cli, &g, &lo, given(argc, argv, "--temperature") ? g.temperature : 0.6);
    else
        run_candidates(&cli, &g, &lo, sk, sn);
    sr_cli_finish(&cli);
    return SR_EXIT_OK;
}
