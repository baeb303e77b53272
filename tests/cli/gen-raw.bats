#!/usr/bin/env bats
# sr-gen's raw completion and introspection: --chat-format none, prompt_ids
# records, --ignore-eos, --emit-ids and --logprobs, on the tiny random model
# (its fixture tokenizer: gpt2-style, no BOS, eos = <|im_end|> = 268), so
# the suite needs neither the real model nor ../shared, except where said.

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
    write_tiny_model "$T/tiny.gguf"
    M=$T/tiny.gguf
}

# sr-gen on the tiny model (its context is 256 positions).
gen() { sr-gen -q -m "$M" --max-prompt-tokens 64 "$@"; }
# A JSON record (one per argument) as msgpack.
recs() { printf '%s\n' "$@" | sr-cat --from-json; }

@test "--help names the new flags and the format none" {
    run sr-gen --help
    assert_success
    for f in --ignore-eos --emit-ids --logprobs prompt_ids response_ids top_logprobs \
             response_logprobs "mistral-v7-tekken, none"; do
        assert_output --partial -- "$f"
    done
}

@test "--chat-format none: the prompt as it is, the same as its ids given as prompt_ids" {
    text="Once upon a time, there"
    ids=$(printf '%s' "$text" | sr-tokenize -m "$M" | tr ' ' ',')
    recs "{\"id\":\"p\",\"prompt\":\"$text\"}" > "$T/text.mp"
    recs "{\"id\":\"p\",\"prompt_ids\":[$ids]}" > "$T/ids.mp"
    gen -i "$T/text.mp" --chat-format none -n 3 --max-tokens 12 --emit-ids | sr-cat |
        jq -c 'del(.prompt)' > "$T/a"
    gen -i "$T/ids.mp" -n 3 --max-tokens 12 --emit-ids | sr-cat | jq -c 'del(.prompt_ids)' > "$T/b"
    [ "$(wc -l < "$T/a")" -eq 3 ]
    cmp "$T/a" "$T/b"
    # the chat template makes another prompt, so other replies
    gen -i "$T/text.mp" -n 3 --max-tokens 12 --emit-ids | sr-cat | jq -c 'del(.prompt)' > "$T/c"
    ! cmp -s "$T/a" "$T/c"
}

@test "--chat-format none puts BOS first where the tokenizer adds one (llama-spm)" {
    need_shared data/vocab/ggml-vocab-llama-spm.gguf
    write_tiny_model "$T/spm.gguf" --tokenizer-from "$SHARED/data/vocab/ggml-vocab-llama-spm.gguf"
    M=$T/spm.gguf
    text="Once upon a time"
    ids=$(printf '%s' "$text" | sr-tokenize -m "$M" --bos | tr ' ' ',')
    [[ $ids == 1,* ]]
    recs "{\"id\":\"p\",\"prompt\":\"$text\"}" | gen --chat-format none -n 2 --max-tokens 8 |
        sr-cat | jq -c 'del(.prompt)' > "$T/a"
    # the file has no chat template: a model tool needs a format named
    recs "{\"id\":\"p\",\"prompt_ids\":[$ids]}" > "$T/ids.mp"
    run --separate-stderr gen -i "$T/ids.mp" -n 2 --max-tokens 8
    assert_failure
    [[ $stderr == *"no chat template"*"none"* ]]
    gen -i "$T/ids.mp" --chat-format none -n 2 --max-tokens 8 | sr-cat | jq -c 'del(.prompt_ids)' > "$T/b"
    cmp "$T/a" "$T/b"
}

@test "prompt_ids wins over prompt and system, and every input key is kept" {
    recs '{"id":"p","prompt_ids":[72,101,108],"source":"x"}' | gen -n 2 --max-tokens 6 | sr-cat > "$T/a"
    recs '{"id":"p","prompt":"ignored","system":"also","prompt_ids":[72,101,108],"source":"x"}' |
        gen -n 2 --max-tokens 6 | sr-cat > "$T/b"
    diff <(jq -c 'del(.prompt, .system)' "$T/b") "$T/a"
    run jq -r '"\(.prompt) \(.system) \(.source) \(.prompt_ids | length)"' "$T/b"
    assert_output $'ignored also x 3\nignored also x 3'
}

