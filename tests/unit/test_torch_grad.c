/* test_torch_grad.c — sr's training losses and gradients against PyTorch +
 * transformers (tests/golden/torchgrad/, by make_torch_grad_golden.py).
 *
 * For each case the golden file holds a tiny random model as transformers
 * built it from a config (weights in GGUF names and layout), a few token
 * sequences, and the float64 reference's SFT and DPO losses with the
 * gradient of every parameter. The test writes the model again as a GGUF
 * file, loads it as sr-sft and sr-dpo do, and takes one optimizer step with
 * the learning rate 0 through the trainer itself (sr_trainer_step: the same
 * micro-batches, padding, loss and backward the tools run), which leaves
 * the step's gradient in the trainer. DPO's reference log-probs come from a
 * second file (the policy with its norm weights perturbed) through
 * sr_dpo_logps, as sr-dpo --ref computes them; some cases add the other
 * losses of the family (IPO, hinge, length normalisation with RPO). Bounds: the loss to 1e-5
 * relative, every parameter's gradient to 1e-4 relative L2 (fp32 against
 * float64). */
#include "test.h"
#include "base/base64.h"
#include "lm/gguf.h"
#include "lm/model.h"
#include "lm/train.h"
#include "sr/dpo.h"

#include <jansson.h>
#include <stdint.h>
#include <unistd.h>

#define DIR "tests/golden/torchgrad/"
#define LOSS_REL 1e-5
#define GRAD_REL 1e-4
#define LOGP_ABS 1e-4   /* summed log-probs of a few tokens, each about -5 */
#define MICRO 2         /* examples per forward: padding and accumulation both run */

static char err[512];

static const char *tmp_path(const char *what)
{
    static char p[2][512];
    static int k;
    k ^= 1;
    const char *dir = getenv("TMPDIR");
    snprintf(p[k], sizeof p[k], "%s/sr-test-torchgrad-%s-%d.gguf", dir ? dir : "/tmp", what, (int)getpid());
    return p[k];
}

/* n float32 values from base64, or NULL when the text is not exactly that. */
static float *unb64(const char *s, size_t n)
{
    if (!s) return NULL;
    size_t len = strlen(s), bad;
    float *f = malloc(len / 4 * 3 + 4);
    long got = sr_base64_decode(f, s, len, &bad);
    if (got < 0 || (size_t)got != n * sizeof(float)) { free(f); return NULL; }
    return f;
}

static size_t ne_count(json_t *ne, gguf_tensor *t)
{
    size_t n = 1;
    t->n_dims = (uint32_t)json_array_size(ne);
    for (uint32_t d = 0; d < t->n_dims && d < GGUF_MAX_DIMS; d++) {
        t->ne[d] = (uint64_t)json_integer_value(json_array_get(ne, d));
        n *= t->ne[d];
    }
    return n;
}

/* The case's model as a GGUF file at path: its metadata and tensors, with
 * ref_tensors in place of theirs when ref. 0, or -1 with err set. */
static int write_model(json_t *c, int ref, const char *path)
{
    json_t *md = json_object_get(c, "metadata"), *ts = json_object_get(c, "tensors"),
           *over = json_object_get(c, "ref_tensors");
    size_t n_kv = json_array_size(md), n_t = json_object_size(ts), i = 0;
    gguf_kv *kv = calloc(n_kv + 1, sizeof *kv);
    gguf_tensor *t = calloc(n_t + 1, sizeof *t);
    float **bufs = calloc(n_t + 1, sizeof *bufs);
    int rc = 0;
    for (size_t k = 0; k < n_kv; k++) {
        json_t *e = json_array_get(md, k);
        const char *key = json_string_value(json_array_get(e, 0)), *ty = json_string_value(json_array_get(e, 1));
        json_t *v = json_array_get(e, 2);
        kv[k].key = (gguf_str){ key, strlen(key) };
        if (!strcmp(ty, "str"))
            kv[k].val = (gguf_value){ .type = GGUF_STRING, .v.s = { json_string_value(v), strlen(json_string_value(v)) } };
        else if (!strcmp(ty, "u32"))
            kv[k].val = (gguf_value){ .type = GGUF_U32, .v.u = (uint64_t)json_integer_value(v) };
        else
            kv[k].val = (gguf_value){ .type = GGUF_F32, .v.f = json_number_value(v) };
    }
    const char *name;
    json_t *w;
    json_object_foreach(ts, name, w) {
        json_t *use = ref && json_object_get(over, name) ? json_object_get(over, name) : w;
        t[i].name = (gguf_str){ name, strlen(name) };
        t[i].type = GGUF_T_F32;
        size_t n = ne_count(json_object_get(use, "ne"), &t[i]);
        bufs[i] = unb64(json_string_value(json_object_get(use, "f32")), n);
        if (!bufs[i]) { snprintf(err, sizeof err, "tensor %s: bad data", name); rc = -1; break; }
        t[i].data = bufs[i];
        i++;
    }
    if (rc == 0) rc = gguf_write(path, kv, n_kv, t, n_t, 0, err, sizeof err);
    for (size_t k = 0; k < n_t; k++) free(bufs[k]);
    free(bufs); free(t); free(kv);
    return rc;
}

