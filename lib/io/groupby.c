/* groupby.c — an open-addressing hash table from key to group, and a zone
 * that owns the copied records. */
#include "io/groupby.h"

#include <stdlib.h>
#include <string.h>

#include "base/ids.h"

typedef struct group {
    sr_str key;
    sr_rec **v;
    size_t n, cap;
} group;

struct sr_groups {
    msgpack_zone zone;          /* the copies: records, keys */
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
    for (size_t i = 0; i < g->n; i++) free(g->groups[i].v);
    free(g->groups);
    free(g->slots);
    msgpack_zone_destroy(&g->zone);
    free(g);
}

static void copy_obj(sr_groups *g, msgpack_object *dst, const msgpack_object *src)
{
    *dst = *src;
    switch (src->type) {
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN: {
        char *p = zalloc(g, src->via.str.size);
        if (src->via.str.size) memcpy(p, src->via.str.ptr, src->via.str.size);
        dst->via.str.ptr = p;
        break;
    }
    case MSGPACK_OBJECT_EXT: {
        char *p = zalloc(g, src->via.ext.size);
        if (src->via.ext.size) memcpy(p, src->via.ext.ptr, src->via.ext.size);
        dst->via.ext.ptr = p;
        break;
    }
    case MSGPACK_OBJECT_ARRAY: {
        msgpack_object *a = zalloc(g, src->via.array.size * sizeof *a);
        for (uint32_t i = 0; i < src->via.array.size; i++) copy_obj(g, &a[i], &src->via.array.ptr[i]);
        dst->via.array.ptr = a;
        break;
    }
    case MSGPACK_OBJECT_MAP: {
        msgpack_object_kv *m = zalloc(g, src->via.map.size * sizeof *m);
        for (uint32_t i = 0; i < src->via.map.size; i++) {
            copy_obj(g, &m[i].key, &src->via.map.ptr[i].key);
            copy_obj(g, &m[i].val, &src->via.map.ptr[i].val);
        }
        dst->via.map.ptr = m;
        break;
    }
    default:
        break;
    }
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

sr_rec *sr_groups_add(sr_groups *g, const sr_rec *rec, sr_str key)
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
    group *gr = &g->groups[*slot - 1];

    sr_rec *copy = zalloc(g, sizeof *copy);
    *copy = *rec;
    copy_obj(g, &copy->obj, &rec->obj);
    copy->id = (sr_str){ NULL, 0 };
    for (uint32_t i = 0; rec->id.p && i < rec->obj.via.map.size; i++)   /* the same id, in the copy */
        if (rec->obj.via.map.ptr[i].val.type == MSGPACK_OBJECT_STR &&
            rec->obj.via.map.ptr[i].val.via.str.ptr == rec->id.p) {
            const msgpack_object *v = &copy->obj.via.map.ptr[i].val;
            copy->id = (sr_str){ v->via.str.ptr, v->via.str.size };
            break;
        }
    if (gr->n == gr->cap) {
        gr->cap = gr->cap ? 2 * gr->cap : 4;
        gr->v = xrealloc(gr->v, gr->cap * sizeof *gr->v);
    }
    gr->v[gr->n++] = copy;
    return copy;
}

size_t sr_groups_count(const sr_groups *g) { return g->n; }

sr_rec *const *sr_groups_get(const sr_groups *g, size_t i, size_t *n)
{
    *n = g->groups[i].n;
    return g->groups[i].v;
}

sr_str sr_groups_key(const sr_groups *g, size_t i) { return g->groups[i].key; }
