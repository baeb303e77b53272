#!/usr/bin/env bats
# sr-dpo: preference optimization as a user runs it, on a tiny random model
# (seconds), and a short run of the real model on pairs made from the OASST
# sample's ranked replies.

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
    tiny_dpo_args=(-m "$T/tiny.gguf" -i "$T/pairs.mp" --threads 2 --lr 1e-3 --lr-final 1e-4 --batch 2)
    write_tiny_model "$T/tiny.gguf"
    sr-cat --from-json > "$T/pairs.mp" <<'JSON'
{"id":"a","prompt":"What is two plus two?","chosen":"Four.","rejected":"Five, I think.","source":"mine"}
{"id":"b","prompt":"Name a colour.","chosen":"Blue is a colour.","rejected":"Table."}
{"id":"c","prompt":"Say hi.","chosen":"Hi there!","rejected":"No.","system":"Be friendly."}
{"id":"d","prompt":"Count to three.","chosen":"One, two, three.","rejected":"One, three, two."}
{"id":"e","prompt":"What is the opposite of up?","chosen":"Down.","rejected":"Sideways, maybe."}
{"id":"f","prompt":"Spell cat.","chosen":"C, A, T.","rejected":"K, A, T."}
JSON
}

tiny_dpo() { sr-dpo "${tiny_dpo_args[@]}" "$@"; }
# In the background, with $! the tool's own pid: "tiny_dpo ... &" would put a
# subshell between, and kill -9 of it would leave the tool running.
tiny_dpo_bg() { sr-dpo "${tiny_dpo_args[@]}" "$@" & }

# Under AddressSanitizer (make SAN=1 test) the real-model run is shortened.
sanitized() { grep -qa __asan_init "$(command -v sr-dpo)"; }

# ---- usage ---------------------------------------------------------------------

@test "--help names the DPO and training flags" {
    run sr-dpo --help
    assert_success
    for f in --beta --loss --rpo-alpha --length-norm --ref --write-ref --eval --lr --lr-final --warmup \
             --schedule --batch --micro-batch --epochs --max-steps --max-len --overlong --clip --seed \
             --threads --dtype --log --save-every --resume --skip-bad; do
        assert_output --partial -- "$f"
    done
}

@test "usage errors exit 2: no -o, a bad --loss, --eval with -o, --eval without a reference" {
    run tiny_dpo
    assert_failure 2
    run tiny_dpo -o "$T/o.gguf" --loss kto
    assert_failure 2
    run tiny_dpo -o "$T/o.gguf" --beta 0
    assert_failure 2
    run tiny_dpo --eval -o "$T/o.gguf"
    assert_failure 2
    run --separate-stderr tiny_dpo --eval
    assert_failure 2
    [[ $stderr == *"--ref"* ]]
    [ ! -e "$T/o.gguf" ]
}

# ---- bad input -----------------------------------------------------------------

@test "a pair without rejected exits 3 naming the record and key; --skip-bad counts it" {
    { cat "$T/pairs.mp"; echo '{"id":"bad1","prompt":"p","chosen":"c"}' | sr-cat --from-json; } > "$T/bad.mp"
    run --separate-stderr tiny_dpo -o "$T/o.gguf" -i "$T/bad.mp" --max-steps 1
    assert_failure 3
    [[ $stderr == *bad1* && $stderr == *rejected* ]]
    [ ! -e "$T/o.gguf" ]
    run --separate-stderr tiny_dpo -o "$T/o.gguf" -i "$T/bad.mp" --max-steps 1 --skip-bad
    assert_success
    [[ $stderr == *"skipped 1"* ]]
    [ -s "$T/o.gguf" ]
}

@test "wrong types exit 3: chosen a number, system an array, a reference log-prob a string" {
    echo '{"id":"n","prompt":"p","chosen":7,"rejected":"r"}' | sr-cat --from-json > "$T/b1.mp"
    run --separate-stderr tiny_dpo -o "$T/o.gguf" -i "$T/b1.mp"
    assert_failure 3
    [[ $stderr == *'"n"'* && $stderr == *chosen* ]]
    echo '{"id":"s","prompt":"p","chosen":"c","rejected":"r","system":["x"]}' | sr-cat --from-json > "$T/b2.mp"
    run --separate-stderr tiny_dpo -o "$T/o.gguf" -i "$T/b2.mp"
    assert_failure 3
    [[ $stderr == *system* ]]
    echo '{"id":"r","prompt":"p","chosen":"c","rejected":"r","ref_chosen_logp":"-3","ref_rejected_logp":-4}' |
        sr-cat --from-json > "$T/b3.mp"
    run --separate-stderr tiny_dpo -o "$T/o.gguf" -i "$T/b3.mp"
    assert_failure 3
    [[ $stderr == *ref_chosen_logp* ]]
}

