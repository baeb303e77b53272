/* oasst.c — Open Assistant exports read into one message-tree model, and the
 * filters that select seed data from it (the rules are in oasst.h). */
#include "sr/oasst.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"

enum { ROLE_PROMPTER, ROLE_ASSISTANT };
#define NONE UINT32_MAX

/* Items found by id through hash chains; both kinds start with this. */
typedef struct node {
    char *id;
    uint32_t next;          /* the next item in the same bucket, or NONE */
} node;

/* What is kept of a message: ids for the tree structure, and the text only
 * while the message may still be output. */
typedef struct msg {
    node k;
    char *parent;           /* an assistant message's parent id; NULL for the rest */
    char *tree;             /* roots only: the tree id, when given */
    char *text;
    uint64_t seq, line;     /* position among all messages read; input line */
    int64_t rank;           /* -1: none */
    uint8_t role;
    bool root;              /* a prompter message without a parent */
    uint8_t reason;         /* its own filters' verdict; after selection, the final one */
} msg;

typedef struct tree {
    node k;
    uint64_t first_seq;     /* where the tree first appeared: the output order */
} tree;

typedef struct idmap {
    uint32_t *bucket;       /* heads of the chains; the newest item is the head */
    size_t n;               /* a power of two, or 0 */
} idmap;

struct oasst_set {
    oasst_filter f;
    msg *m;
    size_t nm, capm;
    tree *t;
    size_t nt, capt;
    idmap mi, ti;
    uint64_t seq;
    oasst_stats st;
    oasst_record *recs;
    size_t nrecs;
    bool selected;
};

static const char *const reason_names[OASST_N_REASONS] = {
    [OASST_KEPT] = "kept",
    [OASST_NOT_FIRST_TURN] = "not first turn",
    [OASST_ORPHAN] = "parent missing",
    [OASST_SPLIT] = "split",
    [OASST_TREE_STATE] = "tree state",
    [OASST_DELETED] = "deleted",
    [OASST_REVIEW_FAILED] = "review failed",
    [OASST_UNREVIEWED] = "unreviewed",
    [OASST_LANGUAGE] = "language",
    [OASST_NO_TEXT] = "no text",
    [OASST_RANK] = "rank",
    [OASST_PROMPT_DROPPED] = "prompt dropped",
    [OASST_FEW_RANKED] = "fewer than 2 ranked",
    [OASST_NO_REPLY] = "no reply kept",
};

const char *oasst_reason_name(int reason)
{
    return reason >= 0 && reason < OASST_N_REASONS ? reason_names[reason] : "?";
}

bool oasst_split_keeps(const oasst_filter *f, const char *tree_id)
{
    const char *salt = f->split_salt ? f->split_salt : "";
    bool in = sr_split_percentile(tree_id, strlen(tree_id), salt, strlen(salt)) < (f->keep < 0 ? 0 : f->keep);
    return in != f->held_out;
}

/* ---- finding items by id ----------------------------------------------------- */

static node *node_at(void *items, size_t stride, uint32_t i)
{
    return (node *)((char *)items + (size_t)i * stride);
}

static size_t bucket_of(const idmap *h, const char *id)
{
    return sr_hash(id, strlen(id), 0) & (h->n - 1);
}

static uint32_t idmap_find(const idmap *h, void *items, size_t stride, const char *id)
{
    if (!h->n) return NONE;
    for (uint32_t i = h->bucket[bucket_of(h, id)]; i != NONE; i = node_at(items, stride, i)->next)
        if (strcmp(node_at(items, stride, i)->id, id) == 0) return i;
    return NONE;
}

/* Link item i, the newest of count items; -1 when out of memory. */
static int idmap_add(idmap *h, void *items, size_t stride, size_t count, uint32_t i)
{
    if (count > h->n / 2) {     /* grow, and relink oldest first so the newest stay heads */
        size_t n = h->n ? 2 * h->n : 1024;
        uint32_t *b = malloc(n * sizeof *b);
        if (!b) return -1;
        free(h->bucket);
        h->bucket = b;
        h->n = n;
        for (size_t j = 0; j < n; j++) b[j] = NONE;
        for (uint32_t j = 0; j < i; j++) {
            node *nd = node_at(items, stride, j);
            size_t k = bucket_of(h, nd->id);
            nd->next = b[k];
            b[k] = j;
        }
    }
    node *nd = node_at(items, stride, i);
    size_t k = bucket_of(h, nd->id);
    nd->next = h->bucket[k];
    h->bucket[k] = i;
    return 0;
}

