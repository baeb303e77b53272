/* sr-tokenize — what a model's tokenizer makes of a text: its token ids (or
 * pieces), the way llama.cpp's llama-tokenize shows them, or each record's
 * ids beside the record.
 *
 *   sr-tokenize -m vocab.gguf < text.txt          the whole input: ids on one line
 *   sr-tokenize -m vocab.gguf --pieces < text.txt the pieces, as JSON strings
 *   sr-tokenize --records --chat < sft.mp         each record + the ids of its conversation
 *   sr-tokenize -m vocab.gguf --decode < ids.txt  the text of ids, as sr-gen writes a reply
 *
 * Only the file's metadata is read (tokenizer, chat template), never its
 * tensors, so llama.cpp's vocabulary-only GGUF files serve as well as models. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/cli.h"
#include "io/json.h"
#include "io/outfile.h"
#include "io/record.h"
#include "lm/chat.h"
#include "lm/generate.h"
#include "lm/gguf.h"
#include "lm/tokenizer.h"
#include "sr/conversation.h"
#include "sr/lm_cli.h"

typedef struct tok_opts {
    sr_llm_opts lm;             /* only the model and --chat-format are used */
    bool pieces, bos, special, records, chat, decode;
    const char *key;            /* --key; NULL: "text" */
} tok_opts;

typedef struct vocab {
    gguf_file g;
    sr_tok *tok;
    sr_chat chat;               /* set up under --chat only */
} vocab;

static void check_opts(tok_opts *o)
{
    if (!o->records && (o->key || o->chat)) sr_usage_error("--%s is for --records", o->chat ? "chat" : "key");
    if (o->chat && o->key) sr_usage_error("--key and --chat: the text is one key's, or the conversation");
    if (o->chat && (o->bos || o->special))
        sr_usage_error("--%s is for plain text: --chat places BOS and the template's special tokens itself, "
                       "and keeps those typed in turns as text", o->bos ? "bos" : "special");
    if (o->lm.chat_format && !o->chat) sr_usage_error("--chat-format is for --chat");
    if (o->decode && (o->records || o->pieces || o->bos || o->special))
        sr_usage_error("--decode reads ids: --records, --pieces, --bos and --special are for encoding");
    if (o->records && o->pieces) sr_usage_error("--pieces is for text output; --records adds ids");
    if (!o->key) o->key = "text";
}

/* The file's tokenizer (and, for --chat, its chat format); a file that is no
 * GGUF, or has no usable tokenizer or template, is bad input (exit 3). */
static void open_vocab(vocab *v, const tok_opts *o)
{
    enum sr_chat_format fmt = SR_CHAT_AUTO;
    if (o->lm.chat_format && sr_chat_format_parse(o->lm.chat_format, &fmt) < 0)
        sr_usage_error("--chat-format: '%s' is not one of " SR_CHAT_FORMAT_NAMES, o->lm.chat_format);
    char *path = sr_llm_resolve_path(&o->lm), why[1024];
    const char *what = "";
    int rc = gguf_open(&v->g, path, why, sizeof why);
    if (rc == 0) {
        what = "tokenizer: ";
        rc = sr_tok_load(&v->tok, &v->g, NULL, why, sizeof why);
    }
    if (rc == 0 && o->chat) {
        what = "chat template: ";
        rc = sr_chat_load(&v->chat, v->tok, &v->g, fmt, why, sizeof why);
    }
    if (rc == 0 && o->bos && sr_tok_bos(v->tok) < 0) {
        what = "--bos: ";
        snprintf(why, sizeof why, "the vocabulary has no BOS token (tokenizer.ggml.bos_token_id)");
        rc = -1;
    }
    if (rc != 0) sr_die(SR_EXIT_DATA, "model %s: %s%s", path, what, why);
    free(path);
}

static void close_vocab(vocab *v, const tok_opts *o)
{
    if (o->chat) sr_chat_free(&v->chat);
    sr_tok_free(v->tok);
    gguf_close(&v->g);
}

