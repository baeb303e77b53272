#!/usr/bin/env bats
# A bad model file is refused from its header, before a byte of weights is
# allocated: each file here is a 70B llama's header (80 layers, dim 8192,
# vocabulary 128256, F16: 141 GB claimed) over a hole, with one defect
# (sr-tiny-model --header-only). The tools that load a model must exit 3
# with the reason, naming the key or tensor, at once and in little memory:
# were anything sized by the weights allocated or read first, the user would
# see "out of memory" instead of the reason.

bats_require_minimum_version 1.5.0
load helpers

# The bounds are far above what a refusal takes (about 0.02 s and 30 MB),
# and far below what anything proportional to the weights would: the CPU
# time, not the wall time, so that a loaded machine does not fail them.
MAX_CPU_S=1
MAX_RSS_KB=$((50 * 1024))

setup() {
    T=$BATS_TEST_TMPDIR
    if [ ! -x /usr/bin/time ]; then
        if [ "${CI:-}" = true ]; then
            echo "/usr/bin/time is missing (make deps installs it), and CI=true makes that a failure" >&2
            return 1
        fi
        skip "no /usr/bin/time (make deps installs it): memory bounds not measurable"
    fi
    [ -x "$SR_TINY_MODEL" ] || { echo "$SR_TINY_MODEL is missing: build it with make test" >&2; return 1; }
}

# refused DEFECT WANT TOOL ARGS...: TOOL on the file with DEFECT exits 3,
# says WANT on stderr, within the bounds.
refused() {
    local defect=$1 want=$2; shift 2
    "$SR_TINY_MODEL" -o "$T/m.gguf" --header-only --defect "$defect"
    run --separate-stderr /usr/bin/time -o "$T/usage" -f '%U %S %M' "$@" -m "$T/m.gguf"
    echo "# $1, $defect: $stderr" >&3
    [ "$status" -eq 3 ]
    [[ $stderr == *"$want"* ]]
    local user sys rss
    read -r user sys rss < <(tail -n 1 "$T/usage")
    echo "#   cpu ${user}+${sys} s, max rss $((rss / 1024)) MB" >&3
    awk -v u="$user" -v s="$sys" -v max="$MAX_CPU_S" 'BEGIN { exit !(u + s < max) }'
    [ "$rss" -lt "$MAX_RSS_KB" ]
}

gen() { refused "$1" "$2" sr-gen -i /dev/null; }
sft() { refused "$1" "$2" sr-sft -i /dev/null -o "$T/out.gguf"; }

@test "the header-only file is the 70B it claims, and only a hole on disk" {
    "$SR_TINY_MODEL" -o "$T/m.gguf" --header-only
    local size blocks
    size=$(stat -c %s "$T/m.gguf") blocks=$(stat -c %b "$T/m.gguf")
    [ "$size" -gt $((140 * 1000 * 1000 * 1000)) ]
    [ $((blocks * 512)) -lt $((64 * 1024 * 1024)) ]
}

@test "sr-gen: an unknown architecture is refused, naming it" {
    gen arch 'GGUF architecture is "mamba"; only "llama", "qwen2", "qwen3", "phi3", "gemma3" models are supported'
}
@test "sr-gen: an unknown tokenizer model is refused, naming it" {
    gen tok-model "tokenizer model 'rwkv' is not supported"
}
@test "sr-gen: an unknown pre-tokenizer is refused, naming it" {
    gen tok-pre "'no-such-pre'"
}
@test "sr-gen: an unknown tensor is refused, naming it" {
    gen unknown-tensor "blk.3.ffn_gate_exps.weight is not a tensor of a llama model with 80 blocks"
}
@test "sr-gen: a bias in some blocks only is refused, naming it" {
    gen bias "blk.3.attn_q.bias is present but blk.0.attn_q.bias is not"
}
@test "sr-gen: a type sr cannot dequantize is refused with its tensor" {
    gen type "blk.5.ffn_down.weight has type IQ2_XXS, which sr cannot dequantize"
}
@test "sr-gen: a wrong shape is refused with the expected one" {
    gen shape "blk.7.attn_k.weight has shape [8192, 8192], expected [8192, 1024]"
}
@test "sr-gen: embedding rows other than the token count are refused" {
    gen vocab-rows "token_embd.weight has 128000 rows for a tokenizer of 128256 tokens"
}
@test "sr-gen: an output head of fewer rows than the vocabulary is refused" {
    gen head-rows "output.weight has shape [8192, 128000], expected [8192, 128256]"
}
@test "sr-gen: a missing tensor is refused, naming it" {
    gen missing "blk.79.ffn_up.weight is missing"
}
@test "sr-gen: a file shorter than its header says is refused as truncated" {
    gen truncated "tensor 'blk.38.ffn_down.weight': data at offset"
    [[ $stderr == *"the file is truncated"* ]]
}

