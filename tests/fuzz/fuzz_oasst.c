/* fuzz_oasst.c — the OASST reader (sr-oasst): both formats, trees (one
 * nested conversation per line) and messages (one message per line, linked
 * by parent_id), line by line into a set, then the selection of IFT or
 * ranked records. The first byte picks the filter. */
#include "fuzz.h"

#include "sr/oasst.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    oasst_filter f = {
        .lang = (data[0] & 1) ? "en" : "de",
        .max_rank = (data[0] >> 1) & 3,
        .ranked = (data[0] & 8) != 0,
        .keep = (data[0] & 16) ? 50 : 100,
        .held_out = (data[0] & 32) != 0,
        .split_salt = "fuzz",
    };
    oasst_set *s = oasst_new(&f);
    if (!s) abort();
    char *buf = malloc(size);
    if (!buf) abort();
    memcpy(buf, data + 1, size - 1);
    char err[512];
    size_t at = 0, end = size - 1;
    uint64_t lineno = 0;
    int failed = 0;
    while (at < end && !failed) {
        const char *nl = memchr(buf + at, '\n', end - at);
        size_t n = nl ? (size_t)(nl - (buf + at)) : end - at;
        /* each line in its own allocation, so a read past it is caught */
        char *line = malloc(n ? n : 1);
        if (!line) abort();
        memcpy(line, buf + at, n);
        int rc = oasst_add_line(s, line, n, ++lineno, err, sizeof err);
        free(line);
        if (rc == OASST_FAIL) failed = 1;
        else if (rc != 0 && !err[0]) abort();
        at += n + 1;
    }
    if (!failed) {
        const oasst_record *recs;
        size_t nrec;
        if (oasst_select(s, &recs, &nrec, err, sizeof err) == 0) {
            for (size_t i = 0; i < nrec; i++)
                if (!recs[i].id || !recs[i].prompt || !recs[i].response) abort();
            char line[1024];
            oasst_stats_line(oasst_get_stats(s), line, sizeof line);
        }
    }
    oasst_free(s);
    free(buf);
    return 0;
}
