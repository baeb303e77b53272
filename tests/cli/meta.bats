#!/usr/bin/env bats
# sr-meta: the meta-judge's passes, on hand-made judged records and
# verdicts (no model), and once end to end with the real model.

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
}

# r1: scores 5 3 nil -> one battle (0 vs 1); r2: 4 4 4 -> none;
# r3: 1 2 3 -> three battles
judged() {
    cat > "$T/j.json" <<'JSON'
{"id":"r1","prompt":"Q1?","response":"A1.","scores":[5,3,null],"judgements":["good, Score: 5","meh, Score: 3","rambling"]}
{"id":"r2","prompt":"Q2?","response":"A2.","scores":[4,4,4],"judgements":["x Score: 4","y Score: 4","z Score: 4"]}
{"id":"r3","prompt":"Q3?","response":"A3.","scores":[1,2,3],"judgements":["one. Score: 1","two. Score: 2","three, a long and careful grading. Score: 3"]}
JSON
    sr-cat --from-json < "$T/j.json" > "$T/j.mp"
}

@test "--battles: one battle per pair of judgements with different scores, the judge prompt rendered" {
    judged
    run --separate-stderr bash -c "sr-meta --battles -i '$T/j.mp' | sr-cat"
    assert_success
    echo "$output" > "$T/b.jsonl"
    run jq -c '[.reply_id, .judgement_a, .judgement_b, .score_a, .score_b]' "$T/b.jsonl"
    assert_output $'["r1",0,1,5,3]\n["r3",0,1,1,2]\n["r3",0,2,1,3]\n["r3",1,2,2,3]'
    run jq -r 'select(.reply_id == "r3" and .judgement_a == 0 and .judgement_b == 2) | .response_b' "$T/b.jsonl"
    assert_output 'three, a long and careful grading. Score: 3'
    # the prompt is the built-in rubric with the question and the reply in it
    run jq -r 'select(.reply_id == "r1") | .prompt' "$T/b.jsonl"
    [[ $output == *"Q1?"*"A1."*"Score: <points>" ]] || { echo "$output"; false; }
    # ids: distinct, and the same on every run
    [ "$(jq -r .id "$T/b.jsonl" | sort -u | wc -l)" -eq 4 ]
    diff <(jq -r .id "$T/b.jsonl") <(sr-meta -q --battles -i "$T/j.mp" | sr-cat | jq -r .id)
    [[ $stderr == *"3 judged replies: 4 battles"*"1 replies with none"* ]] || { echo "$stderr"; false; }
}

@test "--battles: a record without judgement texts exits 3 naming the record and field" {
    echo '{"id":"n","prompt":"Q","response":"A","scores":[1,2]}' | sr-cat --from-json > "$T/n.mp"
    run --separate-stderr sr-meta --battles -i "$T/n.mp"
    assert_failure 3
    [[ $stderr == *'record 1 (id "n")'*judgements*'--keep-text'* ]] || { echo "$stderr"; false; }
    echo '{"id":"m","prompt":"Q","response":"A","scores":[1,2.5],"judgements":["a","b"]}' | sr-cat --from-json > "$T/m.mp"
    run --separate-stderr sr-meta --battles -i "$T/m.mp"
    assert_failure 3
    [[ $stderr == *'record 1 (id "m")'*scores*'element 1'* ]] || { echo "$stderr"; false; }
}

# verdicts for the battles: r3's judgement 2 wins both of its battles, 1 beats 0
decided() {
    judged
    sr-meta -q --battles -i "$T/j.mp" | sr-cat |
        jq -c 'if .reply_id == "r1" then .verdict = "a"
               elif .judgement_b == 2 then .verdict = "b"
               else .verdict = "b" end' | sr-cat --from-json > "$T/d.mp"
}

