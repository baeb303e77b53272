#!/usr/bin/env bats
# make mtbench and its parts: scripts/mtbench's records, sr-judge --scale,
# and the pipeline end to end on two questions with the real model.

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
}

Q=data/real/mt_bench_question.jsonl
REF=data/real/mt_bench_reference_answer_gpt-4.jsonl

@test "scripts/mtbench turn1: 80 questions, the reference answer for math, reasoning and coding" {
    need_shared "$Q"
    run bash -c "'$SR_ROOT/scripts/mtbench' turn1 --questions '$SHARED/$Q' --references '$SHARED/$REF'"
    assert_success
    echo "$output" > "$T/t1.jsonl"
    [ "$(wc -l < "$T/t1.jsonl")" -eq 80 ]
    run jq -r 'select(.reference) | .category' "$T/t1.jsonl"
    [ "$(echo "$output" | wc -l)" -eq 30 ]
    [ "$(echo "$output" | sort -u | tr '\n' ' ')" = "coding math reasoning " ]
    run jq -c 'select(.question_id == 81) | [.id, .turn, (.messages | length), .messages[0].role, (.turns | length)]' "$T/t1.jsonl"
    assert_output '["mt-81-1",1,1,"user",2]'
}

@test "scripts/mtbench turn2 and grade: the conversation continued, the grader shown what it needs" {
    cat > "$T/a1.jsonl" <<'JSON'
{"id":"x","prompt_id":"mt-101-1","question_id":101,"category":"reasoning","turn":1,"turns":["Q1?","Q2?"],"reference":["R1","R2"],"messages":[{"role":"user","content":"Q1?"}],"response":"A1."}
JSON
    run bash -c "'$SR_ROOT/scripts/mtbench' turn2 < '$T/a1.jsonl'"
    assert_success
    run jq -c '[.id, .turn, [.messages[] | .role], .messages[1].content, .messages[2].content]' <<< "$output"
    assert_output '["mt-101-2",2,["user","assistant","user"],"A1.","Q2?"]'
    # the grader of turn 2 sees both questions, the first answer and the second reference
    printf '%s\n' '{"id":"y","question_id":101,"category":"reasoning","turn":2,"reference":["R1","R2"],"messages":[{"role":"user","content":"Q1?"},{"role":"assistant","content":"A1."},{"role":"user","content":"Q2?"}],"response":"A2."}' > "$T/a2.jsonl"
    run bash -c "'$SR_ROOT/scripts/mtbench' grade < '$T/a2.jsonl'"
    assert_success
    run jq -r '.prompt' <<< "$output"
    [[ $output == *"Q1?"*"A1."*"Q2?"*"R2"* && $output != *"R1"* ]] || { echo "$output"; false; }
    # bad input: exit 3 naming the key
    echo '{"id":"z","question_id":1,"turns":["a","b"],"messages":[]}' > "$T/bad.jsonl"
    run --separate-stderr bash -c "'$SR_ROOT/scripts/mtbench' turn2 < '$T/bad.jsonl'"
    assert_failure 3
    [[ $stderr == *'line 1: key "response": missing'* ]] || { echo "$stderr"; false; }
}

@test "scripts/mtbench table: the mean per category and turn, overall, nil grades counted" {
    printf '%s\n' '{"category":"math","turn":1,"score":2}' '{"category":"math","turn":1,"score":4}' \
        '{"category":"math","turn":2,"score":6}' '{"category":"writing","turn":1,"score":9}' \
        '{"category":"writing","turn":2,"score":null}' > "$T/g.jsonl"
    run bash -c "'$SR_ROOT/scripts/mtbench' table --name M < '$T/g.jsonl'"
    assert_success
    assert_line '| writing | 9.00 | n/a | 9.00 |'
    assert_line '| math | 3.00 | 6.00 | 4.00 |'
    assert_line '| **overall** | 5.00 | 6.00 | 5.25 |'
    assert_line --partial '4 graded answers (1 to 10, the fixed judge); 1 without a grade'
}

@test "sr-judge --scale: the range is checked, and needs a --template" {
    run --separate-stderr sr-judge --scale 1-10 < /dev/null
    assert_failure 2
    [[ $stderr == *"--scale needs --template"* ]]
    echo '{prompt} {response}' > "$T/t.txt"
    for bad in 0-11 5-5 x 1-10x; do
        run --separate-stderr sr-judge --template "$T/t.txt" --scale "$bad" < /dev/null
        assert_failure 2
        [[ $stderr == *"--scale"* ]]
    done
}

@test "make mtbench on two questions: answers, turn 2, grades 1 to 10, the table" {
    need_model
    need_shared "$Q"
    head -1 "$SHARED/$Q" > "$T/q.jsonl"                      # writing, no reference
    grep '"question_id": 101' "$SHARED/$Q" >> "$T/q.jsonl"   # reasoning, with one
    cp "$SHARED/$REF" "$T/mt_bench_reference_answer_gpt-4.jsonl"
    cd "$SR_ROOT"
    run --separate-stderr make -s mtbench RUNS="$T/runs" RUN=t MTBENCH="$T/q.jsonl" MTBENCH_MAX_TOKENS=8 \
        MTBENCH_JUDGE_MAX_TOKENS=12 THREADS=2 BIN="$SR_BIN"
    assert_success
    [[ $output == *"# MT-Bench: M0"* && $output == *"| writing |"* && $output == *"| reasoning |"* &&
       $output == *"**overall**"* ]] || { echo "$output"; echo "$stderr"; false; }
    M=$T/runs/t/mtbench
    [ "$(sr-cat -n -i "$M/answers2-M0.mp")" -eq 2 ]
    run bash -c "sr-cat -i '$M/graded-M0.mp' | jq -c '[.turn, (.score == null or (.score >= 1 and .score <= 10))]' | sort"
    assert_output $'[1,true]\n[1,true]\n[2,true]\n[2,true]'
    # turn 2 continued the model's own first answer
    run bash -c "sr-cat -i '$M/turn2-M0.mp' | jq -r 'select(.question_id == 101) | .messages[1].content'"
    [ "$output" = "$(sr-cat -i "$M/answers1-M0.mp" | jq -r 'select(.question_id == 101) | .response')" ]
}
