/* checkpoint.c — writing a model as GGUF, keeping its parent's metadata. */
#include "lm/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "blocks.h"

int sr_model_tensor_count(const sr_hparams *hp)
{
    return 2 + !hp->tied + !!hp->rope_freqs +
           (9 + 3 * !!hp->qkv_bias + !!hp->out_bias + 2 * !!hp->qk_norm + 2 * !!hp->post_norm -
            2 * !!hp->fused_qkv - !!hp->fused_gate_up) * hp->n_layer;
}

int sr_model_tensors(const sr_arch *a, const sr_hparams *hp, const sr_params *p, sr_named_tensor *out)
{
    const uint64_t d = hp->dim, f = hp->ffn_dim, f2 = 2 * f, qd = (uint64_t)hp->n_head * hp->head_dim,
                   kvd = (uint64_t)hp->n_head_kv * hp->head_dim, qkvd = qd + 2 * kvd, V = hp->vocab;
    const sr_arch_names *t = &a->t;
    int n = 0;
    /* Names from the architecture's row, so a family's checkpoint reads back
     * under the names its loader looks for. */
#define PUT_AS(pattern, sfx, l, ptr, a0, b) do { sr_named_tensor *t_ = &out[n++]; \
        sr_arch_tensor((pattern), (l), (sfx), t_->name, sizeof t_->name); \
        t_->data = (ptr); t_->ne0 = (a0); t_->ne1 = (b) ? (b) : 1; t_->n_dims = (b) ? 2 : 1; } while (0)
#define PUT(pattern, l, ptr, a0, b) PUT_AS(pattern, ".weight", l, ptr, a0, b)
    PUT(t->token_embd, 0, p->token_embd, d, V);
    PUT(t->output_norm, 0, p->output_norm, d, 0);
    if (!hp->tied) PUT(t->output, 0, p->output, d, V);
    if (hp->rope_freqs) PUT(t->rope_freqs, 0, p->rope_freqs, (uint64_t)hp->n_rot / 2, 0);
    for (int l = 0; l < hp->n_layer; l++) {
        const sr_layer_params *L = &p->layer[l];
        PUT(t->attn_norm, l, L->attn_norm, d, 0);
        if (hp->fused_qkv) {   /* wq | wk | wv lie back to back: one tensor of q, k, v rows */
            PUT(t->attn_qkv, l, L->wq, d, qkvd);
        } else {
            PUT(t->attn_q, l, L->wq, d, qd);
            PUT(t->attn_k, l, L->wk, d, kvd);
            PUT(t->attn_v, l, L->wv, d, kvd);
        }
        if (hp->qkv_bias) {   /* one block bq | bk | bv, written as llama.cpp names them */
            PUT_AS(t->attn_q, ".bias", l, L->bqkv, qd, 0);
            PUT_AS(t->attn_k, ".bias", l, L->bqkv ? L->bqkv + qd : NULL, kvd, 0);
            PUT_AS(t->attn_v, ".bias", l, L->bqkv ? L->bqkv + qd + kvd : NULL, kvd, 0);
        }
        if (hp->qk_norm) {
            PUT(t->attn_q_norm, l, L->q_norm, (uint64_t)hp->head_dim, 0);
            PUT(t->attn_k_norm, l, L->k_norm, (uint64_t)hp->head_dim, 0);
        }
        PUT(t->attn_output, l, L->wo, qd, d);
        if (hp->out_bias) PUT_AS(t->attn_output, ".bias", l, L->bo, d, 0);
        if (hp->post_norm) PUT(t->post_attn_norm, l, L->post_attn_norm, d, 0);
        PUT(t->ffn_norm, l, L->ffn_norm, d, 0);
        if (hp->fused_gate_up) {   /* w_gate | w_up, phi3's ffn_up: gate rows, then up rows */
            PUT(t->ffn_up, l, L->w_gate, d, f2);
        } else {
            PUT(t->ffn_gate, l, L->w_gate, d, f);
            PUT(t->ffn_up, l, L->w_up, d, f);
        }
        PUT(t->ffn_down, l, L->w_down, f, d);
        if (hp->post_norm) PUT(t->post_ffn_norm, l, L->post_ffn_norm, d, 0);
    }
#undef PUT
#undef PUT_AS
    return n;
}

static int key_is(gguf_str k, const char *s) { return k.n == strlen(s) && memcmp(k.p, s, k.n) == 0; }

static const sr_named_tensor *find_named(const sr_named_tensor *ts, int n, gguf_str name)
{
    for (int i = 0; i < n; i++) if (key_is(name, ts[i].name)) return &ts[i];
    return NULL;
}

/* Our tensor as it is written: F32 from the model's memory, or BF16 in a
 * buffer of its own (*owned, freed by the caller). */
static int put_tensor(gguf_tensor *out, const sr_named_tensor *t, enum gguf_ttype dtype, void **owned)
{
    memset(out, 0, sizeof *out);
    out->name = (gguf_str){ t->name, strlen(t->name) };
    out->n_dims = (uint32_t)t->n_dims;
    out->ne[0] = t->ne0;
    out->ne[1] = t->ne1;
    out->ne[2] = out->ne[3] = 1;
    *owned = NULL;
    if (dtype == GGUF_T_BF16 && t->n_dims == 2) {
        size_t n = (size_t)(t->ne0 * t->ne1);
        uint16_t *b = malloc(n * sizeof *b);
        if (!b) return -1;
        quant_f32_to_bf16_row(t->data, b, n);
        out->type = GGUF_T_BF16;
        out->data = b;
        *owned = b;
    } else {
        out->type = GGUF_T_F32;
        out->data = t->data;
    }
    return 0;
}