/* Unlink item i, the newest: it heads its chain. */
static void idmap_pop(idmap *h, void *items, size_t stride, uint32_t i)
{
    node *nd = node_at(items, stride, i);
    h->bucket[bucket_of(h, nd->id)] = nd->next;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return 0;
    size_t cap2 = *cap ? 2 * *cap : 256;
    if (need > UINT32_MAX - 1) return -1;   /* indices are 32-bit */
    void *q = realloc(*p, cap2 * size);
    if (!q) return -1;
    *p = q;
    *cap = cap2;
    return 0;
}

/* ---- the set ------------------------------------------------------------------- */

oasst_set *oasst_new(const oasst_filter *f)
{
    oasst_set *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->f = *f;
    if (!s->f.lang) s->f.lang = "en";
    return s;
}

static void free_msg(msg *m)
{
    free(m->k.id);
    free(m->parent);
    free(m->tree);
    free(m->text);
}

void oasst_free(oasst_set *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nm; i++) free_msg(&s->m[i]);
    for (size_t i = 0; i < s->nt; i++) free(s->t[i].k.id);
    free(s->m);
    free(s->t);
    free(s->mi.bucket);
    free(s->ti.bucket);
    free(s->recs);
    free(s);
}

const oasst_stats *oasst_get_stats(const oasst_set *s) { return &s->st; }

/* Note that a tree appears at message seq, if it is new. */
static int note_tree(oasst_set *s, const char *id, uint64_t seq)
{
    if (idmap_find(&s->ti, s->t, sizeof *s->t, id) != NONE) return 0;
    if (grow((void **)&s->t, &s->capt, s->nt + 1, sizeof *s->t)) return OASST_FAIL;
    tree *t = &s->t[s->nt];
    *t = (tree){ { strdup(id), NONE }, seq };
    if (!t->k.id) return OASST_FAIL;
    if (idmap_add(&s->ti, s->t, sizeof *s->t, s->nt + 1, (uint32_t)s->nt)) {
        free(t->k.id);
        return OASST_FAIL;
    }
    s->nt++;
    return 0;
}

/* Undo everything a bad line added: the newest items go first. */
static void rollback(oasst_set *s, size_t nm, size_t nt)
{
    while (s->nm > nm) {
        s->nm--;
        idmap_pop(&s->mi, s->m, sizeof *s->m, (uint32_t)s->nm);
        free_msg(&s->m[s->nm]);
    }
    while (s->nt > nt) {
        s->nt--;
        idmap_pop(&s->ti, s->t, sizeof *s->t, (uint32_t)s->nt);
        free(s->t[s->nt].k.id);
    }
}

/* ---- reading a message's fields ------------------------------------------------ */

typedef struct fields {
    const char *id, *parent, *tree, *text, *lang, *tree_state;
    size_t text_len;
    int role;
    int review;             /* 1 passed, 0 failed, -1 null or absent */
    bool deleted;
    int64_t rank;           /* -1: null or absent */
} fields;

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* "line 12 (message_id "x"): field "rank": expected ..." */
static int bad_field(char *err, size_t errlen, const char *where, const char *id, const char *key,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int bad_field(char *err, size_t errlen, const char *where, const char *id, const char *key,
                     const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (id)
        snprintf(err, errlen, "%s (message_id \"%.80s\"): field \"%s\": %s", where, id, key, msg);
    else
        snprintf(err, errlen, "%s: field \"%s\": %s", where, key, msg);
    return OASST_BAD;
}

/* A string, or NULL when null or absent. */
static int opt_str(json_t *m, const char *key, const char **out, const char *where, const char *id,
                   char *err, size_t errlen)
{
    json_t *v = json_object_get(m, key);
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v))
        return bad_field(err, errlen, where, id, key, "expected a string or null, got %s", json_type_name(v));
    *out = json_string_value(v);
    return 0;
}

