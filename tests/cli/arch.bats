#!/usr/bin/env bats
# Every architecture end to end through the tools (sr issue 15): on a tiny
# random model of each one (the fixture tokenizer, its ChatML template),
# sr-gen, sr-judge, sr-pairs, sr-sft and sr-dpo run and each output has its
# shape; the checkpoints keep the architecture and load back in sr-gen. Then
# one real `make iter3` on a tiny model. A random judge seldom writes a
# score, so the pairs come from judged records whose scores are set by hand
# (the judge's own run is checked for its forced score lines); the pipeline
# itself copes with an iteration of no pairs (M(t+1) = M(t), said on stderr).

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
    unset MAKEFLAGS MFLAGS MAKELEVEL
    BIN=${SR_BIN:-$SR_ROOT/bin}
    # three prompts, four SFT examples
    sr-filter-oasst -q -i "$EXAMPLES/oasst-sample.jsonl" | sr-cat --head 4 | sr-cat --from-json -o "$T/ift.mp"
    sr-cat --head 3 -i "$T/ift.mp" | jq -c '{id, prompt}' | sr-cat --from-json -o "$T/p.mp"
}

# gguf_arch FILE: the value of general.architecture (key, u32 type 8, u64
# length, then the string).
gguf_arch() {
    local off len
    off=$(grep -abo -m1 'general\.architecture' "$1" | head -n 1 | cut -d: -f1)
    [ -n "$off" ] || return 1
    [ "$(od -An -tu4 -j $((off + 20)) -N4 "$1" | tr -d ' ')" = 8 ] || return 1
    len=$(od -An -tu8 -j $((off + 24)) -N8 "$1" | tr -d ' ')
    dd if="$1" bs=1 skip=$((off + 32)) count="$len" 2>/dev/null
}

# generates FILE: sr-gen loads the model and writes one reply per prompt.
generates() {
    run --separate-stderr bash -c "sr-gen -m '$1' -n 1 --temperature 0 --max-tokens 4 --threads 2 -i '$T/p.mp' | sr-cat"
    assert_success
    [ "$(grep -c '"finish":"length"' <<< "$output")" -eq 3 ]
}

# end_to_end ARCH [sr-tiny-model flags]: every tool on a tiny ARCH model.
end_to_end() {
    local arch=$1; shift
    write_tiny_model "$T/m.gguf" --arch "$arch" --ctx 4096 "$@"
    [ "$(gguf_arch "$T/m.gguf")" = "$arch" ]
    # sr-gen: 2 candidates per prompt, samples 0 and 1, 6 tokens each
    run --separate-stderr sr-gen -m "$T/m.gguf" -n 2 --max-tokens 6 --threads 2 -i "$T/p.mp" -o "$T/c.mp"
    assert_success
    [[ $stderr == *"3 prompts, 6 candidates"* ]] || { echo "$stderr"; false; }
    sr-cat -i "$T/c.mp" > "$T/c.json"
    [ "$(wc -l < "$T/c.json")" -eq 6 ]
    jq -e 'has("id") and has("prompt_id") and has("prompt") and (.response | type == "string")
           and .tokens == 6 and .finish == "length"' "$T/c.json" > /dev/null
    [ "$(jq -r .sample "$T/c.json" | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" = "3 3 " ]
    # sr-judge: 2 judgements a record, each ended by a forced score line
    run --separate-stderr sr-judge -m "$T/m.gguf" -k 2 --max-tokens 6 --retries 0 --threads 2 --keep-text \
        -i "$T/c.mp" -o "$T/j.mp"
    assert_success
    [[ $stderr == *"6 records, 12 judgements"* && $stderr =~ [1-9][0-9]*" forced score lines" ]] || { echo "$stderr"; false; }
    sr-cat -i "$T/j.mp" > "$T/j.json"
    [ "$(wc -l < "$T/j.json")" -eq 6 ]
    jq -e '(.scores | length == 2) and (.judgements | length == 2) and has("score")
           and (.judgements | all(test("Score:")))' "$T/j.json" > /dev/null
    # sr-pairs on the judged records, scored by hand (sample 1 beats sample 0)
    jq -c '.score = .sample + 1 | .scores = [.score] | .finish = "stop"' "$T/j.json" |
        sr-cat --from-json -o "$T/js.mp"
    run --separate-stderr sr-pairs -i "$T/js.mp" -o "$T/pairs.mp"
    assert_success
    sr-cat -i "$T/pairs.mp" > "$T/pairs.json"
    [ "$(wc -l < "$T/pairs.json")" -eq 3 ]
    jq -e '.chosen_score == 2 and .rejected_score == 1 and (.chosen | type == "string")
           and (.rejected | type == "string") and has("prompt")' "$T/pairs.json" > /dev/null
    # sr-sft, then sr-dpo from its checkpoint: 2 steps each, the arch kept
    run --separate-stderr sr-sft -m "$T/m.gguf" -i "$T/ift.mp" -o "$T/sft.gguf" --threads 2 --batch 2 \
        --max-steps 2 --max-len 128 --log "$T/sft.log"
    assert_success
    [ "$(wc -l < "$T/sft.log")" -eq 2 ] && jq -e '.loss > 0' "$T/sft.log" > /dev/null
    [ "$(gguf_arch "$T/sft.gguf")" = "$arch" ]
    run --separate-stderr sr-dpo -m "$T/sft.gguf" -i "$T/pairs.mp" -o "$T/dpo.gguf" --threads 2 --batch 2 \
        --max-steps 2 --max-len 128 --log "$T/dpo.log"
    assert_success
    [ "$(wc -l < "$T/dpo.log")" -eq 2 ] && jq -e 'has("margin") and has("accuracy")' "$T/dpo.log" > /dev/null
    [ "$(gguf_arch "$T/dpo.gguf")" = "$arch" ]
    generates "$T/sft.gguf"
    generates "$T/dpo.gguf"
}

@test "llama: gen, judge, pairs, sft, dpo end to end" {
    end_to_end llama
}

@test "llama with q/k/v and output biases: end to end, the biases kept" {
    end_to_end llama --biases
    grep -aq blk.1.attn_q.bias "$T/dpo.gguf"
}

@test "llama with rope_freqs (Llama 3.1's): end to end, the factors kept" {
    end_to_end llama --rope-freqs
    grep -aq rope_freqs.weight "$T/dpo.gguf"
}

@test "qwen2: end to end" {
    end_to_end qwen2
}

@test "qwen3: end to end" {
    end_to_end qwen3 --head-dim 12
}

@test "phi3: end to end" {
    end_to_end phi3 --untied
}

@test "gemma3 (sliding-window blocks, soft-cap): end to end" {
    end_to_end gemma3 --head-dim 12 --window 4 --softcap 5
}
