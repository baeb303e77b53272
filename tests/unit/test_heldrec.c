/* test_heldrec.c — a record kept as bytes comes back whole: every key and
 * value, its index and id, after the reader has moved on. */
#include "io/heldrec.h"
#include "test.h"

static msgpack_sbuffer sb;

/* {"id": "r<i>", "n": i, "tags": ["a", nil]} */
static void pack_rec(int i)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    char id[8];
    int n = snprintf(id, sizeof id, "r%d", i);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_str_with_body(&pk, id, (size_t)n);
    msgpack_pack_str_with_body(&pk, "n", 1);
    msgpack_pack_int(&pk, i);
    msgpack_pack_str_with_body(&pk, "tags", 4);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_nil(&pk);
}

TEST(keep_and_open)
{
    msgpack_sbuffer_init(&sb);
    for (int i = 0; i < 3; i++) pack_rec(i);
    sr_cli cli = { .name = "test", .max_record = 1 << 20 };
    sr_reader *r = sr_reader_open_mem(&cli, sb.data, sb.size);
    sr_held h[3];
    sr_rec rec;
    char err[256];
    for (int i = 0; i < 3; i++) {
        CHECK(sr_reader_next(r, &rec, err, sizeof err) == 1);
        CHECK(sr_held_keep(&h[i], &rec) == 0);
    }
    sr_reader_close(r);            /* the reader's records are gone; the copies stay */
    for (int i = 0; i < 3; i++) {
        msgpack_unpacked u;
        CHECK(sr_held_open(&h[i], &cli, &u, &rec) == 0);
        char want[8];
        snprintf(want, sizeof want, "r%d", i);
        CHECK(rec.index == (uint64_t)i + 1);
        CHECK(rec.id.n == strlen(want) && memcmp(rec.id.p, want, rec.id.n) == 0);
        CHECK_STR(h[i].id, want);
        int64_t n;
        const msgpack_object_array *a;
        CHECK(sr_get_i64(&rec, "n", &n) == 1 && n == i);
        CHECK(sr_get_array(&rec, "tags", &a) == 1 && a->size == 2 && a->ptr[1].type == MSGPACK_OBJECT_NIL);
        msgpack_unpacked_destroy(&u);
        sr_held_drop_bytes(&h[i]);
        CHECK(sr_held_open(&h[i], &cli, &u, &rec) == -1);   /* dropped: nothing to open */
        msgpack_unpacked_destroy(&u);
        CHECK_STR(h[i].id, want);                            /* the id stays for messages */
        sr_held_free(&h[i]);
    }
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    RUN(keep_and_open);
    return test_done();
}
