/* dpo.h — Direct Preference Optimization as a loss for the one trainer
 * (lm/train.h), and the reference model's log-probabilities it needs
 * (METHOD step 5, DESIGN §8).
 *
 * A pair is an example of two sequences in sr_train_data (seqs_per_ex 2):
 * row 0 the chosen response y_w, row 1 the rejected y_l, both rendered
 * after the same prompt. log π(y) is the sum of the log-probabilities of the
 * response tokens and the end-of-turn token — exactly the tokens sr-sft's
 * loss covers — or, with length_norm, their mean. With
 *
 *   h = (log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l))
 *
 * a pair's loss is
 *   sigmoid   −log σ(β h)              (DPO, Rafailov et al. 2023)
 *   ipo       (h − 1/(2β))²            (IPO, Azar et al. 2023)
 *   hinge     max(0, 1 − β h)          (SLiC-style)
 * plus, with rpo_alpha A > 0, A × the chosen response's negative
 * log-likelihood per token (iterative RPO, Pang et al. 2024: the term that
 * keeps the chosen response's likelihood from falling). The step's loss is
 * the mean over its pairs.
 *
 * The rewards are r_w = β (log π(y_w) − log π_ref(y_w)) and likewise r_l;
 * the margin is r_w − r_l (= β h), and a pair counts as right when
 * r_w > r_l. With the policy equal to the reference every h is 0: the
 * sigmoid loss is log 2, the margin 0 and the accuracy 0. */
#ifndef SR_DPO_H
#define SR_DPO_H

#include <stdbool.h>
#include <stddef.h>

#include "lm/model.h"
#include "lm/train.h"

enum sr_dpo_kind { SR_DPO_SIGMOID = 0, SR_DPO_IPO = 1, SR_DPO_HINGE = 2 };

/* "sigmoid", "ipo", "hinge" ⇄ the kind. parse returns 0, or -1 for another name. */
int sr_dpo_kind_parse(const char *name, enum sr_dpo_kind *out);
const char *sr_dpo_kind_name(enum sr_dpo_kind k);

typedef struct sr_dpo {
    enum sr_dpo_kind kind;
    double beta;            /* > 0 */
    double rpo_alpha;       /* >= 0; 0: no NLL term */
    bool length_norm;       /* mean log-prob per response token instead of the sum */
    /* [n_ex × 2] the reference log-probs of each pair's chosen, rejected
     * response, always summed over the response tokens (length_norm
     * divides them as it divides the policy's) */
    const double *ref;
} sr_dpo;

#define SR_DPO_DEFAULT { .kind = SR_DPO_SIGMOID, .beta = 0.1, .rpo_alpha = 0, .length_norm = false, .ref = NULL }

/* The metrics the loss reports, in this order (means over the step's pairs). */
enum {
    SR_DPO_MARGIN = 0,          /* r_w − r_l */
    SR_DPO_ACCURACY,            /* share of pairs with r_w > r_l */
    SR_DPO_CHOSEN_REWARD,       /* r_w */
    SR_DPO_REJECTED_REWARD,     /* r_l */
    SR_DPO_CHOSEN_LOGP,         /* log π(y_w) as the loss uses it (sum, or mean per token) */
    SR_DPO_REJECTED_LOGP,       /* log π(y_l) likewise */
    SR_DPO_NLL_CHOSEN,          /* −log π(y_w) per token: RPO's term before A */
    SR_DPO_N_METRICS
};
extern const char *const sr_dpo_metric_names[SR_DPO_N_METRICS];

/* One pair in closed form. pol and ref are the summed log-probs (chosen,
 * rejected), n the response token counts (>= 1). Returns the pair's loss
 * and, in d[2], its derivatives with respect to pol[0] and pol[1];
 * metrics[SR_DPO_N_METRICS] gets the pair's values (accuracy 0 or 1). */
double sr_dpo_pair(const sr_dpo *o, const double pol[2], const double ref[2], const int n[2],
                   double d[2], double *metrics);

/* The sr_loss fn (self: a const sr_dpo *): the mean of sr_dpo_pair over the
 * step's pairs, its gradient spread over each response's tokens. Needs
 * seqs_per_ex 2. */
double sr_loss_dpo(void *self, const sr_loss_batch *b, float *dlp, double *metrics);

/* An sr_loss over o (which must outlive it), with the metrics named, and
 * margin, accuracy and both rewards on the progress line. */
sr_loss sr_dpo_loss(const sr_dpo *o);

/* The summed log-probability of every sequence of examples [from, to) under
 * m, one example (its seqs_per_ex sequences right-padded to the longer) per
 * forward: out[ex × seqs_per_ex + j]. The forward is the trainer's own
 * (sr_logp_forward), so the numbers are those its loss sees in a
 * micro-batch of one example, bit for bit — which is what makes the first
 * step's sigmoid loss exactly log 2 at --micro-batch 1.
 * m needs max_batch >= seqs_per_ex and max_seq >= the longest sequence.
 * Returns 0, or -1 with err set. */
int sr_dpo_logps(sr_model *m, const sr_train_data *d, size_t from, size_t to, double *out,
                 char *err, size_t errlen);

/* The step loss and metrics (means over every pair in d) of the policy m
 * against o->ref, without training: what a held-out evaluation reports.
 * Returns 0, or -1 with err set. */
int sr_dpo_eval(sr_model *m, const sr_train_data *d, const sr_dpo *o, double *loss,
                double metrics[SR_DPO_N_METRICS], char *err, size_t errlen);

#endif
