/* selfinstruct.c — few-shot prompts, the Self-Instruct filters, and the
 * stage that makes new prompts with them (see selfinstruct.h). */
#include "sr/selfinstruct.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "io/progress.h"
#include "io/record.h"

static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static int is_alnum(unsigned char c) { return ((c | 32) >= 'a' && (c | 32) <= 'z') || (c >= '0' && c <= '9'); }
static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* sr_si_normalise, optionally keeping case (the few-shot examples keep it). */
static size_t normalise(const char *s, size_t n, char *out, int fold)
{
    size_t o = 0;
    int pending = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_space(c)) { pending = o > 0; continue; }
        if (pending) { out[o++] = ' '; pending = 0; }
        out[o++] = (char)(fold ? lower(c) : c);
    }
    out[o] = 0;
    return o;
}

static const char PREAMBLE[] =
    "Below is a list of tasks and questions that people ask an AI assistant. "
    "Each one is different: writing, advice, explanation, coding, planning, trivia, math.";

char *sr_si_fewshot(const char *const *examples, const size_t *lens, int k, size_t *len)
{
    size_t cap = sizeof PREAMBLE + 32;
    for (int i = 0; i < k; i++) cap += lens[i] + 24;
    char *out = malloc(cap), *o = out;
    if (!out) return NULL;
    o += sprintf(o, "%s\n\n", PREAMBLE);
    for (int i = 0; i < k; i++) {
        o += sprintf(o, "Task %d: ", i + 1);
        o += normalise(examples[i], lens[i], o, 0);
        *o++ = '\n';
    }
    o += sprintf(o, "Task %d:", k + 1);
    *len = (size_t)(o - out);
    return out;
}

size_t sr_si_normalise(const char *s, size_t n, char *out) { return normalise(s, n, out, 1); }

uint64_t sr_si_key(const char *s, size_t n)
{
    char *t = malloc(n + 1);
    if (!t) return 0;
    size_t m = sr_si_normalise(s, n, t);
    uint64_t h = sr_text_key(t, m);
    free(t);
    return h;
}

bool sr_si_ends_line(const char *piece, size_t n) { return memchr(piece, '\n', n) != NULL; }

char *sr_si_parse(const char *s, size_t n, size_t *len)
{
    size_t a = 0;
    while (a < n && is_space((unsigned char)s[a])) a++;
    size_t b = a;
    while (b < n && s[b] != '\n') b++;
    while (b > a && is_space((unsigned char)s[b - 1])) b--;
    /* "Task 12:" when the model numbered its own line */
    if (b - a > 5 && strncmp(s + a, "Task ", 5) == 0) {
        size_t j = a + 5;
        while (j < b && s[j] >= '0' && s[j] <= '9') j++;
        if (j > a + 5 && j < b && s[j] == ':') {
            a = j + 1;
            while (a < b && is_space((unsigned char)s[a])) a++;
        }
    }
    char *out = malloc(b - a + 1);
    if (!out) return NULL;
    memcpy(out, s + a, b - a);
    out[b - a] = 0;
    *len = b - a;
    return out;
}

/* ---- ROUGE-L ---------------------------------------------------------------- */

