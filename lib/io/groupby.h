/* groupby.h — records held in memory and grouped by a string key (a prompt
 * id), for stages that need every record of a group before they can write:
 * sr-pairs (the candidates of a prompt), sr-judge --eval (its ranked
 * replies). The input need not be sorted: groups come out in the order of
 * their first record, and each group's records in input order.
 *
 *   sr_groups *g = sr_groups_new();
 *   while (sr_read(in, &rec)) { ...check...; sr_groups_add(g, &rec, prompt_id); }
 *   for (size_t i = 0; i < sr_groups_count(g); i++) {
 *       size_t n;  sr_rec *const *recs = sr_groups_get(g, i, &n);  ...
 *   }
 *   sr_groups_free(g);
 */
#ifndef SR_GROUPBY_H
#define SR_GROUPBY_H

#include <stddef.h>

#include "io/record.h"

typedef struct sr_groups sr_groups;

/* Exit 1 when out of memory, like the record reader and writer. */
sr_groups *sr_groups_new(void);
void sr_groups_free(sr_groups *g);

/* Keep a copy of rec (its index, id and cli kept too, so sr_rec_bad still
 * names it) in the group called key. Returns the copy. Records are held as
 * heldrec.h holds them: packed bytes, viewed in one zone. */
sr_rec *sr_groups_add(sr_groups *g, const sr_rec *rec, sr_str key);

size_t sr_groups_count(const sr_groups *g);
/* The records of group i (i < count), n of them, in input order. */
sr_rec *const *sr_groups_get(const sr_groups *g, size_t i, size_t *n);
/* The key of group i (valid until sr_groups_free). */
sr_str sr_groups_key(const sr_groups *g, size_t i);

#endif