@test "--pairs: per reply the best- and worst-rated judgements, the kind and both scores" {
    decided
    run --separate-stderr bash -c "sr-meta --pairs --actor-pairs 100 -i '$T/d.mp' | sr-cat"
    assert_success
    echo "$output" > "$T/p.jsonl"
    run jq -c '[.reply_id, .chosen, .rejected, .chosen_judge_score, .rejected_judge_score, .kind,
                (.chosen_score > .rejected_score)]' "$T/p.jsonl"
    assert_output $'["r1","good, Score: 5","meh, Score: 3",5,3,"judge",true]\n["r3","three, a long and careful grading. Score: 3","one. Score: 1",3,1,"judge",true]'
    # the pair's prompt is the judge prompt: DPO trains the judge role on it
    run jq -r 'select(.reply_id == "r3") | .prompt' "$T/p.jsonl"
    [[ $output == *"Q3?"*"A3."* ]]
    [[ $stderr == *"4 battles of 2 replies (0 with a nil verdict"*"2 replies gave a judge pair"*"2 kept"* ]] ||
        { echo "$stderr"; false; }
    # length control: within the band of the best, the shorter judgement is chosen
    run bash -c "sr-meta -q --pairs --actor-pairs 100 --length-control 0.9 -i '$T/d.mp' | sr-cat | jq -r 'select(.reply_id == \"r3\") | .chosen'"
    assert_output 'two. Score: 2'
}

@test "--pairs: the caps — a share of the DPO data, a share per chosen score" {
    decided
    # 3 actor pairs, judge pairs at most 1/4 of all: floor(1/3 * 3) = 1
    run --separate-stderr bash -c "sr-meta --pairs --actor-pairs 3 --share 0.25 -i '$T/d.mp' | sr-cat -n"
    assert_success
    assert_output 1
    [[ $stderr == *"1 kept by the caps"* ]] || { echo "$stderr"; false; }
    # no actor pairs: none
    run bash -c "sr-meta -q --pairs --actor-pairs 0 -i '$T/d.mp' | sr-cat -n"
    assert_output 0
    # the cut is by a hash of the id and --seed, the same on every run
    diff <(sr-meta -q --pairs --actor-pairs 3 --share 0.25 --seed 1 -i "$T/d.mp" | sr-cat) \
         <(sr-meta -q --pairs --actor-pairs 3 --share 0.25 --seed 1 -i "$T/d.mp" | sr-cat)
}

@test "--pairs: nil verdicts are left out; bad battles exit 3; the modes' options are usage errors" {
    decided
    sr-cat < "$T/d.mp" | jq -c '.verdict = null' | sr-cat --from-json > "$T/nil.mp"
    run --separate-stderr bash -c "sr-meta --pairs --actor-pairs 9 -i '$T/nil.mp' | sr-cat -n"
    assert_success
    assert_output 0
    [[ $stderr == *"(4 with a nil verdict"* ]] || { echo "$stderr"; false; }
    sr-cat < "$T/d.mp" | head -1 | jq -c '.verdict = "c"' | sr-cat --from-json > "$T/bad.mp"
    run --separate-stderr sr-meta --pairs --actor-pairs 9 -i "$T/bad.mp"
    assert_failure 3
    [[ $stderr == *'record 1'*verdict* ]] || { echo "$stderr"; false; }
    run --separate-stderr sr-meta --pairs < /dev/null
    assert_failure 2
    [[ $stderr == *"--actor-pairs"* ]]
    run --separate-stderr sr-meta < /dev/null
    assert_failure 2
    run --separate-stderr sr-meta --battles --length-control 0.2 < /dev/null
    assert_failure 2
    run --separate-stderr sr-judge --meta --template /dev/null < /dev/null
    assert_failure 2
}

@test "end to end: judged replies, battles decided by the model (--pairwise --meta), judge pairs" {
    need_model
    judged
    sr-meta -q --battles -i "$T/j.mp" > "$T/b.mp"
    run --separate-stderr sr-judge --meta -m "$MODEL" --max-tokens 8 --temperature 0 -i "$T/b.mp" -o "$T/d.mp"
    assert_success
    [[ $stderr == *"4 records: a "* ]] || { echo "$stderr"; false; }
    run bash -c "sr-cat < '$T/d.mp' | jq -c '[(.verdicts | length), (.verdict | . == null or . == \"a\" or . == \"b\" or . == \"tie\")]' | sort -u"
    assert_output '[2,true]'
    run --separate-stderr bash -c "sr-meta --pairs --actor-pairs 100 -i '$T/d.mp' | sr-cat | jq -r .kind"
    assert_success
    [[ $stderr == *"4 battles of 2 replies"* ]] || { echo "$stderr"; false; }
}
