/* qact_ref.c — libggml's 8-bit activation quantizers on the rows of
 * qact_cases.h, written as tests/golden/qact/qact.json for
 * tests/unit/test_qact.c (which never needs libggml). Built and run only by
 * make_qact_golden.sh, never by the Makefile.
 *
 * For each case: XXH64 of the 256 input floats, and XXH64 of the Q8_0, Q8_1
 * and Q8_K blocks ggml's reference quantizers (quantize_row_q8_0_ref,
 * _q8_1_ref, _q8_K_ref, exported by libggml-base; declared here, as their
 * header is internal to ggml) write into zeroed memory. Also
 * counted, for the record: the cases where ggml's CPU backend quantizer
 * (ggml_get_type_traits_cpu's from_float, the one llama.cpp's matmuls call)
 * writes different bytes from the reference. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "ggml.h"
#include "ggml-cpu.h"

#include "qact_cases.h"

void quantize_row_q8_0_ref(const float *x, void *y, int64_t k);
void quantize_row_q8_1_ref(const float *x, void *y, int64_t k);
void quantize_row_q8_K_ref(const float *x, void *y, int64_t k);

static const struct {
    enum ggml_type t; const char *name; size_t bytes;
    void (*ref)(const float *, void *, int64_t);
} types[] = {
    { GGML_TYPE_Q8_0, "q8_0", 8 * 34, quantize_row_q8_0_ref },
    { GGML_TYPE_Q8_1, "q8_1", 8 * 36, quantize_row_q8_1_ref },
    { GGML_TYPE_Q8_K, "q8_K", 292, quantize_row_q8_K_ref },
};

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 3000;
    float x[QACT_N];
    unsigned char a[512], b[512];
    int differ[3] = { 0 };
    ggml_cpu_init();   /* fills the CPU backend's tables */
    printf("{\n \"generator\": \"tests/golden/qact/qact_ref.c against libggml-base (ggml %s)\",\n",
           ggml_version());
    printf(" \"n\": %d,\n \"cases\": [\n", n);
    for (int i = 0; i < n; i++) {
        qact_case(i, x);
        printf("  {\"x\": \"%016llx\"", (unsigned long long)XXH64(x, sizeof x, 0));
        for (int t = 0; t < 3; t++) {
            memset(a, 0, sizeof a);
            memset(b, 0, sizeof b);
            types[t].ref(x, a, QACT_N);
            ggml_get_type_traits_cpu(types[t].t)->from_float(x, b, QACT_N);
            differ[t] += memcmp(a, b, types[t].bytes) != 0;
            printf(", \"%s\": \"%016llx\"", types[t].name,
                   (unsigned long long)XXH64(a, types[t].bytes, 0));
        }
        printf("}%s\n", i + 1 < n ? "," : "");
    }
    printf(" ],\n \"cpu_backend_differs\": {\"q8_0\": %d, \"q8_1\": %d, \"q8_K\": %d}\n}\n",
           differ[0], differ[1], differ[2]);
    return 0;
}
