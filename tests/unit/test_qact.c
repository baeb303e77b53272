/* test_qact.c — the 8-bit activation quantizers (kernels/cpu/quantize_act.c)
 * (the scalar ones and the AVX2 ones) against libggml's reference ones,
 * through the hashes of
 * tests/golden/qact/qact.json (tests/golden/qact/make_qact_golden.sh). */
#include "test.h"
#include "cpu/qdot.h"

#include "../golden/qact/qact_cases.h"

#include <jansson.h>
#include <xxhash.h>

#define GOLDEN "tests/golden/qact/qact.json"

static json_t *cases;

static int hash_is(const void *p, size_t n, json_t *case_, const char *key)
{
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)XXH64(p, n, 0));
    const char *want = json_string_value(json_object_get(case_, key));
    return want && strcmp(hex, want) == 0;
}

/* Every case under a plain build; every 7th under ASan. isa: the path of
 * sr_qact_quantize_on (scalar: the public sr_quantize_q8_* functions). */
static void check_type(const char *key, sr_isa isa)
{
    if (!sr_isa_available(isa)) { test_skip("this CPU has no avx2"); return; }
    int n = (int)json_array_size(cases), bad = 0, checked = 0;
    float x[QACT_N];
    for (int i = 0; i < n; i += SANITIZED ? 7 : 1, checked++) {
        json_t *c = json_array_get(cases, i);
        qact_case(i, x);
        if (!hash_is(x, sizeof x, c, "x")) { printf("#   case %d: input hash differs (qact_cases.h changed?)\n", i); bad++; continue; }
        unsigned char q[512];
        memset(q, 0, sizeof q);
        size_t bytes;
        /* a weight type of each activation type */
        enum gguf_ttype wt = !strcmp(key, "q8_0") ? GGUF_T_Q4_0 : !strcmp(key, "q8_1") ? GGUF_T_Q4_1 : GGUF_T_Q4_K;
        bytes = !strcmp(key, "q8_0") ? 8 * 34 : !strcmp(key, "q8_1") ? 8 * 36 : 292;
        if (isa != SR_ISA_SCALAR) sr_qact_quantize_on(isa, wt, x, q, QACT_N);
        else if (!strcmp(key, "q8_0")) sr_quantize_q8_0(x, (block_q8_0 *)q, QACT_N);
        else if (!strcmp(key, "q8_1")) sr_quantize_q8_1(x, (block_q8_1 *)q, QACT_N);
        else sr_quantize_q8_K(x, (block_q8_K *)q, QACT_N);
        if (!hash_is(q, bytes, c, key)) {
            if (bad < 5) printf("#   case %d (kind %d): %s (%s) differs from ggml's reference\n", i, i % QACT_KINDS,
                                key, sr_isa_name(isa));
            bad++;
        }
    }
    printf("#   %s %s: %d cases, %d differ\n", key, sr_isa_name(isa), checked, bad);
    CHECK(checked > 100);
    CHECK(bad == 0);
}

TEST(q8_0_matches_ggml_ref) { check_type("q8_0", SR_ISA_SCALAR); }
TEST(q8_1_matches_ggml_ref) { check_type("q8_1", SR_ISA_SCALAR); }
TEST(q8_K_matches_ggml_ref) { check_type("q8_K", SR_ISA_SCALAR); }
TEST(q8_0_avx2_matches_ggml_ref) { check_type("q8_0", SR_ISA_AVX2); }
TEST(q8_1_avx2_matches_ggml_ref) { check_type("q8_1", SR_ISA_AVX2); }
TEST(q8_K_avx2_matches_ggml_ref) { check_type("q8_K", SR_ISA_AVX2); }

/* Which activation type each weight type takes, as ggml's vec_dot_type. */
TEST(activation_type_pairs)
{
    CHECK(sr_qact_type(GGUF_T_Q4_0) == GGUF_T_Q8_0);
    CHECK(sr_qact_type(GGUF_T_Q5_0) == GGUF_T_Q8_0);
    CHECK(sr_qact_type(GGUF_T_Q8_0) == GGUF_T_Q8_0);
    CHECK(sr_qact_type(GGUF_T_IQ4_NL) == GGUF_T_Q8_0);
    CHECK(sr_qact_type(GGUF_T_Q4_1) == GGUF_T_Q8_1);
    CHECK(sr_qact_type(GGUF_T_Q5_1) == GGUF_T_Q8_1);
    CHECK(sr_qact_type(GGUF_T_Q2_K) == GGUF_T_Q8_K);
    CHECK(sr_qact_type(GGUF_T_Q6_K) == GGUF_T_Q8_K);
    CHECK(sr_qact_type(GGUF_T_IQ4_XS) == GGUF_T_Q8_K);
    CHECK(sr_qact_type(GGUF_T_F32) == -1);
    CHECK(sr_qact_row_bytes(GGUF_T_Q4_K, 512) == 2 * 292);
    CHECK(sr_qact_row_bytes(GGUF_T_Q4_1, 64) == 2 * 36);
    float x[64] = { 0 };
    unsigned char q[128];
    CHECK(sr_qact_quantize(GGUF_T_Q4_0, x, q, 48) == -1);   /* not whole blocks */
    CHECK(sr_qact_quantize(GGUF_T_F16, x, q, 64) == -1);
    CHECK(sr_qact_quantize(GGUF_T_Q4_0, x, q, 64) == 0);
}

int main(void)
{
    json_error_t e;
    json_t *j = json_load_file(GOLDEN, 0, &e);
    if (!j) { printf("Bail out! %s: %s\n", GOLDEN, e.text); return 1; }
    cases = json_object_get(j, "cases");
    RUN(q8_0_matches_ggml_ref);
    RUN(q8_1_matches_ggml_ref);
    RUN(q8_K_matches_ggml_ref);
    RUN(q8_0_avx2_matches_ggml_ref);
    RUN(q8_1_avx2_matches_ggml_ref);
    RUN(q8_K_avx2_matches_ggml_ref);
    RUN(activation_type_pairs);
    json_decref(j);
    return test_done();
}
