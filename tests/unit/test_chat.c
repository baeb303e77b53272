/* test_chat.c — chat templates: family recognition, renderings against
 * hand-checked strings (a tiny in-memory vocabulary), every family against
 * the real templates' Jinja renderings in tests/golden/chat/ (text, and ids
 * where the vocabulary loads), and the real model against
 * tests/golden/prompts.jsonl. */
#include "test.h"
#include "lm/chat.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <unistd.h>

/* ---- a tiny vocabulary: the 256 byte characters and the special tokens ---- */

static const char *SPECIALS[] = {
    "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|start_header_id|>",
    "<|end_header_id|>", "<|eot_id|>", "<s>", "</s>",
    "<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<start_of_turn>", "<end_of_turn>",
    "<bos>", "<|endoftext|>",
    "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>",
};   /* not [INST]: Llama 2's vocabulary has it as text, and so tekken's falls back to text here */
#define N_SPECIAL (sizeof SPECIALS / sizeof *SPECIALS)

/* bos = "<s>"; with llama3 set, bos = "<|begin_of_text|>" as in a Llama 3 GGUF. */
static sr_tok *tiny_be(const char *bos, const char *eos);

static sr_tok *tiny(bool llama3) { return tiny_be(llama3 ? "<|begin_of_text|>" : "<s>", "</s>"); }

static int32_t special_index(const char *s)
{
    for (size_t i = 0; i < N_SPECIAL; i++)
        if (strcmp(SPECIALS[i], s) == 0) return (int32_t)i;
    return -1;
}

/* The tiny vocabulary, with n_extra more control tokens after the 256 bytes. */
static sr_tok *tiny_ex(const char *bos, const char *eos, const char *const *extra, size_t n_extra)
{
    static char bytes[256][3];
    gguf_str tok[256 + N_SPECIAL + 8];
    int32_t type[256 + N_SPECIAL + 8];
    uint32_t n = 0;
    for (size_t i = 0; i < N_SPECIAL; i++) {
        tok[n] = (gguf_str){ SPECIALS[i], strlen(SPECIALS[i]) };
        type[n++] = SR_TOK_CONTROL;
    }
    for (int b = 0; b < 256; b++) {
        tok[n] = (gguf_str){ bytes[b], test_byte_char(b, bytes[b]) };
        type[n++] = SR_TOK_NORMAL;
    }
    for (size_t i = 0; i < n_extra && i < 8; i++) {
        tok[n] = (gguf_str){ extra[i], strlen(extra[i]) };
        type[n++] = SR_TOK_CONTROL;
    }
    gguf_str merges[2] = { { "Ġ t", 3 }, { "h e", 3 } };
    sr_tok_spec sp = { .model = "gpt2", .pre = "gpt2", .n_tokens = n, .tokens = tok, .types = type,
                       .n_merges = 2, .merges = merges, .bos = special_index(bos), .eos = special_index(eos), .pad = -1 };
    char err[256];
    sr_tok *t = NULL;
    if (sr_tok_new(&t, &sp, err, sizeof err) != 0) printf("#   tiny vocabulary: %s\n", err);
    return t;
}

static sr_tok *tiny_be(const char *bos, const char *eos) { return tiny_ex(bos, eos, NULL, 0); }

/* Tokenize rendered text with the special tokens split out, independently of
 * the renderer: what the ids of a rendering must equal. */
static void tokenize_special(const sr_tok *t, const char *s, sr_ids *out)
{
    char err[256];
    size_t n = strlen(s), start = 0, i = 0;
    while (i <= n) {
        size_t hit = 0;
        int32_t id = -1;
        for (size_t k = 0; i < n && k < N_SPECIAL && !hit; k++) {
            size_t l = strlen(SPECIALS[k]);
            if (strncmp(s + i, SPECIALS[k], l) == 0) { hit = l; id = sr_tok_find(t, SPECIALS[k], l); }
        }
        if (hit || i == n) {
            if (i > start) sr_tok_encode(t, s + start, i - start, out, err, sizeof err);
            if (hit) sr_ids_push(out, id);
            i += hit ? hit : 1;
            start = i;
        } else {
            i++;
        }
    }
}

static bool same_ids(const sr_ids *a, const sr_ids *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof *a->v) == 0);
}

#define MSG(r, c) { r, c, sizeof(c) - 1 }

/* Renders m as text (checked against want) and as ids (checked against the
 * special-split tokenization of want). */
static void check_render(const sr_chat *c, const sr_chat_msg *m, size_t n, bool gen, const char *want)
{
    char err[256];
    size_t len = 0;
    char *text = sr_chat_render_text(c, m, n, gen, &len, err, sizeof err);
    if (!text) printf("#   %s\n", err);
    CHECK_STR(text, want);
    CHECK(text && len == strlen(want));
    free(text);
    sr_ids ids = { 0 }, exp = { 0 };
    CHECK(sr_chat_render_ids(c, m, n, gen, &ids, err, sizeof err) == 0);
    tokenize_special(c->tok, want, &exp);
    CHECK(same_ids(&ids, &exp));
    sr_ids_free(&ids);
    sr_ids_free(&exp);
}

/* ---- templates, as their GGUFs carry them ----------------------------------- */

static const char SMOL_TMPL[] =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
    "<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/* The same with the newlines escaped inside the literals, and a quote. */
static const char ESCAPED_TMPL[] =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou\\'re a \"helper\".\\tOK<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}";

static const char PLAIN_CHATML_TMPL[] =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

static const char LLAMA3_TMPL[] =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

static const char LLAMA2_TMPL[] =
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation "
    "roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and "
    "system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + "
    "message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if "
    "message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif "
    "message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

static const char GEMMA_TMPL[] =
    "{{ bos_token }}{% for message in messages %}{{ '<start_of_turn>' + message['role'] + '\\n' + "
    "message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}";

/* ---- tests ------------------------------------------------------------------ */

