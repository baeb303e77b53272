/* fuzz_template.c — prompt templates with named placeholders (sr/template.c):
 * arbitrary template text checked against the judges' name sets and, when
 * accepted, rendered with values that hold braces themselves. The output's
 * length must be the template's with each placeholder replaced. */
#include "fuzz.h"

#include "sr/template.h"

static const char *const pointwise[] = { "prompt", "response" };
static const char *const pairwise[] = { "prompt", "response_a", "response_b" };
static const char *const one[] = { "x" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *const *names = data[0] % 3 == 0 ? pointwise : data[0] % 3 == 1 ? pairwise : one;
    int n_names = data[0] % 3 == 0 ? 2 : data[0] % 3 == 1 ? 3 : 1;
    char *text = malloc(size - 1 ? size - 1 : 1);
    if (!text) abort();
    memcpy(text, data + 1, size - 1);
    sr_tmpl t;
    char err[512];
    int rc = sr_tmpl_init(&t, text, size - 1, names, n_names, err, sizeof err);
    if (rc == 0) {
        sr_tmpl_val vals[3] = { {"{prompt}", 8}, {"}}{{", 4}, {"", 0} };
        size_t len;
        char *out = sr_tmpl_render(&t, vals, &len);
        if (!out || strlen(out) > len) abort();
        free(out);
        sr_tmpl_free(&t);
    } else if (!err[0] || (rc != SR_TMPL_EBAD && rc != SR_TMPL_EIO)) {
        abort();
    }
    free(text);
    return 0;
}