static int add_seq(json_t *s, sr_train_seq *out)
{
    json_t *ids = json_object_get(s, "ids");
    out->len = (int)json_array_size(ids);
    out->resp = (int)json_integer_value(json_object_get(s, "resp"));
    out->ids = malloc((size_t)out->len * sizeof *out->ids);
    for (int i = 0; i < out->len; i++) out->ids[i] = (int32_t)json_integer_value(json_array_get(ids, (size_t)i));
    return out->len > out->resp && out->resp >= 1 ? 0 : -1;
}

/* SFT data is an array of sequences, DPO data an array of [chosen, rejected]. */
static int load_data(json_t *arr, int spe, sr_train_data *d)
{
    memset(d, 0, sizeof *d);
    d->seqs_per_ex = spe;
    for (size_t e = 0; e < json_array_size(arr); e++) {
        json_t *x = json_array_get(arr, e);
        sr_train_seq s[2];
        for (int j = 0; j < spe; j++)
            if (add_seq(spe == 1 ? x : json_array_get(x, (size_t)j), &s[j]) < 0) return -1;
        if (sr_train_data_add(d, s, err, sizeof err) < 0) return -1;
    }
    return 0;
}

/* ---- gradients by GGUF name ------------------------------------------------- */

typedef struct { char name[64]; const float *g; size_t n; } named;

static int add(named *v, int k, const char *name, const float *g, size_t n)
{
    if (!g) return k;
    snprintf(v[k].name, sizeof v[k].name, "%s", name);
    v[k].g = g;
    v[k].n = n;
    return k + 1;
}

/* Every trained tensor of m, named as llama.cpp names it in a GGUF file,
 * pointing into g (a gradient block in m's parameter layout). */
static int name_grads(const sr_model *m, const sr_params *g, named *v)
{
    const sr_hparams *hp = &m->hp;
    const size_t d = (size_t)hp->dim, q = (size_t)hp->n_head * hp->head_dim,
                 kvd = (size_t)hp->n_head_kv * hp->head_dim, f = (size_t)hp->ffn_dim, hd = (size_t)hp->head_dim;
    int k = 0;
    char nm[64];
    k = add(v, k, "token_embd.weight", g->token_embd, (size_t)hp->vocab * d);
    k = add(v, k, "output_norm.weight", g->output_norm, d);
    if (!hp->tied) k = add(v, k, "output.weight", g->output, (size_t)hp->vocab * d);
    for (int l = 0; l < hp->n_layer; l++) {
        const sr_layer_params *L = &g->layer[l];
#define T(suffix, ptr, n) (snprintf(nm, sizeof nm, "blk.%d." suffix, l), k = add(v, k, nm, ptr, n))
        T("attn_norm.weight", L->attn_norm, d);
        if (hp->fused_qkv) {   /* phi3: wq | wk | wv, one span in the block, stored as one tensor */
            T("attn_qkv.weight", L->wq, (q + 2 * kvd) * d);
        } else {
            T("attn_q.weight", L->wq, q * d);
            T("attn_k.weight", L->wk, kvd * d);
            T("attn_v.weight", L->wv, kvd * d);
        }
        if (L->bqkv) {
            T("attn_q.bias", L->bqkv, q);
            T("attn_k.bias", L->bqkv + q, kvd);
            T("attn_v.bias", L->bqkv + q + kvd, kvd);
        }
        if (L->q_norm) { T("attn_q_norm.weight", L->q_norm, hd); T("attn_k_norm.weight", L->k_norm, hd); }
        T("attn_output.weight", L->wo, d * q);
        if (L->bo) T("attn_output.bias", L->bo, d);
        if (L->post_attn_norm) T("post_attention_norm.weight", L->post_attn_norm, d);
        T("ffn_norm.weight", L->ffn_norm, d);
        if (hp->fused_gate_up) {   /* phi3: w_gate | w_up, stored as one ffn_up */
            T("ffn_up.weight", L->w_gate, 2 * f * d);
        } else {
            T("ffn_gate.weight", L->w_gate, f * d);
            T("ffn_up.weight", L->w_up, f * d);
        }
        T("ffn_down.weight", L->w_down, d * f);
        if (L->post_ffn_norm) T("post_ffw_norm.weight", L->post_ffn_norm, d);
#undef T
    }
    return k;
}

static double rel_l2(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)a[i] - b[i];
        num += e * e;
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Every tensor's gradient in g against want (name -> base64), both ways:
 * each of sr's trained tensors has a reference and each reference a tensor. */