int sr_checkpoint_write(const char *path, sr_model *m, const gguf_file *parent,
                        const gguf_kv *extra, size_t n_extra, enum gguf_ttype dtype,
                        char *err, size_t errlen)
{
    if (dtype != GGUF_T_F32 && dtype != GGUF_T_BF16) {
        snprintf(err, errlen, "%s: checkpoints are written F32 or BF16, not %s", path, gguf_type_name(dtype));
        return -1;
    }
    const int n_ours = sr_model_tensor_count(&m->hp);
    const size_t n_parent_kv = parent ? parent->n_kv : 0, n_parent_t = parent ? parent->n_tensors : 0;
    sr_named_tensor *ours = calloc((size_t)n_ours, sizeof *ours);
    gguf_kv *kv = calloc(n_parent_kv + n_extra + 1, sizeof *kv);
    size_t max_t = n_parent_t + (size_t)n_ours;
    gguf_tensor *ts = calloc(max_t, sizeof *ts);
    void **owned = calloc(max_t, sizeof *owned);
    char *written = calloc((size_t)n_ours, 1);
    int rc = -1;
    if (!ours || !kv || !ts || !owned || !written) { snprintf(err, errlen, "%s: out of memory", path); goto out; }
    /* the weights as host memory, laid out as the model's block */
    float *host = sr_model_params_host(m);
    sr_params hp_map;
    hp_map.layer = calloc((size_t)m->hp.n_layer, sizeof *hp_map.layer);
    if (!host || !hp_map.layer) {
        free(hp_map.layer);
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    sr_params_map(&m->hp, host, &hp_map, hp_map.layer);
    sr_model_tensors(m->arch, &m->hp, &hp_map, ours);
    free(hp_map.layer);   /* ours points at the weights, not at the map */

    /* metadata: the parent's (less what extra replaces), file_type set, then extra */
    size_t nkv = 0;
    const gguf_value ftype = { .type = GGUF_U32, .v.u = dtype == GGUF_T_BF16 ? 32 : 0 };
    int have_ftype = 0;
    for (size_t i = 0; i < n_parent_kv; i++) {
        gguf_kv k = parent->kv[i];
        int replaced = 0;
        for (size_t j = 0; j < n_extra; j++)
            replaced |= extra[j].key.n == k.key.n && memcmp(extra[j].key.p, k.key.p, k.key.n) == 0;
        if (replaced) continue;
        if (key_is(k.key, "general.file_type")) { k.val = ftype; k.val.type = parent->kv[i].val.type; have_ftype = 1; }
        kv[nkv++] = k;
    }
    if (!have_ftype) {
        int in_extra = 0;
        for (size_t j = 0; j < n_extra; j++) in_extra |= key_is(extra[j].key, "general.file_type");
        if (!in_extra) kv[nkv++] = (gguf_kv){ { "general.file_type", 17 }, ftype };
    }
    for (size_t j = 0; j < n_extra; j++) kv[nkv++] = extra[j];

    /* tensors: the parent's order, ours substituted; then any of ours it lacked */
    size_t nt = 0;
    for (size_t i = 0; i < n_parent_t; i++) {
        const gguf_tensor *pt = &parent->tensors[i];
        const sr_named_tensor *t = find_named(ours, n_ours, pt->name);
        if (!t) { ts[nt++] = *pt; continue; }       /* not ours: copied through */
        written[t - ours] = 1;
        if (put_tensor(&ts[nt], t, dtype, &owned[nt]) < 0) { snprintf(err, errlen, "%s: out of memory", path); goto out; }
        nt++;
    }
    for (int i = 0; i < n_ours; i++) {
        if (written[i]) continue;
        if (put_tensor(&ts[nt], &ours[i], dtype, &owned[nt]) < 0) { snprintf(err, errlen, "%s: out of memory", path); goto out; }
        nt++;
    }
    rc = gguf_write(path, kv, nkv, ts, nt, 0, err, errlen);
out:
    if (owned) for (size_t i = 0; i < max_t; i++) free(owned[i]);
    free(owned); free(ts); free(kv); free(ours); free(written);
    return rc;
}

int sr_file_xxh64(const char *path, uint64_t *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
    XXH64_state_t *s = XXH64_createState();
    char *buf = malloc(1 << 20);
    if (!s || !buf) {
        fclose(f); free(buf); if (s) XXH64_freeState(s);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    XXH64_reset(s, 0);
    size_t k;
    while ((k = fread(buf, 1, 1 << 20, f)) > 0) XXH64_update(s, buf, k);
    int bad = ferror(f);
    fclose(f);
    free(buf);
    *out = XXH64_digest(s);
    XXH64_freeState(s);
    if (bad) { snprintf(err, errlen, "%s: read error", path); return -1; }
    return 0;
}
