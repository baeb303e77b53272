/* groupby.c — an open-addressing hash table from key to group. Each record
 * is held as heldrec.h holds one (packed bytes), and viewed once, on adding,
 * into a zone shared by all: the sr_rec handed out stays valid until
 * sr_groups_free. */
#include "io/groupby.h"

#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "io/heldrec.h"

/* One held record and its view; rec comes first, so a group's sr_rec
 * pointers lead back to their entries. */
typedef struct entry {
    sr_rec rec;
    sr_held held;
} entry;

typedef struct group {
    sr_str key;
    sr_rec **v;
    size_t n, cap;
} group;

struct sr_groups {
    msgpack_zone zone;          /* the entries, the views' objects, the keys */
    group *groups;
    size_t n, cap;
    size_t *slots;              /* hash table: group index + 1, 0 empty */
    size_t nslots;              /* a power of two, kept at most half full */
};

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) sr_die(SR_EXIT_FAIL, "out of memory");
    return p;
}

static void *zalloc(sr_groups *g, size_t n)
{
    void *p = msgpack_zone_malloc(&g->zone, n ? n : 1);
    if (!p) sr_die(SR_EXIT_FAIL, "out of memory");
    return p;
}

sr_groups *sr_groups_new(void)
{
    sr_groups *g = calloc(1, sizeof *g);
    if (!g || !msgpack_zone_init(&g->zone, 1 << 16)) sr_die(SR_EXIT_FAIL, "out of memory");
    g->nslots = 64;
    g->slots = calloc(g->nslots, sizeof *g->slots);
    if (!g->slots) sr_die(SR_EXIT_FAIL, "out of memory");
    return g;
}

void sr_groups_free(sr_groups *g)
{
    if (!g) return;
    for (size_t i = 0; i < g->n; i++) {
        for (size_t j = 0; j < g->groups[i].n; j++) sr_held_free(&((entry *)g->groups[i].v[j])->held);
        free(g->groups[i].v);
    }
    free(g->groups);
    free(g->slots);
    msgpack_zone_destroy(&g->zone);
    free(g);
}

static size_t *find_slot(sr_groups *g, sr_str key)
{
    size_t mask = g->nslots - 1, i = (size_t)sr_hash(key.p, key.n, 0) & mask;
    for (;; i = (i + 1) & mask) {
        size_t s = g->slots[i];
        if (!s) return &g->slots[i];
        sr_str k = g->groups[s - 1].key;
        if (k.n == key.n && (key.n == 0 || memcmp(k.p, key.p, key.n) == 0)) return &g->slots[i];
    }
}

static void grow_table(sr_groups *g)
{
    free(g->slots);
    g->nslots *= 2;
    g->slots = calloc(g->nslots, sizeof *g->slots);
    if (!g->slots) sr_die(SR_EXIT_FAIL, "out of memory");
    for (size_t i = 0; i < g->n; i++) *find_slot(g, g->groups[i].key) = i + 1;
}

/* The group called key, made (empty) if new. */
static group *group_for(sr_groups *g, sr_str key)
{
    size_t *slot = find_slot(g, key);
    if (!*slot) {
        if (g->n == g->cap) {
            g->cap = g->cap ? 2 * g->cap : 64;
            g->groups = xrealloc(g->groups, g->cap * sizeof *g->groups);
        }
        char *k = zalloc(g, key.n);
        if (key.n) memcpy(k, key.p, key.n);
        g->groups[g->n] = (group){ { k, key.n }, NULL, 0, 0 };
        *slot = ++g->n;
        if (2 * g->n > g->nslots) grow_table(g);
        slot = find_slot(g, key);
    }
    return &g->groups[*slot - 1];
}

sr_rec *sr_groups_add(sr_groups *g, const sr_rec *rec, sr_str key)
{
    group *gr = group_for(g, key);
    entry *e = zalloc(g, sizeof *e);
    if (sr_held_keep(&e->held, rec) < 0) sr_die(SR_EXIT_FAIL, "out of memory");
    /* Bytes just packed always unpack; failing here is the zone running out. */
    if (sr_held_view(&e->held, rec->cli, &g->zone, &e->rec) < 0) sr_die(SR_EXIT_FAIL, "out of memory");
    if (!rec->id.p) e->rec.id = (sr_str){ NULL, 0 };   /* no id, not an empty one */
    if (gr->n == gr->cap) {
        gr->cap = gr->cap ? 2 * gr->cap : 4;
        gr->v = xrealloc(gr->v, gr->cap * sizeof *gr->v);
    }
    gr->v[gr->n++] = &e->rec;
    return &e->rec;
}

size_t sr_groups_count(const sr_groups *g) { return g->n; }

sr_rec *const *sr_groups_get(const sr_groups *g, size_t i, size_t *n)
{
    *n = g->groups[i].n;
    return g->groups[i].v;
}

sr_str sr_groups_key(const sr_groups *g, size_t i) { return g->groups[i].key; }