/* A boolean: 1 true, 0 false, -1 null or absent. */
static int opt_bool(json_t *m, const char *key, int *out, const char *where, const char *id,
                    char *err, size_t errlen)
{
    json_t *v = json_object_get(m, key);
    *out = -1;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_boolean(v))
        return bad_field(err, errlen, where, id, key, "expected true, false or null, got %s", json_type_name(v));
    *out = json_is_true(v);
    return 0;
}

static int read_fields(json_t *m, fields *f, const char *where, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    json_t *v = json_object_get(m, "message_id");
    if (!v) return bad_field(err, errlen, where, NULL, "message_id", "missing");
    if (!json_is_string(v) || json_string_length(v) == 0)
        return bad_field(err, errlen, where, NULL, "message_id", "expected a non-empty string, got %s",
                         json_is_string(v) ? "\"\"" : json_type_name(v));
    f->id = json_string_value(v);

    v = json_object_get(m, "role");
    if (!v) return bad_field(err, errlen, where, f->id, "role", "missing");
    if (!json_is_string(v))
        return bad_field(err, errlen, where, f->id, "role", "expected a string, got %s", json_type_name(v));
    if (strcmp(json_string_value(v), "prompter") == 0)
        f->role = ROLE_PROMPTER;
    else if (strcmp(json_string_value(v), "assistant") == 0)
        f->role = ROLE_ASSISTANT;
    else
        return bad_field(err, errlen, where, f->id, "role", "expected \"prompter\" or \"assistant\", got \"%.40s\"",
                         json_string_value(v));

    v = json_object_get(m, "text");
    if (!v) return bad_field(err, errlen, where, f->id, "text", "missing");
    if (!json_is_string(v))
        return bad_field(err, errlen, where, f->id, "text", "expected a string, got %s", json_type_name(v));
    f->text = json_string_value(v);
    f->text_len = json_string_length(v);

    v = json_object_get(m, "rank");
    f->rank = -1;
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v))
            return bad_field(err, errlen, where, f->id, "rank", "expected an integer or null, got %s",
                             json_type_name(v));
        if (json_integer_value(v) < 0)
            return bad_field(err, errlen, where, f->id, "rank", "negative (%lld)",
                             (long long)json_integer_value(v));
        f->rank = json_integer_value(v);
    }

    int deleted;
    if (opt_str(m, "parent_id", &f->parent, where, f->id, err, errlen) ||
        opt_str(m, "message_tree_id", &f->tree, where, f->id, err, errlen) ||
        opt_str(m, "lang", &f->lang, where, f->id, err, errlen) ||
        opt_str(m, "tree_state", &f->tree_state, where, f->id, err, errlen) ||
        opt_bool(m, "review_result", &f->review, where, f->id, err, errlen) ||
        opt_bool(m, "deleted", &deleted, where, f->id, err, errlen))
        return OASST_BAD;
    f->deleted = deleted == 1;
    return 0;
}

/* Empty, or only ASCII spaces, tabs and line breaks. */
static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' && s[i] != '\v' && s[i] != '\f')
            return false;
    return true;
}

/* The message's own filters, in the order of the reasons. */
static int own_verdict(const oasst_set *s, const fields *f, const char *tree_state)
{
    if (tree_state && strcmp(tree_state, "ready_for_export") != 0) return OASST_TREE_STATE;
    if (f->deleted) return OASST_DELETED;
    if (f->review == 0) return OASST_REVIEW_FAILED;
    if (f->review < 0) return OASST_UNREVIEWED;
    if (!f->lang || strcmp(f->lang, s->f.lang) != 0) return OASST_LANGUAGE;
    if (blank(f->text, f->text_len)) return OASST_NO_TEXT;
    if (f->role == ROLE_ASSISTANT && (f->rank < 0 || (!s->f.ranked && f->rank > s->f.max_rank)))
        return OASST_RANK;
    return OASST_KEPT;
}

