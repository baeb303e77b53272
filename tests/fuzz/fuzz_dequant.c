/* fuzz_dequant.c — the block dequantizers (kernels/cpu/dequant.c) over
 * arbitrary block bytes: byte 0 picks the type (every one ggml numbers, so
 * the unsupported ones must be refused), the rest is as many whole blocks
 * as fit, copied to exactly that size so a read past the last is caught.
 * Byte 0's top bit asks for one element too many, which must be refused. */
#include "fuzz.h"

#include "blocks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    enum gguf_ttype t = (enum gguf_ttype)(data[0] & 0x3f);
    int ragged = (data[0] & 0x80) != 0;
    uint64_t be = sr_block_elems(t), bb = sr_block_bytes(t);
    if (!quant_supported(t) || be == 0 || bb == 0) {
        float x;
        if (quant_dequantize(t, data, &x, 0) == 0 && !quant_supported(t)) abort();
        return 0;
    }
    uint64_t nblk = (size - 1) / bb;
    uint64_t n = nblk * be;
    size_t nsrc = (size_t)(nblk * bb);
    uint8_t *src = malloc(nsrc ? nsrc : 1);
    float *dst = malloc((n + 1) * sizeof *dst);
    if (!src || !dst) abort();
    memcpy(src, data + 1, nsrc);
    if (ragged && be > 1) {
        if (quant_dequantize(t, src, dst, n + 1) == 0) abort();
    } else if (quant_dequantize(t, src, dst, n) != 0) {
        abort();
    }
    free(src);
    free(dst);
    return 0;
}
