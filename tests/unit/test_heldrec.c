/* test_heldrec.c — a record kept as bytes comes back whole: every key and
 * value, its index and id, after the reader has moved on; alone, viewed in a
 * shared zone, and held in groups (groupby.h holds records this way). */
#include "io/groupby.h"
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

/* Many records viewed in one zone, each still whole after the reader moved on. */
TEST(view_in_one_zone)
{
    msgpack_sbuffer_init(&sb);
    for (int i = 0; i < 3; i++) pack_rec(i);
    sr_cli cli = { .name = "test", .max_record = 1 << 20 };
    sr_reader *r = sr_reader_open_mem(&cli, sb.data, sb.size);
    sr_held h[3];
    sr_rec rec, view[3];
    char err[256];
    msgpack_zone z;
    CHECK(msgpack_zone_init(&z, 1024));
    for (int i = 0; i < 3; i++) {
        CHECK(sr_reader_next(r, &rec, err, sizeof err) == 1);
        CHECK(sr_held_keep(&h[i], &rec) == 0);
        CHECK(sr_held_view(&h[i], &cli, &z, &view[i]) == 0);
    }
    sr_reader_close(r);
    for (int i = 0; i < 3; i++) {
        int64_t n;
        const msgpack_object_array *a;
        CHECK(view[i].index == (uint64_t)i + 1 && view[i].cli == &cli);
        CHECK(sr_get_i64(&view[i], "n", &n) == 1 && n == i);
        CHECK(sr_get_array(&view[i], "tags", &a) == 1 && a->size == 2);
        CHECK(a->ptr[0].via.str.size == 1 && a->ptr[0].via.str.ptr[0] == 'a');
        sr_held_free(&h[i]);
    }
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&sb);
}

/* Groups keep their records (an absent id stays absent) in input order. */
TEST(groups_hold_records)
{
    msgpack_sbuffer_init(&sb);
    for (int i = 0; i < 5; i++) pack_rec(i);
    msgpack_packer pk;             /* and one without an id: {"n": 9} */
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "n", 1);
    msgpack_pack_int(&pk, 9);
    sr_cli cli = { .name = "test", .max_record = 1 << 20 };
    sr_reader *r = sr_reader_open_mem(&cli, sb.data, sb.size);
    sr_groups *g = sr_groups_new();
    sr_rec rec;
    char err[256];
    for (int i = 0; i < 6; i++) {
        CHECK(sr_reader_next(r, &rec, err, sizeof err) == 1);
        sr_str key = { i % 2 ? "odd" : "even", i % 2 ? 3 : 4 };
        sr_rec *kept = sr_groups_add(g, &rec, key);
        CHECK(kept->index == rec.index && kept->obj.via.map.size == rec.obj.via.map.size);
    }
    sr_reader_close(r);
    msgpack_sbuffer_destroy(&sb);
    CHECK(sr_groups_count(g) == 2);
    CHECK(sr_groups_key(g, 0).n == 4 && memcmp(sr_groups_key(g, 0).p, "even", 4) == 0);
    size_t n;
    sr_rec *const *odd = sr_groups_get(g, 1, &n);
    CHECK(n == 3);
    for (size_t j = 0; j < n; j++) {
        int64_t v;
        CHECK(sr_get_i64(odd[j], "n", &v) == 1 && v == (j < 2 ? (int64_t)(2 * j + 1) : 9));
    }
    CHECK(odd[0]->id.n == 2 && memcmp(odd[0]->id.p, "r1", 2) == 0);
    CHECK(odd[2]->id.p == NULL && odd[2]->id.n == 0);
    sr_groups_free(g);
}

int main(void)
{
    RUN(keep_and_open);
    RUN(view_in_one_zone);
    RUN(groups_hold_records);
    return test_done();
}