static void check_grads(const char *what, const sr_model *m, const sr_grads *gr, json_t *want)
{
    named *v = calloc(16 + 16 * (size_t)m->hp.n_layer, sizeof *v);
    sr_layer_params *lay = calloc((size_t)m->hp.n_layer, sizeof *lay);
    sr_params g;
    sr_params_map(&m->hp, gr->mem, &g, lay);
    int n = name_grads(m, &g, v), worst_i = -1;
    double worst = 0;
    size_t covered = 0;
    for (int i = 0; i < n; i++) {
        float *ref = unb64(json_string_value(json_object_get(want, v[i].name)), v[i].n);
        if (!ref) { printf("#   %s: no reference gradient of %zu floats for %s\n", what, v[i].n, v[i].name); CHECK(0); continue; }
        double r = rel_l2(v[i].g, ref, v[i].n);
        if (!(r <= GRAD_REL)) printf("#   %s: %s relative L2 %.3g > %.0e\n", what, v[i].name, r, GRAD_REL);
        CHECK(r <= GRAD_REL);
        if (!(r <= worst)) { worst = r; worst_i = i; }
        covered += v[i].n;
        free(ref);
    }
    CHECK((size_t)n == json_object_size(want));
    /* every parameter but the (untrained) rope factors is one of the tensors above */
    CHECK(covered == m->n_params - (m->w.rope_freqs ? (size_t)m->hp.n_rot / 2 : 0));
    printf("#   %-24s %2d tensors, worst %-24s relative L2 %.2e\n", what, n,
           worst_i >= 0 ? v[worst_i].name : "-", worst);
    free(v);
    free(lay);
}

/* ---- one case ------------------------------------------------------------------ */

static int load(const char *path, int max_batch, int max_seq, sr_model *m)
{
    sr_model_opts mo = { .max_batch = max_batch, .max_seq = max_seq, .keep_acts = 1, .threads = 0 };
    if (sr_model_load(m, path, &mo, err, sizeof err) < 0) { printf("#   %s: %s\n", path, err); return -1; }
    return 0;
}

/* One step of lr 0 over every example: the trainer's loss and gradient. */
static int one_step(sr_model *m, const sr_train_data *d, const sr_loss *loss, sr_trainer *t, double *out)
{
    sr_train_opts o = SR_TRAIN_OPTS_DEFAULT;
    o.lr = o.lr_final = 0;
    o.clip = 0;
    o.batch = (int)d->n_ex;
    o.micro_batch = MICRO;
    o.max_steps = 1;
    sr_step_stats st;
    if (sr_trainer_init(t, m, d, &o, loss, err, sizeof err) < 0 || sr_trainer_step(t, &st, err, sizeof err) < 0) {
        printf("#   %s\n", err);
        return -1;
    }
    *out = st.loss;
    return 0;
}

static void check_loss(const char *what, double got, double want)
{
    double r = fabs(got - want) / fabs(want);
    printf("#   %-24s loss %.9f, torch %.9f, relative %.1e\n", what, got, want, r);
    CHECK(r <= LOSS_REL);
}

/* The first SFT sequence's logits: a forward check that names the cause
 * when the gradients disagree (a misread q/k row order shows here first). */
static void check_logits(sr_model *m, const sr_train_data *d, json_t *sft)
{
    const sr_train_seq *s = &d->seq[0];
    float *want = unb64(json_string_value(json_object_get(sft, "logits0")), (size_t)s->len * m->hp.vocab);
    CHECK(want != NULL);
    if (!want || sr_model_forward(m, s->ids, 1, s->len, NULL, err, sizeof err) < 0) { free(want); return; }
    const float *got = sr_model_logits(m, s->len);
    double r = rel_l2(got, want, (size_t)s->len * m->hp.vocab);
    printf("#   %-24s relative L2 %.2e over %d positions\n", "logits", r, s->len);
    CHECK(r <= 1e-5);
    free(want);
}

static void sft_case(json_t *c, const char *path)
{
    json_t *sft = json_object_get(c, "sft");
    sr_train_data d;
    sr_model m;
    sr_trainer t;
    double loss;
    CHECK(load_data(json_object_get(sft, "data"), 1, &d) == 0);
    if (load(path, MICRO, d.max_len, &m) < 0) { CHECK(0); sr_train_data_free(&d); return; }
    check_logits(&m, &d, sft);
    sr_loss l = { .name = "sft", .fn = sr_loss_sft };
    if (one_step(&m, &d, &l, &t, &loss) == 0) {
        check_loss("sft", loss, json_number_value(json_object_get(sft, "loss")));
        check_grads("sft gradients", &m, &t.g, json_object_get(sft, "grads"));
    } else {
        CHECK(0);
    }
    sr_trainer_free(&t);
    sr_model_free(&m);
    sr_train_data_free(&d);
}

