/* headermodel.c — a big llama's GGUF header over a hole (headermodel.h).
 *
 * Written byte by byte here rather than through gguf_write, which copies
 * every tensor's data: the point is a file whose header claims 141 GB that
 * takes a few MB to write. The tensor names are spelled out, not taken from
 * lib/lm's table, so that the test does not borrow what it checks. */
#include "headermodel.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALIGN 32

static const struct { const char *name; sr_header_defect d; } DEFECTS[] = {
    { "none", SR_DEFECT_NONE }, { "arch", SR_DEFECT_ARCH }, { "tok-model", SR_DEFECT_TOK_MODEL },
    { "tok-pre", SR_DEFECT_TOK_PRE }, { "unknown-tensor", SR_DEFECT_UNKNOWN_TENSOR },
    { "bias", SR_DEFECT_BIAS }, { "type", SR_DEFECT_TYPE }, { "shape", SR_DEFECT_SHAPE },
    { "vocab-rows", SR_DEFECT_VOCAB_ROWS }, { "missing", SR_DEFECT_MISSING },
    { "truncated", SR_DEFECT_TRUNCATED }, { "head-rows", SR_DEFECT_HEAD_ROWS },
};

int sr_header_defect_parse(const char *name, sr_header_defect *out)
{
    for (size_t i = 0; i < sizeof DEFECTS / sizeof DEFECTS[0]; i++)
        if (strcmp(name, DEFECTS[i].name) == 0) { *out = DEFECTS[i].d; return 0; }
    return -1;
}

/* ---- the bytes ------------------------------------------------------------ */

typedef struct buf { unsigned char *p; size_t n, cap; int oom; } buf;

static void put(buf *b, const void *x, size_t n)
{
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 1 << 20) + n;
        unsigned char *p = realloc(b->p, cap);
        if (!p) { b->oom = 1; return; }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, x, n);
    b->n += n;
}
static void put_u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void put_str(buf *b, const char *s) { put_u64(b, strlen(s)); put(b, s, strlen(s)); }

static void kv_str(buf *b, const char *k, const char *v) { put_str(b, k); put_u32(b, GGUF_STRING); put_str(b, v); }
static void kv_u32(buf *b, const char *k, uint32_t v) { put_str(b, k); put_u32(b, GGUF_U32); put_u32(b, v); }
static void kv_f32(buf *b, const char *k, float v) { put_str(b, k); put_u32(b, GGUF_F32); put(b, &v, 4); }

/* ---- the tokenizer -------------------------------------------------------- */

static const char CHATML[] =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
    "{% endif %}";
enum { N_BYTES = 256, ID_MERGED = 256, ID_EOT_TEXT, ID_IM_START, ID_IM_END, N_FIXED };

/* Token i's text: GPT-2's byte characters for the bytes (printable ones
 * stand for themselves, the rest are U+0100 onward in byte order), one
 * merge, ChatML's specials, then reserved control tokens. */
static void token_text(int i, char *out, size_t cap)
{
    static const char *fixed[] = { "\xC4\xA0t", "<|endoftext|>", "<|im_start|>", "<|im_end|>" };
    if (i >= N_FIXED) { snprintf(out, cap, "<|reserved_%d|>", i - N_FIXED); return; }
    if (i >= N_BYTES) { snprintf(out, cap, "%s", fixed[i - N_BYTES]); return; }
    unsigned cp = (unsigned)i, next = 256;
    for (int b = 0; b < i; b++)
        if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))) next++;
    if (!((i >= 33 && i <= 126) || (i >= 161 && i <= 172) || (i >= 174 && i <= 255))) cp = next;
    if (cp < 0x80) { out[0] = (char)cp; out[1] = 0; return; }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    out[2] = 0;
}

static void put_tokenizer(buf *b, const sr_header_opts *o)
{
    kv_str(b, "tokenizer.ggml.model", o->defect == SR_DEFECT_TOK_MODEL ? "rwkv" : "gpt2");
    kv_str(b, "tokenizer.ggml.pre", o->defect == SR_DEFECT_TOK_PRE ? "no-such-pre" : "smollm");
    put_str(b, "tokenizer.ggml.tokens");
    put_u32(b, GGUF_ARRAY); put_u32(b, GGUF_STRING); put_u64(b, (uint64_t)o->n_vocab);
    char text[32];
    for (int i = 0; i < o->n_vocab; i++) { token_text(i, text, sizeof text); put_str(b, text); }
    put_str(b, "tokenizer.ggml.token_type");
    put_u32(b, GGUF_ARRAY); put_u32(b, GGUF_I32); put_u64(b, (uint64_t)o->n_vocab);
    for (int i = 0; i < o->n_vocab; i++) put_u32(b, i < ID_EOT_TEXT ? 1 : 3);
    put_str(b, "tokenizer.ggml.merges");
    put_u32(b, GGUF_ARRAY); put_u32(b, GGUF_STRING); put_u64(b, 1);
    put_str(b, "\xC4\xA0 t");
    kv_u32(b, "tokenizer.ggml.bos_token_id", ID_IM_START);
    kv_u32(b, "tokenizer.ggml.eos_token_id", ID_IM_END);
    kv_str(b, "tokenizer.chat_template", CHATML);
}

/* ---- the tensors ---------------------------------------------------------- */

typedef struct tinfo { char name[64]; uint32_t n_dims; uint64_t ne0, ne1; enum gguf_ttype type; } tinfo;

