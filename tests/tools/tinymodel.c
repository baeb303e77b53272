/* tinymodel.c — a tiny random llama GGUF with a real or fixture tokenizer. */
#include "tinymodel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm/checkpoint.h"
#include "lm/gguf.h"
#include "lm/model.h"

#define S(lit) ((gguf_str){ lit, sizeof(lit) - 1 })

static const char CHATML_TEMPLATE[] =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
    "{% endif %}";

/* Merges of the fixture: pairs of byte characters ("Ġ" is the space). */
static const char *const FIXTURE_MERGES[][2] = {
    { "Ġ", "t" }, { "h", "e" }, { "Ġt", "he" }, { "i", "n" }, { "e", "r" },
    { "a", "n" }, { "o", "n" }, { "Ġ", "a" }, { "r", "e" }, { "Ġ", "s" },
};
enum { N_MERGES = sizeof FIXTURE_MERGES / sizeof FIXTURE_MERGES[0] };
static const char *const FIXTURE_SPECIAL[] = { "<|endoftext|>", "<|im_start|>", "<|im_end|>" };
enum { N_SPECIAL = 3, N_FIXTURE = 256 + N_MERGES + N_SPECIAL };

/* The fixture tokenizer's strings and arrays, owned here. */
typedef struct fixture {
    char text[N_FIXTURE][32];
    char merge[N_MERGES][32];
    gguf_value tokens[N_FIXTURE], types[N_FIXTURE], merges[N_MERGES];
} fixture;

static int utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

static void fixture_build(fixture *f)
{
    /* GPT-2's byte characters: printable bytes stand for themselves, the
     * rest are mapped to U+0100 onward in byte order. */
    unsigned next = 256;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        int n = utf8_put(f->text[b], keep ? (unsigned)b : next++);
        f->text[b][n] = 0;
    }
    /* The merges' halves are written in byte characters already ("Ġ" is
     * the space's, U+0120); each merge's result is a token after the bytes. */
    for (int i = 0; i < N_MERGES; i++) {
        snprintf(f->merge[i], sizeof f->merge[i], "%s %s", FIXTURE_MERGES[i][0], FIXTURE_MERGES[i][1]);
        snprintf(f->text[256 + i], sizeof f->text[0], "%s%s", FIXTURE_MERGES[i][0], FIXTURE_MERGES[i][1]);
    }
    for (int i = 0; i < N_SPECIAL; i++) snprintf(f->text[256 + N_MERGES + i], sizeof f->text[0], "%s", FIXTURE_SPECIAL[i]);
    for (int i = 0; i < N_FIXTURE; i++) {
        f->tokens[i] = (gguf_value){ .type = GGUF_STRING, .v.s = { f->text[i], strlen(f->text[i]) } };
        f->types[i] = (gguf_value){ .type = GGUF_I32, .v.i = i >= 256 + N_MERGES ? 3 : 1 };
    }
    for (int i = 0; i < N_MERGES; i++)
        f->merges[i] = (gguf_value){ .type = GGUF_STRING, .v.s = { f->merge[i], strlen(f->merge[i]) } };
}

static int starts_with(gguf_str k, const char *p) { size_t n = strlen(p); return k.n >= n && memcmp(k.p, p, n) == 0; }

static int tiny_head_dim(const sr_tiny_opts *o) { return o->head_dim ? o->head_dim : o->dim / o->n_head; }

/* The family's shape keys under its prefix; the strings live in keys. */
static size_t arch_keys(gguf_kv *kv, char (*keys)[64], const char *pfx, const sr_tiny_opts *o, double theta)
{
    static const char *const names[] = { "block_count", "context_length", "embedding_length",
        "feed_forward_length", "attention.head_count", "attention.head_count_kv", "rope.dimension_count",
        "attention.key_length", "attention.value_length" };
    const uint64_t hd = (uint64_t)tiny_head_dim(o);
    const uint64_t vals[] = { (uint64_t)o->n_layer, (uint64_t)o->n_ctx, (uint64_t)o->dim, (uint64_t)o->ffn_dim,
                              (uint64_t)o->n_head, (uint64_t)o->n_head_kv, hd, hd, hd };
    const size_t n_int = o->head_dim ? 9 : 7;   /* the default files stay as they were */
    size_t n = 0;
    for (; n < n_int; n++) {
        snprintf(keys[n], 64, "%s.%s", pfx, names[n]);
        kv[n] = (gguf_kv){ { keys[n], strlen(keys[n]) }, { .type = GGUF_U32, .v.u = vals[n] } };
    }
    snprintf(keys[n], 64, "%s.rope.freq_base", pfx);
    kv[n] = (gguf_kv){ { keys[n], strlen(keys[n]) }, { .type = GGUF_F32, .v.f = theta } };
    n++;
    snprintf(keys[n], 64, "%s.attention.layer_norm_rms_epsilon", pfx);
    kv[n] = (gguf_kv){ { keys[n], strlen(keys[n]) }, { .type = GGUF_F32, .v.f = 1e-5 } };
    return n + 1;
}

