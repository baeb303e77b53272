/* test_json.c — the msgpack ⇄ JSON mapping (lib/io/json.c) and base64. */
#include "base/base64.h"
#include "io/json.h"
#include "test.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static char *text_of_double(double d, char *out, size_t cap)
{
    sr_jbuf b = { 0 };
    sr_json_double(&b, d);
    snprintf(out, cap, "%.*s", (int)b.n, b.p);
    sr_jbuf_free(&b);
    return out;
}

TEST(base64_rfc4648_vectors)
{
    const char *in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
    const char *out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
    for (int i = 0; i < 7; i++) {
        char enc[16] = { 0 }, dec[16];
        size_t n = strlen(in[i]), bad;
        sr_base64_encode(enc, in[i], n);
        CHECK_STR(enc, out[i]);
        CHECK(sr_base64_decode(dec, out[i], strlen(out[i]), &bad) == (long)n);
        CHECK(memcmp(dec, in[i], n) == 0);
    }
}

TEST(base64_rejects_bad_text)
{
    char dec[16];
    size_t bad = 99;
    CHECK(sr_base64_decode(dec, "Zm9", 3, &bad) == -1 && bad == 3);
    CHECK(sr_base64_decode(dec, "Zm9v!A==", 8, &bad) == -1 && bad == 4);
    CHECK(sr_base64_decode(dec, "Zg==Zm9v", 8, &bad) == -1 && bad == 2);   /* padding mid-text */
    CHECK(sr_base64_decode(dec, "Z===", 4, &bad) == -1 && bad == 1);
    CHECK(sr_base64_decode(dec, "Zg=v", 4, &bad) == -1 && bad == 3);
}

TEST(doubles_print_short_and_read_back)
{
    char s[64];
    CHECK_STR(text_of_double(0.1, s, sizeof s), "0.1");
    CHECK_STR(text_of_double(1.0, s, sizeof s), "1.0");
    CHECK_STR(text_of_double(-0.0, s, sizeof s), "-0.0");
    CHECK_STR(text_of_double(1e300, s, sizeof s), "1e+300");
    CHECK_STR(text_of_double(5e-324, s, sizeof s), "5e-324");
    CHECK_STR(text_of_double(0.1 + 0.2, s, sizeof s), "0.30000000000000004");
    CHECK_STR(text_of_double(123456789012345680.0, s, sizeof s), "1.2345678901234568e+17");
    /* Random bit patterns, subnormals included: each reads back exactly, and
     * no shorter %.Ng form does. */
    int bad_trip = 0, not_short = 0;
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = next_u64();
        if (i % 4 == 0) bits &= 0x800fffffffffffffULL;   /* subnormal */
        double d;
        memcpy(&d, &bits, sizeof d);
        if (!isfinite(d)) continue;
        text_of_double(d, s, sizeof s);
        double back = strtod(s, NULL);
        bad_trip += memcmp(&back, &d, sizeof d) != 0;
        size_t digits = 0;      /* significant digits: from the first nonzero one */
        bool started = false;
        for (const char *p = s; *p && *p != 'e'; p++) {
            started = started || (*p >= '1' && *p <= '9');
            digits += started && *p >= '0' && *p <= '9';
        }
        char shorter[40];
        for (int prec = 1; prec < 17; prec++) {
            snprintf(shorter, sizeof shorter, "%.*g", prec, d);
            if (strtod(shorter, NULL) == d) {
                /* the shortest form has prec digits; ours may add only ".0" */
                not_short += digits > (size_t)prec + (strchr(s, '.') && !strchr(shorter, '.') &&
                                                      !strchr(shorter, 'e'));
                break;
            }
        }
    }
    CHECK(bad_trip == 0);
    CHECK(not_short == 0);
}

