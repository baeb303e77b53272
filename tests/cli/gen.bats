#!/usr/bin/env bats
# sr-gen: candidates and --self-instruct prompts from the real model, run as
# a user would. Few prompts and short replies keep the suite to seconds.

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
}

# Prompt records {id, prompt, source} from the first N examples.
prompts() {
    sr-filter-oasst -q -i "$EXAMPLES/oasst-sample.jsonl" | sr-cat | head -n "$1" |
        jq -c '{id, prompt, source}' | sr-cat --from-json
}

@test "--help exits 0 and names the flags" {
    run sr-gen --help
    assert_success
    assert_line --partial "Usage: sr-gen"
    assert_output --partial "--self-instruct"
    assert_output --partial "--max-prompt-tokens"
}

@test "a malformed --shard is a usage error" {
    run --separate-stderr sr-gen --shard 2/2 < /dev/null
    assert_failure 2
    [[ $stderr == *"--shard"* ]]
}

@test "-n 4: four candidates per prompt, finish says why each ended" {
    need_model
    prompts 3 > "$T/p.mp"
    sr-gen -q -m "$MODEL" -i "$T/p.mp" -n 4 --max-tokens 24 | sr-cat > "$T/c.jsonl"
    [ "$(wc -l < "$T/c.jsonl")" -eq 12 ]
    # every prompt has samples 0..3, in input order
    run jq -r '"\(.prompt_id) \(.sample)"' "$T/c.jsonl"
    diff <(echo "$output" | cut -d' ' -f1 | uniq) <(sr-cat < "$T/p.mp" | jq -r .id)
    [ "$(echo "$output" | cut -d' ' -f2 | tr '\n' ' ')" = "0 1 2 3 0 1 2 3 0 1 2 3 " ]
    # length exactly when the reply used every token; the input's keys kept
    run jq -r 'select((.finish == "length") != (.tokens == 24) or .source != "oasst"
                      or (.response | type) != "string" or .finish == null)' "$T/c.jsonl"
    assert_output ""
    # ids are unique and none is the prompt's
    [ "$(jq -r .id "$T/c.jsonl" | sort -u | wc -l)" -eq 12 ]
    run jq -r 'select(.id == .prompt_id)' "$T/c.jsonl"
    assert_output ""
}

@test "a reply that ends on its own says stop" {
    need_model
    printf '{"id":"hi","prompt":"Say hello."}\n' | sr-cat --from-json |
        sr-gen -q -m "$MODEL" -n 2 --temperature 0 --max-tokens 64 | sr-cat > "$T/c.jsonl"
    run jq -r '"\(.finish) \(.tokens < 64)"' "$T/c.jsonl"
    assert_output $'stop true\nstop true'
}

@test "the same seed gives the same output for any --batch and for shards" {
    need_model
    prompts 4 > "$T/p.mp"
    for b in 1 4 16; do
        sr-gen -q -m "$MODEL" -i "$T/p.mp" -n 2 --max-tokens 12 --seed 7 --batch $b | sr-cat | sort > "$T/b$b"
    done
    { sr-gen -q -m "$MODEL" -i "$T/p.mp" -n 2 --max-tokens 12 --seed 7 --shard 0/2
      sr-gen -q -m "$MODEL" -i "$T/p.mp" -n 2 --max-tokens 12 --seed 7 --shard 1/2; } | sr-cat | sort > "$T/sh"
    [ "$(wc -l < "$T/b1")" -eq 8 ]
    cmp "$T/b1" "$T/b4"
    cmp "$T/b1" "$T/b16"
    cmp "$T/b1" "$T/sh"
    # another seed gives other replies
    sr-gen -q -m "$MODEL" -i "$T/p.mp" -n 2 --max-tokens 12 --seed 8 | sr-cat | sort > "$T/s8"
    ! cmp -s "$T/b1" "$T/s8"
}

@test "sr-gen | head -c 100 ends quietly" {
    need_model
    prompts 2 > "$T/p.mp"
    run --separate-stderr bash -o pipefail -c "sr-gen -q -m '$MODEL' -i '$T/p.mp' -n 4 --max-tokens 16 | head -c 100 > /dev/null"
    assert_success
    [ -z "$stderr" ]
}

