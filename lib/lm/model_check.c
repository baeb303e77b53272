/* model_check.c — everything about a model file that its GGUF header tells,
 * checked before a byte of weights is allocated: the architecture, the
 * hyper-parameters, and every tensor's name, type and shape (model.h).
 *
 * A refusal that comes only after the weights are allocated reaches a user
 * of a 70B file as "out of memory" instead of its reason; a tensor sr does not
 * know, if ignored, makes sr compute some other model than the file's. So
 * nothing here allocates more than the header's own size in bookkeeping. */
#include "lm/model.h"

#include "lm/checkpoint.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- hyper-parameters ----------------------------------------------------- */

/* An integer metadata value of any width; absent keys take def, or are an
 * error when def < 0. */
static int meta_int(const gguf_file *g, const char *key, int def, int *out, char *err, size_t errlen)
{
    uint64_t v;
    if (!gguf_find_kv(g, key)) {
        if (def >= 0) { *out = def; return 0; }
        snprintf(err, errlen, "GGUF metadata: %s is missing", key);
        return -1;
    }
    if (gguf_get_u64(g, key, &v) < 0 || v > INT_MAX) {
        snprintf(err, errlen, "GGUF metadata: %s is not an integer in [0, %d]", key, INT_MAX);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int meta_float(const gguf_file *g, const char *key, double def, float *out,
                      char *err, size_t errlen)
{
    double v;
    if (!gguf_find_kv(g, key)) { *out = (float)def; return 0; }
    if (gguf_get_f64(g, key, &v) < 0 || !(v > 0) || v > 1e30) {
        snprintf(err, errlen, "GGUF metadata: %s is not a positive number", key);
        return -1;
    }
    *out = (float)v;
    return 0;
}

static int str_is(gguf_str s, const char *lit) { return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0; }

/* A printable copy of a name from the file, for a message. */
static const char *shown(gguf_str s, char *buf, size_t cap)
{
    size_t n = 0;
    for (uint64_t i = 0; i < s.n && n + 1 < cap; i++) {
        unsigned char c = (unsigned char)s.p[i];
        buf[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    buf[n] = 0;
    return buf;
}

/* The row of the file's general.architecture, or NULL with err set. */
static const sr_arch *find_arch(const gguf_file *g, char *err, size_t errlen)
{
    gguf_str name;
    if (gguf_get_str(g, "general.architecture", &name) < 0) {
        snprintf(err, errlen, "GGUF metadata: general.architecture is missing");
        return NULL;
    }
    const sr_arch *a = sr_arch_find(name.p, name.n);
    if (!a) {
        char known[256], shown_name[72];
        sr_arch_list(known, sizeof known);
        snprintf(err, errlen, "GGUF architecture is \"%s\"; only %s models are supported",
                 shown(name, shown_name, sizeof shown_name), known);
    }
    return a;
}

/* A row may name a kind of math that the forward and backward do not have
 * yet; refusing it here keeps a new row from loading into the wrong model. */
static int check_arch_implemented(const sr_arch *a, char *err, size_t errlen)
{
    const char *what = a->qk_norm == SR_OPTIONAL ? "optional per-head q/k norms" :
                       a->post_norm == SR_OPTIONAL ? "optional post-norms" : NULL;
    if (!what) return 0;
    snprintf(err, errlen, "architecture \"%s\" needs %s, which sr does not implement yet",
             a->name, what);
    return -1;
}

/* A tensor the row marks absent is refused if the file has it, with what it
 * is: ignoring it would compute some other model than the file's. */
static int refuse_absent(const gguf_file *g, sr_presence has, const char *pattern, int n_layer,
                         const char *suffix, const char *what, char *err, size_t errlen)
{
    if (has != SR_ABSENT) return 0;
    char name[96];
    for (int l = 0; l < n_layer; l++) {
        sr_arch_tensor(pattern, l, suffix, name, sizeof name);
        if (gguf_find_tensor(g, name)) {
            snprintf(err, errlen, "GGUF tensor %s (%s) is not supported", name, what);
            return -1;
        }
    }
    return 0;
}

/* The block tensors no row supports yet, refused wherever they appear. */
static int refuse_absent_blocks(const sr_arch *a, const gguf_file *g, int n_layer,
                                char *err, size_t errlen)
{
    const sr_arch_names *t = &a->t;
    const int L = n_layer;
    if (refuse_absent(g, a->qkv_bias, t->attn_q, L, ".bias", "attention q bias", err, errlen) < 0 ||
        refuse_absent(g, a->qkv_bias, t->attn_k, L, ".bias", "attention k bias", err, errlen) < 0 ||
        refuse_absent(g, a->qkv_bias, t->attn_v, L, ".bias", "attention v bias", err, errlen) < 0 ||
        refuse_absent(g, a->out_bias, t->attn_output, L, ".bias", "attention output bias", err, errlen) < 0 ||
        refuse_absent(g, a->qk_norm, t->attn_q_norm, L, ".weight", "per-head q norm", err, errlen) < 0 ||
        refuse_absent(g, a->qk_norm, t->attn_k_norm, L, ".weight", "per-head k norm", err, errlen) < 0 ||
        refuse_absent(g, a->post_norm, t->post_attn_norm, L, ".weight", "post-attention norm", err, errlen) < 0 ||
        refuse_absent(g, a->post_norm, t->post_ffn_norm, L, ".weight", "post-feed-forward norm", err, errlen) < 0)
        return -1;
    return 0;
}

/* LongRoPE (Phi-3-mini-128k, Phi-3.5-mini): two sets of frequency factors,
 * the short ones up to rope.scaling.original_context_length and the long ones
 * past it, and cos/sin scaled by rope.scaling.attn_factor. sr has neither
 * the choice nor the scaling, so such a file is refused by the tensor's name
 * rather than run as a plain-RoPE model it is not. */
static int refuse_longrope(const gguf_file *g, char *err, size_t errlen)
{
    static const char *const names[] = { "rope_factors_long.weight", "rope_factors_short.weight" };
    for (int i = 0; i < 2; i++)
        if (gguf_find_tensor(g, names[i])) {
            snprintf(err, errlen, "GGUF tensor %s (LongRoPE frequency factors, as Phi-3-128k and "
                     "Phi-3.5 carry) is not supported; the 4k-context Phi-3 files are", names[i]);
            return -1;
        }
    return 0;
}

/* The sizes that do not come from a key: the vocabulary from token_embd's
 * rows, and whether the head is tied (no output.weight). */
static int hparams_from_tensors(sr_hparams *hp, const sr_arch *a, const gguf_file *g,
                                char *err, size_t errlen)
{
    char name[96];
    sr_arch_tensor(a->t.token_embd, 0, ".weight", name, sizeof name);
    const gguf_tensor *embd = gguf_find_tensor(g, name);
    if (!embd) {
        snprintf(err, errlen, "GGUF tensor %s is missing", name);
        return -1;
    }
    if (embd->n_dims != 2 || embd->ne[0] != (uint64_t)hp->dim || embd->ne[1] == 0 || embd->ne[1] > INT_MAX) {
        snprintf(err, errlen, "GGUF tensor %s has %u dims [%llu, %llu], expected [%d, vocab]",
                 name, embd->n_dims, (unsigned long long)embd->ne[0],
                 (unsigned long long)(embd->n_dims > 1 ? embd->ne[1] : 1), hp->dim);
        return -1;
    }
    hp->vocab = (int)embd->ne[1];
    sr_arch_tensor(a->t.output, 0, ".weight", name, sizeof name);
    hp->tied = a->head == SR_HEAD_TIED || (a->head == SR_HEAD_TIED_IF_ABSENT && !gguf_find_tensor(g, name));
    hp->neox = a->rope == SR_ROPE_NEOX;
    hp->qk_norm = a->qk_norm == SR_REQUIRED;
    hp->fused_qkv = a->fused_qkv;
    hp->fused_gate_up = a->fused_gate_up;
    hp->post_norm = a->post_norm == SR_REQUIRED;
    hp->geglu = a->ffn == SR_FFN_GEGLU;
    hp->embd_scale = a->gemma;
    sr_arch_tensor(a->t.rope_freqs, 0, ".weight", name, sizeof name);
    hp->rope_freqs = a->rope_factors == SR_REQUIRED ||
                     (a->rope_factors == SR_OPTIONAL && gguf_find_tensor(g, name));
    return 0;
}

/* Whether the model adds a bias kind (*on): a required one always; an
 * optional one when block 0 has its first tensor (first of patterns), and
 * then the tensor check wants every one in every block. One of them in a
 * block while block 0 lacks the first is refused: sr reads a kind of bias
 * in every block or in none. */
static int bias_flag(const gguf_file *g, sr_presence has, const char *const *patterns, int n_pat,
                     int n_layer, int *on, const char *what, char *err, size_t errlen)
{
    char first[96], name[96];
    sr_arch_tensor(patterns[0], 0, ".bias", first, sizeof first);
    *on = has == SR_REQUIRED || (has == SR_OPTIONAL && gguf_find_tensor(g, first));
    if (has != SR_OPTIONAL || *on) return 0;
    for (int l = 0; l < n_layer; l++)
        for (int i = 0; i < n_pat; i++) {
            sr_arch_tensor(patterns[i], l, ".bias", name, sizeof name);
            if (!gguf_find_tensor(g, name)) continue;
            snprintf(err, errlen, "GGUF tensor %s is present but %s is not: sr reads %s in every "
                     "block or in none", name, first, what);
            return -1;
        }
    return 0;
}

static int bias_flags(sr_hparams *hp, const sr_arch *a, const gguf_file *g, int n_layer,
                      char *err, size_t errlen)
{
    const char *qkv[3] = { a->t.attn_q, a->t.attn_k, a->t.attn_v }, *o[1] = { a->t.attn_output };
    if (bias_flag(g, a->qkv_bias, qkv, 3, n_layer, &hp->qkv_bias, "the q, k and v biases", err, errlen) < 0 ||
        bias_flag(g, a->out_bias, o, 1, n_layer, &hp->out_bias, "the attention output bias", err, errlen) < 0)
        return -1;
    return 0;
}

/* A soft-cap key of any row but Gemma's is refused (by name): llama.cpp's
 * other loaders here do not read it, nor does sr. */
static int refuse_softcap(const sr_arch *a, const gguf_file *g, char *err, size_t errlen)
{
    static const char *const keys[] = { "final_logit_softcapping", "attn_logit_softcapping" };
    char key[96];
    for (int i = a->gemma; i < 2; i++) {   /* Gemma 3 reads the first key; the second, no one */
        sr_arch_key(a, keys[i], key, sizeof key);
        double v;
        if (gguf_find_kv(g, key) && !(gguf_get_f64(g, key, &v) == 0 && v == 0)) {
            snprintf(err, errlen, "GGUF metadata: %s is not supported", key);
            return -1;
        }
    }
    return 0;
}

/* Gemma's keys: the sliding window, which layers have it, the local RoPE
 * base, the logit soft-cap, and the attention scale llama.cpp derives (the
 * 62-layer 27B scales by 1/sqrt(dim / heads), the others 1/sqrt(head_dim),
 * from Gemma's query_pre_attn_scalar). */
static int gemma_hparams(sr_hparams *hp, const sr_arch *a, const gguf_file *g, char *err, size_t errlen)
{
    char key[96];
#define KEY(k) (sr_arch_key(a, k, key, sizeof key), key)
    hp->rope_theta_swa = 10000.0f;
    if (refuse_softcap(a, g, err, errlen) < 0) return -1;
    if (!a->gemma) return 0;
    if (meta_int(g, KEY("attention.sliding_window"), 0, &hp->swa_window, err, errlen) < 0 ||
        meta_int(g, KEY("attention.sliding_window_pattern"), 6, &hp->swa_pattern, err, errlen) < 0 ||
        meta_float(g, KEY("rope.freq_base_swa"), 10000.0, &hp->rope_theta_swa, err, errlen) < 0)
        return -1;
    hp->softcap = 0;
    if (gguf_find_kv(g, KEY("final_logit_softcapping")) &&
        meta_float(g, key, 0, &hp->softcap, err, errlen) < 0)
        return -1;
#undef KEY
    if (hp->n_layer == 62 && hp->n_head > 0)
        hp->attn_scale = 1.0f / sqrtf((float)(hp->dim / hp->n_head));
    hp->n_swa = 0;      /* applied here: not a window the tools must warn of */
    return 0;
}

/* RoPE scaling. llama.cpp reads rope.scaling.factor whatever the type, and
 * takes an absent type for linear. Gemma 3's global blocks have linear 8 in
 * the 4B and larger: a gemma row reads a linear factor (hp->rope_linear);
 * any other type, or a factor other than 1 in another row, or an attention
 * factor, is refused by name. */
static int rope_scaling(sr_hparams *hp, const sr_arch *a, const gguf_file *g, char *err, size_t errlen)
{
    char key[96], shown_val[72];
    gguf_str scaling;
    sr_arch_key(a, "rope.scaling.type", key, sizeof key);
    const int typed = gguf_get_str(g, key, &scaling) == 0, none = typed && str_is(scaling, "none");
    if (typed && !none && !(a->gemma && str_is(scaling, "linear"))) {
        snprintf(err, errlen, "GGUF metadata: rope scaling \"%s\" is not supported",
                 shown(scaling, shown_val, sizeof shown_val));
        return -1;
    }
    double f;
    sr_arch_key(a, "rope.scaling.factor", key, sizeof key);
    if (gguf_find_kv(g, key)) {
        if (gguf_get_f64(g, key, &f) < 0 || !(f >= 0 && f < 1e6)) {
            snprintf(err, errlen, "GGUF metadata: %s is not a number in [0, 1e6)", key);
            return -1;
        }
        if (!none && f != 0 && f != 1) {
            if (!a->gemma) {
                snprintf(err, errlen, "GGUF metadata: %s (rope scaling) is not supported", key);
                return -1;
            }
            hp->rope_linear = (float)f;
        }
    }
    sr_arch_key(a, "rope.scaling.attn_factor", key, sizeof key);
    if (gguf_find_kv(g, key) && !(gguf_get_f64(g, key, &f) == 0 && f == 1)) {
        snprintf(err, errlen, "GGUF metadata: %s is not supported", key);
        return -1;
    }
    return 0;
}

int sr_hparams_from_gguf(sr_hparams *hp, const sr_arch **arch, const gguf_file *g,
                         char *err, size_t errlen)
{
    memset(hp, 0, sizeof *hp);
    const sr_arch *a = find_arch(g, err, errlen);
    if (!a || check_arch_implemented(a, err, errlen) < 0) return -1;
    char key[96];
#define KEY(k) (sr_arch_key(a, k, key, sizeof key), key)
    if (rope_scaling(hp, a, g, err, errlen) < 0) return -1;
    if (refuse_absent(g, a->rope_factors, a->t.rope_freqs, 1, ".weight", "rope frequency factors",
                      err, errlen) < 0 || refuse_longrope(g, err, errlen) < 0)
        return -1;
    if (meta_int(g, KEY("block_count"), -1, &hp->n_layer, err, errlen) < 0 ||
        meta_int(g, KEY("embedding_length"), -1, &hp->dim, err, errlen) < 0 ||
        meta_int(g, KEY("feed_forward_length"), -1, &hp->ffn_dim, err, errlen) < 0 ||
        meta_int(g, KEY("attention.head_count"), -1, &hp->n_head, err, errlen) < 0 ||
        meta_int(g, KEY("attention.head_count_kv"), hp->n_head, &hp->n_head_kv, err, errlen) < 0 ||
        meta_int(g, KEY("context_length"), -1, &hp->n_ctx, err, errlen) < 0 ||
        meta_float(g, KEY("attention.layer_norm_rms_epsilon"), 1e-5, &hp->norm_eps, err, errlen) < 0 ||
        meta_float(g, KEY("rope.freq_base"), 10000.0, &hp->rope_theta, err, errlen) < 0 ||
        meta_int(g, KEY("attention.sliding_window"), 0, &hp->n_swa, err, errlen) < 0)
        return -1;
    if (hp->n_head <= 0 || hp->dim <= 0) {
        snprintf(err, errlen, "GGUF metadata: head_count %d and embedding_length %d must be positive",
                 hp->n_head, hp->dim);
        return -1;
    }
    int def_hd = hp->dim % hp->n_head ? 0 : hp->dim / hp->n_head, vdim;
    if (meta_int(g, KEY("attention.key_length"), def_hd, &hp->head_dim, err, errlen) < 0 ||
        meta_int(g, KEY("attention.value_length"), hp->head_dim, &vdim, err, errlen) < 0 ||
        meta_int(g, KEY("rope.dimension_count"), hp->head_dim, &hp->n_rot, err, errlen) < 0)
        return -1;
#undef KEY
    if (hp->head_dim == 0 || vdim != hp->head_dim) {
        snprintf(err, errlen, "GGUF metadata: head size (key %d, value %d, embedding %d / %d heads) "
                 "is not supported", hp->head_dim, vdim, hp->dim, hp->n_head);
        return -1;
    }
    if (hparams_from_tensors(hp, a, g, err, errlen) < 0 || gemma_hparams(hp, a, g, err, errlen) < 0)
        return -1;
    /* n_layer is only a number from the file here; the bound keeps the scan short */
    const int scan = hp->n_layer > 4096 ? 4096 : hp->n_layer;
    if (refuse_absent_blocks(a, g, scan, err, errlen) < 0 || bias_flags(hp, a, g, scan, err, errlen) < 0)
        return -1;
    *arch = a;
    return 0;
}

int sr_hparams_check(const sr_hparams *hp, char *err, size_t errlen)
{
    if (hp->n_layer <= 0 || hp->dim <= 0 || hp->ffn_dim <= 0 || hp->n_head <= 0 ||
        hp->n_head_kv <= 0 || hp->head_dim <= 0 || hp->vocab <= 0 || hp->n_ctx <= 0) {
        snprintf(err, errlen, "model shape: every size must be positive (layers %d, dim %d, "
                 "ffn %d, heads %d/%d, head_dim %d, vocab %d, context %d)", hp->n_layer, hp->dim,
                 hp->ffn_dim, hp->n_head, hp->n_head_kv, hp->head_dim, hp->vocab, hp->n_ctx);
        return -1;
    }
    if (hp->n_head % hp->n_head_kv) {
        snprintf(err, errlen, "model shape: %d query heads do not divide into %d kv heads",
                 hp->n_head, hp->n_head_kv);
        return -1;
    }
    if (hp->n_rot < 0 || hp->n_rot > hp->head_dim || hp->n_rot % 2) {
        snprintf(err, errlen, "model shape: rope dimension %d must be even and at most head_dim %d",
                 hp->n_rot, hp->head_dim);
        return -1;
    }
    /* Bounds that keep every int size and index product far from overflow. */
    if (hp->n_layer > 4096 || hp->dim > (1 << 16) || hp->ffn_dim > (1 << 18) ||
        hp->n_head > 4096 || hp->head_dim > 4096 || hp->vocab > (1 << 22) || hp->n_ctx > (1 << 22) ||
        (size_t)hp->n_head * hp->head_dim > (1 << 18)) {
        snprintf(err, errlen, "model shape: sizes beyond what this implementation supports "
                 "(dim %d, ffn %d, heads %d × %d, vocab %d, layers %d, context %d)", hp->dim,
                 hp->ffn_dim, hp->n_head, hp->head_dim, hp->vocab, hp->n_layer, hp->n_ctx);
        return -1;
    }
    return 0;
}

/* ---- tensors -------------------------------------------------------------- */

/* A tensor's shape against the expected [ne0] (ne1 = 1, one dim) or [ne0, ne1]. */
static int check_shape(const gguf_tensor *t, const sr_named_tensor *want, char *err, size_t errlen)
{
    if (t->n_dims == (uint32_t)want->n_dims && t->ne[0] == want->ne0 && t->ne[1] == want->ne1) return 0;
    char got[96], exp[48];
    int k = snprintf(got, sizeof got, "[");
    for (uint32_t i = 0; i < t->n_dims && i < GGUF_MAX_DIMS; i++)
        k += snprintf(got + k, sizeof got - k, "%s%llu", i ? ", " : "", (unsigned long long)t->ne[i]);
    snprintf(got + k, sizeof got - k, "]");
    if (want->n_dims == 2)
        snprintf(exp, sizeof exp, "[%llu, %llu]", (unsigned long long)want->ne0, (unsigned long long)want->ne1);
    else
        snprintf(exp, sizeof exp, "[%llu]", (unsigned long long)want->ne0);
    snprintf(err, errlen, "GGUF tensor %s has shape %s, expected %s", want->name, got, exp);
    return -1;
}

/* A type sr cannot dequantize, named with the tensor and with the ones sr reads. */
static int check_type(const gguf_tensor *t, const char *name, char *err, size_t errlen)
{
    if (quant_supported(t->type)) return 0;
    char known[256];
    size_t k = 0;
    known[0] = 0;
    for (int ty = 0; ty < 64 && k < sizeof known; ty++)
        if (quant_supported((enum gguf_ttype)ty)) {
            int w = snprintf(known + k, sizeof known - k, "%s%s", k ? ", " : "", gguf_type_name((enum gguf_ttype)ty));
            if (w < 0) break;
            k += (size_t)w;
        }
    snprintf(err, errlen, "GGUF tensor %s has type %s, which sr cannot dequantize (it reads %s)",
             name, gguf_type_name(t->type), known);
    return -1;
}

/* The first of the file's tensors that is none of the expected ones (those
 * marked seen), refused by name. */
static int refuse_unknown(const gguf_file *g, const unsigned char *seen, const sr_arch *a,
                          const sr_hparams *hp, char *err, size_t errlen)
{
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        if (seen[i]) continue;
        char name[72];
        snprintf(err, errlen, "GGUF tensor %s is not a tensor of a %s model with %d blocks: sr cannot "
                 "tell what it does, and ignoring it would compute another model",
                 shown(g->tensors[i].name, name, sizeof name), a->name, hp->n_layer);
        return -1;
    }
    return 0;
}

/* Every tensor the model reads is present, of its shape and of a type sr
 * dequantizes, and the file holds no other. */
static int check_tensors(const gguf_file *g, const sr_arch *a, const sr_hparams *hp,
                         char *err, size_t errlen)
{
    const int n = sr_model_tensor_count(hp);
    sr_named_tensor *want = malloc((size_t)n * sizeof *want);
    sr_layer_params *layer = calloc((size_t)hp->n_layer, sizeof *layer);
    unsigned char *seen = calloc(g->n_tensors ? g->n_tensors : 1, 1);
    const gguf_tensor **found = malloc((size_t)n * sizeof *found);
    int rc = -1;
    if (!want || !layer || !seen || !found) { snprintf(err, errlen, "out of memory"); goto done; }
    sr_params none = { .layer = layer };   /* only the names and shapes are wanted */
    sr_model_tensors(a, hp, &none, want);
    for (int i = 0; i < n; i++)
        if ((found[i] = gguf_find_tensor(g, want[i].name))) seen[found[i] - g->tensors] = 1;
    /* An unknown name first: a renamed tensor is also a missing one, and
     * its name says more. */
    if (refuse_unknown(g, seen, a, hp, err, errlen) < 0) goto done;
    for (int i = 0; i < n; i++) {
        if (!found[i]) { snprintf(err, errlen, "GGUF tensor %s is missing", want[i].name); goto done; }
        if (check_shape(found[i], &want[i], err, errlen) < 0 ||
            check_type(found[i], want[i].name, err, errlen) < 0) goto done;
    }
    rc = 0;
done:
    free(want); free(layer); free(seen); free(found);
    return rc;
}

int sr_model_check_gguf(const gguf_file *g, sr_hparams *hp, const sr_arch **arch,
                        char *err, size_t errlen)
{
    if (sr_hparams_from_gguf(hp, arch, g, err, errlen) < 0 || sr_hparams_check(hp, err, errlen) < 0)
        return -1;
    char key[96];
    int n_vocab;
    sr_arch_key(*arch, "vocab_size", key, sizeof key);
    if (meta_int(g, key, hp->vocab, &n_vocab, err, errlen) < 0) return -1;
    if (n_vocab != hp->vocab) {
        snprintf(err, errlen, "GGUF metadata: %s is %d, but the embedding has %d rows", key, n_vocab,
                 hp->vocab);
        return -1;
    }
    return check_tensors(g, *arch, hp, err, errlen);
}

int sr_model_check_vocab(const sr_hparams *hp, const sr_arch *a, uint32_t n_tokens,
                         char *err, size_t errlen)
{
    if ((uint64_t)hp->vocab == n_tokens) return 0;
    char name[96];
    sr_arch_tensor(a->t.token_embd, 0, ".weight", name, sizeof name);
    snprintf(err, errlen, "GGUF tensor %s has %d rows for a tokenizer of %u tokens: they must be "
             "equal, or sr could sample an id the tokenizer cannot decode, or read a token past "
             "the embedding", name, hp->vocab, n_tokens);
    return -1;
}
