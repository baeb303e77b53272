/* train_data.c — example and pair records into training data, and the
 * pairs' reference log-probabilities. */
#include "sr/train_data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "io/progress.h"
#include "io/record.h"
#include "lm/checkpoint.h"
#include "sr/dpo.h"

static XXH64_state_t *hash_start(void)
{
    XXH64_state_t *h = XXH64_createState();
    if (!h) sr_die(SR_EXIT_FAIL, "out of memory");
    XXH64_reset(h, 0);
    return h;
}

/* Hash what a record says (not how the file spells it), in input order. */
static void hash_field(XXH64_state_t *h, const char *tag, const char *p, size_t n)
{
    uint64_t len = n;
    XXH64_update(h, tag, strlen(tag) + 1);
    XXH64_update(h, &len, sizeof len);
    if (n) XXH64_update(h, p, n);
}

/* The optional system turn: 1 given, 0 absent, -1 bad (reported). */
static int get_system(const sr_rec *rec, sr_str *system)
{
    int rc = sr_get_str(rec, "system", system);
    if (rc < 0) sr_rec_bad(rec, "system", "expected a string, got %s", sr_type_name(sr_rec_get(rec, "system")));
    return rc;
}

/* ---- examples ------------------------------------------------------------------ */

void sr_read_examples(sr_cli *cli, const sr_chat *chat, int max_len, enum sr_overlong policy,
                      sr_examples *ex)
{
    memset(ex, 0, sizeof *ex);
    ex->data.seqs_per_ex = 1;
    XXH64_state_t *h = hash_start();
    sr_reader *in = sr_reader_open(cli);
    sr_rec rec;
    char err[512];
    while (sr_read(in, &rec)) {
        sr_str prompt, response, system = { NULL, 0 };
        if (!sr_need_str(&rec, "prompt", &prompt) || !sr_need_str(&rec, "response", &response)) continue;
        int has_system = get_system(&rec, &system);
        if (has_system < 0) continue;
        sr_train_seq seq;
        int rc = sr_train_render(chat, has_system ? system.p : NULL, system.n, prompt.p, prompt.n,
                                 response.p, response.n, max_len, policy, &seq, err, sizeof err);
        if (rc < 0) { sr_rec_bad(&rec, NULL, "%s", err); continue; }
        hash_field(h, "id", rec.id.p, rec.id.n);
        if (has_system) hash_field(h, "system", system.p, system.n);
        hash_field(h, "prompt", prompt.p, prompt.n);
        hash_field(h, "response", response.p, response.n);
        if (rc == SR_RENDER_DROPPED) { ex->dropped++; continue; }
        if (rc == SR_RENDER_TRUNCATED) ex->truncated++;
        if (sr_train_data_add(&ex->data, &seq, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
    }
    sr_reader_close(in);
    ex->hash = XXH64_digest(h);
    XXH64_freeState(h);
}

void sr_examples_free(sr_examples *ex)
{
    sr_train_data_free(&ex->data);
}

/* ---- pairs --------------------------------------------------------------------- */

/* A reference log-prob from the record: 1 given, 0 absent, -1 bad (reported). */
static int get_ref(const sr_rec *rec, const char *key, double *v)
{
    int rc = sr_get_f64(rec, key, v);
    if (rc < 0) {
        sr_rec_bad(rec, key, "expected a number, got %s", sr_type_name(sr_rec_get(rec, key)));
        return -1;
    }
    if (rc == 1 && !(isfinite(*v) && *v <= 0)) {
        sr_rec_bad(rec, key, "%g is not a log-probability (a finite number <= 0)", *v);
        return -1;
    }
    return rc;
}

/* Both reference log-probs or neither: 1 given, 0 absent, -1 bad (reported). */
static int get_refs(const sr_rec *rec, double ref[2])
{
    ref[0] = ref[1] = NAN;
    int gw = get_ref(rec, "ref_chosen_logp", &ref[0]);
    if (gw < 0) return -1;
    int gl = get_ref(rec, "ref_rejected_logp", &ref[1]);
    if (gl < 0) return -1;
    if (gw != gl) {
        sr_rec_bad(rec, gw ? "ref_rejected_logp" : "ref_chosen_logp",
                   "missing (the record has %s: give both reference log-probs or neither)",
                   gw ? "ref_chosen_logp" : "ref_rejected_logp");
        return -1;
    }
    return gw;
}

/* Render a pair record's two sequences and hash it: the worse of the two
 * sr_render_results, or -1 for a bad record (reported). */
static int render_pair(const sr_rec *rec, const sr_chat *chat, int max_len, enum sr_overlong policy,
                       XXH64_state_t *h, sr_train_seq seq[2], double ref[2], int *given)
{
    sr_str prompt, chosen, rejected, system = { NULL, 0 };
    if (!sr_need_str(rec, "prompt", &prompt) || !sr_need_str(rec, "chosen", &chosen) ||
        !sr_need_str(rec, "rejected", &rejected))
        return -1;
    int has_system = get_system(rec, &system);
    if (has_system < 0 || (*given = get_refs(rec, ref)) < 0) return -1;
    const sr_str *resp[2] = { &chosen, &rejected };
    int rc[2] = { 0, 0 };
    char err[512];
    for (int j = 0; j < 2; j++) {
        rc[j] = sr_train_render(chat, has_system ? system.p : NULL, system.n, prompt.p, prompt.n,
                                resp[j]->p, resp[j]->n, max_len, policy, &seq[j], err, sizeof err);
        if (rc[j] < 0) break;
    }
    if (rc[0] < 0 || rc[1] < 0) {
        if (rc[0] >= 0) free(seq[0].ids);
        sr_rec_bad(rec, rc[0] < 0 ? "chosen" : "rejected", "%s", err);
        return -1;
    }
    hash_field(h, "id", rec->id.p, rec->id.n);
    if (has_system) hash_field(h, "system", system.p, system.n);
    hash_field(h, "prompt", prompt.p, prompt.n);
    hash_field(h, "chosen", chosen.p, chosen.n);
    hash_field(h, "rejected", rejected.p, rejected.n);
    if (rc[0] == SR_RENDER_DROPPED || rc[1] == SR_RENDER_DROPPED) {
        for (int j = 0; j < 2; j++) if (rc[j] != SR_RENDER_DROPPED) free(seq[j].ids);
        return SR_RENDER_DROPPED;
    }
    return rc[0] == SR_RENDER_TRUNCATED || rc[1] == SR_RENDER_TRUNCATED ? SR_RENDER_TRUNCATED : SR_RENDER_OK;
}

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) return p;
    *cap = *cap ? 2 * *cap : 256;
    void *q = realloc(p, *cap * size);
    if (!q) sr_die(SR_EXIT_FAIL, "out of memory");
    return q;
}