/* Plain text to ids: BOS first under --bos; special tokens parsed under --special. */
static int encode(const vocab *v, const tok_opts *o, const char *s, size_t n, sr_ids *ids,
                  char *err, size_t errlen)
{
    ids->n = 0;
    if (o->bos && sr_tok_push_id(v->tok, sr_tok_bos(v->tok), ids, err, errlen) < 0) return -1;
    return sr_tok_encode_ex(v->tok, s, n, o->special ? SR_ENCODE_SPECIAL : 0, ids, err, errlen);
}

/* The whole input, byte for byte (a trailing newline is part of the text). */
static char *read_all(const char *path, size_t *len)
{
    bool std = !path || strcmp(path, "-") == 0;
    FILE *f = std ? stdin : fopen(path, "rb");
    if (!f) sr_die(SR_EXIT_FAIL, "%s: %s", path, strerror(errno));
    sr_jbuf b = { 0 };
    char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) sr_jbuf_put(&b, chunk, n);
    if (ferror(f)) sr_die(SR_EXIT_FAIL, "%s: read error", std ? "standard input" : path);
    if (!std) fclose(f);
    sr_jbuf_putc(&b, 0);   /* never NULL, even for empty input */
    *len = b.n - 1;
    return b.p;
}

/* One line: the ids, or (--pieces) each token's bytes as a JSON string. */
static void write_line(sr_cli *cli, const vocab *v, const tok_opts *o, const sr_ids *ids)
{
    sr_jbuf line = { 0 };
    for (size_t i = 0; i < ids->n; i++) {
        if (i) sr_jbuf_putc(&line, ' ');
        if (o->pieces) {
            size_t pl;
            const char *p = sr_tok_piece(v->tok, ids->v[i], &pl);
            sr_json_bytes(&line, p, pl);
        } else {
            char num[16];
            sr_jbuf_put(&line, num, (size_t)snprintf(num, sizeof num, "%d", (int)ids->v[i]));
        }
    }
    sr_jbuf_putc(&line, '\n');
    sr_outfile out;
    sr_outfile_open(&out, cli->output);
    sr_outfile_write(&out, line.p, line.n);
    sr_outfile_commit(&out);
    sr_jbuf_free(&line);
}

static void tokenize_text(sr_cli *cli, const vocab *v, const tok_opts *o)
{
    size_t n;
    char *text = read_all(cli->input, &n), err[512];
    sr_ids ids = { 0 };
    if (encode(v, o, text, n, &ids, err, sizeof err) < 0)
        sr_die(SR_EXIT_DATA, "%s: %s", cli->input ? cli->input : "standard input", err);
    write_line(cli, v, o, &ids);
    sr_ids_free(&ids);
    free(text);
}

/* --decode: the input's ids (sr_tok_parse_ids) as the text sr-gen writes
 * for a reply: control tokens left out, valid UTF-8. */
static void decode_ids(sr_cli *cli, const vocab *v)
{
    size_t n, len;
    char *in = read_all(cli->input, &n), err[512], *text = NULL;
    sr_ids ids = { 0 };
    if (sr_tok_parse_ids(v->tok, in, &ids, err, sizeof err) < 0 ||
        !(text = sr_gen_text(v->tok, ids.v, (int)ids.n, &len, err, sizeof err)))
        sr_die(SR_EXIT_DATA, "%s: %s", cli->input ? cli->input : "standard input", err);
    sr_outfile out;
    sr_outfile_open(&out, cli->output);
    sr_outfile_write(&out, text, len);
    sr_outfile_commit(&out);
    free(text); free(in); sr_ids_free(&ids);
}

/* A record's ids: of the text under --key, or of its conversation (--chat).
 * false for a bad record, reported. */
