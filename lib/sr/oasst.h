/* oasst.h — Open Assistant exports: one message-tree model for both published
 * layouts, and the filters that turn it into seed data (METHOD "Seed data").
 *
 * Input lines (JSON) are of two layouts, told apart per line:
 *   - a message (it has "message_id"): the flat "messages" export, where a
 *     reply may come before its parent;
 *   - a tree (it has "prompt"): the nested "trees" export, {message_tree_id,
 *     tree_state, prompt: {message, replies: [{message, replies: [...]}]}}.
 * Labels and emojis, as objects (official release) or parallel lists (the
 * Hugging Face export), are not used and not checked.
 *
 * A message is "live" when, in this order of reasons: its tree_state, if
 * given, is "ready_for_export"; deleted is not true; review_result is true
 * (false: review failed; null or absent: unreviewed); lang equals the
 * filter's language; its text is not blank. The first turn of a tree is its
 * root (a prompter message with no parent) and the assistant messages that
 * reply to it directly. Output, per first turn whose root is live:
 *   - IFT (default): every live reply with rank <= max_rank, in input order;
 *   - ranked: every live reply with a rank, when there are at least two,
 *     ordered by rank, then message_id.
 * Trees come in the order they first appear in the input.
 *
 *   oasst_set *s = oasst_new(&filter);
 *   for each line: oasst_add_line(s, line, n, lineno, err, sizeof err);
 *   oasst_select(s, &recs, &nrecs, err, sizeof err);
 *   ... oasst_stats_line(oasst_get_stats(s), buf, sizeof buf); oasst_free(s);
 */
#ifndef SR_OASST_H
#define SR_OASST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a message is not in the output; each message read gets exactly one. */
enum oasst_reason {
    OASST_KEPT,             /* output: a reply as a record, or the prompt of one */
    OASST_NOT_FIRST_TURN,   /* deeper in a conversation, or a root that is not a prompter */
    OASST_ORPHAN,           /* an assistant message whose parent is not in the input */
    OASST_SPLIT,            /* its tree is on the other side of --keep */
    OASST_TREE_STATE,       /* tree_state given and not "ready_for_export" */
    OASST_DELETED,          /* deleted: true */
    OASST_REVIEW_FAILED,    /* review_result: false */
    OASST_UNREVIEWED,       /* review_result null or absent */
    OASST_LANGUAGE,         /* lang is not the filter's */
    OASST_NO_TEXT,          /* empty or blank text */
    OASST_RANK,             /* a reply without a rank, or ranked worse than max_rank (IFT) */
    OASST_PROMPT_DROPPED,   /* a live reply to a root that is not live */
    OASST_FEW_RANKED,       /* ranked: a first turn with fewer than two ranked live replies */
    OASST_NO_REPLY,         /* IFT: a live prompt with no reply kept */
    OASST_N_REASONS
};

/* A short name for a reason ("review failed"). */
const char *oasst_reason_name(int reason);

typedef struct oasst_filter {
    const char *lang;       /* "en" */
    long max_rank;          /* IFT: replies with rank <= max_rank */
    bool ranked;            /* ranked replies instead of IFT examples */
    long keep;              /* percent of trees kept, 0..100 */
    bool held_out;          /* keep the other trees instead */
    const char *split_salt; /* the split keeps a tree when XXH64(tree id, XXH64(salt)) % 100 < keep */
} oasst_filter;

/* Whether --keep/--held-out keep the tree with this id. */
bool oasst_split_keeps(const oasst_filter *f, const char *tree_id);

typedef struct oasst_stats {
    uint64_t messages;      /* messages read (in good lines) */
    uint64_t trees;         /* distinct tree ids */
    uint64_t records;       /* records selected */
    uint64_t prompts;       /* distinct prompts among them */
    uint64_t dropped[OASST_N_REASONS];
} oasst_stats;

typedef struct oasst_record {
    const char *id;         /* the reply's message_id */
    const char *prompt_id;  /* the root's message_id */
    const char *prompt, *response;
    int64_t human_rank;     /* the reply's rank as given (0 = best); -1 when it has none */
} oasst_record;

typedef struct oasst_set oasst_set;

/* The filter is copied (its strings are not: keep them alive). NULL when out of memory. */
oasst_set *oasst_new(const oasst_filter *f);
void oasst_free(oasst_set *s);

enum { OASST_BAD = -1, OASST_FAIL = -2 };

/* Add one input line (a message or a tree). 0: added (a blank line is
 * ignored); OASST_BAD: not valid, nothing of it kept, err names the line,
 * where in it, the message_id and the field; OASST_FAIL: out of memory. */
int oasst_add_line(oasst_set *s, const char *line, size_t n, uint64_t lineno, char *err, size_t errlen);

/* After the last line: the records, in output order, valid until oasst_free.
 * 0, or OASST_FAIL (out of memory). */
int oasst_select(oasst_set *s, const oasst_record **recs, size_t *n, char *err, size_t errlen);

const oasst_stats *oasst_get_stats(const oasst_set *s);

/* One line: "2022 messages, 191 trees: 150 records from 150 prompts; dropped: ..."
 * (the reasons with a non-zero count). */
void oasst_stats_line(const oasst_stats *st, char *buf, size_t n);

#endif
