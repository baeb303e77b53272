/* dpo_run.h — sr-dpo's part of a training run (lm/train_run.h): the
 * reference log-probs before the policy is loaded, and the DPO loss with
 * its own sr.* provenance keys and the settings a resumed state must match.
 * Failures exit (DESIGN §3). */
#ifndef SR_DPO_RUN_H
#define SR_DPO_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "lm/train_run.h"
#include "sr/dpo.h"
#include "sr/train_data.h"

/* The reference log-probs: the records', then --ref's (ref_path: loaded,
 * used, freed), then the starting model's, computed with the model about to
 * be trained; then the policy is loaded (pair_batch pairs a forward,
 * activations kept unless eval). Returns whether ref_path was used, with
 * *ref_model its file's hash. */
bool sr_dpo_reference(sr_train_job *job, sr_pairs *pi, const char *ref_path, int pair_batch, bool eval,
                      bool quiet, uint64_t *ref_model);

/* Train job's policy on the pairs with dpo's loss (dpo->ref: the pairs'
 * reference log-probs) and write the checkpoint: sr.ref.xxh64, the loss's
 * hyperparameters and, with ref_model (the --ref file's hash; NULL: none),
 * sr.ref.model.xxh64 beside the common sr.* keys. */
void sr_dpo_train(sr_train_job *job, const sr_pairs *pi, const sr_dpo *dpo, const uint64_t *ref_model);

#endif
