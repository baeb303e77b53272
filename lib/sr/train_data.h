/* train_data.h — the training tools' records in: example records (sr-sft)
 * and pair records (sr-dpo) rendered with the chat template into
 * sr_train_data, with a hash of what they say for the checkpoint's
 * provenance; and the pairs' reference log-probabilities, computed where
 * the records lack them and written back with --write-ref.
 *
 * A bad record stops the stage or, with --skip-bad, is skipped and counted
 * (io/record.h); a record over the length cap is truncated or dropped as
 * the policy says, and counted. */
#ifndef SR_TRAIN_DATA_H
#define SR_TRAIN_DATA_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/cli.h"
#include "lm/chat.h"
#include "lm/model.h"
#include "lm/train.h"

typedef struct sr_examples {
    sr_train_data data;         /* seqs_per_ex 1 */
    size_t truncated, dropped;
    uint64_t hash;              /* what the records say (not how the file spells it), in order */
} sr_examples;

/* {prompt, response, [system]} records from cli's input. */
void sr_read_examples(sr_cli *cli, const sr_chat *chat, int max_len, enum sr_overlong policy,
                      sr_examples *ex);
void sr_examples_free(sr_examples *ex);

typedef struct sr_pairs {
    sr_train_data data;         /* seqs_per_ex 2: chosen, rejected */
    double *ref;                /* [n_ex × 2]; NAN where the record gave none */
    size_t truncated, dropped, given;
    uint64_t hash;
    /* with keep: every valid record, packed, and its pair (or -1: dropped) */
    msgpack_sbuffer kept;
    long *rec_ex;
    size_t n_rec;
} sr_pairs;

/* {prompt, chosen, rejected, [system], [ref_chosen_logp, ref_rejected_logp]}
 * records from cli's input; keep them too for sr_pairs_write_ref. */
void sr_read_pairs(sr_cli *cli, const sr_chat *chat, int max_len, enum sr_overlong policy,
                   bool keep, sr_pairs *p);
void sr_pairs_free(sr_pairs *p);

/* The pairs lacking reference log-probs. */
size_t sr_pairs_missing(const sr_pairs *p);

/* Fill the missing reference log-probs with m's (what: its name, for the
 * progress line on stderr unless quiet). Exits 1 on failure. */
void sr_pairs_reference(sr_pairs *p, sr_model *m, const char *what, bool quiet);

/* The same with the model at path, loaded by mo for this pass and freed;
 * it must share the policy's tokenizer (vocab tokens). *file_hash gets the
 * file's XXH64 (provenance). Exits 1 on failure. */
void sr_pairs_reference_file(sr_pairs *p, const char *path, const sr_model_opts *mo, int vocab,
                             uint64_t *file_hash, bool quiet);

/* The kept records to path, each pair with the reference log-probs it was
 * trained against (ref_chosen_logp, ref_rejected_logp). */
void sr_pairs_write_ref(sr_cli *cli, const char *path, const sr_pairs *p);

#endif
