/* fuzz_json.c — JSON → msgpack (sr-cat --from-json) over arbitrary bytes.
 * Whatever it accepts must come back: written as JSON again
 * (sr_json_from_msgpack, sr-cat's output), that text parses, writes the
 * same text again, and the msgpack it packs to reads as a valid record. */
#include "fuzz.h"

#include "io/json.h"
#include "io/record.h"

static void round_trip(const msgpack_object *obj)
{
    sr_jbuf j1 = {0}, j2 = {0};
    sr_json_from_msgpack(&j1, obj, 0);
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, 1 << 12)) abort();
    msgpack_object again;
    char err[512];
    if (sr_json_to_msgpack(j1.p, j1.n, &zone, &again, err, sizeof err) != 0) {
        fprintf(stderr, "written JSON does not read back: %s\n%.*s\n", err, (int)j1.n, j1.p);
        abort();
    }
    sr_json_from_msgpack(&j2, &again, 0);
    if (j1.n != j2.n || memcmp(j1.p, j2.p, j1.n) != 0) {
        fprintf(stderr, "JSON not stable:\n%.*s\n%.*s\n", (int)j1.n, j1.p, (int)j2.n, j2.p);
        abort();
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *obj);
    sr_cli cli = {.name = "fuzz_json", .max_record = 1 << 24};
    sr_reader *r = sr_reader_open_mem(&cli, sb.data, sb.size);
    sr_rec rec;
    if (sr_reader_next(r, &rec, err, sizeof err) != 1) {
        fprintf(stderr, "packed record does not read: %s\n", err);
        abort();
    }
    sr_reader_close(r);
    msgpack_sbuffer_destroy(&sb);
    msgpack_zone_destroy(&zone);
    sr_jbuf_free(&j1);
    sr_jbuf_free(&j2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);   /* exactly the input: not NUL-terminated */
    if (!buf) abort();
    memcpy(buf, data, size);
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, 1 << 12)) abort();
    msgpack_object obj;
    char err[512];
    if (sr_json_to_msgpack(buf, size, &zone, &obj, err, sizeof err) == 0) round_trip(&obj);
    else if (!err[0]) abort();
    msgpack_zone_destroy(&zone);
    free(buf);
    return 0;
}