@test "bad prompt records exit 3 naming the record, or are skipped and counted" {
    need_model
    printf '%s\n' '{"id":"a","prompt":"Hi"}' '{"id":"b","text":"no prompt"}' | sr-cat --from-json > "$T/missing.mp"
    run --separate-stderr sr-gen -m "$MODEL" -i "$T/missing.mp" --max-tokens 4
    assert_failure 3
    [[ $stderr == *'record 2 (id "b")'*'prompt'*missing* ]]

    printf '%s\n' '{"id":"n","prompt":42}' | sr-cat --from-json > "$T/number.mp"
    run --separate-stderr sr-gen -m "$MODEL" -i "$T/number.mp" --max-tokens 4
    assert_failure 3
    [[ $stderr == *'id "n"'*'prompt'* ]]

    { printf '{"id":"ok","prompt":"Hi"}\n'
      printf '{"id":"long","prompt":"%s"}\n' "$(printf 'word %.0s' $(seq 300))"; } | sr-cat --from-json > "$T/long.mp"
    run --separate-stderr sr-gen -m "$MODEL" -i "$T/long.mp" --max-prompt-tokens 100 --max-tokens 4
    assert_failure 3
    [[ $stderr == *'id "long"'*'--max-prompt-tokens 100'* ]]

    cat "$T/missing.mp" "$T/number.mp" "$T/long.mp" > "$T/all.mp"
    run --separate-stderr bash -c "sr-gen -q -m '$MODEL' -i '$T/all.mp' --skip-bad -n 1 --max-prompt-tokens 100 --max-tokens 4 | sr-cat"
    assert_success
    [ "$(echo "$output" | jq -r .prompt_id | tr '\n' ' ')" = "a ok " ]
    [[ $stderr == *"3"*skipped* || $stderr == *skipped*"3"* ]]
}

@test "--self-instruct writes new, filtered prompts, the same for any --batch" {
    need_model
    sr-filter-oasst -q -i "$EXAMPLES/oasst-sample.jsonl" > "$T/seeds.mp"
    run --separate-stderr bash -c "sr-gen -m '$MODEL' -i '$T/seeds.mp' --self-instruct --count 3 --max-tokens 40 --batch 16 | sr-cat"
    assert_success
    echo "$output" > "$T/a"
    [ "$(wc -l < "$T/a")" -eq 3 ]
    run jq -r 'select(.source != "self-instruct" or (.prompt | length) < 5 or (.id | test("^[0-9a-f]{16}$") | not))' "$T/a"
    assert_output ""
    [[ $stderr == *"kept"*"keyword"*"ROUGE-L"*"duplicate"* ]]
    # no new prompt repeats a seed
    sr-cat < "$T/seeds.mp" | jq -r .prompt | sort > "$T/seedp"
    jq -r .prompt "$T/a" | sort | comm -12 - "$T/seedp" > "$T/common"
    [ ! -s "$T/common" ]
    sr-gen -q -m "$MODEL" -i "$T/seeds.mp" --self-instruct --count 3 --max-tokens 40 --batch 5 | sr-cat > "$T/b"
    cmp "$T/a" "$T/b"
}

@test "--self-instruct: the shots are seeds only; --known prompts only filter (METHOD step 1)" {
    need_model
    # half the IFT prompts are the seeds, the other half (ids known-*) an earlier iteration's
    sr-filter-oasst -q -i "$EXAMPLES/oasst-sample.jsonl" | sr-cat > "$T/all.json"
    local n; n=$(wc -l < "$T/all.json")
    awk -v n="$n" 'NR <= n / 2' "$T/all.json" | sr-cat --from-json > "$T/seeds.mp"
    awk -v n="$n" 'NR > n / 2' "$T/all.json" | jq -c '.id = "known-" + .id' | sr-cat --from-json > "$T/known.mp"
    run --separate-stderr bash -c "sr-gen -m '$MODEL' -i '$T/seeds.mp' --known '$T/known.mp' --shots \
        --self-instruct --count 2 --max-tokens 32 | sr-cat"
    assert_success
    echo "$output" > "$T/a"
    [ "$(wc -l < "$T/a")" -eq 2 ]
    [[ $stderr == *"seed prompts"*"known prompts (only for dedup and ROUGE-L)"* ]]
    # every shot is a seed or a prompt this run made before; none is a known prompt
    sr-cat < "$T/seeds.mp" | jq -r .id > "$T/seed-ids"
    jq -r .id "$T/a" >> "$T/seed-ids"
    run jq -r '.shots[]' "$T/a"
    assert_success
    [ "$(echo "$output" | wc -l)" -ge 6 ]
    run grep -vxF -f "$T/seed-ids" <<<"$output"
    assert_output ""
    # a known prompt is never made again: known = the first run's prompts, same seed,
    # so the same first requests now give duplicates, refused and counted
    sr-cat --from-json < "$T/a" > "$T/first.mp"
    run --separate-stderr bash -c "sr-gen -m '$MODEL' -i '$T/seeds.mp' --known '$T/known.mp' \
        --known '$T/first.mp' --self-instruct --count 2 --max-tokens 32 | sr-cat"
    assert_success
    [ "$(jq -r .prompt <<<"$output" | sort | comm -12 - <(jq -r .prompt "$T/a" | sort) | wc -l)" -eq 0 ]
    [[ $stderr =~ [1-9][0-9]*\ duplicate ]]
    # --known and --shots belong to --self-instruct
    run sr-gen -m "$MODEL" --known "$T/known.mp" < /dev/null
    assert_failure 2
}

@test "--self-instruct without --count is a usage error" {
    need_model
    run --separate-stderr sr-gen -m "$MODEL" --self-instruct < /dev/null
    assert_failure 2
}