/* Keep a message: parent is NULL for a root, tree_id is kept for roots. */
static int store(oasst_set *s, const fields *f, const char *parent, const char *tree_id,
                 const char *tree_state, uint64_t lineno, const char *where, char *err, size_t errlen)
{
    uint32_t dup = idmap_find(&s->mi, s->m, sizeof *s->m, f->id);
    if (dup != NONE)
        return bad_field(err, errlen, where, f->id, "message_id", "already seen on line %llu",
                         (unsigned long long)s->m[dup].line);
    if (grow((void **)&s->m, &s->capm, s->nm + 1, sizeof *s->m)) return OASST_FAIL;

    bool root = f->role == ROLE_PROMPTER && !parent;
    bool reply = f->role == ROLE_ASSISTANT && parent;
    msg *m = &s->m[s->nm];
    *m = (msg){ .k = { strdup(f->id), NONE }, .seq = ++s->seq, .line = lineno, .rank = f->rank,
                .role = (uint8_t)f->role, .root = root, .reason = (uint8_t)own_verdict(s, f, tree_state) };
    bool ok = m->k.id != NULL;
    if (reply) ok = ok && (m->parent = strdup(parent));
    if (root && tree_id) ok = ok && (m->tree = strdup(tree_id));
    if ((root || reply) && m->reason == OASST_KEPT) ok = ok && (m->text = strdup(f->text));
    if (!ok || idmap_add(&s->mi, s->m, sizeof *s->m, s->nm + 1, (uint32_t)s->nm)) {
        free_msg(m);
        return OASST_FAIL;
    }
    s->nm++;
    s->st.messages++;
    return 0;
}

/* ---- the two layouts ------------------------------------------------------------ */

static int add_flat(oasst_set *s, json_t *o, uint64_t lineno, char *err, size_t errlen)
{
    char where[64];
    snprintf(where, sizeof where, "line %llu", (unsigned long long)lineno);
    fields f;
    int rc = read_fields(o, &f, where, err, errlen);
    if (rc) return rc;
    if (f.tree && (rc = note_tree(s, f.tree, s->seq + 1))) return rc;
    return store(s, &f, f.parent, f.tree, f.tree_state, lineno, where, err, errlen);
}

/* A message of a nested tree and its replies; only the first turn is kept. */
static int walk(oasst_set *s, json_t *m, int depth, const char *parent, const char *tree_id,
                const char *tree_state, uint64_t lineno, char *err, size_t errlen)
{
    char where[96];
    snprintf(where, sizeof where, "line %llu, depth %d", (unsigned long long)lineno, depth);
    fields f;
    int rc = read_fields(m, &f, where, err, errlen);
    if (rc) return rc;
    if (f.tree_state) tree_state = f.tree_state;
    if (depth <= 1) {
        if ((rc = store(s, &f, parent, tree_id, tree_state, lineno, where, err, errlen))) return rc;
    } else {
        s->seq++;
        s->st.messages++;
        s->st.dropped[OASST_NOT_FIRST_TURN]++;
    }
    json_t *replies = json_object_get(m, "replies");
    if (!replies || json_is_null(replies)) return 0;
    if (!json_is_array(replies))
        return bad_field(err, errlen, where, f.id, "replies", "expected an array, got %s", json_type_name(replies));
    for (size_t i = 0; i < json_array_size(replies); i++) {
        json_t *r = json_array_get(replies, i);
        if (!json_is_object(r))
            return bad_field(err, errlen, where, f.id, "replies", "element %zu: expected an object, got %s", i,
                             json_type_name(r));
        if ((rc = walk(s, r, depth + 1, f.id, tree_id, tree_state, lineno, err, errlen))) return rc;
    }
    return 0;
}

static int add_tree(oasst_set *s, json_t *o, uint64_t lineno, char *err, size_t errlen)
{
    char where[64];
    snprintf(where, sizeof where, "line %llu (a tree)", (unsigned long long)lineno);
    const char *tree_id, *tree_state;
    int rc;
    if ((rc = opt_str(o, "message_tree_id", &tree_id, where, NULL, err, errlen)) ||
        (rc = opt_str(o, "tree_state", &tree_state, where, NULL, err, errlen)))
        return rc;
    json_t *prompt = json_object_get(o, "prompt");
    if (!json_is_object(prompt))
        return bad_field(err, errlen, where, NULL, "prompt", "expected an object, got %s", json_type_name(prompt));
    if (!tree_id) {     /* a tree's id is its root's id */
        json_t *v = json_object_get(prompt, "message_id");
        tree_id = json_is_string(v) ? json_string_value(v) : NULL;
    }
    if (tree_id && (rc = note_tree(s, tree_id, s->seq + 1))) return rc;
    return walk(s, prompt, 0, NULL, tree_id, tree_state, lineno, err, errlen);
}