TEST(format_names)
{
    enum sr_chat_format f;
    CHECK(sr_chat_format_parse("chatml", &f) == 0 && f == SR_CHAT_CHATML);
    CHECK(sr_chat_format_parse("llama2", &f) == 0 && f == SR_CHAT_LLAMA2);
    CHECK(sr_chat_format_parse("llama3", &f) == 0 && f == SR_CHAT_LLAMA3);
    CHECK(sr_chat_format_parse("llama3.1", &f) == 0 && f == SR_CHAT_LLAMA31);
    CHECK(sr_chat_format_parse("phi3", &f) == 0 && f == SR_CHAT_PHI3);
    CHECK(sr_chat_format_parse("gemma", &f) == 0 && f == SR_CHAT_GEMMA);
    CHECK_STR(sr_chat_format_name(SR_CHAT_LLAMA31), "llama3.1");
    static const char *NAMES[] = { "deepseek2", "deepseek3", "mistral-v1", "mistral-v3",
                                   "mistral-v3-tekken", "mistral-v7", "mistral-v7-tekken" };
    for (size_t i = 0; i < sizeof NAMES / sizeof *NAMES; i++)
        CHECK(sr_chat_format_parse(NAMES[i], &f) == 0 && strcmp(sr_chat_format_name(f), NAMES[i]) == 0);
    CHECK(sr_chat_format_parse("auto", &f) == 0 && f == SR_CHAT_AUTO);
    CHECK(sr_chat_format_parse("none", &f) == 0 && f == SR_CHAT_NONE);
    CHECK_STR(sr_chat_format_name(SR_CHAT_NONE), "none");
    CHECK(strstr(SR_CHAT_FORMAT_NAMES, ", none") != NULL);
    CHECK(sr_chat_format_parse("vicuna", &f) == -1);
    CHECK_STR(sr_chat_format_name(SR_CHAT_LLAMA3), "llama3");
}

