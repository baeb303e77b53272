/* fuzz_pairwise.c — the pairwise judge's verdict parser over arbitrary
 * text: one of a, b, tie or none, and the same verdict each time. */
#include "fuzz.h"

#include "sr/pairwise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    if (!s) abort();
    memcpy(s, data, size);
    sr_verdict v = sr_pairwise_parse(s, size);
    if (v != SR_VERDICT_NONE && v != SR_VERDICT_A && v != SR_VERDICT_B && v != SR_VERDICT_TIE) abort();
    if (sr_pairwise_parse(s, size) != v) abort();
    free(s);
    return 0;
}
