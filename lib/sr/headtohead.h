/* headtohead.h — the head-to-head report (sr-judge --winrate): from
 * records judged with sr-judge --pairwise, how often response_a's model
 * beat response_b's (sr/winrate.h: shares, the win rate, the
 * length-controlled win rate, their 95% bootstrap intervals), each side's
 * mean answer length beside it, and the judge's position-disagreement rate.
 *
 * Input: records with verdict ("a", "b", "tie" or nil), response_a and
 * response_b (strings; lengths in characters), and optionally verdicts (the
 * two orders', as --pairwise writes them: a record whose two orders both
 * gave a verdict and differ counts as a position disagreement). A record
 * with a nil verdict is counted and left out. */
#ifndef SR_HEADTOHEAD_H
#define SR_HEADTOHEAD_H

#include <stdint.h>

#include "io/cli.h"

/* Read cli's input (a bad record exits 3, or is skipped), write the report
 * as text to cli's output, and with json_path (may be NULL) also as one
 * JSON object to that file; the bootstrap draws from seed. Exits 3 when no
 * record has a verdict, 1 when an output cannot be written. */
void sr_h2h_eval(sr_cli *cli, const char *json_path, uint64_t seed);

#endif
