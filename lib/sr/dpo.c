/* dpo.c — the DPO loss family in closed form, its trainer seam, and the
 * pass that computes summed response log-probabilities (the reference's,
 * or a policy's for evaluation). */
#include "sr/dpo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const sr_dpo_metric_names[SR_DPO_N_METRICS] = {
    "margin", "accuracy", "chosen_reward", "rejected_reward",
    "chosen_logp", "rejected_logp", "nll_chosen",
};

static const char *const kind_names[] = { "sigmoid", "ipo", "hinge" };

int sr_dpo_kind_parse(const char *name, enum sr_dpo_kind *out)
{
    for (int k = 0; k < 3; k++)
        if (strcmp(name, kind_names[k]) == 0) { *out = (enum sr_dpo_kind)k; return 0; }
    return -1;
}

const char *sr_dpo_kind_name(enum sr_dpo_kind k)
{
    return (unsigned)k < 3 ? kind_names[k] : "?";
}

/* ---- one pair ---------------------------------------------------------------- */

double sr_dpo_pair(const sr_dpo *o, const double pol[2], const double ref[2], const int n[2],
                   double d[2], double *metrics)
{
    const double beta = o->beta;
    const double nw = n[0] > 0 ? n[0] : 1, nl = n[1] > 0 ? n[1] : 1;
    /* with length_norm both sides of each difference are per-token means */
    const double sw = o->length_norm ? 1.0 / nw : 1.0, sl = o->length_norm ? 1.0 / nl : 1.0;
    const double pw = pol[0] * sw, pl = pol[1] * sl;
    const double dw = pw - ref[0] * sw, dl = pl - ref[1] * sl;
    const double h = dw - dl;
    double loss, dh;
    switch (o->kind) {
    case SR_DPO_IPO: {
        const double g = h - 1.0 / (2.0 * beta);
        loss = g * g;
        dh = 2.0 * g;
        break;
    }
    case SR_DPO_HINGE:
        loss = 1.0 - beta * h > 0 ? 1.0 - beta * h : 0.0;
        dh = 1.0 - beta * h > 0 ? -beta : 0.0;
        break;
    default: {
        /* −log σ(z) = softplus(−z) and its slope −σ(−z), both without
         * overflow for large |z| */
        const double z = beta * h;
        if (z >= 0) {
            const double e = exp(-z);
            loss = log1p(e);
            dh = -beta * (e / (1.0 + e));
        } else {
            const double e = exp(z);
            loss = -z + log1p(e);
            dh = -beta / (1.0 + e);
        }
        break;
    }
    }
    d[0] = dh * sw;
    d[1] = -dh * sl;
    const double nll = -pol[0] / nw;
    if (o->rpo_alpha > 0) {
        loss += o->rpo_alpha * nll;
        d[0] += -o->rpo_alpha / nw;
    }
    if (metrics) {
        const double rw = beta * dw, rl = beta * dl;
        metrics[SR_DPO_MARGIN] = rw - rl;
        metrics[SR_DPO_ACCURACY] = rw > rl ? 1.0 : 0.0;
        metrics[SR_DPO_CHOSEN_REWARD] = rw;
        metrics[SR_DPO_REJECTED_REWARD] = rl;
        metrics[SR_DPO_CHOSEN_LOGP] = pw;
        metrics[SR_DPO_REJECTED_LOGP] = pl;
        metrics[SR_DPO_NLL_CHOSEN] = nll;
    }
    return loss;
}

/* ---- the trainer's seam -------------------------------------------------------- */

/* A row's summed log-prob and target count, in position order: the same
 * order sr_dpo_logps sums in, so the two agree bit for bit. */
static double row_sum(const sr_loss_batch *b, int r, int *count)
{
    double s = 0;
    int c = 0;
    for (int p = 0; p < b->T; p++) {
        size_t i = (size_t)r * b->T + p;
        if (b->targets[i] < 0) continue;
        s += b->lp[i];
        c++;
    }
    *count = c;
    return s;
}