int oasst_add_line(oasst_set *s, const char *line, size_t n, uint64_t lineno, char *err, size_t errlen)
{
    if (blank(line, n)) return 0;
    json_error_t je;
    json_t *o = json_loadb(line, n, 0, &je);
    if (!o) {
        snprintf(err, errlen, "line %llu: not valid JSON at byte %d: %s", (unsigned long long)lineno,
                 je.position, je.text);
        return OASST_BAD;
    }
    size_t nm = s->nm, nt = s->nt;
    uint64_t seq = s->seq;
    oasst_stats st = s->st;
    int rc;
    if (!json_is_object(o)) {
        snprintf(err, errlen, "line %llu: expected a JSON object (a message or a tree), got %s",
                 (unsigned long long)lineno, json_type_name(o));
        rc = OASST_BAD;
    } else if (json_object_get(o, "message_id")) {
        rc = add_flat(s, o, lineno, err, errlen);
    } else if (json_object_get(o, "prompt")) {
        rc = add_tree(s, o, lineno, err, errlen);
    } else {
        snprintf(err, errlen, "line %llu: neither a message (no \"message_id\") nor a tree (no \"prompt\")",
                 (unsigned long long)lineno);
        rc = OASST_BAD;
    }
    if (rc) {   /* a line is taken whole or not at all */
        rollback(s, nm, nt);
        s->seq = seq;
        s->st = st;
    }
    s->st.trees = s->nt;
    json_decref(o);
    return rc;
}

/* ---- selection ---------------------------------------------------------------------- */

/* A selected reply, with its sort keys. */
typedef struct pick {
    uint64_t tree_seq, root_seq;    /* trees in order of appearance, then roots */
    int64_t rank;                   /* ranked: by rank, then message_id; IFT: 0 and NULL */
    const char *id;
    uint64_t seq;                   /* then input order */
    uint32_t root, reply;           /* message indices */
} pick;

static int cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }

static int cmp_pick(const void *a, const void *b)
{
    const pick *p = a, *q = b;
    int c;
    if ((c = cmp_u64(p->tree_seq, q->tree_seq)) || (c = cmp_u64(p->root_seq, q->root_seq))) return c;
    if (p->rank != q->rank) return p->rank < q->rank ? -1 : 1;
    if (p->id && q->id && (c = strcmp(p->id, q->id))) return c;
    return cmp_u64(p->seq, q->seq);
}

static bool is_root(const msg *m) { return m->root; }

/* Roots first: the split, then their own filters (already given). Their
 * trees' order of appearance goes to tree_seq[root]. -1 when out of memory. */
static int judge_roots(oasst_set *s, uint64_t *tree_seq)
{
    for (size_t i = 0; i < s->nm; i++) {
        msg *m = &s->m[i];
        if (!is_root(m)) continue;
        const char *tid = m->tree ? m->tree : m->k.id;
        if (note_tree(s, tid, m->seq)) return -1;    /* a flat root without message_tree_id */
        uint32_t t = idmap_find(&s->ti, s->t, sizeof *s->t, tid);
        tree_seq[i] = s->t[t].first_seq;
        if (!oasst_split_keeps(&s->f, tid)) m->reason = OASST_SPLIT;
    }
    return 0;
}

/* Then every other message: where it sits, then its filters, then its
 * prompt's. The replies that pass go to picks; returns how many. */
static size_t judge_replies(oasst_set *s, const uint64_t *tree_seq, pick *picks)
{
    size_t np = 0;
    for (size_t i = 0; i < s->nm; i++) {
        msg *m = &s->m[i];
        if (is_root(m)) continue;
        uint32_t p = m->parent ? idmap_find(&s->mi, s->m, sizeof *s->m, m->parent) : NONE;
        if (!m->parent)     /* a prompter's follow-up, or an assistant message at the root */
            m->reason = OASST_NOT_FIRST_TURN;
        else if (p == NONE)
            m->reason = OASST_ORPHAN;
        else if (!is_root(&s->m[p]))
            m->reason = OASST_NOT_FIRST_TURN;
        else if (s->m[p].reason == OASST_SPLIT)
            m->reason = OASST_SPLIT;
        else if (m->reason != OASST_KEPT)
            ;
        else if (s->m[p].reason != OASST_KEPT)
            m->reason = OASST_PROMPT_DROPPED;
        else
            picks[np++] = (pick){ tree_seq[p], s->m[p].seq, s->f.ranked ? m->rank : 0,
                                  s->f.ranked ? m->k.id : NULL, m->seq, p, (uint32_t)i };
    }
    return np;
}

