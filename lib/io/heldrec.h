/* heldrec.h — an input record held back to be written later.
 *
 * Model tools read records, generate for many of them at once, and write
 * each one (with its new keys, every other key kept) in input order once its
 * results are in. The sr_rec that sr_read hands out lives only until the next
 * read, so a record to be written later is kept as packed msgpack bytes, and
 * unpacked again when its turn comes. This is the one way records are held:
 * groupby.h keeps its records as sr_held too, viewed through sr_held_view.
 *
 *   sr_held h;
 *   if (sr_held_keep(&h, &rec) < 0) ...           // out of memory
 *   ...
 *   msgpack_unpacked u;  sr_rec rec;
 *   if (sr_held_open(&h, cli, &u, &rec) < 0) ...  // cannot happen for kept bytes
 *   sr_recb b;  sr_recb_init(&b, &rec);  ...  sr_write(out, &b);  sr_recb_free(&b);
 *   msgpack_unpacked_destroy(&u);
 *   sr_held_free(&h);
 */
#ifndef SR_HELDREC_H
#define SR_HELDREC_H

#include <msgpack.h>
#include <stdint.h>

#include "io/record.h"

typedef struct sr_held {
    uint64_t index;     /* the record's position in its stream, for messages */
    char *id;           /* its id (NUL-terminated; "" when it has none) */
    char *bytes;        /* the record, packed */
    size_t n_bytes;
} sr_held;

/* Keep a copy of rec: 0, or -1 when out of memory (h is then empty). */
int  sr_held_keep(sr_held *h, const sr_rec *rec);
/* Unpack into u (the caller destroys it) and view it as *rec, with the
 * record's index and id as read. 0, or -1 if the bytes do not unpack. */
int  sr_held_open(const sr_held *h, sr_cli *cli, msgpack_unpacked *u, sr_rec *rec);
/* The same, unpacked into a zone the caller owns (for many records viewed
 * at once: one zone, not one per record). The view points into h's bytes:
 * it is valid while both the zone and the bytes live. 0, or -1 if the bytes
 * do not unpack or the zone is out of memory. */
int  sr_held_view(const sr_held *h, sr_cli *cli, msgpack_zone *z, sr_rec *rec);
/* Release the bytes (the id stays until sr_held_free). */
void sr_held_drop_bytes(sr_held *h);
void sr_held_free(sr_held *h);

#endif
