#!/usr/bin/env bats
# sr-join: two record streams joined on a key, run as the pipeline runs it
# (two models' answers to the same prompts -> sr-judge --pairwise records).

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
    # A: answers to p1 p2 p3; B: to p2 p1 p4 (another order, p3 and p4 one-sided).
    jq -nc '{id:"a1",prompt_id:"p1",prompt:"Q1",response:"A one",sample:0,tokens:2},
            {id:"a2",prompt_id:"p2",prompt:"Q2",response:"A two",sample:0,tokens:2},
            {id:"a3",prompt_id:"p3",prompt:"Q3",response:"A three",sample:0,tokens:3}' | sr-cat --from-json > "$T/A.mp"
    jq -nc '{id:"b2",prompt_id:"p2",prompt:"Q2",response:"B two",sample:0,tokens:5},
            {id:"b1",prompt_id:"p1",prompt:"Q1",response:"B one",sample:0,tokens:2},
            {id:"b4",prompt_id:"p4",prompt:"Q4",response:"B four",sample:0,tokens:2}' | sr-cat --from-json > "$T/B.mp"
}

@test "join: A's order, id = the key, the field per side, agreed keys kept once, differing ones left out" {
    run bash -c 'sr-join "$1/A.mp" "$1/B.mp" 2> "$1/err" | sr-cat' _ "$T"
    assert_success
    assert_output "$(printf '%s\n' \
        '{"id":"p1","prompt_id":"p1","prompt":"Q1","sample":0,"tokens":2,"response_a":"A one","response_b":"B one"}' \
        '{"id":"p2","prompt_id":"p2","prompt":"Q2","sample":0,"response_a":"A two","response_b":"B two"}')"
    # one-sided keys are counted and named, not dropped silently
    grep -qF '1 prompt_id values only in '"$T"'/A.mp (first "p3"), not in '"$T"'/B.mp: left out of the join' "$T/err"
    grep -qF '1 prompt_id values only in '"$T"'/B.mp (first "p4")' "$T/err"
    grep -qF '2 joined on prompt_id; 1 only in' "$T/err"
}

@test "join: --field names several fields, --key another key, B from standard input" {
    run bash -c 'sr-join -q -f response,tokens "$1/A.mp" "$1/B.mp" 2>/dev/null | sr-cat --keys id,response_a,response_b,tokens_a,tokens_b' _ "$T"
    assert_success
    assert_line --index 1 '{"id":"p2","response_a":"A two","response_b":"B two","tokens_a":2,"tokens_b":5}'
    run bash -c 'sr-join -q -k prompt "$1/A.mp" - < "$1/B.mp" 2>/dev/null | sr-cat --keys id,prompt_id' _ "$T"
    assert_success
    assert_output "$(printf '%s\n' '{"id":"Q1","prompt_id":"p1"}' '{"id":"Q2","prompt_id":"p2"}')"
}

@test "join: its output is what sr-judge --pairwise reads (and --winrate counts)" {
    sr-join -q "$T/A.mp" "$T/B.mp" | sr-cat --keys id,prompt,response_a,response_b > "$T/j.json"
    run jq -e -s 'length == 2 and all(.[]; (.id|type) == "string" and (.prompt|type) == "string"
        and (.response_a|type) == "string" and (.response_b|type) == "string")' "$T/j.json"
    assert_success
}

@test "join: -q keeps the one-sided report; --strict makes it bad input" {
    run -0 --separate-stderr sr-join -q -o "$T/o.mp" "$T/A.mp" "$T/B.mp"
    [[ "$stderr" == *'only in '"$T"'/A.mp (first "p3")'* ]]
    [[ "$stderr" != *joined* ]]
    run -3 --separate-stderr sr-join --strict -o "$T/s.mp" "$T/A.mp" "$T/B.mp"
    [[ "$stderr" == *'only in '"$T"'/A.mp (first "p3"), not in '"$T"'/B.mp (--strict)'* ]]
    [ ! -e "$T/s.mp" ] || [ "$(sr-cat -n -i "$T/s.mp")" = 2 ]
}

@test "join: bad input exits 3 naming the file, the record and the key" {
    jq -nc '{id:"x",prompt:"Q"}' | sr-cat --from-json > "$T/nokey.mp"
    run -3 --separate-stderr sr-join "$T/nokey.mp" "$T/B.mp"
    [[ "$stderr" == *'record 1 (id "x"): key "prompt_id": in '"$T"'/nokey.mp: missing (the join key)'* ]]
    jq -nc '{id:"y",prompt_id:7,response:"r"}' | sr-cat --from-json > "$T/intkey.mp"
    run -3 --separate-stderr sr-join "$T/A.mp" "$T/intkey.mp"
    [[ "$stderr" == *'key "prompt_id": in '"$T"'/intkey.mp: expected a string'* ]]
    jq -nc '{id:"z",prompt_id:"p1",prompt:"Q1"}' | sr-cat --from-json > "$T/nofield.mp"
    run -3 --separate-stderr sr-join "$T/A.mp" "$T/nofield.mp"
    [[ "$stderr" == *'record 1 (id "z"): key "response": in '"$T"'/nofield.mp: missing (a --field)'* ]]
    cat "$T/A.mp" "$T/A.mp" > "$T/twice.mp"
    run -3 --separate-stderr sr-join "$T/twice.mp" "$T/B.mp"
    [[ "$stderr" == *'record 4 (id "a1"): key "prompt_id": in '"$T"'/twice.mp: "p1" again (first at record 1)'* ]]
    # --skip-bad: the first of the two is joined
    run -0 --separate-stderr sr-join -q --skip-bad -o "$T/o.mp" "$T/twice.mp" "$T/B.mp"
    [ "$(sr-cat -n -i "$T/o.mp")" = 2 ]
}

@test "join: usage errors exit 2" {
    run -2 sr-join "$T/A.mp"
    run -2 sr-join - -
    run -2 sr-join -i "$T/A.mp" "$T/A.mp" "$T/B.mp"
    run -2 sr-join -f prompt_id "$T/A.mp" "$T/B.mp"
    run -2 sr-join -f id "$T/A.mp" "$T/B.mp"
    run -0 sr-join --help
    assert_output --partial 'Usage: sr-join [OPTION]... A B'
}