/* JSON text -> msgpack -> JSON text. */
static int through(const char *json, char *out, size_t cap, char *err, size_t errlen)
{
    msgpack_zone z;
    msgpack_zone_init(&z, 1024);
    msgpack_object o;
    int rc = sr_json_to_msgpack(json, strlen(json), &z, &o, err, errlen);
    if (rc == 0) {
        sr_jbuf b = { 0 };
        sr_json_from_msgpack(&b, &o, 0);
        snprintf(out, cap, "%.*s", (int)b.n, b.p);
        sr_jbuf_free(&b);
    }
    msgpack_zone_destroy(&z);
    return rc;
}

TEST(integers_above_int64_max_are_exact)
{
    char out[512], err[256];
    const char *in = "{\"a\": [1, 2.5e3, 18446744073709551615, \"9223372036854775808\", -3],"
                     "\"b\":{\"c\":9223372036854775808,\"d\":9223372036854775807},"
                     "\"e\":{\"$f64\":18446744073709551615},\"f\":-9223372036854775808}";
    CHECK(through(in, out, sizeof out, err, sizeof err) == 0);
    CHECK_STR(out, "{\"a\":[1,2500.0,18446744073709551615,\"9223372036854775808\",-3],"
                   "\"b\":{\"c\":9223372036854775808,\"d\":9223372036854775807},"
                   "\"e\":1.8446744073709552e+19,\"f\":-9223372036854775808}");
    /* strings that end in escaped quotes and backslashes do not hide a number */
    const char *esc = "{\"k\\\"1\":\"\\\\\",\"n\":18446744073709551615,\"s\":\"\\\\\\\"9\"}";
    CHECK(through(esc, out, sizeof out, err, sizeof err) == 0);
    CHECK_STR(out, esc);
    CHECK(through("{\"a\":18446744073709551616}", out, sizeof out, err, sizeof err) == -1);
    CHECK(strstr(err, "column") != NULL);
}

TEST(tags_round_trip_and_collisions_are_escaped)
{
    char out[512], err[256];
    const char *in = "{\"b\":{\"$bin\":\"AAH/\"},\"e\":{\"$ext\":[-5,\"\"]},\"f\":{\"$f32\":0.5},"
                     "\"n\":{\"$f64\":\"-inf\"},\"m\":{\"$map\":{\"$f32\":\"x\"}},"
                     "\"k\":{\"$map\":[[null,1],[\"a\\u0000b\",2]]},\"d\":{\"$other\":1},\"two\":{\"$bin\":1,\"x\":2}}";
    CHECK(through(in, out, sizeof out, err, sizeof err) == 0);
    CHECK_STR(out, in);
}

TEST(bad_values_name_their_path)
{
    char out[512], err[256];
    CHECK(through("{\"a\":{\"b\":[0,{\"$bin\":\"@@@@\"}]}}", out, sizeof out, err, sizeof err) == -1);
    CHECK(strncmp(err, "at .a.b[1]: ", 12) == 0);
    CHECK(through("{\"odd key\":{\"$f32\":\"nope\"}}", out, sizeof out, err, sizeof err) == -1);
    CHECK(strncmp(err, "at .\"odd key\": ", 15) == 0);
    CHECK(through("[1]", out, sizeof out, err, sizeof err) == -1);
    CHECK(strstr(err, "not an object") != NULL);
    CHECK(through("{\"a\":1,\"a\":2}", out, sizeof out, err, sizeof err) == -1);
    CHECK(through("{\"a\":\"\xff\"}", out, sizeof out, err, sizeof err) == -1);
    CHECK(strchr(err, '\xff') == NULL);   /* the message stays valid UTF-8 */
}

int main(void)
{
    RUN(base64_rfc4648_vectors);
    RUN(base64_rejects_bad_text);
    RUN(doubles_print_short_and_read_back);
    RUN(integers_above_int64_max_are_exact);
    RUN(tags_round_trip_and_collisions_are_escaped);
    RUN(bad_values_name_their_path);
    return test_done();
}