@test "--ignore-eos: the end-of-turn token does not stop a reply" {
    # The tiny model repeats its last token: after eos it says eos at once.
    recs '{"id":"e","prompt_ids":[72,268]}' > "$T/e.mp"
    run jq -r '"\(.finish) \(.tokens)"' <(gen -i "$T/e.mp" -n 1 --temperature 0 --max-tokens 9 | sr-cat)
    assert_output "stop 0"
    gen -i "$T/e.mp" -n 2 --max-tokens 9 --ignore-eos --emit-ids | sr-cat > "$T/c"
    run jq -r '"\(.finish) \(.tokens) \(.response_ids | length)"' "$T/c"
    assert_output $'length 9 9\nlength 9 9'
    # eos, when drawn, is a token of the reply (not of its text)
    run jq -r 'select(.response_ids[0] == 268) | .response | length' <(gen -i "$T/e.mp" -n 1 --temperature 0 --max-tokens 4 --ignore-eos --emit-ids | sr-cat)
    assert_output "0"
}

@test "--ignore-eos on the real model reaches --max-tokens past its end-of-turn token" {
    need_model
    eot=$(printf '<|im_end|>' | sr-tokenize -m "$MODEL" --special)
    # greedy, "Say hello." ends after about 30 tokens (gen.bats: it says stop)
    recs '{"id":"hi","prompt":"Say hello."}' |
        sr-gen -q -m "$MODEL" -n 1 --temperature 0 --max-tokens 36 --ignore-eos --emit-ids | sr-cat > "$T/c"
    run jq -r --argjson eot "$eot" '"\(.finish) \(.tokens) \(.response_ids | index($eot) < 34)"' "$T/c"
    assert_output "length 36 true"
}

@test "--emit-ids: response_ids, one per token, decode to the response" {
    recs '{"id":"a","prompt":"Hello there"}' '{"id":"b","prompt_ids":[40,50,60]}' > "$T/p.mp"
    gen -i "$T/p.mp" -n 2 --max-tokens 16 --temperature 1 --top-p 1 --emit-ids | sr-cat > "$T/c"
    [ "$(wc -l < "$T/c")" -eq 4 ]
    run jq -r 'select((.response_ids | length) != .tokens or (.response_ids | map(type == "number") | all | not))' "$T/c"
    assert_output ""
    while read -r line; do
        want=$(jq -r .response <<< "$line")
        got=$(jq -c .response_ids <<< "$line" | sr-tokenize -m "$M" --decode)
        [ "$got" = "$want" ]
    done < "$T/c"
    # without the flag, no such key
    run jq -r 'select(has("response_ids"))' <(gen -i "$T/p.mp" -n 1 --max-tokens 4 | sr-cat)
    assert_output ""
}

@test "--logprobs N: N {id, logprob} per token, sorted, <= 0; greedy picks the first" {
    recs '{"id":"a","prompt":"Hello there"}' '{"id":"b","prompt_ids":[40,50,60]}' > "$T/p.mp"
    gen -i "$T/p.mp" -n 1 --temperature 0 --max-tokens 10 --emit-ids --logprobs 5 | sr-cat > "$T/g"
    [ "$(wc -l < "$T/g")" -eq 2 ]
    run jq -r '
        select((.top_logprobs | length) != .tokens or (.response_logprobs | length) != .tokens
               or any(.top_logprobs[]; length != 5 or (map(.logprob) | . != (sort | reverse))
                                       or any(.[]; .logprob > 0 or (.id | type) != "number"))
               or ([range(.tokens) as $t | .top_logprobs[$t][0].id == .response_ids[$t]
                                           and .top_logprobs[$t][0].logprob == .response_logprobs[$t]] | all | not))' "$T/g"
    assert_output ""
    # sampled: the chosen token's logprob is at most the likeliest's
    gen -i "$T/p.mp" -n 3 --temperature 1.5 --top-p 1 --max-tokens 10 --logprobs 2 | sr-cat > "$T/s"
    run jq -r 'select([range(.tokens) as $t | .response_logprobs[$t] <= .top_logprobs[$t][0].logprob] | all | not)' "$T/s"
    assert_output ""
    run --separate-stderr gen -i "$T/p.mp" --logprobs 21
    assert_failure 2
    run --separate-stderr gen -i "$T/p.mp" --self-instruct --count 1 --logprobs 2
    assert_failure 2
    [[ $stderr == *"--logprobs"*"--self-instruct"* ]]
}