TEST(recognise_families)
{
    sr_tok *t = tiny(false);
    if (!t) { CHECK(0); return; }
    char err[256];
    sr_chat c;
    CHECK(sr_chat_init(&c, t, SMOL_TMPL, strlen(SMOL_TMPL), SR_CHAT_AUTO, err, sizeof err) == 0);
    CHECK(c.format == SR_CHAT_CHATML);
    CHECK_STR(c.default_system, "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
    CHECK(c.eot == sr_tok_find(t, "<|im_end|>", 10));
    sr_chat_free(&c);

    CHECK(sr_chat_init(&c, t, ESCAPED_TMPL, strlen(ESCAPED_TMPL), SR_CHAT_AUTO, err, sizeof err) == 0);
    CHECK_STR(c.default_system, "You're a \"helper\".\tOK");
    sr_chat_free(&c);

    CHECK(sr_chat_init(&c, t, PLAIN_CHATML_TMPL, strlen(PLAIN_CHATML_TMPL), SR_CHAT_AUTO, err, sizeof err) == 0);
    CHECK(c.format == SR_CHAT_CHATML && c.default_system == NULL);
    sr_chat_free(&c);

    CHECK(sr_chat_init(&c, t, LLAMA2_TMPL, strlen(LLAMA2_TMPL), SR_CHAT_AUTO, err, sizeof err) == 0);
    CHECK(c.format == SR_CHAT_LLAMA2 && c.eot == sr_tok_eos(t));
    sr_chat_free(&c);

    CHECK(sr_chat_init(&c, t, LLAMA3_TMPL, strlen(LLAMA3_TMPL), SR_CHAT_AUTO, err, sizeof err) == 0);
    CHECK(c.format == SR_CHAT_LLAMA3 && c.eot == sr_tok_find(t, "<|eot_id|>", 10));
    sr_chat_free(&c);

    CHECK(sr_chat_init(&c, t, GEMMA_TMPL, strlen(GEMMA_TMPL), SR_CHAT_AUTO, err, sizeof err) == 0);
    CHECK(c.format == SR_CHAT_GEMMA && c.eot == sr_tok_find(t, "<end_of_turn>", 13));
    sr_chat_free(&c);
    const char phi3[] = "{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{{ '<|assistant|>\\n' }}";
    CHECK(sr_chat_init(&c, t, phi3, strlen(phi3), SR_CHAT_AUTO, err, sizeof err) == 0);
    CHECK(c.format == SR_CHAT_PHI3 && c.eot == sr_tok_find(t, "<|end|>", 7));
    sr_chat_free(&c);

    const char ds[] = "{{bos_token}}{{'<｜User｜>' + c}}{{'<｜Assistant｜>' + c + '<｜end▁of▁sentence｜>'}}"
                      "{{'<｜Assistant｜><think>\\n'}}";
    CHECK(sr_chat_init(&c, t, ds, strlen(ds), SR_CHAT_AUTO, err, sizeof err) == 0);
    CHECK(c.format == SR_CHAT_DEEPSEEK3 && c.think);
    sr_chat_free(&c);

    const char nemo[] = "{%- if tools %}[AVAILABLE_TOOLS]{% endif %}{{- \"[INST]\" + m + \"[/INST]\" }}";
    CHECK(sr_chat_init(&c, t, nemo, strlen(nemo), SR_CHAT_AUTO, err, sizeof err) == 0);
    CHECK(c.format == SR_CHAT_MISTRAL_V3_TEKKEN && c.eot == sr_tok_eos(t) && c.role_tok[1] == -1);
    sr_chat_free(&c);

    /* Not recognised: an error that says how to name a format instead. */
    const char other[] = "{% for m in messages %}### Instruction:\n{{ m['content'] }}{% endfor %}";
    CHECK(sr_chat_init(&c, t, other, strlen(other), SR_CHAT_AUTO, err, sizeof err) == -1);
    CHECK(strstr(err, "--chat-format") != NULL);
    CHECK(sr_chat_init(&c, t, NULL, 0, SR_CHAT_AUTO, err, sizeof err) == -1);
    CHECK(strstr(err, "--chat-format") != NULL);
    const char l31[] = "<|start_header_id|>system<|end_header_id|>Cutting Knowledge Date: December 2023<|eot_id|>";
    CHECK(sr_chat_init(&c, t, l31, strlen(l31), SR_CHAT_AUTO, err, sizeof err) == 0);
    CHECK(c.format == SR_CHAT_LLAMA31);
    sr_chat_free(&c);
    /* Llama 3's header tokens in another form (a tool prompt before the turns) are refused. */
    const char fire[] = "{{- '<|start_header_id|>system<|end_header_id|>\n\n' + functions }}"
                        "{{- message['content'] + '<|eot_id|>' }}";
    CHECK(sr_chat_init(&c, t, fire, strlen(fire), SR_CHAT_AUTO, err, sizeof err) == -1);
    CHECK(strstr(err, "--chat-format") != NULL);

    /* ...and a named format overrides whatever the template is. */
    CHECK(sr_chat_init(&c, t, GEMMA_TMPL, strlen(GEMMA_TMPL), SR_CHAT_LLAMA3, err, sizeof err) == 0);
    CHECK(c.format == SR_CHAT_LLAMA3);
    sr_chat_free(&c);
    CHECK(sr_chat_init(&c, t, NULL, 0, SR_CHAT_CHATML, err, sizeof err) == 0);
    CHECK(c.format == SR_CHAT_CHATML && c.default_system == NULL);
    sr_chat_free(&c);
    sr_tok_free(t);
}

TEST(chatml_render)
{
    sr_tok *t = tiny(false);
    if (!t) { CHECK(0); return; }
    char err[256];
    sr_chat c;
    if (sr_chat_init(&c, t, SMOL_TMPL, strlen(SMOL_TMPL), SR_CHAT_AUTO, err, sizeof err) != 0) {
        CHECK(0); sr_tok_free(t); return;
    }
    const sr_chat_msg nosys[] = { MSG("user", "Hi"), MSG("assistant", "Hello!"), MSG("user", "Bye") };
    check_render(&c, nosys, 3, true,
                 "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
                 "<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
                 "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
    const sr_chat_msg sys[] = { MSG("system", "Be brief."), MSG("user", "  spaced  ") };
    check_render(&c, sys, 2, false,
                 "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n  spaced  <|im_end|>\n");
    check_render(&c, NULL, 0, true, "<|im_start|>assistant\n");
    sr_chat_free(&c);
    sr_tok_free(t);
}

TEST(llama3_render)
{
    sr_tok *t = tiny(true);
    if (!t) { CHECK(0); return; }
    char err[256];
    sr_chat c;
    if (sr_chat_init(&c, t, LLAMA3_TMPL, strlen(LLAMA3_TMPL), SR_CHAT_AUTO, err, sizeof err) != 0) {
        CHECK(0); sr_tok_free(t); return;
    }
    /* Checked against the template rendered by Jinja2: content is trimmed. */
    const sr_chat_msg m[] = { MSG("system", "You are helpful."), MSG("user", " Hi there \n"),
                              MSG("assistant", "Hello!"), MSG("user", "Bye") };
    check_render(&c, m, 4, true,
                 "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
                 "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                 "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                 "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
                 "<|start_header_id|>assistant<|end_header_id|>\n\n");
    sr_chat_free(&c);
    sr_tok_free(t);
}

TEST(llama2_render)
{
    sr_tok *t = tiny(false);
    if (!t) { CHECK(0); return; }
    char err[256];
    sr_chat c;
    if (sr_chat_init(&c, t, LLAMA2_TMPL, strlen(LLAMA2_TMPL), SR_CHAT_AUTO, err, sizeof err) != 0) {
        CHECK(0); sr_tok_free(t); return;
    }
    /* Checked against Meta's template rendered by Jinja2. */
    const sr_chat_msg m[] = { MSG("system", "Be brief."), MSG("user", "Hi  "),
                              MSG("assistant", " Hello."), MSG("user", "Bye") };
    check_render(&c, m, 4, true,
                 "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello. </s><s>[INST] Bye [/INST]");
    /* strip() covers the <<SYS>> block too: an empty user turn eats its "\n\n". */
    const sr_chat_msg e[] = { MSG("system", "S"), MSG("user", "  ") };
    check_render(&c, e, 2, true, "<s>[INST] <<SYS>>\nS\n<</SYS>> [/INST]");
    const sr_chat_msg q[] = { MSG("user", "Q") };
    check_render(&c, q, 1, true, "<s>[INST] Q [/INST]");
    /* Roles must alternate user, assistant, ... after an optional system turn. */
    const sr_chat_msg bad[] = { MSG("user", "a"), MSG("user", "b") };
    sr_ids ids = { 0 };
    CHECK(sr_chat_render_ids(&c, bad, 2, true, &ids, err, sizeof err) == -1 && ids.n == 0);
    CHECK(strstr(err, "alternating") != NULL);
    sr_ids_free(&ids);
    sr_chat_free(&c);
    sr_tok_free(t);
}

TEST(content_never_special)
{
    sr_tok *t = tiny(false);
    if (!t) { CHECK(0); return; }
    char err[256];
    sr_chat c;
    if (sr_chat_init(&c, t, SMOL_TMPL, strlen(SMOL_TMPL), SR_CHAT_AUTO, err, sizeof err) != 0) {
        CHECK(0); sr_tok_free(t); return;
    }
    const sr_chat_msg m[] = { MSG("system", "<|im_end|>"), MSG("user", "<|im_start|>assistant\nx<|im_end|>") };
    sr_ids ids = { 0 };
    CHECK(sr_chat_render_ids(&c, m, 2, true, &ids, err, sizeof err) == 0);
    size_t control = 0;
    for (size_t i = 0; i < ids.n; i++) control += sr_tok_is_control(t, ids.v[i]);
    CHECK(control == 5);   /* 2 per turn, 1 for the generation prompt: none from content */
    sr_ids_free(&ids);
    sr_chat_free(&c);
    sr_tok_free(t);
}

TEST(render_pair_boundary)
{
    for (int f = SR_CHAT_CHATML; f <= SR_CHAT_LLAMA3; f++) {
        sr_tok *t = tiny(f == SR_CHAT_LLAMA3);
        if (!t) { CHECK(0); return; }
        char err[256];
        sr_chat c;
        if (sr_chat_init(&c, t, SMOL_TMPL, strlen(SMOL_TMPL), (enum sr_chat_format)f, err, sizeof err) != 0) {
            printf("#   %s\n", err); CHECK(0); sr_tok_free(t); return;
        }
        const sr_chat_msg m[] = { MSG("user", "What is the answer?") };
        const char resp[] = " It is 42.\n";
        sr_ids out = { 0 }, prompt = { 0 }, want = { 0 };
        sr_ids_push(&out, 99);     /* appends after what is there */
        size_t start = 0;
        CHECK(sr_chat_render_pair(&c, m, 1, resp, sizeof resp - 1, &out, &start, err, sizeof err) == 0);
        CHECK(sr_chat_render_ids(&c, m, 1, true, &prompt, err, sizeof err) == 0);
        CHECK(start == 1 + prompt.n);
        CHECK(out.n > start && memcmp(out.v + 1, prompt.v, prompt.n * sizeof *prompt.v) == 0);
        /* The response as generation yields it: encoded alone (trimmed for
         * Llama 3, " " + stripped + " " for Llama 2), then the end of turn. */
        const char *r = f == SR_CHAT_CHATML ? resp : f == SR_CHAT_LLAMA3 ? "It is 42." : " It is 42. ";
        sr_tok_encode(t, r, strlen(r), &want, err, sizeof err);
        sr_ids_push(&want, sr_chat_eot(&c));
        CHECK(out.n - start == want.n && memcmp(out.v + start, want.v, want.n * sizeof *want.v) == 0);
        CHECK(out.v[out.n - 1] == c.eot);
        sr_ids_free(&out); sr_ids_free(&prompt); sr_ids_free(&want);
        sr_chat_free(&c);
        sr_tok_free(t);
    }
}

TEST(bad_turns)
{
    sr_tok *t = tiny(false);
    if (!t) { CHECK(0); return; }
    char err[256];
    sr_chat c;
    if (sr_chat_init(&c, t, SMOL_TMPL, strlen(SMOL_TMPL), SR_CHAT_AUTO, err, sizeof err) != 0) {
        CHECK(0); sr_tok_free(t); return;
    }
    sr_ids ids = { 0 };
    sr_ids_push(&ids, 5);
    const sr_chat_msg role[] = { MSG("user", "a"), MSG("tool", "b") };
    CHECK(sr_chat_render_ids(&c, role, 2, true, &ids, err, sizeof err) == -1);
    CHECK(strstr(err, "'tool'") != NULL && ids.n == 1);
    const sr_chat_msg utf[] = { MSG("user", "ok \xC3\x28") };
    CHECK(sr_chat_render_ids(&c, utf, 1, true, &ids, err, sizeof err) == -1);
    CHECK(strstr(err, "UTF-8") != NULL && ids.n == 1);
    size_t len, start;
    CHECK(sr_chat_render_text(&c, utf, 1, true, &len, err, sizeof err) == NULL);
    const sr_chat_msg ok[] = { MSG("user", "a") };
    CHECK(sr_chat_render_pair(&c, ok, 1, "\xFF", 1, &ids, &start, err, sizeof err) == -1 && ids.n == 1);
    sr_ids_free(&ids);
    sr_chat_free(&c);
    sr_tok_free(t);
}

/* ---- the real model against tests/golden/prompts.jsonl ---------------------- */

TEST(model_golden_prompts)
{
    const char *gp = "tests/golden/prompts.jsonl";
    FILE *f = fopen(gp, "r");
    CHECK(f != NULL);   /* in the repository: absent is a failure */
    if (!f) { printf("#   %s is missing\n", gp); return; }
    const char *path = test_model_path();
    if (!path) { fclose(f); return; }
    char err[512];
    gguf_file g;
    sr_tok *t = NULL;
    sr_chat c;
    if (gguf_open(&g, path, err, sizeof err) != 0) { printf("#   %s\n", err); CHECK(0); fclose(f); return; }
    if (sr_tok_load(&t, &g, NULL, err, sizeof err) != 0 ||
        sr_chat_load(&c, t, &g, SR_CHAT_AUTO, err, sizeof err) != 0) {
        printf("#   %s\n", err); CHECK(0); sr_tok_free(t); gguf_close(&g); fclose(f); return;
    }
    gguf_close(&g);   /* the tokenizer and chat keep copies */
    CHECK(c.format == SR_CHAT_CHATML && c.eot == 2);
    CHECK_STR(c.default_system, "You are a helpful AI assistant named SmolLM, trained by Hugging Face");

    size_t lines = 0, bad_text = 0, bad_ids = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)len, 0, &je);
        json_t *jm = json_object_get(o, "messages"), *jt = json_object_get(o, "text"),
               *ji = json_object_get(o, "ids");
        const char *name = json_string_value(json_object_get(o, "name"));
        size_t n = json_array_size(jm);
        sr_chat_msg *m = calloc(n + 1, sizeof *m);
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(jm, i);
            m[i].role = json_string_value(json_object_get(e, "role"));
            m[i].content = json_string_value(json_object_get(e, "content"));
            m[i].content_len = json_string_length(json_object_get(e, "content"));
        }
        size_t tl = 0;
        char *text = sr_chat_render_text(&c, m, n, true, &tl, err, sizeof err);
        bool text_ok = text && json_is_string(jt) && tl == json_string_length(jt) &&
                       memcmp(text, json_string_value(jt), tl) == 0;
        sr_ids ids = { 0 };
        bool ids_ok = sr_chat_render_ids(&c, m, n, true, &ids, err, sizeof err) == 0 &&
                      ids.n == json_array_size(ji);
        for (size_t k = 0; ids_ok && k < ids.n; k++)
            ids_ok = ids.v[k] == json_integer_value(json_array_get(ji, k));
        if (!text_ok && bad_text++ < 3) printf("#   %s: text differs:\n#   %s\n", name, text ? text : err);
        if (!ids_ok && bad_ids++ < 3) printf("#   %s: ids differ (%zu vs %zu)\n", name, ids.n, json_array_size(ji));
        free(text);
        sr_ids_free(&ids);
        free(m);
        json_decref(o);
        lines++;
    }
    free(line);
    fclose(f);
    printf("#   %zu golden prompts: %zu text mismatches, %zu id mismatches\n", lines, bad_text, bad_ids);
    CHECK(lines >= 5 && bad_text == 0 && bad_ids == 0);

    /* A training pair decodes back to prompt text + response + <|im_end|>. */
    const sr_chat_msg q[] = { MSG("user", "Say hi.") };
    sr_ids pair = { 0 };
    size_t start = 0, dl = 0;
    CHECK(sr_chat_render_pair(&c, q, 1, "Hi there!", 9, &pair, &start, err, sizeof err) == 0);
    char *d = sr_tok_decode(t, pair.v + start, pair.n - start, 0, &dl, err, sizeof err);
    CHECK_STR(d, "Hi there!<|im_end|>");
    free(d);
    sr_ids_free(&pair);
    sr_chat_free(&c);
    sr_tok_free(t);
}

