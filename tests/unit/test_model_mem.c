/* test_model_mem.c — sr_model_mem_estimate, what the tools print before a
 * model loads: its parameter bytes and arena against a model really made
 * of that shape, and the 1B preset's known count. */
#include "lm/kvcache.h"
#include "lm/model.h"
#include "test.h"

static sr_hparams small_hp(void)
{
    return (sr_hparams){ .n_layer = 3, .dim = 32, .ffn_dim = 40, .n_head = 4, .n_head_kv = 2,
                         .head_dim = 8, .n_rot = 8, .vocab = 60, .n_ctx = 64, .norm_eps = 1e-5f,
                         .rope_theta = 10000.0f, .tied = 0 };
}

/* The estimate equals what a random-init model of the shape allocates. */
static void against_model(const sr_hparams *hp, int keep)
{
    const sr_model_opts o = { .max_batch = 2, .max_seq = 24, .keep_acts = keep, .threads = 1 };
    sr_model m;
    char err[256];
    if (sr_model_init_random(&m, hp, 3, &o, err, sizeof err) < 0) {
        printf("# %s\n", err);
        CHECK(0);
        return;
    }
    sr_model_mem est;
    sr_model_mem_estimate(hp, &o, 5, 24, &est);
    CHECK(est.params == m.n_params * sizeof(float));
    CHECK(est.arena == m.act.n_floats * sizeof(float));
    /* five caches as the engine makes them: 24 positions of each layer's keys and values */
    sr_kv_cache c;
    CHECK(sr_kv_cache_init(&c, &m.ctx, hp->n_layer, hp->n_head_kv * hp->head_dim, 24, err, sizeof err) == 0);
    CHECK(est.kv == 5 * (size_t)c.n_layer * 2 * c.cap * c.kv_dim * sizeof(float));
    sr_kv_cache_free(&c);
    sr_model_free(&m);
}

TEST(estimate_is_what_a_model_allocates)
{
    sr_hparams hp = small_hp();
    against_model(&hp, 0);
    against_model(&hp, 1);     /* training: every layer's activations kept */
    hp.tied = 1;
    against_model(&hp, 0);
}

TEST(the_1b_preset_is_tinyllamas_count)
{
    sr_hparams hp;
    CHECK(sr_hparams_preset("1b", &hp) == 0);
    const sr_model_opts o = { .max_batch = 1, .max_seq = 1536 };
    sr_model_mem est;
    sr_model_mem_estimate(&hp, &o, 17, 1536, &est);
    CHECK(est.params == (size_t)1100048384 * 4);
    /* 22 layers x 2 x 1536 positions x 256 floats, 17 caches */
    CHECK(est.kv == (size_t)17 * 22 * 2 * 1536 * 256 * 4);
    CHECK(est.arena > (size_t)1536 * 32000 * 4);    /* the logits alone */
    CHECK(est.params + est.arena + est.kv < (size_t)24 << 30);
}

int main(void)
{
    RUN(estimate_is_what_a_model_allocates);
    RUN(the_1b_preset_is_tinyllamas_count);
    return test_done();
}