int sr_words_of(const char *s, size_t n, sr_words *out)
{
    out->n = 0;
    out->w = malloc(sizeof(uint32_t) * (n / 2 + 1));
    if (!out->w) return -1;
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (!(is_alnum(c) || c >= 0x80)) { i++; continue; }
        uint32_t h = 2166136261u;                  /* FNV-1a of the lower-cased word */
        while (i < n && (is_alnum((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80)) {
            h = (h ^ lower((unsigned char)s[i])) * 16777619u;
            i++;
        }
        out->w[out->n++] = h;
    }
    return 0;
}

void sr_words_free(sr_words *w) { free(w->w); w->w = NULL; w->n = 0; }

double sr_rouge_l(const sr_words *a, const sr_words *b)
{
    if (a->n == 0 || b->n == 0) return 0;
    /* LCS by dynamic programming over one row: O(|a||b|) time, O(|b|) memory. */
    int *row = calloc((size_t)b->n + 1, sizeof *row);
    if (!row) return 1;   /* out of memory: treat as too similar (refuse), never crash */
    for (int i = 1; i <= a->n; i++) {
        int diag = 0;
        for (int j = 1; j <= b->n; j++) {
            int up = row[j];
            row[j] = a->w[i - 1] == b->w[j - 1] ? diag + 1 : (row[j - 1] > up ? row[j - 1] : up);
            diag = up;
        }
    }
    double lcs = row[b->n];
    free(row);
    if (lcs == 0) return 0;
    double p = lcs / a->n, r = lcs / b->n;
    return 2 * p * r / (p + r);
}

/* ---- filters ---------------------------------------------------------------- */

/* Self-Instruct's list: things a text-only model cannot see, make or do. */
static const char *const KEYWORDS[] = {
    "image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps",
    "draw", "drawing", "plot", "plots", "go to", "video", "videos", "audio", "music",
    "flowchart", "diagram", "diagrams", "photo", "photos",
};

const char *sr_si_keyword(const char *s, size_t n)
{
    for (size_t k = 0; k < sizeof KEYWORDS / sizeof *KEYWORDS; k++) {
        const char *kw = KEYWORDS[k];
        size_t m = strlen(kw);
        for (size_t i = 0; i + m <= n; i++) {
            size_t j = 0;
            while (j < m && lower((unsigned char)s[i + j]) == (unsigned char)kw[j]) j++;
            if (j < m) continue;
            if (i > 0 && is_alnum((unsigned char)s[i - 1])) continue;
            if (i + m < n && is_alnum((unsigned char)s[i + m])) continue;
            return kw;
        }
    }
    return NULL;
}

int sr_si_check(const char *s, size_t n, int min_words, int max_words, const char **keyword)
{
    if (keyword) *keyword = NULL;
    size_t a = 0;
    while (a < n && is_space((unsigned char)s[a])) a++;
    if (a == n) return SR_SI_EMPTY;
    int words = 0;
    for (size_t i = a; i < n; i++)
        if (!is_space((unsigned char)s[i]) && (i == a || is_space((unsigned char)s[i - 1]))) words++;
    if (words < min_words) return SR_SI_SHORT;
    if (words > max_words) return SR_SI_LONG;
    unsigned char c0 = (unsigned char)s[a];
    if (c0 < 0x80 && !is_alnum(c0)) return SR_SI_PUNCT;
    size_t ascii = 0, other = 0;
    for (size_t i = a; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_alnum(c)) ascii++;
        else if (c >= 0xc0) other++;          /* count characters by their lead bytes */
    }
    if (other > ascii) return SR_SI_NONASCII;
    const char *kw = sr_si_keyword(s + a, n - a);
    if (kw) { if (keyword) *keyword = kw; return SR_SI_KEYWORD; }
    return SR_SI_OK;
}

/* ---- the stage ---------------------------------------------------------------------- */

enum { SI_SEEDS = 6, SI_FROM_NEW = 2, SI_MIN_WORDS = 3, SI_MAX_WORDS = 150 };

/* A prompt the stage knows: its text, its words for ROUGE-L, and its id (the
 * record's, or the hex dedup key) for the shots key. */
typedef struct si_prompt { char *text; size_t len; sr_words words; char *id; } si_prompt;

/* A shot of a request, as an index that survives s->kept growing: a seed's,
 * or with SHOT_KEPT set, a kept prompt's. */
#define SHOT_KEPT ((size_t)1 << (sizeof(size_t) * 8 - 1))

struct sr_si {
    sr_llm *llm;
    si_prompt *seeds, *kept;     /* seeds: the input's prompts, then the known ones */
    size_t n_seeds, n_kept, n_known, cap_seeds;
    size_t *examples;            /* seeds usable as examples (within the length bounds) */
    size_t n_examples;
    uint64_t *keys;              /* dedup keys: seeds and kept, sorted */
    size_t n_keys;
    /* the round in flight */
    int32_t *ids[SR_SI_ROUND];
    int n_ids[SR_SI_ROUND];
    char *reply[SR_SI_ROUND];
    size_t reply_len[SR_SI_ROUND];
    int n_round, next_req;
    uint64_t round_seed[SR_SI_ROUND];
    size_t shot[SR_SI_ROUND][SI_SEEDS + SI_FROM_NEW];   /* the shots of each request */
    int n_shot[SR_SI_ROUND];
    bool with_shots;                   /* write them as the key "shots" */
    sr_progress prog;
    uint64_t rejected[SR_SI_KEYWORD + 3];   /* by reason; + rouge, duplicate */
    uint64_t tried;
};