/* Ranked replies come only in sets of two or more; a kept prompt needs a
 * reply. Every message's final reason is counted. Returns the picks left. */
static size_t settle(oasst_set *s, pick *picks, size_t np, uint32_t *cands)
{
    memset(cands, 0, s->nm * sizeof *cands);
    for (size_t j = 0; j < np; j++) cands[picks[j].root]++;
    size_t kept = 0;
    for (size_t j = 0; j < np; j++) {
        if (s->f.ranked && cands[picks[j].root] < 2)
            s->m[picks[j].reply].reason = OASST_FEW_RANKED;
        else
            picks[kept++] = picks[j];
    }
    memset(cands, 0, s->nm * sizeof *cands);
    for (size_t j = 0; j < kept; j++) cands[picks[j].root]++;
    for (size_t i = 0; i < s->nm; i++) {
        msg *m = &s->m[i];
        if (is_root(m) && m->reason == OASST_KEPT && !cands[i])
            m->reason = s->f.ranked ? OASST_FEW_RANKED : OASST_NO_REPLY;
        if (m->reason == OASST_KEPT) {
            if (is_root(m)) s->st.prompts++;
        } else {
            s->st.dropped[m->reason]++;
        }
    }
    return kept;
}

int oasst_select(oasst_set *s, const oasst_record **recs, size_t *n, char *err, size_t errlen)
{
    if (s->selected) goto done;
    uint64_t *tree_seq = calloc(s->nm ? s->nm : 1, sizeof *tree_seq);
    uint32_t *cands = calloc(s->nm ? s->nm : 1, sizeof *cands);
    pick *picks = malloc((s->nm ? s->nm : 1) * sizeof *picks);
    if (!tree_seq || !cands || !picks || judge_roots(s, tree_seq)) goto oom;
    size_t np = settle(s, picks, judge_replies(s, tree_seq, picks), cands);

    qsort(picks, np, sizeof *picks, cmp_pick);
    s->recs = malloc((np ? np : 1) * sizeof *s->recs);
    if (!s->recs) goto oom;
    for (size_t j = 0; j < np; j++) {
        const msg *r = &s->m[picks[j].reply], *q = &s->m[picks[j].root];
        s->recs[j] = (oasst_record){ r->k.id, q->k.id, q->text, r->text, r->rank };
    }
    s->nrecs = np;
    s->st.records = np;
    s->st.trees = s->nt;
    s->selected = true;
    free(tree_seq);
    free(cands);
    free(picks);
done:
    *recs = s->recs;
    *n = s->nrecs;
    return 0;
oom:
    free(tree_seq);
    free(cands);
    free(picks);
    snprintf(err, errlen, "out of memory selecting records from %zu messages", s->nm);
    return OASST_FAIL;
}

void oasst_stats_line(const oasst_stats *st, char *buf, size_t n)
{
    size_t used = 0;
    int w = snprintf(buf, n, "%llu messages, %llu trees: %llu records from %llu prompts; dropped:",
                     (unsigned long long)st->messages, (unsigned long long)st->trees,
                     (unsigned long long)st->records, (unsigned long long)st->prompts);
    used = w < 0 ? 0 : (size_t)w;
    bool any = false;
    for (int r = 1; r < OASST_N_REASONS && used < n; r++) {
        if (!st->dropped[r]) continue;
        w = snprintf(buf + used, n - used, "%s %s %llu", any ? "," : "", reason_names[r],
                     (unsigned long long)st->dropped[r]);
        used += w < 0 ? 0 : (size_t)w;
        any = true;
    }
    if (!any && used < n) snprintf(buf + used, n - used, " none");
}
