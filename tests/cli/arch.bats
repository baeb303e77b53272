#!/usr/bin/env bats
# Every architecture end to end through the tools (sr issue 15): on a tiny
# random model of each one (the fixture tokenizer, its ChatML template),
# sr-gen, sr-judge, sr-pairs, sr-sft and sr-dpo run and each output has its
# shape; the checkpoints keep the architecture and load back in sr-gen. Then
# one real `make iter3` on a tiny model. A random judge seldom writes a
# score, so the pairs come from judged records whose scores are set by hand
# (the judge's own run is checked for its forced score lines); the pipeline
# itself copes with an iteration of no pairs (M(t+1) = M(t), said on stderr).
# Last, the memory sr-gen and sr-judge say a model takes (a 1B-shaped header).

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
    run --separate-stderr bash -c "sr-gen -m '$1' -n 1 --temperature 0 --max-tokens 4 --threads 1 -i '$T/p.mp' | sr-cat"
    assert_success
    [ "$(grep -c '"finish":"length"' <<< "$output")" -eq 3 ]
}

# end_to_end ARCH [sr-tiny-model flags]: every tool on a tiny ARCH model.
end_to_end() {
    local arch=$1; shift
    write_tiny_model "$T/m.gguf" --arch "$arch" --ctx 4096 "$@"
    [ "$(gguf_arch "$T/m.gguf")" = "$arch" ]
    # sr-gen: 2 candidates per prompt, samples 0 and 1, 6 tokens each
    run --separate-stderr sr-gen -m "$T/m.gguf" -n 2 --max-tokens 6 --threads 1 -i "$T/p.mp" -o "$T/c.mp"
    assert_success
    [[ $stderr == *"3 prompts, 6 candidates"* ]] || { echo "$stderr"; false; }
    sr-cat -i "$T/c.mp" > "$T/c.json"
    [ "$(wc -l < "$T/c.json")" -eq 6 ]
    jq -e 'has("id") and has("prompt_id") and has("prompt") and (.response | type == "string")
           and .tokens == 6 and .finish == "length"' "$T/c.json" > /dev/null
    [ "$(jq -r .sample "$T/c.json" | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" = "3 3 " ]
    # sr-judge: 2 judgements a record, each ended by a forced score line (a
    # short template: the rubric is the pipeline test's, below)
    printf '%s\n' 'Q: {prompt}' 'A: {response}' 'Score:' > "$T/tmpl.txt"
    run --separate-stderr sr-judge -m "$T/m.gguf" --template "$T/tmpl.txt" -k 2 --max-tokens 6 --retries 0 --threads 1 --keep-text \
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
    run --separate-stderr sr-sft -m "$T/m.gguf" -i "$T/ift.mp" -o "$T/sft.gguf" --threads 1 --batch 2 \
        --max-steps 2 --max-len 128 --log "$T/sft.log"
    assert_success
    [ "$(wc -l < "$T/sft.log")" -eq 2 ] && jq -e '.loss > 0' "$T/sft.log" > /dev/null
    [ "$(gguf_arch "$T/sft.gguf")" = "$arch" ]
    run --separate-stderr sr-dpo -m "$T/sft.gguf" -i "$T/pairs.mp" -o "$T/dpo.gguf" --threads 1 --batch 2 \
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

# ---- make iter3 on a tiny model ----------------------------------------------------
# A make started from here must not inherit the make that runs the tests, and
# takes the binaries under test as they are (as in pipeline.bats).
pmake() {
    local old=() t
    for t in "$BIN"/sr-*; do old+=(-o "$t"); done
    make -C "$SR_ROOT" --no-print-directory BIN="$BIN" "${old[@]}" -o build/.deps-installed PIPE_PRE= \
        RUNS="$T/runs" "$@"
}

@test "make iter3 on a tiny gemma3 model: M1, M2, M3 of its architecture; an iteration of no pairs copies M(t)" {
    write_tiny_model "$T/m0.gguf" --arch gemma3 --head-dim 12 --window 4 --ctx 4096
    # The OASST trees whose texts are short: the judge's rubric, a prompt and
    # a reply fit --max-prompt-tokens in the fixture's byte-level tokens.
    jq -s -c 'group_by(.message_tree_id) | map(select(map(.text | length) | max <= 340)) | .[][]' \
        "$EXAMPLES/oasst-sample.jsonl" > "$T/oasst.jsonl"
    local r=$T/runs/a
    local args=(SCALE=micro MODEL="$T/m0.gguf" RUN=a OASST="$T/oasst.jsonl" PROMPTS=2 N=2 K=1 IFT_MAX=4
                EFT_MAX=2 GEN_MAX_TOKENS=6 JUDGE_MAX_TOKENS=6 SFT_BATCH=2 DPO_BATCH=2 SFT_MAX_LEN=128 THREADS=1)
    # A random model takes minutes to self-instruct two prompts (its bytes
    # seldom pass the filters), so the run brings its own, written after the
    # seed as a user's would be (a file that exists is complete); make -n in
    # pipeline.bats shows the self-instruct stage.
    run pmake "${args[@]}" "$r/seed/ift.mp"
    assert_success
    mkdir -p "$r/iter2" "$r/iter3"
    sr-cat --head 2 -i "$T/p.mp" | sr-cat --from-json -o "$r/iter2/prompts.mp"
    sr-cat --head 2 -i "$T/ift.mp" | jq -c '{id: ("n" + .id), prompt: ("Explain: " + .prompt)}' |
        sr-cat --from-json -o "$r/iter3/prompts.mp"
    # in make's order: the input, the seed, then each iteration's prompts
    touch -d '-10 seconds' "$T/oasst.jsonl" && touch -d '-8 seconds' "$r/seed/ift.mp"
    touch -d '-6 seconds' "$r/iter2/prompts.mp" && touch -d '-4 seconds' "$r/iter3/prompts.mp"
    run --separate-stderr pmake "${args[@]}" iter3
    assert_success
    local m
    for m in iter1/M1 iter2/M2 iter3/M3; do
        [ -s "$r/$m.gguf" ] && [ "$(gguf_arch "$r/$m.gguf")" = gemma3 ]
    done
    [ "$(sr-cat -n -i "$r/iter2/candidates.mp")" -eq 4 ] && [ "$(sr-cat -n -i "$r/iter3/judged.mp")" -eq 4 ]
    # The random judge scored nothing, so neither iteration has a pair: each
    # model is the one before, said on stderr, with an empty DPO log.
    [ "$(sr-cat -n -i "$r/iter2/pairs.mp")" -eq 0 ] && [ "$(sr-cat -n -i "$r/iter3/pairs.mp")" -eq 0 ]
    [[ $stderr == *"iter2/pairs.mp holds no pairs, so $r/iter2/M2.gguf is a copy of $r/iter1/M1.gguf (0 DPO steps)"* ]]
    cmp "$r/iter1/M1.gguf" "$r/iter2/M2.gguf" && cmp "$r/iter2/M2.gguf" "$r/iter3/M3.gguf"
    [ -e "$r/iter2/dpo.log.jsonl" ] && [ ! -s "$r/iter2/dpo.log.jsonl" ]
    # sr-dpo itself, given that empty file, says why it stops
    run --separate-stderr sr-dpo -m "$r/iter1/M1.gguf" -i "$r/iter2/pairs.mp" -o "$T/x.gguf" --threads 1
    assert_failure 3
    [[ $stderr == *"0 pairs: nothing to train on (the input holds no pairs)"* ]]
    generates "$r/iter3/M3.gguf"
    # Pairs put in by hand: M2 is trained by sr-dpo, and iteration 3 runs again from it.
    sr-cat -i "$r/iter2/judged.mp" | jq -c '.score = .sample + 1 | .scores = [.score] | .finish = "stop"' |
        sr-cat --from-json | sr-pairs -q -o "$r/iter2/pairs.mp"
    [ "$(sr-cat -n -i "$r/iter2/pairs.mp")" -eq 2 ]
    rm "$r/iter2/M2.gguf" "$r/iter3/M3.gguf"
    run --separate-stderr pmake "${args[@]}" iter3
    assert_success
    [ "$(wc -l < "$r/iter2/dpo.log.jsonl")" -ge 1 ] && jq -e 'has("margin")' "$r/iter2/dpo.log.jsonl" > /dev/null
    ! cmp -s "$r/iter1/M1.gguf" "$r/iter2/M2.gguf"
    [ "$(gguf_arch "$r/iter2/M2.gguf")" = gemma3 ] && [ "$(gguf_arch "$r/iter3/M3.gguf")" = gemma3 ]
    [ "$r/iter3/candidates.mp" -nt "$r/iter2/M2.gguf" ] && [ "$r/iter3/M3.gguf" -nt "$r/iter2/M2.gguf" ]
    generates "$r/iter3/M3.gguf"
}

# ---- memory ------------------------------------------------------------------------
# sr-gen and sr-judge print what the model will take before loading it, from
# its header: so a 1B-shaped header over a hole (TinyLlama's shape) is enough,
# and under ulimit -v its load then fails at once, in little memory, instead
# of reading 4 GB of zeros (on the CPU: a CUDA driver reserves more address
# space than that limit).

@test "sr-gen and sr-judge print the memory of a 1B-shaped model before loading it: under 24 GB" {
    ! grep -qa __asan_init "$(command -v sr-gen)" ||
        skip "built with AddressSanitizer, whose shadow memory ulimit -v would refuse"
    "$SR_TINY_MODEL" -o "$T/1b.gguf" --header-only --header-shape 1b
    local tool total
    for tool in sr-gen sr-judge; do
        run --separate-stderr bash -c "ulimit -v 4000000; $tool -m '$T/1b.gguf' -i '$T/p.mp' --device cpu --threads 1 -o '$T/o.mp'"
        echo "# ${stderr%%$'\n'*}" >&3
        assert_failure 1
        # TinyLlama-1.1B's parameter count, each as fp32
        [[ $stderr == *"memory: 1100048384 parameters, 4196 MB as fp32; activations "* ]]
        [[ $stderr == *"KV cache "*" MB (17 caches of "*" positions); "* ]]    # --batch 16, and the prompt's
        [[ $stderr == *"out of cpu memory for 4196 MiB of weights"* ]]
        [[ $stderr =~ ([0-9]+)" MB in all" ]]
        total=${BASH_REMATCH[1]}
        [ "$total" -gt 4196 ] && [ "$total" -lt $((24 * 1024)) ]
    done
}

@test "the memory line: the tiny model's own numbers; -q says nothing" {
    write_tiny_model "$T/m.gguf" --ctx 4096
    run --separate-stderr sr-gen -m "$T/m.gguf" -n 1 --max-tokens 4 --batch 2 --threads 1 -i "$T/p.mp" -o "$T/o.mp"
    assert_success
    # 2 layers of dim 32, ffn 64, 4 heads / 2 kv heads of 8, tied: 27200 parameters;
    # the caches: 2 layers x 2 x 1028 positions x 16 floats, 3 of them
    [[ $stderr == *"memory: 27200 parameters, 0 MB as fp32; activations "*" MB (1 x 1028 tokens); KV cache 1 MB (3 caches of 1028 positions)"* ]] ||
        { echo "$stderr"; false; }
    run --separate-stderr sr-gen -q -m "$T/m.gguf" -n 1 --max-tokens 4 --threads 1 -i "$T/p.mp" -o "$T/o.mp"
    assert_success
    [[ $stderr != *memory* ]]
    run --separate-stderr sr-judge -q -m "$T/m.gguf" -k 1 --max-tokens 4 --threads 1 -i "$T/o.mp" -o "$T/j.mp"
    assert_success
    [[ $stderr != *memory* ]]
}