enum { SI_ROUGE = SR_SI_KEYWORD + 1, SI_DUP = SR_SI_KEYWORD + 2 };

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static bool has_key(const sr_si *s, uint64_t k)
{
    return s->n_keys && bsearch(&k, s->keys, s->n_keys, sizeof k, cmp_u64) != NULL;
}

static void add_key(sr_si *s, uint64_t k)
{
    s->keys = realloc(s->keys, (s->n_keys + 1) * sizeof *s->keys);
    if (!s->keys) sr_die(SR_EXIT_FAIL, "out of memory");
    size_t i = s->n_keys++;
    while (i > 0 && s->keys[i - 1] > k) { s->keys[i] = s->keys[i - 1]; i--; }
    s->keys[i] = k;
}

static si_prompt make_prompt(const char *t, size_t n)
{
    si_prompt p = { malloc(n + 1), n, { 0 }, NULL };
    if (!p.text || sr_words_of(t, n, &p.words) < 0) sr_die(SR_EXIT_FAIL, "out of memory");
    memcpy(p.text, t, n);
    p.text[n] = 0;
    return p;
}

static char *id_of(const sr_rec *rec, uint64_t key)
{
    sr_str id;
    char hex[17];
    if (sr_get_str(rec, "id", &id) != 1) { sr_hex64(key, hex); id.p = hex; id.n = 16; }
    char *out = malloc(id.n + 1);
    if (!out) sr_die(SR_EXIT_FAIL, "out of memory");
    memcpy(out, id.p, id.n);
    out[id.n] = 0;
    return out;
}

/* Every prompt of in, each text once, appended to s->seeds; with examples,
 * those within the word bounds may be shots, else they only filter. */
static void read_prompts(sr_si *s, sr_reader *in, bool examples)
{
    sr_rec rec;
    while (sr_read(in, &rec)) {
        sr_str prompt;
        if (!sr_need_str(&rec, "prompt", &prompt)) continue;
        if (s->n_seeds == s->cap_seeds) {
            s->cap_seeds = s->cap_seeds ? 2 * s->cap_seeds : 64;
            s->seeds = realloc(s->seeds, s->cap_seeds * sizeof *s->seeds);
            s->examples = realloc(s->examples, s->cap_seeds * sizeof *s->examples);
            if (!s->seeds || !s->examples) sr_die(SR_EXIT_FAIL, "out of memory");
        }
        uint64_t k = sr_si_key(prompt.p, prompt.n);
        if (has_key(s, k)) continue;           /* the same text twice counts once */
        add_key(s, k);
        if (examples && sr_si_check(prompt.p, prompt.n, SI_MIN_WORDS, SI_MAX_WORDS, NULL) == SR_SI_OK)
            s->examples[s->n_examples++] = s->n_seeds;
        s->n_known += !examples;
        s->seeds[s->n_seeds] = make_prompt(prompt.p, prompt.n);
        s->seeds[s->n_seeds++].id = id_of(&rec, k);
    }
}

sr_si *sr_si_read(sr_cli *cli)
{
    sr_si *s = calloc(1, sizeof *s);
    if (!s) sr_die(SR_EXIT_FAIL, "out of memory");
    sr_reader *in = sr_reader_open(cli);
    read_prompts(s, in, true);
    sr_reader_close(in);
    if (s->n_examples == 0)
        sr_die(SR_EXIT_DATA, "--self-instruct: no input record has a prompt of %d to %d words to use "
               "as an example", SI_MIN_WORDS, SI_MAX_WORDS);
    return s;
}

void sr_si_read_known(sr_si *s, sr_cli *cli, const char *path)
{
    sr_reader *in = sr_reader_open_path(cli, path);
    read_prompts(s, in, false);
    sr_reader_close(in);
}

void sr_si_with_shots(sr_si *s, bool on) { s->with_shots = on; }

/* The examples of request g, drawn without replacement from its own
 * stream: 6 seeds and 2 earlier kept prompts, shuffled so the new prompts
 * are not always last. Returns how many. */
static int pick_examples(const sr_si *s, uint64_t rs, size_t *shot)
{
    sr_rng rng = sr_si_shots_rng(rs);
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
        shot[k++] = j;
    }
    int nn = s->n_kept < SI_FROM_NEW ? (int)s->n_kept : SI_FROM_NEW;
    size_t first = s->n_kept ? sr_rng_next(&rng) % s->n_kept : 0;
    for (int i = 0; i < nn; i++) {
        size_t j = (first + i * (s->n_kept / 2 + 1)) % s->n_kept;
        shot[k++] = j | SHOT_KEPT;
    }
    for (int i = k - 1; i > 0; i--) {
        int j = (int)(sr_rng_next(&rng) % (uint64_t)(i + 1));
        size_t t = shot[i]; shot[i] = shot[j]; shot[j] = t;
    }
    return k;
}