double sr_loss_dpo(void *self, const sr_loss_batch *b, float *dlp, double *metrics)
{
    const sr_dpo *o = self;
    const double inv = 1.0 / (double)(b->step_examples > 0 ? b->step_examples : 1);
    double sum = 0;
    for (int e = 0; e < b->n_ex; e++) {
        double pol[2], d[2], m[SR_DPO_N_METRICS];
        int n[2];
        for (int j = 0; j < 2; j++) pol[j] = row_sum(b, 2 * e + j, &n[j]);
        sum += sr_dpo_pair(o, pol, o->ref + 2 * b->ex[e], n, d, m);
        for (int k = 0; k < SR_DPO_N_METRICS; k++) metrics[k] += m[k] * inv;
        for (int j = 0; j < 2; j++) {
            const float g = (float)(d[j] * inv);
            for (int p = 0; p < b->T; p++) {
                size_t i = (size_t)(2 * e + j) * b->T + p;
                dlp[i] = b->targets[i] < 0 ? 0.0f : g;
            }
        }
    }
    return sum * inv;
}

sr_loss sr_dpo_loss(const sr_dpo *o)
{
    sr_loss l = { .name = "dpo", .fn = sr_loss_dpo, .self = (void *)o, .n_metrics = SR_DPO_N_METRICS,
                  .n_progress = 4 };
    for (int k = 0; k < SR_DPO_N_METRICS; k++) l.metric_names[k] = sr_dpo_metric_names[k];
    return l;
}

/* ---- log-probabilities without training ------------------------------------------ */

int sr_dpo_logps(sr_model *m, const sr_train_data *d, size_t from, size_t to, double *out,
                 char *err, size_t errlen)
{
    const int spe = d->seqs_per_ex < 1 ? 1 : d->seqs_per_ex;
    if (to > d->n_ex || from > to) {
        snprintf(err, errlen, "examples [%zu, %zu) are outside the %zu held", from, to, d->n_ex);
        return -1;
    }
    if (spe > m->act.max_batch || d->max_len > m->act.max_seq) {
        snprintf(err, errlen, "the model was set up for %d × %d tokens; the pass needs %d × %d",
                 m->act.max_batch, m->act.max_seq, spe, d->max_len);
        return -1;
    }
    sr_logp_batch b;
    if (sr_logp_batch_init(&b, m, spe, d->max_len > 0 ? d->max_len : 1, err, errlen) < 0) return -1;
    int rc = -1;
    for (size_t e = from; e < to; e++) {
        /* a micro-batch of one example, as the trainer would see it */
        if (sr_logp_forward(m, d, &e, 1, &b, err, errlen) < 0) goto out;
        for (int j = 0; j < spe; j++) {
            double s = 0;
            for (int p = 0; p < b.T; p++) {
                size_t i = (size_t)j * b.T + p;
                if (b.targets[i] >= 0) s += b.lp[i];
            }
            out[e * spe + j] = s;
        }
    }
    rc = 0;
out:
    sr_logp_batch_free(&b);
    return rc;
}

int sr_dpo_eval(sr_model *m, const sr_train_data *d, const sr_dpo *o, double *loss,
                double metrics[SR_DPO_N_METRICS], char *err, size_t errlen)
{
    if (d->seqs_per_ex != 2) { snprintf(err, errlen, "DPO needs pairs (2 sequences per example)"); return -1; }
    double *pol = malloc((d->n_ex ? d->n_ex : 1) * 2 * sizeof *pol);
    if (!pol) { snprintf(err, errlen, "out of memory"); return -1; }
    if (sr_dpo_logps(m, d, 0, d->n_ex, pol, err, errlen) < 0) { free(pol); return -1; }
    const double inv = 1.0 / (double)(d->n_ex ? d->n_ex : 1);
    *loss = 0;
    memset(metrics, 0, SR_DPO_N_METRICS * sizeof *metrics);
    for (size_t e = 0; e < d->n_ex; e++) {
        const int n[2] = { d->seq[2 * e].len - d->seq[2 * e].resp, d->seq[2 * e + 1].len - d->seq[2 * e + 1].resp };
        double dd[2], mm[SR_DPO_N_METRICS];
        *loss += sr_dpo_pair(o, pol + 2 * e, o->ref + 2 * e, n, dd, mm) * inv;
        for (int k = 0; k < SR_DPO_N_METRICS; k++) metrics[k] += mm[k] * inv;
    }
    free(pol);
    return 0;
}
