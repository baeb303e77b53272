#!/usr/bin/env bats
# When things break: a model whose numbers are NaN, and (with the fault
# shim, tests/fault) full disks and I/O errors under every kind of output.

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
}

# ---- a broken model ----------------------------------------------------------------

# One NaN in output_norm.weight makes every logit NaN: the sampler has no
# candidate. Each generating tool stops at once, naming the record and the
# token (the model failed, not the data: exit 1), and writes nothing.
@test "NaN logits: sr-gen and sr-judge exit 1 naming the record and the token" {
    write_tiny_model "$T/nan.gguf" --nan output_norm.weight
    echo '{"id":"r1","prompt":"hi"}' | sr-cat --from-json > "$T/p.mp"
    run --separate-stderr sr-gen -m "$T/nan.gguf" -i "$T/p.mp" --max-tokens 4 --max-prompt-tokens 64 \
        -o "$T/g.mp"
    assert_failure 1
    [[ $stderr == *'record 1 (id "r1"): non-finite logits at token 1 of sample 0'* ]]
    [ ! -e "$T/g.mp" ]
    for temp in 0 1; do   # greedy decoding too: argmax over NaN is no answer
        run --separate-stderr sr-gen -m "$T/nan.gguf" -i "$T/p.mp" --max-tokens 4 \
            --max-prompt-tokens 64 -n 1 --temperature $temp
        assert_failure 1
        [[ $stderr == *"non-finite logits at token 1"* ]]
    done
    printf 'Rate: {prompt} / {response}\nScore: ' > "$T/tmpl.txt"
    echo '{"id":"c7","prompt":"hi","response":"yo"}' | sr-cat --from-json > "$T/c.mp"
    run --separate-stderr sr-judge -m "$T/nan.gguf" --template "$T/tmpl.txt" -k 2 --max-tokens 4 \
        --max-prompt-tokens 64 -i "$T/c.mp" -o "$T/j.mp"
    assert_failure 1
    [[ $stderr == *'record 1 (id "c7"): non-finite logits at token 1 of sample 0'* ]]
    [ ! -e "$T/j.mp" ]
}