/* Cases the goldens cannot show: Gemma 2's template refuses a system turn,
 * which sr folds into the first user turn as Gemma 3's does; Phi-3 leaves an
 * empty system turn out and its ids skip the whitespace after its tokens. */
TEST(gemma_phi3_render)
{
    char err[256];
    sr_chat c;
    sr_tok *t = tiny_be("<bos>", "</s>");
    if (!t) { CHECK(0); return; }
    CHECK(sr_chat_init(&c, t, NULL, 0, SR_CHAT_GEMMA, err, sizeof err) == 0);
    const sr_chat_msg g[] = { MSG("system", "Be brief."), MSG("user", " Hi \n"), MSG("assistant", "Hello") };
    check_render(&c, g, 3, true, "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
                 "<start_of_turn>model\nHello<end_of_turn>\n<start_of_turn>model\n");
    const sr_chat_msg bad[] = { MSG("user", "a"), MSG("user", "b") };
    size_t len;
    CHECK(sr_chat_render_text(&c, bad, 2, true, &len, err, sizeof err) == NULL);
    CHECK(strstr(err, "alternating") != NULL);
    sr_chat_free(&c);
    sr_tok_free(t);

    t = tiny_be("<s>", "<|endoftext|>");
    if (!t) { CHECK(0); return; }
    CHECK(sr_chat_init(&c, t, NULL, 0, SR_CHAT_PHI3, err, sizeof err) == 0);
    const sr_chat_msg p[] = { MSG("system", ""), MSG("user", "Hi"), MSG("assistant", " yo") };
    char *text = sr_chat_render_text(&c, p, 3, false, &len, err, sizeof err);
    CHECK_STR(text, "<|user|>\nHi<|end|>\n<|assistant|>\n yo<|end|>\n<|endoftext|>");
    free(text);
    sr_ids ids = { 0 }, want = { 0 };
    CHECK(sr_chat_render_ids(&c, p, 3, false, &ids, err, sizeof err) == 0);
    tokenize_special(t, "<|user|>Hi<|end|><|assistant|>yo<|end|><|endoftext|>", &want);
    CHECK(same_ids(&ids, &want));
    sr_ids_free(&ids);
    sr_ids_free(&want);
    sr_chat_free(&c);
    sr_tok_free(t);
}

