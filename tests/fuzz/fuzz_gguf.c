/* fuzz_gguf.c — the GGUF reader, then what is read from a header alone:
 * the model checks (hyperparameters, tensor shapes and types), the
 * tokenizer and chat template built from the metadata, and the dequantizer
 * over small tensors whose data lies in the input. */
#include "fuzz.h"

#include "lm/chat.h"
#include "lm/model.h"

/* The header's derived objects, each freed before the next input. */
static void check_header(const gguf_file *g)
{
    char err[512];
    sr_hparams hp;
    const sr_arch *arch = NULL;
    (void)sr_model_check_gguf(g, &hp, &arch, err, sizeof err);

    sr_tok *t = NULL;
    if (sr_tok_load(&t, g, NULL, err, sizeof err) == 0) {
        sr_chat c;
        if (sr_chat_load(&c, t, g, SR_CHAT_AUTO, err, sizeof err) == 0) sr_chat_free(&c);
        sr_ids ids = {0};
        (void)sr_tok_encode(t, "Hello, world!\n", 14, &ids, err, sizeof err);
        sr_ids_free(&ids);
        sr_tok_free(t);
    }

    for (uint64_t i = 0; i < g->n_tensors && i < 8; i++) {
        const gguf_tensor *tt = &g->tensors[i];
        if (tt->n_elems == 0 || tt->n_elems > (1u << 16)) continue;
        float *out = malloc(tt->n_elems * sizeof *out);
        if (!out) abort();
        (void)gguf_dequantize(tt, out);
        free(out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly the input's size, so a read past it is caught. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) abort();
    memcpy(buf, data, size);
    gguf_file g;
    char err[512];
    if (gguf_open_mem(&g, buf, size, err, sizeof err) == 0) {
        check_header(&g);
        gguf_close(&g);
    } else if (!err[0]) {
        abort();   /* a refusal must say why */
    }
    free(buf);
    return 0;
}
