/* fuzz_record.c — the msgpack record reader (framing, validation: a map,
 * string keys, UTF-8 strings) over arbitrary bytes, and the JSON writer
 * (sr-cat's output) and key lookups over every record it accepts. */
#include "fuzz.h"

#include "io/json.h"
#include "io/record.h"

static void use_record(const sr_rec *rec)
{
    sr_jbuf j = {0};
    sr_json_from_msgpack(&j, &rec->obj, 0);
    sr_jbuf_free(&j);
    sr_str s;
    int64_t i;
    double d;
    bool b;
    const msgpack_object_array *a;
    (void)sr_get_str(rec, "prompt", &s);
    (void)sr_get_i64(rec, "n", &i);
    (void)sr_get_f64(rec, "score", &d);
    (void)sr_get_bool(rec, "ok", &b);
    (void)sr_get_array(rec, "ids", &a);
    /* copying it through a record builder, as every tool does */
    sr_recb rb;
    sr_recb_init(&rb, rec);
    sr_recb_cstr(&rb, "response", "x");
    sr_recb_remove(&rb, "id");
    sr_recb_free(&rb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) abort();
    memcpy(buf, data, size);
    sr_cli cli = {.name = "fuzz_record", .max_record = 1 << 20};
    sr_reader *r = sr_reader_open_mem(&cli, buf, size);
    sr_rec rec;
    char err[512];
    for (int k = 0; k < 10000; k++) {
        int rc = sr_reader_next(r, &rec, err, sizeof err);
        if (rc == 0) break;
        if (rc == 1) use_record(&rec);
        else if (!err[0]) abort();
    }
    sr_reader_close(r);
    free(buf);
    return 0;
}