/* Biases of std 0.5 rather than the weights' 0.02, so that a forward
 * that dropped or misplaced one would show in the logits. */
static void widen_biases(sr_model *m)
{
    const int qkv = (m->hp.n_head + 2 * m->hp.n_head_kv) * m->hp.head_dim;
    for (int l = 0; l < m->hp.n_layer; l++) {
        sr_layer_params *L = &m->w.layer[l];
        for (int i = 0; L->bqkv && i < qkv; i++) L->bqkv[i] *= 25.0f;
        for (int i = 0; L->bo && i < m->hp.dim; i++) L->bo[i] *= 25.0f;
    }
}

/* Head norm and post-norm weights spread over [0.5, 1.5] rather than all
 * 1, so that a forward that swapped q's and k's, or the two post-norms, or
 * misread one shows in the logits. */
static void vary_head_norms(sr_model *m)
{
    const int hd = m->hp.head_dim, d = m->hp.dim;
    for (int l = 0; l < m->hp.n_layer; l++) {
        float *w = m->w.layer[l].q_norm;   /* q_norm | k_norm */
        for (int i = 0; w && i < 2 * hd; i++) w[i] = 0.5f + (float)((i * 7 + l * 3) % 11) / 10.0f;
        float *pa = m->w.layer[l].post_attn_norm, *pf = m->w.layer[l].post_ffn_norm;
        for (int i = 0; pa && i < d; i++) {
            pa[i] = 0.5f + (float)((i * 5 + l) % 11) / 10.0f;
            pf[i] = 1.5f - (float)((i * 3 + l * 2) % 11) / 10.0f;
        }
    }
}

/* Gemma 3's own keys: the sliding window, the logit soft-cap and linear
 * RoPE scaling, each only when asked for (as the converter writes them only
 * when the model has them). */
static size_t gemma_keys(gguf_kv *kv, char (*keys)[64], const char *pfx, const sr_tiny_opts *o)
{
    size_t n = 0;
    if (o->swa_window > 0) {
        snprintf(keys[n], 64, "%s.attention.sliding_window", pfx);
        kv[n] = (gguf_kv){ { keys[n], strlen(keys[n]) }, { .type = GGUF_U32, .v.u = (uint64_t)o->swa_window } };
        n++;
    }
    if (o->softcap > 0) {
        snprintf(keys[n], 64, "%s.final_logit_softcapping", pfx);
        kv[n] = (gguf_kv){ { keys[n], strlen(keys[n]) }, { .type = GGUF_F32, .v.f = o->softcap } };
        n++;
    }
    if (o->rope_scale > 0) {
        snprintf(keys[n], 64, "%s.rope.scaling.type", pfx);
        kv[n] = (gguf_kv){ { keys[n], strlen(keys[n]) }, { .type = GGUF_STRING, .v.s = { "linear", 6 } } };
        n++;
        snprintf(keys[n], 64, "%s.rope.scaling.factor", pfx);
        kv[n] = (gguf_kv){ { keys[n], strlen(keys[n]) }, { .type = GGUF_F32, .v.f = o->rope_scale } };
        n++;
    }
    return n;
}