/* The reference's summed log-probs through sr_dpo_logps, against torch's. */
static int ref_logps(json_t *c, const sr_train_data *d, double *ref)
{
    const char *rpath = tmp_path("ref");
    sr_model r;
    if (write_model(c, 1, rpath) < 0) { printf("#   %s\n", err); return -1; }
    int rc = load(rpath, 2, d->max_len, &r);
    if (rc == 0) {
        rc = sr_dpo_logps(&r, d, 0, d->n_ex, ref, err, sizeof err);
        if (rc < 0) printf("#   %s\n", err);
        sr_model_free(&r);
    }
    unlink(rpath);
    json_t *want = json_object_get(json_object_get(c, "dpo"), "ref_logps");
    double worst = 0;
    for (size_t i = 0; rc == 0 && i < 2 * d->n_ex; i++) {
        double w = json_number_value(json_array_get(json_array_get(want, i / 2), i % 2));
        if (fabs(ref[i] - w) > worst) worst = fabs(ref[i] - w);
    }
    printf("#   %-24s worst |diff| %.2e over %zu sequences\n", "reference log-probs", worst, 2 * d->n_ex);
    CHECK(rc == 0 && worst <= LOGP_ABS);
    return rc;
}

/* One DPO loss (o: its kind and settings, its torch loss and gradients)
 * through one trainer step on the policy at path. */
static void dpo_step(json_t *o, const char *path, const sr_train_data *d, const double *ref)
{
    sr_dpo dpo = SR_DPO_DEFAULT;
    const char *kind = json_string_value(json_object_get(o, "kind"));
    CHECK(kind && sr_dpo_kind_parse(kind, &dpo.kind) == 0);
    dpo.beta = json_number_value(json_object_get(o, "beta"));
    dpo.length_norm = json_is_true(json_object_get(o, "length_norm"));
    dpo.rpo_alpha = json_number_value(json_object_get(o, "rpo_alpha"));
    dpo.ref = ref;
    char what[64];
    snprintf(what, sizeof what, "dpo %s b%g%s%s", kind ? kind : "?", dpo.beta, dpo.length_norm ? " ln" : "",
             dpo.rpo_alpha > 0 ? " rpo" : "");
    sr_model m;
    sr_trainer t;
    double loss;
    if (load(path, 2 * MICRO, d->max_len, &m) < 0) { CHECK(0); return; }
    sr_loss l = sr_dpo_loss(&dpo);
    if (one_step(&m, d, &l, &t, &loss) == 0) {
        check_loss(what, loss, json_number_value(json_object_get(o, "loss")));
        check_grads(what, &m, &t.g, json_object_get(o, "grads"));
    } else {
        CHECK(0);
    }
    sr_trainer_free(&t);
    sr_model_free(&m);
}

/* The default DPO loss and the case's variants, on one set of reference
 * log-probs. */
static void dpo_case(json_t *c, const char *path)
{
    json_t *dj = json_object_get(c, "dpo"), *vars = json_object_get(c, "dpo_variants");
    sr_train_data d;
    CHECK(load_data(json_object_get(dj, "data"), 2, &d) == 0);
    double *ref = calloc(2 * d.n_ex, sizeof *ref);
    if (ref_logps(c, &d, ref) == 0) {
        dpo_step(dj, path, &d, ref);
        for (size_t i = 0; i < json_array_size(vars); i++) dpo_step(json_array_get(vars, i), path, &d, ref);
    } else {
        CHECK(0);
    }
    free(ref);
    sr_train_data_free(&d);
}

static void run_case(const char *file)
{
    char p[512];
    snprintf(p, sizeof p, DIR "%s", file);
    json_error_t e;
    json_t *c = json_load_file(p, 0, &e);
    if (!c) { printf("#   %s: %s\n", p, e.text); CHECK(0); return; }
    printf("# case %s\n", json_string_value(json_object_get(c, "case")));
    const char *path = tmp_path("policy");
    if (write_model(c, 0, path) < 0) {
        printf("#   %s\n", err);
        CHECK(0);
    } else {
        sft_case(c, path);
        dpo_case(c, path);
    }
    unlink(path);
    json_decref(c);
}

int main(void)
{
    json_error_t e;
    json_t *index = json_load_file(DIR "index.json", 0, &e);
    if (!index) { printf("# %sindex.json: %s\n", DIR, e.text); return 1; }
    json_t *cases = json_object_get(index, "cases");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        const char *file = json_string_value(json_array_get(cases, i));
        char name[128];
        snprintf(name, sizeof name, "torch_grad %s", file);
        test_cur_failed = 0;
        test_skip_reason = NULL;
        run_case(file);   /* every case under ASan too: all together take well under a second */
        test_report(name);
    }
    json_decref(index);
    return test_done();
}