static bool record_ids(const sr_rec *rec, const vocab *v, const tok_opts *o, sr_conv *conv, sr_ids *ids)
{
    char err[512];
    const char *key = o->key;
    int rc;
    ids->n = 0;
    if (o->chat) {
        if (!sr_conv_read(rec, conv)) return false;
        key = conv->key;
        rc = sr_conv_ids(&v->chat, conv, ids, NULL, err, sizeof err);
    } else {
        sr_str s;
        if (!sr_need_str(rec, o->key, &s)) return false;
        rc = encode(v, o, s.p, s.n, ids, err, sizeof err);
    }
    if (rc < 0) sr_rec_bad(rec, key, "%s", err);
    return rc == 0;
}

static void tokenize_records(sr_cli *cli, const vocab *v, const tok_opts *o)
{
    sr_reader *in = sr_reader_open(cli);
    sr_writer *out = sr_writer_open(cli);
    sr_conv conv = { 0 };
    sr_ids ids = { 0 };
    sr_rec rec;
    while (sr_read(in, &rec)) {
        if (!record_ids(&rec, v, o, &conv, &ids)) continue;
        sr_recb b;
        sr_recb_init(&b, &rec);
        sr_recb_i32_array(&b, "ids", ids.v, ids.n);
        sr_write(out, &b);
        sr_recb_free(&b);
    }
    sr_writer_close(out);
    sr_reader_close(in);
    sr_conv_free(&conv);
    sr_ids_free(&ids);
}

int main(int argc, char **argv)
{
    tok_opts o = { .lm = SR_LLM_OPTS_INIT };
    const sr_opt opts[] = {
        { "model", 'm', SR_OPT_STR, &o.lm.model, "FILE",
          "GGUF model or vocabulary (default: $SR_MODEL, else " SR_DEFAULT_MODEL ")", 0, 0 },
        { "pieces", 0, SR_OPT_FLAG, &o.pieces, NULL, "print each token's bytes as a JSON string, not its id", 0, 0 },
        { "bos", 0, SR_OPT_FLAG, &o.bos, NULL, "begin with the BOS token", 0, 0 },
        { "special", 0, SR_OPT_FLAG, &o.special, NULL, "parse special tokens typed in the text", 0, 0 },
        { "records", 0, SR_OPT_FLAG, &o.records, NULL, "read msgpack records, add ids to each", 0, 0 },
        { "key", 0, SR_OPT_STR, &o.key, "K", "--records: the text is key K's (default text)", 0, 0 },
        { "chat", 0, SR_OPT_FLAG, &o.chat, NULL,
          "--records: the conversation (prompt/response/system or messages), chat-formatted", 0, 0 },
        { "decode", 0, SR_OPT_FLAG, &o.decode, NULL,
          "read ids, write their text as sr-gen writes a reply (control tokens left out)", 0, 0 },
        { "chat-format", 0, SR_OPT_STR, &o.lm.chat_format, "NAME",
          SR_CHAT_FORMAT_NAMES " (default: recognised from the file's template)", 0, 0 },
        SR_OPT_END,
    };
    sr_cli cli = {
        .name = "sr-tokenize",
        .summary = "Print the token ids of a text (all of the input), or add them to records.",
        .usage = "[OPTION]... [-m FILE]",
        .details = "Text: the whole input, byte for byte, is one text; its ids go out space-separated on\n"
                   "one line (an empty input gives an empty line). No BOS unless --bos; special tokens\n"
                   "typed in the text are plain text unless --special. --pieces: each token's bytes as a\n"
                   "JSON string, a byte that is not UTF-8 as \\udc80..\\udcff.\n"
                   "Records (--records): each record with ids, an array of integers, added.\n"
                   "--decode: ids in (a JSON array reads too), their text out, no newline added.",
    };
    sr_cli_parse(&cli, opts, argc, argv);
    check_opts(&o);

    vocab v = { 0 };
    open_vocab(&v, &o);
    if (o.decode) decode_ids(&cli, &v);
    else if (o.records) tokenize_records(&cli, &v, &o);
    else tokenize_text(&cli, &v, &o);
    close_vocab(&v, &o);
    sr_cli_finish(&cli);
    return SR_EXIT_OK;
}