@test "reference log-probs: one without the other, or a positive one, exits 3" {
    echo '{"id":"h","prompt":"p","chosen":"c","rejected":"r","ref_chosen_logp":-3.5}' | sr-cat --from-json > "$T/b.mp"
    run --separate-stderr tiny_dpo -o "$T/o.gguf" -i "$T/b.mp"
    assert_failure 3
    [[ $stderr == *'"h"'* && $stderr == *ref_rejected_logp* ]]
    echo '{"id":"p","prompt":"p","chosen":"c","rejected":"r","ref_chosen_logp":2,"ref_rejected_logp":-1}' |
        sr-cat --from-json > "$T/b.mp"
    run --separate-stderr tiny_dpo -o "$T/o.gguf" -i "$T/b.mp"
    assert_failure 3
    [[ $stderr == *ref_chosen_logp* ]]
}

@test "no pairs at all exits 3; a truncated stream exits 3" {
    run tiny_dpo -o "$T/o.gguf" -i /dev/null
    assert_failure 3
    head -c 30 "$T/pairs.mp" > "$T/cut.mp"
    run tiny_dpo -o "$T/o.gguf" -i "$T/cut.mp"
    assert_failure 3
}

# ---- training ------------------------------------------------------------------

@test "tiny model: the margin and accuracy rise from 0 (log and stderr); the checkpoint generates" {
    run --separate-stderr tiny_dpo -o "$T/o.gguf" --epochs 4 --log "$T/log.jsonl" --write-ref "$T/ref.mp"
    assert_success
    [ "$(wc -l < "$T/log.jsonl")" -eq 12 ]          # 6 pairs, batch 2, 4 epochs
    jq -e 'has("loss") and has("margin") and has("accuracy") and has("chosen_reward") and has("rejected_reward")
           and has("grad_norm") and has("lr") and has("tokens_per_s")' "$T/log.jsonl" > /dev/null
    # step 1: the policy is the reference
    jq -se '.[0] | .step == 1 and .loss == 0.693147 and .margin == 0 and .accuracy == 0' "$T/log.jsonl"
    [[ $stderr == *"step 12/12"*margin*accuracy*chosen_reward*rejected_reward* ]]
    last=$(jq -s '[.[-4:][] | .margin] | add / length' "$T/log.jsonl")
    acc=$(jq -s '[.[-4:][] | .accuracy] | add / length' "$T/log.jsonl")
    echo "# margin over the last 4 steps $last, accuracy $acc" >&3
    jq -en "$last > 0.02 and $acc >= 0.75"
    # over all the pairs, against the starting model's log-probs
    run --separate-stderr sr-dpo --eval -m "$T/o.gguf" -i "$T/ref.mp" --threads 2
    assert_success
    echo "# --eval after: $output" >&3
    jq -e '.pairs == 6 and .margin > 0 and .accuracy > 0.5' <<< "$output"
    # the checkpoint is a model sr-gen generates from
    echo '{"id":"q1","prompt":"Say hi."}' | sr-cat --from-json |
        sr-gen -q -m "$T/o.gguf" -n 1 --max-tokens 8 --max-prompt-tokens 64 --threads 2 | sr-cat > "$T/gen.json"
    jq -e '.tokens > 0 and (.response | length > 0)' "$T/gen.json"
}

@test "--dropout: seeded, recorded; the reference log-probs are those without dropout" {
    dropout_is_seeded tiny_dpo
    tiny_dpo -q -o "$T/r0.gguf" --epochs 1 --write-ref "$T/ref0.mp"
    tiny_dpo -q -o "$T/r1.gguf" --epochs 1 --write-ref "$T/ref1.mp" --dropout 0.3
    cmp "$T/ref0.mp" "$T/ref1.mp"
}

@test "--write-ref keeps every key and adds both log-probs; given, they give the same checkpoint" {
    tiny_dpo -q -o "$T/a.gguf" --epochs 2 --write-ref "$T/ref.mp"
    sr-cat < "$T/ref.mp" > "$T/ref.json"
    [ "$(wc -l < "$T/ref.json")" -eq 6 ]
    jq -e '(.ref_chosen_logp | type == "number" and . < 0) and (.ref_rejected_logp | . < 0)' "$T/ref.json" > /dev/null
    jq -se 'map(select(.id == "a"))[0].source == "mine"' "$T/ref.json"
    # the records carry them: no reference pass, bit-identical weights (and file)
    run --separate-stderr sr-dpo -m "$T/tiny.gguf" -i "$T/ref.mp" --threads 2 --lr 1e-3 --lr-final 1e-4 \
        --batch 2 -o "$T/b.gguf" --epochs 2
    assert_success
    [[ $stderr != *"reference log-probs ("* ]]
    [[ $stderr == *"6 with given reference"* ]]
    cmp "$T/a.gguf" "$T/b.gguf"
    # other reference log-probs train another model
    jq -c '.ref_chosen_logp -= 1' "$T/ref.json" | sr-cat --from-json > "$T/ref2.mp"
    sr-dpo -q -m "$T/tiny.gguf" -i "$T/ref2.mp" --threads 2 --lr 1e-3 --lr-final 1e-4 --batch 2 -o "$T/c.gguf" --epochs 2
    ! cmp -s "$T/a.gguf" "$T/c.gguf"
}