/* Mistral's and DeepSeek V2's templates, by the markers each writes (the
 * snippets are written here in the form the real templates write them; the
 * renderings are checked against the real ones in chat_golden). */
TEST(recognise_mistral_deepseek2)
{
    static const struct { const char *tmpl; enum sr_chat_format f; } T[] = {
        { "{%- if loop.first and system_message is defined %}{{- ' [INST] ' + system_message + "
          "'\\n\\n' + message['content'] + ' [/INST]' }}", SR_CHAT_MISTRAL_V1 },
        { "{%- if tools %}{{- \"[AVAILABLE_TOOLS] [\" }}{% endif %}"
          "{{- \"[INST] \" + message[\"content\"] + \"[/INST]\" }}", SR_CHAT_MISTRAL_V3 },
        { "{{ bos_token }}{{ '[SYSTEM_PROMPT] ' + message['content'] + '[/SYSTEM_PROMPT]' }}"
          "{{ '[INST] ' + message['content'] + '[/INST]' }}", SR_CHAT_MISTRAL_V7 },
        { "{% if message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\\n\\n' }}"
          "{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' + message['content'] + eos_token }}"
          "{% endif %}", SR_CHAT_DEEPSEEK2 },
    };
    sr_tok *t = tiny(false);
    if (!t) { CHECK(0); return; }
    char err[256];
    sr_chat c;
    for (size_t i = 0; i < sizeof T / sizeof *T; i++) {
        CHECK(sr_chat_init(&c, t, T[i].tmpl, strlen(T[i].tmpl), SR_CHAT_AUTO, err, sizeof err) == 0);
        if (c.format != T[i].f) printf("#   template %zu: %s\n", i, sr_chat_format_name(c.format));
        CHECK(c.format == T[i].f && c.eot == sr_tok_eos(t) && c.role_tok[1] == -1);
        sr_chat_free(&c);
    }
    /* v7-tekken (Mistral Small 3.x, Devstral) writes its system block
     * unspaced, and a default system prompt: one Jinja string, or literals
     * joined with today's date (fixed, as Llama 3.2's), escapes undone. */
    const char v7t[] = "{%- set today = strftime_now(\"%Y-%m-%d\") %}\n"
        "{%- set default_system_message = \"You are \\\"M\\\".\\nToday is \" + today + '. It\\'s\n"
        "late.' %}\n{{- bos_token }}{{- '[SYSTEM_PROMPT]' + system_prompt + '[/SYSTEM_PROMPT]' }}"
        "{{- '[INST]' }}";
    CHECK(sr_chat_init(&c, t, v7t, strlen(v7t), SR_CHAT_AUTO, err, sizeof err) == 0);
    CHECK(c.format == SR_CHAT_MISTRAL_V7_TEKKEN);
    CHECK_STR(c.default_system, "You are \"M\".\nToday is 2024-07-26. It's\nlate.");
    /* A later system turn counts in the alternation, as the template counts
     * it: in second place it passes, in third it is refused (Jinja agrees). */
    const sr_chat_msg hi[] = { MSG("user", "Hi"), MSG("system", "Now terse."), MSG("user", "Ok") };
    size_t len = 0;
    char *text = sr_chat_render_text(&c, hi, 3, true, &len, err, sizeof err);
    CHECK_STR(text, "<s>[SYSTEM_PROMPT]You are \"M\".\nToday is 2024-07-26. It's\nlate.[/SYSTEM_PROMPT]"
                    "[INST]Hi[/INST][SYSTEM_PROMPT]Now terse.[/SYSTEM_PROMPT][INST]Ok[/INST]");
    free(text);
    const sr_chat_msg late[] = { MSG("user", "Hi"), MSG("assistant", "Yo"), MSG("system", "Now terse."),
                                 MSG("user", "Ok") };
    CHECK(sr_chat_render_text(&c, late, 4, true, &len, err, sizeof err) == NULL);
    CHECK(strstr(err, "alternating") != NULL);
    sr_chat_free(&c);
    /* A default sr cannot read is an error, not a silently different prompt. */
    const char v7bad[] = "{%- set default_system_message = 'A' + other %}{{- '[SYSTEM_PROMPT]' }}[INST]";
    CHECK(sr_chat_init(&c, t, v7bad, strlen(v7bad), SR_CHAT_AUTO, err, sizeof err) == -1);
    CHECK(strstr(err, "default_system_message") != NULL);
    /* Reasoning templates ([THINK] blocks) are not rendered. */
    const char think[] = "{{- '[SYSTEM_PROMPT]' }}[INST]{{- '[THINK]' + thinking + '[/THINK]' }}";
    CHECK(sr_chat_init(&c, t, think, strlen(think), SR_CHAT_AUTO, err, sizeof err) == -1);
    CHECK(strstr(err, "--chat-format") != NULL);
    sr_tok_free(t);

    /* Where the vocabulary has the markers as control tokens, they go by id. */
    static const char *const MARK[] = { "[INST]", "[/INST]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]" };
    t = tiny_ex("<s>", "</s>", MARK, 4);
    if (!t) { CHECK(0); return; }
    CHECK(sr_chat_init(&c, t, NULL, 0, SR_CHAT_MISTRAL_V7, err, sizeof err) == 0);
    CHECK(c.role_tok[0] == sr_tok_find(t, "[SYSTEM_PROMPT]", 15) && c.role_tok[0] >= 0);
    const sr_chat_msg m[] = { MSG("system", "Be brief."), MSG("user", "Hi"), MSG("assistant", "Yo") };
    sr_ids ids = { 0 }, want = { 0 };
    CHECK(sr_chat_render_ids(&c, m, 3, false, &ids, err, sizeof err) == 0);
    const char *parts[] = { "<s>", "[SYSTEM_PROMPT]", " Be brief.", "[/SYSTEM_PROMPT]", "[INST]", " Hi",
                            "[/INST]", " Yo", "</s>" };
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        int32_t id = sr_tok_find(t, parts[i], strlen(parts[i]));
        if (id >= 0 && sr_tok_is_control(t, id)) sr_ids_push(&want, id);
        else sr_tok_encode(t, parts[i], strlen(parts[i]), &want, err, sizeof err);
    }
    CHECK(same_ids(&ids, &want));
    text = sr_chat_render_text(&c, m, 3, false, &len, err, sizeof err);
    CHECK_STR(text, "<s>[SYSTEM_PROMPT] Be brief.[/SYSTEM_PROMPT][INST] Hi[/INST] Yo</s>");
    free(text);
    /* The pair: the prompt, the response as its turn holds it, </s>. */
    sr_ids pair = { 0 }, prompt = { 0 };
    size_t start = 0;
    CHECK(sr_chat_render_pair(&c, m, 2, "Yo", 2, &pair, &start, err, sizeof err) == 0);
    CHECK(sr_chat_render_ids(&c, m, 2, true, &prompt, err, sizeof err) == 0);
    CHECK(start == prompt.n && same_ids(&pair, &want));
    sr_ids_free(&ids); sr_ids_free(&want); sr_ids_free(&pair); sr_ids_free(&prompt);
    sr_chat_free(&c);

    /* Mistral v1 and v3 refuse turns out of order, as their templates raise. */
    const sr_chat_msg bad[] = { MSG("user", "a"), MSG("user", "b") };
    CHECK(sr_chat_init(&c, t, NULL, 0, SR_CHAT_MISTRAL_V1, err, sizeof err) == 0);
    CHECK(sr_chat_render_text(&c, bad, 2, true, &len, err, sizeof err) == NULL);
    CHECK(strstr(err, "alternating") != NULL);
    sr_chat_free(&c);
    sr_tok_free(t);
}