static void add(tinfo *t, int *n, const char *name, uint64_t ne0, uint64_t ne1, enum gguf_ttype type)
{
    tinfo *x = &t[(*n)++];
    snprintf(x->name, sizeof x->name, "%s", name);
    x->n_dims = ne1 ? 2 : 1;
    x->ne0 = ne0;
    x->ne1 = ne1 ? ne1 : 1;
    x->type = ne1 ? type : GGUF_T_F32;
}

/* Every tensor of an untied llama, with the defect's change. Returns the count. */
static int llama_tensors(const sr_header_opts *o, tinfo *t)
{
    const uint64_t d = o->dim, f = o->ffn_dim, hd = o->dim / o->n_head, kvd = hd * o->n_head_kv;
    const uint64_t V = o->n_vocab - (o->defect == SR_DEFECT_VOCAB_ROWS ? 256 : 0);
    const enum gguf_ttype ty = o->type;
    int n = 0;
    char nm[64];
    add(t, &n, "token_embd.weight", d, V, ty);
    add(t, &n, "output_norm.weight", d, 0, ty);
    add(t, &n, "output.weight", d, V - (o->defect == SR_DEFECT_HEAD_ROWS ? 256 : 0), ty);
    for (int l = 0; l < o->n_layer; l++) {
#define BLK(s, a, b, type) (snprintf(nm, sizeof nm, "blk.%d.%s", l, s), add(t, &n, nm, a, b, type))
        BLK("attn_norm.weight", d, 0, ty);
        BLK("attn_q.weight", d, d, ty);
        BLK("attn_k.weight", d, o->defect == SR_DEFECT_SHAPE && l == 7 ? d : kvd, ty);
        BLK("attn_v.weight", d, kvd, ty);
        BLK("attn_output.weight", d, d, ty);
        BLK("ffn_norm.weight", d, 0, ty);
        BLK("ffn_gate.weight", d, f, ty);
        if (!(o->defect == SR_DEFECT_MISSING && l == o->n_layer - 1)) BLK("ffn_up.weight", d, f, ty);
        BLK("ffn_down.weight", f, d, o->defect == SR_DEFECT_TYPE && l == 5 ? GGUF_T_IQ2_XXS : ty);
        if (o->defect == SR_DEFECT_UNKNOWN_TENSOR && l == 3) BLK("ffn_gate_exps.weight", d, f, ty);
        if (o->defect == SR_DEFECT_BIAS && l == 3) BLK("attn_q.bias", d, 0, ty);
#undef BLK
    }
    return n;
}

/* The tensor table, each one's data aligned; returns the data's size. */
static uint64_t put_tensor_infos(buf *b, const tinfo *t, int n)
{
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        put_str(b, t[i].name);
        put_u32(b, t[i].n_dims);
        put_u64(b, t[i].ne0);
        if (t[i].n_dims == 2) put_u64(b, t[i].ne1);
        put_u32(b, (uint32_t)t[i].type);
        put_u64(b, off);
        off += (gguf_type_size(t[i].type, t[i].ne0 * t[i].ne1) + ALIGN - 1) / ALIGN * ALIGN;
    }
    return off;
}

static void put_header(buf *b, const sr_header_opts *o, int n_tensors)
{
    put(b, "GGUF", 4);
    put_u32(b, 3);
    put_u64(b, (uint64_t)n_tensors);
    put_u64(b, 19);   /* the keys below */
    kv_str(b, "general.architecture", o->defect == SR_DEFECT_ARCH ? "mamba" : "llama");
    kv_str(b, "general.name", "sr header-only test model");
    kv_u32(b, "llama.block_count", (uint32_t)o->n_layer);
    kv_u32(b, "llama.context_length", (uint32_t)o->n_ctx);
    kv_u32(b, "llama.embedding_length", (uint32_t)o->dim);
    kv_u32(b, "llama.feed_forward_length", (uint32_t)o->ffn_dim);
    kv_u32(b, "llama.attention.head_count", (uint32_t)o->n_head);
    kv_u32(b, "llama.attention.head_count_kv", (uint32_t)o->n_head_kv);
    kv_u32(b, "llama.rope.dimension_count", (uint32_t)(o->dim / o->n_head));
    kv_f32(b, "llama.rope.freq_base", 500000.0f);
    kv_f32(b, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    put_tokenizer(b, o);   /* 8 keys */
}

int sr_header_model_write(const char *path, const sr_header_opts *o, char *err, size_t errlen)
{
    tinfo *t = calloc(3 + 11 * (size_t)o->n_layer, sizeof *t);
    buf b = { 0 };
    int rc = -1;
    if (!t) { snprintf(err, errlen, "out of memory"); return -1; }
    int n = llama_tensors(o, t);
    put_header(&b, o, n);
    uint64_t data = put_tensor_infos(&b, t, n);
    static const unsigned char zeros[ALIGN];
    put(&b, zeros, (ALIGN - b.n % ALIGN) % ALIGN);
    uint64_t size = b.n + (o->defect == SR_DEFECT_TRUNCATED ? data / 2 : data);
    FILE *f = b.oom ? NULL : fopen(path, "wb");
    if (b.oom) snprintf(err, errlen, "out of memory");
    else if (!f) snprintf(err, errlen, "%s: cannot create", path);
    else if (fwrite(b.p, 1, b.n, f) != b.n || fflush(f) != 0 || ftruncate(fileno(f), (off_t)size) != 0)
        snprintf(err, errlen, "%s: write failed", path);
    else
        rc = 0;
    if (f && fclose(f) != 0 && rc == 0) { snprintf(err, errlen, "%s: write failed", path); rc = -1; }
    free(b.p);
    free(t);
    return rc;
}