@test "--ref holds the reference to another model; --eval of the start model against it" {
    write_tiny_model "$T/other.gguf" --seed 6
    ! cmp -s "$T/tiny.gguf" "$T/other.gguf"
    run --separate-stderr tiny_dpo -o "$T/o.gguf" --max-steps 2 --ref "$T/other.gguf" --log "$T/log.jsonl"
    assert_success
    [[ $stderr == *"reference log-probs ($T/other.gguf)"* ]]
    jq -se '.[0] | .step == 1 and .margin != 0 and .loss != 0.693147' "$T/log.jsonl"
    grep -q sr.ref.model.xxh64 "$T/o.gguf"
    run --separate-stderr sr-dpo --eval -m "$T/tiny.gguf" -i "$T/pairs.mp" --ref "$T/other.gguf" --threads 2
    assert_success
    jq -e '.pairs == 6 and .margin != 0' <<< "$output"
    # the reference is the starting model itself: the same as no --ref
    tiny_dpo -q -o "$T/self.gguf" --max-steps 1 --ref "$T/tiny.gguf" --log "$T/self.log"
    jq -e '.loss == 0.693147 and .margin == 0' "$T/self.log"
}

@test "--loss ipo and hinge start at (1/2β)² and 1; --length-norm and --rpo-alpha run and are recorded" {
    tiny_dpo -q -o "$T/i.gguf" --max-steps 1 --loss ipo --log "$T/i.log"
    jq -e '.loss == 25' "$T/i.log"
    tiny_dpo -q -o "$T/i.gguf" --max-steps 1 --loss ipo --beta 0.5 --log "$T/i.log"
    jq -e '.loss == 1' "$T/i.log"
    tiny_dpo -q -o "$T/h.gguf" --max-steps 1 --loss hinge --log "$T/h.log"
    jq -e '.loss == 1' "$T/h.log"
    # RPO: log 2 plus A × the chosen NLL per token
    tiny_dpo -q -o "$T/r.gguf" --max-steps 1 --rpo-alpha 0.5 --length-norm --log "$T/r.log"
    jq -e '(.loss - (0.693147 + 0.5 * .nll_chosen)) | fabs < 1e-5' "$T/r.log"
    grep -q sr.hparams.rpo_alpha "$T/r.gguf"
    grep -q dpo-hinge "$T/h.gguf"
}

@test "the same run twice gives the same bytes; another --seed does not" {
    same_bytes_per_seed tiny_dpo
}

@test "kill -9 in the middle, then --resume: bit-identical to an uninterrupted run" {
    kill_then_resume_is_identical tiny_dpo tiny_dpo_bg
}

@test "--resume with another --beta is refused" {
    tiny_dpo -q -o "$T/o.gguf" --max-steps 4 --save-every 2
    run --separate-stderr tiny_dpo -o "$T/o.gguf" --max-steps 4 --save-every 2 --beta 0.2 --resume
    assert_failure 1
    [[ $stderr == *"other settings"* ]]
}

# ---- the real model --------------------------------------------------------------

@test "real model: 20 steps on OASST-sample pairs raise the margin and accuracy on those pairs" {
    need_model
    # pairs from the ranked replies: the best reply chosen, the worst rejected
    local n=8 steps=20 len=64
    if sanitized; then
        n=4 steps=6 len=48
        echo "# AddressSanitizer build: a shorter run ($steps steps on $n pairs of at most $len tokens)" >&3
    fi
    sr-filter-oasst --ranked -i "$EXAMPLES/oasst-sample.jsonl" 2> /dev/null | sr-cat |
        jq -s -c 'group_by(.prompt_id)[] | select(length >= 2) | sort_by(.human_rank)
                  | {id: .[0].prompt_id, prompt: .[0].prompt, chosen: .[0].response, rejected: .[-1].response}' |
        head -n "$n" | sr-cat --from-json > "$T/pairs.mp"
    [ "$(sr-cat < "$T/pairs.mp" | wc -l)" -eq "$n" ]
    start=$SECONDS
    run --separate-stderr sr-dpo -m "$MODEL" -i "$T/pairs.mp" -o "$T/m.gguf" --lr 1e-5 --lr-final 1e-6 \
        --batch 1 --max-steps "$steps" --max-len "$len" --write-ref "$T/ref.mp" --log "$T/m.log"
    assert_success
    [ "$(wc -l < "$T/m.log")" -eq "$steps" ]
    jq -se '.[0] | .step == 1 and .loss == 0.693147 and .margin == 0 and .accuracy == 0' "$T/m.log"
    # the pairs under the trained model, against the starting model's log-probs
    run --separate-stderr sr-dpo --eval -m "$T/m.gguf" -i "$T/ref.mp" --max-len "$len"
    assert_success
    echo "# after $steps steps ($((SECONDS - start)) s with the evaluation): $output" >&3
    jq -e '.margin > 0 and .accuracy > 0.5' <<< "$output"
}