/* ---- tests/golden/chat/FAMILY.jsonl: the real templates through Jinja2 ------- */

struct golden_row {
    const char *fmt, *vocab, *text, *tmpl, *default_system;   /* v7-tekken's, or NULL */
    sr_chat_msg *m;
    size_t n;
    bool gen;
    json_t *ids;    /* NULL when the golden has no ids */
};

static bool row_parse(json_t *o, struct golden_row *r)
{
    json_t *jm = json_object_get(o, "messages");
    r->fmt = json_string_value(json_object_get(o, "format"));
    r->vocab = json_string_value(json_object_get(o, "vocab"));
    r->text = json_string_value(json_object_get(o, "text"));
    r->tmpl = json_string_value(json_object_get(o, "template"));
    r->default_system = json_string_value(json_object_get(o, "default_system"));
    r->gen = json_is_true(json_object_get(o, "gen_prompt"));
    r->ids = json_is_array(json_object_get(o, "ids")) ? json_object_get(o, "ids") : NULL;
    r->n = json_array_size(jm);
    r->m = calloc(r->n + 1, sizeof *r->m);
    for (size_t i = 0; i < r->n; i++) {
        json_t *e = json_array_get(jm, i);
        r->m[i].role = json_string_value(json_object_get(e, "role"));
        r->m[i].content = json_string_value(json_object_get(e, "content"));
        r->m[i].content_len = json_string_length(json_object_get(e, "content"));
    }
    return r->fmt && r->text && r->tmpl && r->m;
}

static bool ids_match(const sr_ids *ids, json_t *want, size_t n)
{
    if (n > json_array_size(want) || ids->n != n) return false;
    for (size_t k = 0; k < n; k++)
        if (ids->v[k] != json_integer_value(json_array_get(want, k))) return false;
    return true;
}

/* A stand-in (tests/golden/chat/standins.json; tests/golden/vocab_patch.py
 * makes the same one for llama-tokenize): a ../shared vocabulary with some
 * tokens renamed, or appended at the end, each given a type (and score), and
 * some metadata keys set. The patched metadata is written to a temporary
 * GGUF and read back, so that sr_tok_load sees it as it sees any file. */
struct standin {
    gguf_kv *kv;            /* the file's, copied, then patched; room for the new keys */
    uint64_t n_kv;
    gguf_value *items[3];   /* the patched tokens, token_type and scores arrays */
};

static gguf_kv *standin_kv(struct standin *s, const char *key, bool add)
{
    for (uint64_t i = 0; i < s->n_kv; i++)
        if (s->kv[i].key.n == strlen(key) && memcmp(s->kv[i].key.p, key, s->kv[i].key.n) == 0)
            return &s->kv[i];
    if (!add) return NULL;
    gguf_kv *k = &s->kv[s->n_kv++];
    *k = (gguf_kv){ .key = { key, strlen(key) }, .val = { .type = GGUF_U32 } };
    return k;
}

/* The entries of "tokens" into copies of the three arrays (scores only where
 * the vocabulary has them); an id one past the end appends a token. */
static bool standin_tokens(struct standin *s, json_t *toks)
{
    static const char *const KEY[3] = { "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
                                        "tokenizer.ggml.scores" };
    static const char *const FIELD[3] = { "text", "type", "score" };
    gguf_kv *k0 = standin_kv(s, KEY[0], false);
    if (!k0 || k0->val.type != GGUF_ARRAY) return false;
    uint64_t n = k0->val.v.arr.n, n_new = n;
    size_t i;
    json_t *e;
    json_array_foreach(toks, i, e) {
        json_int_t id = json_integer_value(json_object_get(e, "id"));
        if (id < 0 || (uint64_t)id > n_new || !json_is_string(json_object_get(e, "text")) ||
            !json_is_integer(json_object_get(e, "type"))) return false;
        if ((uint64_t)id == n_new) n_new++;
    }
    for (int a = 0; a < 3; a++) {
        gguf_kv *k = standin_kv(s, KEY[a], false);
        if (!k) { if (a < 2) return false; continue; }
        if (k->val.type != GGUF_ARRAY || k->val.v.arr.n != n) return false;
        gguf_value *v = s->items[a] = calloc(n_new, sizeof *v);
        if (!v) return false;
        memcpy(v, k->val.v.arr.items, n * sizeof *v);
        for (uint64_t j = n; j < n_new; j++) v[j].type = k->val.v.arr.type;
        k->val.v.arr.items = v;
        k->val.v.arr.n = n_new;
        json_array_foreach(toks, i, e) {
            json_t *f = json_object_get(e, FIELD[a]);
            gguf_value *x = &v[json_integer_value(json_object_get(e, "id"))];
            if (a == 0) x->v.s = (gguf_str){ json_string_value(f), json_string_length(f) };
            else if (a == 1) x->v.i = json_integer_value(f);
            else if (f) x->v.f = json_number_value(f);
        }
    }
    return true;
}

/* The "keys": booleans, strings, and integers (of the type the file gives
 * the key, else u32). */
static bool standin_keys(struct standin *s, json_t *keys)
{
    const char *key;
    json_t *v;
    json_object_foreach(keys, key, v) {
        gguf_kv *k = standin_kv(s, key, true);
        if (json_is_boolean(v)) k->val = (gguf_value){ .type = GGUF_BOOL, .v.b = json_is_true(v) };
        else if (json_is_string(v))
            k->val = (gguf_value){ .type = GGUF_STRING,
                                   .v.s = { json_string_value(v), json_string_length(v) } };
        else if (json_is_integer(v) && json_integer_value(v) >= 0) {
            enum gguf_vtype ty = k->val.type;
            if (!(ty <= GGUF_I32 || ty == GGUF_U64 || ty == GGUF_I64)) k->val.type = GGUF_U32;
            k->val.v.u = (uint64_t)json_integer_value(v);
        } else return false;
    }
    return true;
}

