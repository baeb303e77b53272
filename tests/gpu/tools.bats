#!/usr/bin/env bats
# The tools on CUDA against the same tools on the CPU (make test-gpu): two
# sr-sft steps and two sr-dpo steps of a tiny model, compared by their
# --log lines (step 2's loss is computed with the weights step 1 updated
# on each device), and a greedy sr-gen whose text must match. Skipped,
# saying so, where --device cuda finds no GPU. The tools load the backend
# as a plug-in (bin/libsr-cuda.so); the unit tests here link it in.

bats_require_minimum_version 1.5.0
load ../cli/helpers

# Once per file: the tiny model, the examples, and a one-step probe of
# --device cuda, whose refusal each test's setup skips with (bats 1.8 cannot
# skip from setup_file).
setup_file() {
    F=$BATS_FILE_TMPDIR
    write_tiny_model "$F/tiny.gguf"
    sr-cat --from-json > "$F/ex.mp" <<'JSON'
{"id":"a","prompt":"What is two plus two?","response":"Four.","chosen":"Four.","rejected":"Five, I think."}
{"id":"b","prompt":"Name a colour.","response":"Blue is a colour.","chosen":"Blue is a colour.","rejected":"Table."}
{"id":"c","prompt":"Say hi.","response":"Hi there!","chosen":"Hi there!","rejected":"No."}
{"id":"d","prompt":"Count to three.","response":"One, two, three.","chosen":"One, two, three.","rejected":"One, three, two."}
JSON
    if ! out=$(sr-sft -q -m "$F/tiny.gguf" -i "$F/ex.mp" --device cuda --max-steps 1 -o "$F/probe.gguf" 2>&1); then
        # sr_llm_model_opts' refusal: no CUDA build, no driver or no GPU
        [[ $out == *"--device cuda: "* ]] || { echo "$out" >&2; return 1; }
        echo "${out#*--device cuda: }" > "$F/no-gpu"
    fi
}

setup() {
    T=$BATS_TEST_TMPDIR F=$BATS_FILE_TMPDIR
    if [ -e "$F/no-gpu" ]; then skip "$(cat "$F/no-gpu")"; fi
}

# |a - b| <= tol · max(1, |a|) for field $3 of every line of logs $1 and $2
same_logs() {
    jq -n --slurpfile a "$1" --slurpfile b "$2" --arg f "$3" --argjson tol "$4" '
        [$a, $b] | transpose | all(.[0][$f] as $x | .[1][$f] as $y |
            (($x - $y) | fabs) <= $tol * ([1, ($x | fabs)] | max))' | grep -qx true
}

@test "sr-sft: two steps on CUDA (fp32) match the CPU's loss and gradient norm" {
    for d in cpu cuda; do
        sr-sft -q -m "$F/tiny.gguf" -i "$F/ex.mp" --device $d --precision fp32 --lr 1e-3 --batch 2 \
            --max-steps 2 --log "$T/$d.log" -o "$T/$d.gguf"
    done
    [ "$(wc -l < "$T/cuda.log")" -eq 2 ]
    same_logs "$T/cpu.log" "$T/cuda.log" loss 1e-4
    same_logs "$T/cpu.log" "$T/cuda.log" grad_norm 1e-3
}

@test "sr-dpo: two steps on CUDA (fp32) match the CPU's loss, margin and accuracy" {
    for d in cpu cuda; do
        sr-dpo -q -m "$F/tiny.gguf" -i "$F/ex.mp" --device $d --precision fp32 --lr 1e-3 --batch 2 \
            --max-steps 2 --log "$T/$d.log" -o "$T/$d.gguf"
    done
    [ "$(wc -l < "$T/cuda.log")" -eq 2 ]
    same_logs "$T/cpu.log" "$T/cuda.log" loss 1e-4
    same_logs "$T/cpu.log" "$T/cuda.log" margin 1e-3
    same_logs "$T/cpu.log" "$T/cuda.log" accuracy 0
}

@test "sr-sft at bf16 trains: the loss falls over 8 steps" {
    sr-sft -q -m "$F/tiny.gguf" -i "$F/ex.mp" --device cuda --lr 3e-3 --batch 4 --max-steps 8 \
        --log "$T/bf16.log" -o "$T/bf16.gguf"
    first=$(head -1 "$T/bf16.log" | jq .loss) last=$(tail -1 "$T/bf16.log" | jq .loss)
    jq -n "$last < $first" | grep -qx true
}

@test "sr-gen: greedy text on CUDA (fp32) equals the CPU's" {
    need_model
    printf '{"id":"q","prompt":"Name three primary colours."}\n' | sr-cat --from-json > "$T/p.mp"
    for d in cpu cuda; do
        sr-gen --device $d --precision fp32 --temperature 0 --max-tokens 32 -i "$T/p.mp" -o "$T/$d.mp"
    done
    [ "$(sr-cat "$T/cpu.mp" | jq -r .response)" = "$(sr-cat "$T/cuda.mp" | jq -r .response)" ]
}

@test "--device auto finds the GPU through the plug-in beside the binary" {
    run --separate-stderr sr-sft -m "$F/tiny.gguf" -i "$F/ex.mp" --device auto --max-steps 1 -o "$T/auto.gguf"
    assert_success
    [[ $stderr == *"cuda (bf16 matmuls)"* ]]
    # without it the same binary runs on the CPU
    SR_CUDA_PLUGIN=$T/missing.so run --separate-stderr sr-sft -m "$F/tiny.gguf" -i "$F/ex.mp" \
        --device auto --max-steps 1 -o "$T/cpu.gguf"
    assert_success
    [[ $stderr == *"cpu, "*" threads"* ]]
}