@test "bad prompt_ids exit 3 naming the record and the field, or are skipped and counted" {
    for bad in '[72,"x"]' '[72,269]' '[]' '[-1]' '[1.5]' '"72 101"'; do
        recs '{"id":"ok","prompt_ids":[72]}' "{\"id\":\"bad\",\"prompt_ids\":$bad}" > "$T/b.mp"
        run --separate-stderr gen -i "$T/b.mp" -n 1 --max-tokens 2
        assert_failure 3
        [[ $stderr == *'record 2 (id "bad")'*'prompt_ids'* ]]
    done
    [[ $stderr == *"expected an array"* ]]
    recs '{"id":"ok","prompt_ids":[72]}' '{"id":"s","prompt_ids":[72,"x"]}' '{"id":"v","prompt_ids":[269]}' \
         '{"id":"e","prompt_ids":[]}' '{"id":"ok2","prompt":"Hi"}' > "$T/all.mp"
    run --separate-stderr bash -c "sr-gen -q -m '$M' --max-prompt-tokens 64 -i '$T/all.mp' --skip-bad -n 1 --max-tokens 2 | sr-cat"
    assert_success
    [ "$(echo "$output" | jq -r .prompt_id | tr '\n' ' ')" = "ok ok2 " ]
    [[ $stderr == *"3"*skipped* || $stderr == *skipped*"3"* ]]
    # longer than --max-prompt-tokens
    recs "{\"id\":\"long\",\"prompt_ids\":[$(seq -s, 1 65)]}" > "$T/long.mp"
    run --separate-stderr gen -i "$T/long.mp" -n 1 --max-tokens 2
    assert_failure 3
    [[ $stderr == *'id "long"'*prompt_ids*'--max-prompt-tokens 64'* ]]
}

@test "the new keys are the same for any --batch and across --shard" {
    recs '{"id":"a","prompt":"Hello there"}' '{"id":"b","prompt_ids":[40,50,60]}' \
         '{"id":"c","prompt_ids":[72,268]}' '{"id":"d","prompt":"Once upon"}' '{"id":"e","prompt_ids":[9]}' > "$T/p.mp"
    args=(-n 3 --max-tokens 10 --seed 5 --emit-ids --logprobs 4 --ignore-eos)
    for b in 1 5; do
        gen -i "$T/p.mp" "${args[@]}" --batch $b | sr-cat | sort > "$T/b$b"
    done
    { gen -i "$T/p.mp" "${args[@]}" --shard 0/2; gen -i "$T/p.mp" "${args[@]}" --shard 1/2; } | sr-cat | sort > "$T/sh"
    for f in none; do gen -i "$T/p.mp" "${args[@]}" --chat-format $f --batch 1 | sr-cat | sort > "$T/n1"
                      gen -i "$T/p.mp" "${args[@]}" --chat-format $f --batch 5 | sr-cat | sort > "$T/n5"; done
    [ "$(wc -l < "$T/b1")" -eq 15 ]
    [ "$(jq -r 'select(.finish == "length" and .tokens == 10) | .id' "$T/b1" | wc -l)" -eq 15 ]
    cmp "$T/b1" "$T/b5"
    cmp "$T/b1" "$T/sh"
    cmp "$T/n1" "$T/n5"
}

@test "the other model tools take --chat-format none: sr-sft trains on raw text" {
    printf '%s\n' '{"id":"a","prompt":"Two plus two is","response":" four."}' \
                  '{"id":"b","prompt":"The sky is","response":" blue."}' | sr-cat --from-json > "$T/ex.mp"
    run --separate-stderr sr-sft -q -m "$M" -i "$T/ex.mp" -o "$T/out.gguf" --chat-format none \
        --threads 2 --batch 2 --max-steps 2
    assert_success
    [ -s "$T/out.gguf" ]
    run --separate-stderr sr-tokenize -m "$M" --records --chat --chat-format none -i "$T/ex.mp"
    assert_success
    run --separate-stderr sr-gen -m "$M" --chat-format vicuna < /dev/null
    assert_failure 2
    [[ $stderr == *"none"* ]]
}