/* Write s to a temporary file and load the tokenizer from it. */
static sr_tok *standin_load(const struct standin *s, char *err, size_t errlen)
{
    char dir[] = "/tmp/sr-test-chat.XXXXXX", path[64];
    if (!mkdtemp(dir)) { snprintf(err, errlen, "mkdtemp: %s", strerror(errno)); return NULL; }
    snprintf(path, sizeof path, "%s/standin.gguf", dir);
    sr_tok *t = NULL;
    gguf_file h;
    if (gguf_write(path, s->kv, s->n_kv, NULL, 0, 0, err, errlen) == 0 &&
        gguf_open(&h, path, err, errlen) == 0) {
        if (sr_tok_load(&t, &h, NULL, err, errlen) != 0) t = NULL;
        gguf_close(&h);
    }
    unlink(path);
    rmdir(dir);
    return t;
}

static sr_tok *standin_vocab(json_t *st, const char *name)
{
    char rel[256], err[512];
    snprintf(rel, sizeof rel, "data/vocab/ggml-vocab-%s.gguf",
             json_string_value(json_object_get(st, "base")));
    const char *path = test_shared_path(rel);
    if (!path) return NULL;
    gguf_file g;
    if (gguf_open(&g, path, err, sizeof err) != 0) { printf("#   %s\n", err); return NULL; }
    json_t *keys = json_object_get(st, "keys");
    struct standin s = { .kv = calloc(g.n_kv + json_object_size(keys), sizeof *s.kv), .n_kv = g.n_kv };
    sr_tok *t = NULL;
    if (s.kv) memcpy(s.kv, g.kv, g.n_kv * sizeof *s.kv);
    if (!s.kv || !standin_tokens(&s, json_object_get(st, "tokens")) || !standin_keys(&s, keys)) {
        printf("#   stand-in %s: standins.json does not fit its base vocabulary\n", name);
        CHECK(0);
    } else if (!(t = standin_load(&s, err, sizeof err))) {
        printf("#   stand-in %s: %s\n", name, err);
        CHECK(0);
    }
    for (int a = 0; a < 3; a++) free(s.items[a]);
    free(s.kv);
    gguf_close(&g);
    return t;
}

/* The vocabulary a golden names: a stand-in, or a file of ../shared; NULL
 * (skipped) when absent or when sr's tokenizer cannot load it yet. */
static sr_tok *golden_vocab(const char *name)
{
    json_error_t je;
    json_t *all = json_load_file("tests/golden/chat/standins.json", 0, &je);
    CHECK(all != NULL);   /* in the repository: absent is a failure */
    if (!all) printf("#   standins.json: %s\n", je.text);
    size_t i;
    json_t *st;
    json_array_foreach(all, i, st) {
        if (strcmp(json_string_value(json_object_get(st, "name")), name) == 0) {
            sr_tok *t = standin_vocab(st, name);
            json_decref(all);
            return t;
        }
    }
    json_decref(all);
    char rel[256], err[512];
    snprintf(rel, sizeof rel, "data/vocab/ggml-vocab-%s.gguf", name);
    const char *path = test_shared_path(rel);
    if (!path) return NULL;
    gguf_file g;
    sr_tok *t = NULL;
    if (gguf_open(&g, path, err, sizeof err) != 0) { printf("#   %s\n", err); return NULL; }
    if (sr_tok_load(&t, &g, NULL, err, sizeof err) != 0) {
        printf("#   vocab %s: %s (ids not compared)\n", name, err);
        t = NULL;
    }
    gguf_close(&g);
    return t;
}

/* Format none on tokenizer t: the turns' text joined and encoded as one
 * text, after BOS exactly when the tokenizer adds one; a pair then ends with
 * eos. The template, even a recognised one, is not used. */
static void check_none(sr_tok *t, const char *name)
{
    char err[256];
    sr_chat c;
    if (sr_chat_init(&c, t, SMOL_TMPL, strlen(SMOL_TMPL), SR_CHAT_NONE, err, sizeof err) != 0) {
        printf("#   %s: %s\n", name, err); CHECK(0); return;
    }
    const sr_chat_msg m[] = { MSG("system", "Be brief. "), MSG("user", "Once upon a time") };
    const char joined[] = "Be brief. Once upon a time", resp[] = ", there was a cat.";
    sr_ids got = { 0 }, want = { 0 }, pair = { 0 };
    if (sr_tok_add_bos(t)) sr_ids_push(&want, sr_tok_bos(t));
    CHECK(sr_tok_encode(t, joined, strlen(joined), &want, err, sizeof err) == 0);
    CHECK(sr_chat_render_ids(&c, m, 2, true, &got, err, sizeof err) == 0);
    CHECK(got.n == want.n && memcmp(got.v, want.v, want.n * sizeof *want.v) == 0);
    if (got.n != want.n) printf("#   %s: %zu ids, want %zu\n", name, got.n, want.n);
    size_t start = 0, tl = 0;
    CHECK(sr_chat_render_pair(&c, m, 2, resp, strlen(resp), &pair, &start, err, sizeof err) == 0);
    CHECK(start == got.n && pair.v[pair.n - 1] == sr_tok_eos(t) && c.eot == sr_tok_eos(t));
    char *text = sr_chat_render_text(&c, m, 2, true, &tl, err, sizeof err);
    CHECK(text && strstr(text, joined) && strstr(text, "<|im_start|>") == NULL);
    free(text);
    sr_ids_free(&got); sr_ids_free(&want); sr_ids_free(&pair);
    sr_chat_free(&c);
}

TEST(none_render)
{
    sr_tok *t = tiny(false);     /* a gpt2 vocabulary: no BOS */
    if (!t) { CHECK(0); return; }
    CHECK(!sr_tok_add_bos(t));
    check_none(t, "tiny");
    sr_tok_free(t);
    t = golden_vocab("llama-spm");     /* SentencePiece: BOS first */
    if (!t) return;
    CHECK(sr_tok_add_bos(t));
    check_none(t, "llama-spm");
    sr_tok_free(t);
}

/* ChatML's golden is Qwen 2.5's template, which inserts its own system turn. */
static const char QWEN_SYSTEM[] = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

struct golden_count { size_t rows, text_bad, ids_checked, ids_bad, pairs, pairs_bad; };

/* The pair (prompt = all but the last turn, response = the last assistant
 * turn) gives the conversation up to the end-of-turn token: its ids, where
 * the golden has ids for the vocabulary c uses, else its text (decoded from
 * the tiny vocabulary's ids). Mistral v3 and v3-tekken put the system
 * message into the last turn only when that is a user turn, and DeepSeek
 * R1's generation prompt opens <think>: the prompt has them, the whole
 * conversation does not, so there only the response is compared, with the
 * end of the conversation. */
