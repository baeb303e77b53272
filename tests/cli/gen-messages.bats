#!/usr/bin/env bats
# sr-gen continues a conversation given as messages (MT-Bench's second
# turn; sr/conversation.h), on the tiny random model (the fixture tokenizer
# and its chatml template).

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
    write_tiny_model "$T/tiny.gguf"
    M=$T/tiny.gguf
}

gen() { sr-gen -q -m "$M" --max-prompt-tokens 200 --max-tokens 8 "$@"; }
recs() { printf '%s\n' "$@" | sr-cat --from-json; }

TWO='{"id":"c","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi!"},{"role":"assistant","content":"Hello."},{"role":"user","content":"And now?"}],"category":"writing"}'

@test "messages: a 2-turn conversation is continued, token for token its chat-formatted ids" {
    recs "$TWO" > "$T/m.mp"
    # the ids the chat template gives the conversation (sr-tokenize --chat),
    # with the generation prompt: the same replies from prompt_ids
    sr-tokenize -m "$M" --records --chat -i "$T/m.mp" | sr-cat | jq -c '{id, prompt_ids: .ids}' |
        sr-cat --from-json > "$T/ids.mp"
    gen -i "$T/m.mp" -n 2 --max-tokens 10 --emit-ids | sr-cat > "$T/a"
    gen -i "$T/ids.mp" -n 2 --max-tokens 10 --emit-ids | sr-cat > "$T/b"
    [ "$(wc -l < "$T/a")" -eq 2 ]
    diff <(jq -c '[.response, .response_ids, .finish]' "$T/a") <(jq -c '[.response, .response_ids, .finish]' "$T/b")
    # every input key kept, the conversation included
    run jq -c '[.category, (.messages | length), .prompt_id]' "$T/a"
    assert_line --index 0 '["writing",4,"c"]'
}

@test "messages: the rendered prompt is the chatml of every turn, then the assistant's header" {
    recs "$TWO" > "$T/m.mp"
    ids=$(sr-tokenize -m "$M" --records --chat -i "$T/m.mp" | sr-cat | jq -r '.ids | map(tostring) | join(" ")')
    text=$(printf '%s' "$ids" | sr-tokenize -m "$M" --decode --special 2>/dev/null || true)
    # the same text written out by hand, tokenized with special tokens
    want=$(printf '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nAnd now?<|im_end|>\n<|im_start|>assistant\n' |
           sr-tokenize -m "$M" --special)
    [ "$ids" = "$want" ] || { echo "got  $ids"; echo "want $want"; false; }
}

@test "messages: a conversation ending with the assistant, or beside prompt, is bad input naming the field" {
    recs '{"id":"x","messages":[{"role":"user","content":"Q"},{"role":"assistant","content":"A"}]}' > "$T/b1.mp"
    run --separate-stderr gen -i "$T/b1.mp"
    assert_failure 3
    [[ $stderr == *'record 1 (id "x")'*messages*"the last turn is the assistant's"* ]] || { echo "$stderr"; false; }
    recs '{"id":"y","prompt":"P","messages":[{"role":"user","content":"Q"}]}' > "$T/b2.mp"
    run --separate-stderr gen -i "$T/b2.mp"
    assert_failure 3
    [[ $stderr == *'record 1 (id "y")'*messages*prompt* ]] || { echo "$stderr"; false; }
    recs '{"id":"z","messages":[{"role":"robot","content":"Q"}]}' "$TWO" > "$T/b3.mp"
    run --separate-stderr bash -c "sr-gen -q -m '$M' --max-tokens 2 --max-prompt-tokens 200 --skip-bad -i '$T/b3.mp' | sr-cat -n"
    assert_success
    assert_output 4
    [[ $stderr == *"skipped 1 bad record"* ]] || { echo "$stderr"; false; }
}

@test "messages: the same output for any --batch and across --shard" {
    recs "$TWO" '{"id":"d","messages":[{"role":"user","content":"One?"}]}' \
         '{"id":"e","messages":[{"role":"user","content":"Two?"},{"role":"assistant","content":"2"},{"role":"user","content":"Three?"}]}' > "$T/m.mp"
    gen -i "$T/m.mp" -n 2 --max-tokens 8 --batch 1 > "$T/b1.mp"
    gen -i "$T/m.mp" -n 2 --max-tokens 8 --batch 5 > "$T/b5.mp"
    cmp "$T/b1.mp" "$T/b5.mp"
    { gen -i "$T/m.mp" -n 2 --max-tokens 8 --shard 0/2; gen -i "$T/m.mp" -n 2 --max-tokens 8 --shard 1/2; } |
        sr-cat | sort > "$T/sh"
    sr-cat < "$T/b1.mp" | sort | cmp - "$T/sh"
}
