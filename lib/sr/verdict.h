/* verdict.h — a pairwise judge's verdict, asked in both orders.
 *
 * A judge shown two replies tends to prefer one position (usually the first)
 * whatever the replies say. sr asks every pairwise question twice, with the
 * replies swapped the second time, and keeps a verdict only when both orders
 * name the same reply; orders that disagree make a tie, and their share is
 * the judge's position-disagreement rate (METHOD "Known weaknesses").
 *
 * Verdicts always name replies as the record does (a = response_a), never by
 * the position they were shown in: the swapped order's answer is mapped back
 * with sr_verdict_swap before it is combined. */
#ifndef SR_VERDICT_H
#define SR_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum sr_verdict {
    SR_VERDICT_NONE = -1,   /* the judge gave no readable verdict */
    SR_VERDICT_A = 0,
    SR_VERDICT_B = 1,
    SR_VERDICT_TIE = 2,
} sr_verdict;

/* "a", "b", "tie" ("none" for SR_VERDICT_NONE); the record field's values. */
const char *sr_verdict_name(sr_verdict v);
/* The inverse of sr_verdict_name for "a", "b" and "tie" (n bytes, no NUL
 * needed); SR_VERDICT_NONE for anything else. */
sr_verdict sr_verdict_parse(const char *s, size_t n);

/* The verdict of the swapped order, named as the record names the replies:
 * a <-> b; tie and none stay. */
sr_verdict sr_verdict_swap(sr_verdict shown_swapped);

/* One verdict from the two orders, both already named as the record does:
 * the same verdict when they agree, a tie when they disagree, none when
 * either order gave none (such a record is counted, not scored). *disagree
 * (may be NULL) is set when both orders gave a verdict and they differ. */
sr_verdict sr_verdict_combine(sr_verdict first, sr_verdict second, bool *disagree);

#endif