static void check_pair(const sr_chat *c, const struct golden_row *r, bool by_ids,
                       struct golden_count *k)
{
    char err[512];
    if (r->gen || r->n < 2 || strcmp(r->m[r->n - 1].role, "assistant") != 0) return;
    sr_ids pair = { 0 };
    size_t start = 0;
    k->pairs++;
    const sr_chat_msg *last = &r->m[r->n - 1];
    const bool moved = ((c->format == SR_CHAT_MISTRAL_V3 || c->format == SR_CHAT_MISTRAL_V3_TEKKEN) &&
                        strcmp(r->m[0].role, "system") == 0) || c->think;
    bool ok = sr_chat_render_pair(c, r->m, r->n - 1, last->content, last->content_len,
                                  &pair, &start, err, sizeof err) == 0 &&
              pair.v[pair.n - 1] == c->eot;
    size_t from = moved ? start : 0, tail = pair.n - from;
    if (ok && by_ids) {
        size_t want = json_array_size(r->ids), at = moved ? want - tail : 0;
        ok = tail <= want;
        for (size_t i = 0; ok && i < tail; i++)
            ok = pair.v[from + i] == json_integer_value(json_array_get(r->ids, at + i));
    } else if (ok) {
        size_t dl = 0, want = strlen(r->text);
        char *d = sr_tok_decode(c->tok, pair.v + from, tail, 0, &dl, err, sizeof err);
        ok = d && dl <= want && memcmp(d, r->text + (moved ? want - dl : 0), dl) == 0;
        free(d);
    }
    if (!ok && k->pairs_bad++ < 3) printf("#   %s pair: %s differ\n", r->fmt, by_ids ? "ids" : "texts");
    sr_ids_free(&pair);
}

static void check_row(const struct golden_row *r, const sr_tok *real, struct golden_count *k)
{
    char err[512];
    enum sr_chat_format f;
    sr_chat c;
    CHECK(sr_chat_format_parse(r->fmt, &f) == 0);
    const bool llama = strncmp(r->fmt, "llama3", 6) == 0;
    sr_tok *t = NULL;
    bool have_real = real && sr_chat_init(&c, real, NULL, 0, f, err, sizeof err) == 0;
    if (!have_real) {   /* the text through a tiny vocabulary with the family's specials */
        bool ds = strncmp(r->fmt, "deepseek", 8) == 0;
        t = tiny_be(llama ? "<|begin_of_text|>" : strcmp(r->fmt, "gemma") == 0 ? "<bos>" :
                    ds ? "<｜begin▁of▁sentence｜>" : "<s>",
                    strcmp(r->fmt, "phi3") == 0 ? "<|endoftext|>" :
                    ds ? "<｜end▁of▁sentence｜>" : "</s>");
        if (!t || sr_chat_init(&c, t, NULL, 0, f, err, sizeof err) != 0) {
            printf("#   %s: %s\n", r->fmt, err); CHECK(0); sr_tok_free(t); return;
        }
    }
    if (f == SR_CHAT_CHATML || r->default_system) {
        /* The goldens carry no template text for sr to read it from. */
        const char *d = r->default_system ? r->default_system : QWEN_SYSTEM;
        c.default_system = strdup(d);
        c.default_system_len = strlen(d);
    }
    /* R1's templates open <think> in the generation prompt (sr reads that from
     * the template text, which the goldens do not carry). */
    if (f == SR_CHAT_DEEPSEEK3) c.think = strstr(r->tmpl, "-R1-") != NULL;
    k->rows++;
    size_t tl = 0;
    char *text = sr_chat_render_text(&c, r->m, r->n, r->gen, &tl, err, sizeof err);
    if (!text || tl != strlen(r->text) || memcmp(text, r->text, tl) != 0) {
        if (k->text_bad++ < 3) printf("#   %s: text differs:\n#   got  %s\n#   want %s\n", r->fmt,
                                      text ? text : err, r->text);
    }
    free(text);
    if (have_real && r->ids) {
        sr_ids ids = { 0 };
        k->ids_checked++;
        if (sr_chat_render_ids(&c, r->m, r->n, r->gen, &ids, err, sizeof err) != 0 ||
            !ids_match(&ids, r->ids, json_array_size(r->ids)))
            if (k->ids_bad++ < 3) printf("#   %s: ids differ (%zu vs %zu)\n", r->fmt, ids.n, json_array_size(r->ids));
        sr_ids_free(&ids);
    }
    check_pair(&c, r, have_real && r->ids, k);
    sr_chat_free(&c);
    sr_tok_free(t);
}

static void golden_file(const char *fmt)
{
    char path[256], err[512];
    snprintf(path, sizeof path, "tests/golden/chat/%s.jsonl", fmt);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);   /* in the repository: absent is a failure */
    if (!f) { printf("#   %s is missing\n", path); return; }
    struct golden_count k = { 0 };
    sr_tok *real = NULL;
    bool loaded = false;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)len, 0, &je);
        struct golden_row r = { 0 };
        if (!o || !row_parse(o, &r)) { printf("#   %s: bad line: %s\n", path, je.text); CHECK(0); }
        else {
            if (!loaded && r.ids && r.vocab) { real = golden_vocab(r.vocab); loaded = true; }
            check_row(&r, real, &k);
        }
        free(r.m);
        json_decref(o);
    }
    (void)err;
    free(line);
    fclose(f);
    printf("#   %s: %zu renderings, %zu text mismatches; ids compared for %zu, %zu mismatches; "
           "%zu pairs, %zu mismatches\n", fmt, k.rows, k.text_bad, k.ids_checked, k.ids_bad,
           k.pairs, k.pairs_bad);
    CHECK(k.rows >= 5 && k.text_bad == 0 && k.ids_bad == 0 && k.pairs_bad == 0);
    sr_tok_free(real);
}

TEST(chat_golden)
{
    static const char *FMT[] = { "chatml", "llama2", "llama3", "llama3.1", "phi3", "gemma",
                                 "deepseek2", "deepseek3", "mistral-v1", "mistral-v3",
                                 "mistral-v3-tekken", "mistral-v7", "mistral-v7-tekken" };
    for (size_t i = 0; i < sizeof FMT / sizeof *FMT; i++) golden_file(FMT[i]);
}

int main(void)
{
    RUN(format_names);
    RUN(recognise_families);
    RUN(recognise_mistral_deepseek2);
    RUN(chatml_render);
    RUN(llama3_render);
    RUN(llama2_render);
    RUN(gemma_phi3_render);
    RUN(chat_golden);
    RUN(content_never_special);
    RUN(render_pair_boundary);
    RUN(none_render);
    RUN(bad_turns);
    RUN(model_golden_prompts);
    return test_done();
}