@test "sr-sft: an unknown architecture is refused, naming it" {
    sft arch 'GGUF architecture is "mamba"'
}
@test "sr-sft: an unknown tokenizer model is refused, naming it" {
    sft tok-model "tokenizer model 'rwkv' is not supported"
}
@test "sr-sft: an unknown pre-tokenizer is refused, naming it" {
    sft tok-pre "'no-such-pre'"
}
@test "sr-sft: an unknown tensor is refused, naming it" {
    sft unknown-tensor "blk.3.ffn_gate_exps.weight is not a tensor"
}
@test "sr-sft: a bias in some blocks only is refused, naming it" {
    sft bias "blk.3.attn_q.bias is present but blk.0.attn_q.bias is not"
}
@test "sr-sft: a type sr cannot dequantize is refused with its tensor" {
    sft type "blk.5.ffn_down.weight has type IQ2_XXS"
}
@test "sr-sft: a wrong shape is refused with the expected one" {
    sft shape "blk.7.attn_k.weight has shape [8192, 8192], expected [8192, 1024]"
}
@test "sr-sft: embedding rows other than the token count are refused" {
    sft vocab-rows "token_embd.weight has 128000 rows for a tokenizer of 128256 tokens"
}
@test "sr-sft: a missing tensor is refused, naming it" {
    sft missing "blk.79.ffn_up.weight is missing"
}
@test "sr-sft: a file shorter than its header says is refused as truncated" {
    sft truncated "the file is truncated"
}

@test "sr-judge and sr-dpo refuse from the header too" {
    refused vocab-rows "128000 rows for a tokenizer of 128256 tokens" sr-judge -i /dev/null
    printf '' > "$T/pairs.mp"
    refused shape "blk.7.attn_k.weight has shape" sr-dpo -i "$T/pairs.mp" -o "$T/out.gguf"
}

# The reference model of sr-dpo is checked from its header as the model is:
# a bad one, or one of another vocabulary, is bad data (exit 3), not a
# failure of the run.
@test "sr-dpo --ref: a bad reference, or one of another vocabulary, exits 3 from its header" {
    "$SR_TINY_MODEL" -o "$T/tiny.gguf"
    echo '{"id":"a","prompt":"Hi?","chosen":"Hello.","rejected":"No."}' | sr-cat --from-json > "$T/p.mp"
    "$SR_TINY_MODEL" -o "$T/bad.gguf" --header-only --defect shape
    "$SR_TINY_MODEL" -o "$T/big.gguf" --header-only
    run --separate-stderr sr-dpo -m "$T/tiny.gguf" -i "$T/p.mp" -o "$T/o.gguf" --max-steps 1 --ref "$T/bad.gguf"
    assert_failure 3
    [[ $stderr == *"--ref $T/bad.gguf: "*"blk.7.attn_k.weight has shape [8192, 8192]"* ]]
    run --separate-stderr sr-dpo -m "$T/tiny.gguf" -i "$T/p.mp" -o "$T/o.gguf" --max-steps 1 --ref "$T/big.gguf"
    assert_failure 3
    [[ $stderr == *"--ref $T/big.gguf: a vocabulary of 128256 tokens"* ]]
    [ ! -e "$T/o.gguf" ]
}
