/* conversation.c — a record's conversation as chat turns (see conversation.h). */
#include "sr/conversation.h"

#include <stdlib.h>
#include <string.h>

static void push(sr_conv *c, const char *role, const char *p, size_t n)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 8;
        c->m = realloc(c->m, c->cap * sizeof *c->m);
        if (!c->m) sr_die(SR_EXIT_FAIL, "out of memory");
    }
    c->m[c->n++] = (sr_chat_msg){ role, p, n };
}

/* An optional string key: 1 given, 0 absent, -1 bad (reported). */
static int opt_str(const sr_rec *rec, const char *key, sr_str *out)
{
    int rc = sr_get_str(rec, key, out);
    if (rc < 0) sr_rec_bad(rec, key, "expected a string, got %s", sr_type_name(sr_rec_get(rec, key)));
    return rc;
}

static bool read_flat(const sr_rec *rec, sr_conv *c)
{
    sr_str prompt, response, system;
    if (!sr_need_str(rec, "prompt", &prompt)) return false;
    int has_response = opt_str(rec, "response", &response);
    int has_system = has_response < 0 ? -1 : opt_str(rec, "system", &system);
    if (has_system < 0) return false;
    if (has_system) push(c, "system", system.p, system.n);
    push(c, "user", prompt.p, prompt.n);
    if (has_response) push(c, "assistant", response.p, response.n);
    return true;
}

/* The string value of key in a turn's map, or NULL. */
static const msgpack_object *turn_get(const msgpack_object *turn, const char *key)
{
    size_t n = strlen(key);
    for (uint32_t i = 0; i < turn->via.map.size; i++) {
        const msgpack_object *k = &turn->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, key, n) == 0)
            return &turn->via.map.ptr[i].val;
    }
    return NULL;
}

static const char *role_name(const msgpack_object *v)
{
    static const char *const roles[] = { "system", "user", "assistant" };
    for (size_t i = 0; i < 3; i++)
        if (v->via.str.size == strlen(roles[i]) && memcmp(v->via.str.ptr, roles[i], v->via.str.size) == 0)
            return roles[i];
    return NULL;
}

/* One element of messages: a map with string role (system, user or
 * assistant) and string content; other members are ignored. */
static bool read_turn(const sr_rec *rec, uint32_t i, const msgpack_object *turn, sr_conv *c)
{
    if (turn->type != MSGPACK_OBJECT_MAP) {
        sr_rec_bad(rec, "messages", "turn %u: expected a map {role, content}, got %s", i, sr_type_name(turn));
        return false;
    }
    static const char *const keys[] = { "role", "content" };
    const msgpack_object *v[2];
    for (int k = 0; k < 2; k++) {
        v[k] = turn_get(turn, keys[k]);
        if (!v[k] || v[k]->type != MSGPACK_OBJECT_STR) {
            sr_rec_bad(rec, "messages", "turn %u: \"%s\": %s%s", i, keys[k], v[k] ? "expected a string, got " : "missing",
                       v[k] ? sr_type_name(v[k]) : "");
            return false;
        }
    }
    const char *role = role_name(v[0]);
    if (!role) {
        sr_rec_bad(rec, "messages", "turn %u: role \"%.*s\" is not system, user or assistant", i,
                   (int)(v[0]->via.str.size > 40 ? 40 : v[0]->via.str.size), v[0]->via.str.ptr);
        return false;
    }
    push(c, role, v[1]->via.str.ptr, v[1]->via.str.size);
    return true;
}

static bool read_messages(const sr_rec *rec, sr_conv *c)
{
    const msgpack_object_array *a;
    if (sr_get_array(rec, "messages", &a) < 0) {
        sr_rec_bad(rec, "messages", "expected an array of {role, content}, got %s",
                   sr_type_name(sr_rec_get(rec, "messages")));
        return false;
    }
    if (a->size == 0) {
        sr_rec_bad(rec, "messages", "no turns");
        return false;
    }
    for (uint32_t i = 0; i < a->size; i++)
        if (!read_turn(rec, i, &a->ptr[i], c)) return false;
    return true;
}

bool sr_conv_read(const sr_rec *rec, sr_conv *c)
{
    c->n = 0;
    bool has_messages = sr_rec_get(rec, "messages") != NULL;
    c->key = has_messages ? "messages" : "prompt";
    if (has_messages && sr_rec_get(rec, "prompt")) {
        sr_rec_bad(rec, "messages", "the record has prompt too: give one conversation, "
                   "prompt [response, system] or messages");
        return false;
    }
    return has_messages ? read_messages(rec, c) : read_flat(rec, c);
}

void sr_conv_free(sr_conv *c)
{
    free(c->m);
    memset(c, 0, sizeof *c);
}

int sr_conv_ids(const sr_chat *chat, const sr_conv *c, sr_ids *out, size_t *response_start,
                char *err, size_t errlen)
{
    size_t start;
    int rc;
    if (c->n > 0 && strcmp(c->m[c->n - 1].role, "assistant") == 0) {
        const sr_chat_msg *last = &c->m[c->n - 1];
        rc = sr_chat_render_pair(chat, c->m, c->n - 1, last->content, last->content_len, out, &start,
                                 err, errlen);
    } else {
        rc = sr_chat_render_ids(chat, c->m, c->n, true, out, err, errlen);
        start = out->n;
    }
    if (rc == 0 && response_start) *response_start = start;
    return rc;
}