@test "golden: greedy 64 tokens from prompt_ids and their logprobs equal llama.cpp's (tiny models of each arch)" {
    G=$SR_ROOT/tests/golden/arch/greedy.json
    steps=$(jq .steps "$G")
    top=$(jq .top "$G")
    for c in $(jq -r '.cases | keys[]' "$G"); do
        jq -c ".cases[\"$c\"]" "$G" > "$T/case"
        read -r -a args < <(jq -r '["--seed", .seed, "--dim", .dim, "--ffn-dim", .ffn_dim, "--layers", .layers] + .args | map(tostring) | join(" ")' "$T/case")
        write_tiny_model "$T/$c.gguf" "${args[@]}"
        jq -c '.runs | to_entries[] | {id: "r\(.key)", prompt_ids: .value.prompt_ids}' "$T/case" | sr-cat --from-json > "$T/p.mp"
        sr-gen -q -m "$T/$c.gguf" -i "$T/p.mp" -n 1 --temperature 0 --ignore-eos --chat-format none \
            --max-tokens "$steps" --max-prompt-tokens 32 --emit-ids --logprobs "$top" --batch 2 | sr-cat > "$T/out"
        # ids exactly; each step's likeliest ids exactly, their logprobs within 1e-4
        run jq -r --slurpfile want "$T/case" '
            .prompt_id[1:] as $k | $want[0].runs[$k | tonumber] as $w
            | if .response_ids != $w.ids then "\(.prompt_id): ids \(.response_ids[:8]) want \($w.ids[:8])"
              else ([range(.tokens) as $t | range($w.top[$t] | length) as $j
                     | select(.top_logprobs[$t][$j].id != $w.top[$t][$j][0]
                              or ((.top_logprobs[$t][$j].logprob - $w.top[$t][$j][1]) | fabs) > 1e-4)
                     | "\(.prompt_id) step \($t) rank \($j): \(.top_logprobs[$t][$j]) want \($w.top[$t][$j])"][0] // empty)
              end' "$T/out"
        [ "$(wc -l < "$T/out")" -eq "$(jq '.runs | length' "$T/case")" ] || { echo "$c: records"; return 1; }
        [ -z "$output" ] || { echo "$c: $output"; return 1; }
    done
}

@test "golden: the real model from prompt_ids gives transformers' greedy tokens and logprobs" {
    need_model
    G=$SR_ROOT/tests/golden
    names='["minimal_nosys", "capital_nosys", "sys_colors"]'
    jq -c --argjson n "$names" 'select(.name as $x | $n | index($x)) | {id: .name, prompt_ids}' "$G/greedy.jsonl" |
        sr-cat --from-json > "$T/p.mp"
    sr-gen -q -m "$MODEL" -i "$T/p.mp" -n 1 --temperature 0 --max-tokens 64 --emit-ids --logprobs 20 | sr-cat > "$T/out"
    [ "$(wc -l < "$T/out")" -eq 3 ]
    # the continuation ends with <|im_end|> (2) where the reply stopped, which sr does not count
    run jq -r --slurpfile g <(jq -s . "$G/greedy.jsonl") '
        .prompt_id as $n | ($g[0][] | select(.name == $n)) as $w
        | select(.response_ids + (if .finish == "stop" then [2] else [] end) != $w.continuation)
        | "\($n): \(.response_ids) want \($w.continuation)"' "$T/out"
    assert_output ""
    # the first step's distribution is the one after the whole prompt: its
    # likeliest id, and the 20 logprobs within 1e-3 (the README's tolerance)
    run jq -r --slurpfile l <(jq -s . "$G/logprobs.jsonl") '
        .prompt_id as $n | ($l[0][] | select(.name == $n)) as $w
        | select(.top_logprobs[0][0].id != $w.top_ids[-1][0]
                 or ([range(20) as $j | (.top_logprobs[0][$j].logprob - $w.top_lp[-1][$j]) | fabs] | max) > 1e-3)
        | "\($n): \(.top_logprobs[0][:3]) want \($w.top_ids[-1][:3]) \($w.top_lp[-1][:3])"' "$T/out"
    assert_output ""
}
