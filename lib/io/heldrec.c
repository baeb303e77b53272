/* heldrec.c — see heldrec.h. */
#include "io/heldrec.h"

#include <stdlib.h>
#include <string.h>

int sr_held_keep(sr_held *h, const sr_rec *rec)
{
    memset(h, 0, sizeof *h);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    h->id = malloc(rec->id.n + 1);
    /* the sbuffer's writer reports running out of memory as a non-zero return */
    if (!h->id || msgpack_pack_object(&pk, rec->obj) != 0) {
        free(h->id);
        msgpack_sbuffer_destroy(&sb);
        memset(h, 0, sizeof *h);
        return -1;
    }
    if (rec->id.n) memcpy(h->id, rec->id.p, rec->id.n);
    h->id[rec->id.n] = 0;
    h->index = rec->index;
    /* The sbuffer starts at 8 KiB; a stage that holds every record of its
     * input (groupby.h) should pay only for the bytes. */
    char *fit = sb.size < sb.alloc ? realloc(sb.data, sb.size ? sb.size : 1) : NULL;
    h->bytes = fit ? fit : sb.data;
    h->n_bytes = sb.size;
    return 0;
}

int sr_held_open(const sr_held *h, sr_cli *cli, msgpack_unpacked *u, sr_rec *rec)
{
    msgpack_unpacked_init(u);
    size_t off = 0;
    if (!h->bytes || msgpack_unpack_next(u, h->bytes, h->n_bytes, &off) != MSGPACK_UNPACK_SUCCESS)
        return -1;
    *rec = (sr_rec){ u->data, h->index, { h->id, strlen(h->id) }, cli };
    return 0;
}

int sr_held_view(const sr_held *h, sr_cli *cli, msgpack_zone *z, sr_rec *rec)
{
    size_t off = 0;
    msgpack_object o;
    if (!h->bytes || msgpack_unpack(h->bytes, h->n_bytes, &off, z, &o) != MSGPACK_UNPACK_SUCCESS)
        return -1;
    *rec = (sr_rec){ o, h->index, { h->id, strlen(h->id) }, cli };
    return 0;
}

void sr_held_drop_bytes(sr_held *h)
{
    free(h->bytes);
    h->bytes = NULL;
    h->n_bytes = 0;
}

void sr_held_free(sr_held *h)
{
    sr_held_drop_bytes(h);
    free(h->id);
    h->id = NULL;
}
