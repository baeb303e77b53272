/* fuzz_judge.c — the pointwise judge's score parser over arbitrary text,
 * on the scale the first byte picks (the rubric's 0..5, 1..10, 1..3, ...):
 * any score it returns lies on that scale. */
#include "fuzz.h"

#include "sr/judge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const int scales[][2] = { {0, 5}, {1, 10}, {1, 5}, {0, 100}, {1, 3}, {0, 9} };
    const int *sc = scales[data[0] % 6];
    char *s = malloc(size - 1 ? size - 1 : 1);   /* exactly the text: not NUL-terminated */
    if (!s) abort();
    memcpy(s, data + 1, size - 1);
    int score = -12345;
    if (sr_judge_parse_score(s, size - 1, sc[0], sc[1], &score) && (score < sc[0] || score > sc[1]))
        abort();
    free(s);
    return 0;
}