int sr_tiny_model_write(const char *path, const sr_tiny_opts *o, int *used_real, char *err, size_t errlen)
{
    gguf_file real;
    int have_real = 0;
    char e2[256];
    if (o->tokenizer_from && gguf_open(&real, o->tokenizer_from, e2, sizeof e2) == 0) have_real = 1;
    if (used_real) *used_real = have_real;
    fixture *fx = have_real ? NULL : calloc(1, sizeof *fx);
    gguf_kv *kv = calloc(64 + (have_real ? real.n_kv : 0), sizeof *kv);
    int rc = -1;
    sr_model m;
    memset(&m, 0, sizeof m);
    if ((!have_real && !fx) || !kv) { snprintf(err, errlen, "out of memory"); goto out; }

    uint64_t vocab;
    size_t n = 0;
    const char *arch_name = o->arch ? o->arch : "llama";
    const sr_arch *arch = sr_arch_find(arch_name, strlen(arch_name));
    const int qwen2 = arch && strcmp(arch->name, "qwen2") == 0, qwen3 = arch && strcmp(arch->name, "qwen3") == 0,
              phi3 = arch && strcmp(arch->name, "phi3") == 0,
              gemma3 = arch && strcmp(arch->name, "gemma3") == 0;
    if (!arch || (!qwen2 && !qwen3 && !phi3 && !gemma3 && strcmp(arch->name, "llama"))) {
        snprintf(err, errlen, "tiny model: architecture '%s' is not llama, qwen2, qwen3, phi3 or gemma3", arch_name);
        goto out;
    }
    const int llama = !qwen2 && !qwen3 && !phi3 && !gemma3;
    /* llama 2's base (and Phi-3's); Qwen2.5's, Qwen3's and Gemma 3's */
    const double theta = llama || phi3 ? 10000.0 : 1000000.0;
    char keys[15][64];
#define KV(k, t, field, x) kv[n++] = (gguf_kv){ S(k), { .type = t, .v.field = (x) } }
    kv[n++] = (gguf_kv){ S("general.architecture"),
                         { .type = GGUF_STRING, .v.s = { arch->name, strlen(arch->name) } } };
    KV("general.name", GGUF_STRING, s, S("sr tiny test model"));
    n += arch_keys(kv + n, keys, arch->prefix, o, theta);
    if (phi3) {   /* Phi-3-mini-4k's window, which llama.cpp (and sr) do not apply */
        snprintf(keys[11], 64, "%s.attention.sliding_window", arch->prefix);
        const uint64_t w = o->swa_window ? (uint64_t)o->swa_window : 2047;
        kv[n++] = (gguf_kv){ { keys[11], strlen(keys[11]) }, { .type = GGUF_U32, .v.u = w } };
        /* the converter writes it for every Phi-3; without LongRoPE it is the context */
        snprintf(keys[12], 64, "%s.rope.scaling.original_context_length", arch->prefix);
        kv[n++] = (gguf_kv){ { keys[12], strlen(keys[12]) }, { .type = GGUF_U32, .v.u = (uint64_t)o->n_ctx } };
    }
    if (gemma3) n += gemma_keys(kv + n, keys + 11, arch->prefix, o);
    if (have_real) {
        const gguf_value *toks = gguf_get_arr(&real, "tokenizer.ggml.tokens");
        if (!toks) { snprintf(err, errlen, "%s: no tokenizer.ggml.tokens", o->tokenizer_from); goto out; }
        vocab = toks->v.arr.n;
        for (uint64_t i = 0; i < real.n_kv; i++)
            if (starts_with(real.kv[i].key, "tokenizer.")) kv[n++] = real.kv[i];
    } else {
        fixture_build(fx);
        vocab = N_FIXTURE;
        KV("tokenizer.ggml.model", GGUF_STRING, s, S("gpt2"));
        KV("tokenizer.ggml.pre", GGUF_STRING, s, S("smollm"));
        kv[n++] = (gguf_kv){ S("tokenizer.ggml.tokens"),
                             { .type = GGUF_ARRAY, .v.arr = { GGUF_STRING, N_FIXTURE, fx->tokens } } };
        kv[n++] = (gguf_kv){ S("tokenizer.ggml.token_type"),
                             { .type = GGUF_ARRAY, .v.arr = { GGUF_I32, N_FIXTURE, fx->types } } };
        kv[n++] = (gguf_kv){ S("tokenizer.ggml.merges"),
                             { .type = GGUF_ARRAY, .v.arr = { GGUF_STRING, N_MERGES, fx->merges } } };
        KV("tokenizer.ggml.bos_token_id", GGUF_U32, u, 256 + N_MERGES + 1);
        KV("tokenizer.ggml.eos_token_id", GGUF_U32, u, 256 + N_MERGES + 2);
        KV("tokenizer.ggml.padding_token_id", GGUF_U32, u, 256 + N_MERGES + 2);
        KV("tokenizer.chat_template", GGUF_STRING, s, ((gguf_str){ CHATML_TEMPLATE, sizeof CHATML_TEMPLATE - 1 }));
    }
#undef KV
    sr_hparams hp = { .n_layer = o->n_layer, .dim = o->dim, .ffn_dim = o->ffn_dim, .n_head = o->n_head,
                      .n_head_kv = o->n_head_kv, .head_dim = o->n_head ? tiny_head_dim(o) : 0,
                      .n_rot = o->n_head ? tiny_head_dim(o) : 0, .vocab = (int)vocab, .n_ctx = o->n_ctx,
                      .norm_eps = 1e-5f, .rope_theta = (float)theta, .tied = o->tied,
                      .qkv_bias = qwen2 || (llama && o->biases), .out_bias = llama && o->biases,
                      .neox = !llama, .rope_freqs = llama && o->rope_freqs, .qk_norm = qwen3 || gemma3,
                      .fused_qkv = phi3, .fused_gate_up = phi3,
                      .post_norm = gemma3, .geglu = gemma3, .embd_scale = gemma3 };
    sr_model_opts mo = { .max_batch = 1, .max_seq = 1, .keep_acts = 0, .threads = 1 };
    if (sr_model_init_random(&m, &hp, o->seed, &mo, err, errlen) < 0) goto out;
    m.arch = arch;   /* the checkpoint names its tensors by the row */
    widen_biases(&m);
    vary_head_norms(&m);
    rc = sr_checkpoint_write(path, &m, NULL, kv, n, GGUF_T_F32, err, errlen);
out:
    sr_model_free(&m);
    if (have_real) gguf_close(&real);
    free(kv);
    free(fx);
    return rc;
}