/* The few-shot prompt of request g into slot `slot`: one example fewer
 * while it is longer than max_prompt_tokens (then cut, with one left). */
static void build_request(sr_si *s, int slot, uint64_t g, uint64_t seed, int max_prompt_tokens)
{
    uint64_t rs = sr_si_request_seed(g, seed);
    const char *ex[SI_SEEDS + SI_FROM_NEW];
    size_t len[SI_SEEDS + SI_FROM_NEW];
    size_t *shot = s->shot[slot];
    int k = pick_examples(s, rs, shot);
    for (int i = 0; i < k; i++) {
        const si_prompt *p = shot[i] & SHOT_KEPT ? &s->kept[shot[i] & ~SHOT_KEPT] : &s->seeds[shot[i]];
        ex[i] = p->text;
        len[i] = p->len;
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
    s->n_shot[slot] = k;
    s->round_seed[slot] = rs;
}

static int si_next(void *ctx, sr_gen_req *req)
{
    sr_si *s = ctx;
    if (s->next_req >= s->n_round) return 0;
    int i = s->next_req++;
    *req = (sr_gen_req){ s->ids[i], s->n_ids[i], 1, s->round_seed[i], (void *)(intptr_t)i };
    return 1;
}

static int si_done(void *ctx, const sr_gen_out *o)
{
    sr_si *s = ctx;
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
    sr_si *s = ctx;
    size_t len;
    const char *piece = sr_tok_piece(s->llm->tok, t[n - 1], &len);
    return piece && sr_si_ends_line(piece, len);
}

/* Why reply p[0..len) is refused (its dedup key in *key), or SR_SI_OK with
 * the prompt made in *cand. */
static int si_filter(const sr_si *s, const char *p, size_t len, uint64_t *key, si_prompt *cand)
{
    int why = sr_si_check(p, len, SI_MIN_WORDS, SI_MAX_WORDS, NULL);
    if (why == SR_SI_OK) {
        *key = sr_si_key(p, len);
        if (has_key(s, *key)) why = SI_DUP;
    }
    if (why == SR_SI_OK) {
        *cand = make_prompt(p, len);
        for (size_t i = 0; i < s->n_seeds && why == SR_SI_OK; i++)
            if (sr_rouge_l(&cand->words, &s->seeds[i].words) >= 0.7) why = SI_ROUGE;
        for (size_t i = 0; i < s->n_kept && why == SR_SI_OK; i++)
            if (sr_rouge_l(&cand->words, &s->kept[i].words) >= 0.7) why = SI_ROUGE;
    }
    return why;
}

/* The ids of request slot's shots as the key "shots". */
static void put_shots(const sr_si *s, int slot, sr_recb *b)
{
    msgpack_object ids[SI_SEEDS + SI_FROM_NEW];
    for (int i = 0; i < s->n_shot[slot]; i++) {
        size_t j = s->shot[slot][i];
        const char *id = j & SHOT_KEPT ? s->kept[j & ~SHOT_KEPT].id : s->seeds[j].id;
        ids[i] = (msgpack_object){ .type = MSGPACK_OBJECT_STR,
                                   .via.str = { (uint32_t)strlen(id), id } };
    }
    msgpack_object arr = { .type = MSGPACK_OBJECT_ARRAY, .via.array = { (uint32_t)s->n_shot[slot], ids } };
    sr_recb_obj(b, "shots", &arr);
}

/* Parse and filter the reply of request slot; 1 when kept (and written). */
static int si_take(sr_si *s, sr_writer *out, int slot)
{
    const char *reply = s->reply[slot];
    size_t n = s->reply_len[slot];
    size_t len;
    char *p = sr_si_parse(reply, n, &len);
    if (!p) sr_die(SR_EXIT_FAIL, "out of memory");
    uint64_t key = 0;
    si_prompt cand = { 0 };
    int why = si_filter(s, p, len, &key, &cand);
    free(p);
    if (why != SR_SI_OK) {
        s->rejected[why]++;
        free(cand.text);
        sr_words_free(&cand.words);
        return 0;
    }
    add_key(s, key);
    char hex[17];
    sr_hex64(key, hex);
    cand.id = strdup(hex);
    s->kept = realloc(s->kept, (s->n_kept + 1) * sizeof *s->kept);
    if (!s->kept || !cand.id) sr_die(SR_EXIT_FAIL, "out of memory");
    s->kept[s->n_kept++] = cand;
    sr_recb b;
    sr_recb_init(&b, NULL);
    sr_recb_cstr(&b, "id", hex);
    sr_recb_str(&b, "prompt", cand.text, cand.len);
    sr_recb_cstr(&b, "source", "self-instruct");
    if (s->with_shots) put_shots(s, slot, &b);
    sr_write(out, &b);
    sr_recb_free(&b);
    return 1;
}

static void si_summary(const sr_si *s, long count)
{
    sr_warn("self-instruct: %zu seed prompts (%zu usable as shots), %zu known prompts (only for dedup and "
            "ROUGE-L)", s->n_seeds - s->n_known, s->n_examples, s->n_known);
    sr_warn("self-instruct: %llu generated, %zu kept; removed: %llu empty, %llu too short, "
            "%llu too long, %llu punctuation first, %llu non-ASCII, %llu keyword, %llu ROUGE-L >= 0.7, "
            "%llu duplicate", (unsigned long long)s->tried, s->n_kept,
            (unsigned long long)s->rejected[SR_SI_EMPTY], (unsigned long long)s->rejected[SR_SI_SHORT],
            (unsigned long long)s->rejected[SR_SI_LONG], (unsigned long long)s->rejected[SR_SI_PUNCT],
            (unsigned long long)s->rejected[SR_SI_NONASCII], (unsigned long long)s->rejected[SR_SI_KEYWORD],
            (unsigned long long)s->rejected[SI_ROUGE], (unsigned long long)s->rejected[SI_DUP]);
    if (s->n_kept < (size_t)count)
        sr_warn("self-instruct: stopped after %llu tries with %zu of %ld prompts",
                (unsigned long long)s->tried, s->n_kept, count);
}

void sr_si_run(sr_si *s, sr_cli *cli, sr_llm *llm, const sr_si_opts *o, const sr_gen_opts *eo)
{
    s->llm = llm;
    sr_writer *out = sr_writer_open(cli);
    sr_progress_init(&s->prog, o->quiet, (uint64_t)o->count, "prompts");
    sr_gen_io io = { .next = si_next, .done = si_done, .stop = si_stop, .ctx = s };
    /* Rounds of a fixed size, each built from what the rounds before kept,
     * and judged in request order: the same output for any --batch. Give up
     * when the model keeps failing the filters. */
    uint64_t g_next = 0, limit = 20 * (uint64_t)o->count + 10 * SR_SI_ROUND;
    /* a small --count needs no full round (the size depends on --count, never --batch) */
    const int round = o->count < SR_SI_ROUND / 2 ? 2 * (int)o->count : SR_SI_ROUND;
    char err[512];
    while (s->n_kept < (size_t)o->count && g_next < limit) {
        s->n_round = round;
        s->next_req = 0;
        for (int i = 0; i < round; i++)
            build_request(s, i, g_next + (uint64_t)i, o->seed, (int)o->max_prompt_tokens);
        g_next += (uint64_t)round;
        if (sr_generate(&llm->model, eo, &io, NULL, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
        for (int i = 0; i < round; i++) {
            if (s->n_kept < (size_t)o->count) {
                s->tried++;
                s->prog.done += (uint64_t)si_take(s, out, i);
            }
            free(s->reply[i]); s->reply[i] = NULL;
            free(s->ids[i]); s->ids[i] = NULL;
        }
        sr_progress_show(&s->prog, false);
    }
    sr_progress_show(&s->prog, true);
    sr_writer_close(out);
    if (!o->quiet) si_summary(s, o->count);
}

void sr_si_free(sr_si *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n_seeds; i++) {
        free(s->seeds[i].text); free(s->seeds[i].id); sr_words_free(&s->seeds[i].words);
    }
    for (size_t i = 0; i < s->n_kept; i++) {
        free(s->kept[i].text); free(s->kept[i].id); sr_words_free(&s->kept[i].words);
    }
    free(s->seeds); free(s->kept); free(s->examples); free(s->keys);
    free(s);
}
