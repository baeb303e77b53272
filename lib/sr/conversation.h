/* conversation.h — the conversation a record holds, as chat turns, and its
 * token ids as the tools see them.
 *
 * A record says its conversation in one of two ways:
 *   {prompt, [response], [system]}   the shape sr-gen, sr-sft and sr-judge read
 *   {messages: [{role, content}, ...]}   roles system, user, assistant
 *
 * The ids: a conversation that ends with an assistant turn is a training
 * example — the earlier turns with the generation prompt, then the last turn
 * as the model generates it, ended by the end-of-turn token (what sr-sft
 * trains on, sr_chat_render_pair); one that does not is a prompt — its
 * turns, then the generation prompt (what sr-gen feeds the model). */
#ifndef SR_CONVERSATION_H
#define SR_CONVERSATION_H

#include <stdbool.h>
#include <stddef.h>

#include "io/record.h"
#include "lm/chat.h"

typedef struct sr_conv {
    sr_chat_msg *m;         /* the turns; contents point into the record */
    size_t n, cap;
    const char *key;        /* where it came from, for messages: "prompt" or "messages" */
} sr_conv;

/* Read rec's conversation into c (reused from call to call; zero it first).
 * false for a bad record — neither or both shapes, a value of the wrong
 * type, an unknown role — reported through sr_rec_bad (exit 3, or skipped
 * and counted under --skip-bad), naming the key. */
bool sr_conv_read(const sr_rec *rec, sr_conv *c);
void sr_conv_free(sr_conv *c);

/* Append c's ids to out, as described above; *response_start (may be NULL)
 * gets the index in out->v of the first response token, or out->n when the
 * conversation is a prompt. 0, or -1 with a message (an order of turns the
 * format cannot render, out of memory). */
int sr_conv_ids(const sr_chat *chat, const sr_conv *c, sr_ids *out, size_t *response_start,
                char *err, size_t errlen);

#endif