void sr_read_pairs(sr_cli *cli, const sr_chat *chat, int max_len, enum sr_overlong policy,
                   bool keep, sr_pairs *p)
{
    memset(p, 0, sizeof *p);
    p->data.seqs_per_ex = 2;
    XXH64_state_t *h = hash_start();
    size_t ref_cap = 0, rec_cap = 0;
    msgpack_packer pk;
    msgpack_sbuffer_init(&p->kept);
    msgpack_packer_init(&pk, &p->kept, msgpack_sbuffer_write);
    sr_reader *in = sr_reader_open(cli);
    sr_rec rec;
    char err[512];
    while (sr_read(in, &rec)) {
        sr_train_seq seq[2];
        double ref[2];
        int given;
        int rc = render_pair(&rec, chat, max_len, policy, h, seq, ref, &given);
        if (rc < 0) continue;
        long ex = -1;
        if (rc == SR_RENDER_DROPPED) {
            p->dropped++;
        } else {
            if (rc == SR_RENDER_TRUNCATED) p->truncated++;
            p->ref = grow(p->ref, &ref_cap, p->data.n_ex, 2 * sizeof *p->ref);
            p->ref[2 * p->data.n_ex] = ref[0];
            p->ref[2 * p->data.n_ex + 1] = ref[1];
            if (given) p->given++;
            ex = (long)p->data.n_ex;
            if (sr_train_data_add(&p->data, seq, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
        }
        if (keep) {
            p->rec_ex = grow(p->rec_ex, &rec_cap, p->n_rec, sizeof *p->rec_ex);
            p->rec_ex[p->n_rec++] = ex;
            if (msgpack_pack_object(&pk, rec.obj) != 0) sr_die(SR_EXIT_FAIL, "out of memory");
        }
    }
    sr_reader_close(in);
    p->hash = XXH64_digest(h);
    XXH64_freeState(h);
}

void sr_pairs_free(sr_pairs *p)
{
    msgpack_sbuffer_destroy(&p->kept);
    free(p->rec_ex);
    free(p->ref);
    sr_train_data_free(&p->data);
    memset(p, 0, sizeof *p);
}

size_t sr_pairs_missing(const sr_pairs *p)
{
    size_t missing = 0;
    for (size_t e = 0; e < p->data.n_ex; e++) missing += isnan(p->ref[2 * e]);
    return missing;
}

/* ---- the reference log-probs -------------------------------------------------------- */

void sr_pairs_reference(sr_pairs *p, sr_model *m, const char *what, bool quiet)
{
    const sr_train_data *d = &p->data;
    const size_t missing = sr_pairs_missing(p);
    size_t done = 0;
    if (!missing) return;
    double t0 = sr_now(), last = t0;
    long tokens = 0;
    char err[512];
    for (size_t e = 0; e < d->n_ex; e++) {
        if (!isnan(p->ref[2 * e])) continue;
        if (sr_dpo_logps(m, d, e, e + 1, p->ref, err, sizeof err) < 0)
            sr_die(SR_EXIT_FAIL, "reference pass (%s): %s", what, err);
        /* NaN is "not given" here: a broken model's NaN must not pass for
         * that, nor reach --write-ref's records or the loss */
        if (!isfinite(p->ref[2 * e]) || !isfinite(p->ref[2 * e + 1]))
            sr_die(SR_EXIT_FAIL, "reference pass (%s): pair %zu: non-finite log-probabilities "
                   "(the model's numbers are NaN or infinite)", what, e + 1);
        tokens += d->seq[2 * e].len + d->seq[2 * e + 1].len;
        done++;
        if (!quiet && (sr_now() - last > 5 || done == missing)) {
            last = sr_now();
            fprintf(stderr, "%s: reference log-probs (%s): %zu/%zu pairs, %.0f tok/s\n", sr_progname,
                    what, done, missing, tokens / (last - t0 > 0 ? last - t0 : 1e-9));
        }
    }
}

void sr_pairs_reference_file(sr_pairs *p, const char *path, const sr_model_opts *mo, int vocab,
                             uint64_t *file_hash, bool quiet)
{
    sr_model ref;
    sr_model_opts ro = *mo;
    ro.max_batch = 2;
    ro.max_seq = p->data.max_len;
    ro.keep_acts = 0;
    char err[512];
    /* A bad file is bad data (exit 3), told from its header before any
     * weight is allocated; only the load itself fails for want of memory. */
    gguf_file g;
    sr_hparams hp;
    const sr_arch *arch;
    if (gguf_open(&g, path, err, sizeof err) < 0) sr_die(SR_EXIT_DATA, "--ref %s: %s", path, err);
    if (sr_model_check_gguf(&g, &hp, &arch, err, sizeof err) < 0)
        sr_die(SR_EXIT_DATA, "--ref %s: %s", path, err);
    if (hp.vocab != vocab)
        sr_die(SR_EXIT_DATA, "--ref %s: a vocabulary of %d tokens, the model's is %d: the reference "
               "must share the model's tokenizer", path, hp.vocab, vocab);
    int rc = sr_model_load_gguf(&ref, &g, &ro, err, sizeof err);
    gguf_close(&g);
    if (rc < 0) sr_die(SR_EXIT_FAIL, "--ref %s: %s", path, err);
    if (sr_file_xxh64(path, file_hash, err, sizeof err) < 0) sr_die(SR_EXIT_FAIL, "%s", err);
    sr_pairs_reference(p, &ref, path, quiet);
    sr_model_free(&ref);
}

void sr_pairs_write_ref(sr_cli *cli, const char *path, const sr_pairs *p)
{
    sr_writer *out = sr_writer_open_path(path);
    sr_reader *in = sr_reader_open_mem(cli, p->kept.data, p->kept.size);
    sr_rec rec;
    for (size_t k = 0; k < p->n_rec && sr_read(in, &rec); k++) {
        sr_recb b;
        sr_recb_init(&b, &rec);
        if (p->rec_ex[k] >= 0) {
            sr_recb_f64(&b, "ref_chosen_logp", p->ref[2 * p->rec_ex[k]]);
            sr_recb_f64(&b, "ref_rejected_logp", p->ref[2 * p->rec_ex[k] + 1]);
        }
        sr_write(out, &b);
        sr_recb_free(&b);
    }
    sr_reader_close(in);
    sr_writer_close(out);
}
