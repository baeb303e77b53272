/* verdict.c — combining the two orders of a pairwise judgement (verdict.h). */
#include "sr/verdict.h"

#include <string.h>

const char *sr_verdict_name(sr_verdict v)
{
    switch (v) {
    case SR_VERDICT_A:   return "a";
    case SR_VERDICT_B:   return "b";
    case SR_VERDICT_TIE: return "tie";
    default:             return "none";
    }
}

sr_verdict sr_verdict_parse(const char *s, size_t n)
{
    if (n == 1 && s[0] == 'a') return SR_VERDICT_A;
    if (n == 1 && s[0] == 'b') return SR_VERDICT_B;
    if (n == 3 && memcmp(s, "tie", 3) == 0) return SR_VERDICT_TIE;
    return SR_VERDICT_NONE;
}

sr_verdict sr_verdict_swap(sr_verdict shown_swapped)
{
    if (shown_swapped == SR_VERDICT_A) return SR_VERDICT_B;
    if (shown_swapped == SR_VERDICT_B) return SR_VERDICT_A;
    return shown_swapped;
}

sr_verdict sr_verdict_combine(sr_verdict first, sr_verdict second, bool *disagree)
{
    if (disagree) *disagree = false;
    if (first == SR_VERDICT_NONE || second == SR_VERDICT_NONE) return SR_VERDICT_NONE;
    if (first == second) return first;
    /* A tie in one order and a winner in the other disagree too: the winner
     * did not hold when the positions changed. */
    if (disagree) *disagree = true;
    return SR_VERDICT_TIE;
}
