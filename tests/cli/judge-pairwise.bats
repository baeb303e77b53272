#!/usr/bin/env bats
# sr-judge --pairwise: which of two replies is better, asked in both orders,
# run as a user would with the real model (a short template and few tokens
# keep each run to seconds).

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
}

pairs() {
    cat > "$T/p.json" <<'JSON'
{"id":"q1","prompt":"What is the capital of France?","response_a":"Paris.","response_b":"I like turtles.","tag":"mine"}
{"id":"q2","prompt":"Name a primary colour.","response_a":"Banana","response_b":"Red.","tag":"yours"}
{"id":"q3","prompt":"What is 2+2?","response_a":"4","response_b":"Five.","tag":"x"}
JSON
    sr-cat --from-json < "$T/p.json" > "$T/p.mp"
    printf '%s\n' 'Question: {prompt}' 'Answer A: {response_a}' 'Answer B: {response_b}' \
        'Which answer is better? Reply with "Verdict: A", "Verdict: B" or "Verdict: tie".' > "$T/tmpl.txt"
}

pw() { sr-judge --pairwise -m "$MODEL" --template "$T/tmpl.txt" --max-tokens 12 "$@"; }

# verdict is the two orders' verdict when they agree, else a tie (nil if either is nil)
COMBINED='(.verdicts) as [$x, $y]
          | .verdict == (if $x == null or $y == null then null elif $x == $y then $x else "tie" end)'

@test "--pairwise: a verdict from both orders, every key kept, the summary counts them" {
    need_model
    pairs
    run --separate-stderr bash -c "sr-judge --pairwise -m '$MODEL' --template '$T/tmpl.txt' --max-tokens 12 --keep-text -i '$T/p.mp' | sr-cat"
    assert_success
    echo "$output" > "$T/j.jsonl"
    run jq -r '.id' "$T/j.jsonl"
    assert_output $'q1\nq2\nq3'
    run jq -c "[($COMBINED), (.verdicts | length), (.verdicts | all(. == \"a\" or . == \"b\" or . == \"tie\")),
                (.judgements | length)]" "$T/j.jsonl"
    assert_output $'[true,2,true,2]\n[true,2,true,2]\n[true,2,true,2]'
    run jq -c 'keys_unsorted' "$T/j.jsonl"
    assert_line --index 0 '["id","prompt","response_a","response_b","tag","verdict","verdicts","judgements"]'
    [[ $stderr =~ "3 records: a "[0-3]", b "[0-3]", tie "[0-3]" ("[0-3]" of them orders that disagreed), no verdict 0" ]] ||
        { echo "$stderr"; false; }
    [[ $stderr == *"position disagreement"*"the answer shown first won"* ]] || { echo "$stderr"; false; }
    # a judgement without a verdict line is continued with the forced one
    n=$(jq '[.judgements[] | select(test("\nVerdict:[^\n]*$"))] | length' "$T/j.jsonl" | paste -sd+ | bc)
    [[ $stderr =~ ([0-9]+)" forced verdict lines" ]] && [ "$n" -ge "${BASH_REMATCH[1]}" ]
}

@test "--pairwise: swapping the replies swaps the verdicts (greedy), whatever the position bias" {
    need_model
    pairs
    pw -q --temperature 0 -i "$T/p.mp" | sr-cat > "$T/ab.jsonl"
    jq -c '{id, prompt, response_a: .response_b, response_b: .response_a}' "$T/p.json" |
        sr-cat --from-json > "$T/ba.mp"
    pw -q --temperature 0 -i "$T/ba.mp" | sr-cat > "$T/ba.jsonl"
    sw='def s: if . == "a" then "b" elif . == "b" then "a" else . end;'
    diff <(jq -c "$sw [(.verdict | s), (.verdicts | reverse | map(s))]" "$T/ab.jsonl") \
         <(jq -c '[.verdict, .verdicts]' "$T/ba.jsonl")
}

@test "--pairwise: the same output for any --batch and --threads, and shards make up the whole" {
    need_model
    pairs
    pw -q --seed 3 --batch 1 --threads 1 -i "$T/p.mp" > "$T/b1.mp"
    pw -q --seed 3 --batch 8 -i "$T/p.mp" > "$T/b8.mp"
    cmp "$T/b1.mp" "$T/b8.mp"
    { pw -q --seed 3 --shard 0/2 -i "$T/p.mp"; pw -q --seed 3 --shard 1/2 -i "$T/p.mp"; } | sr-cat | sort > "$T/sh"
    sr-cat < "$T/b1.mp" | sort > "$T/whole"
    cmp "$T/whole" "$T/sh"
}

@test "--pairwise: bad records exit 3 naming the record and field, or are skipped and counted" {
    need_model
    pairs
    { head -1 "$T/p.json"; echo '{"id":"nb","prompt":"P","response_a":"x"}'; } | sr-cat --from-json > "$T/bad.mp"
    run --separate-stderr pw -i "$T/bad.mp"
    assert_failure 3
    [[ $stderr == *'record 2 (id "nb")'*'response_b'*missing* ]] || { echo "$stderr"; false; }
    run --separate-stderr bash -c "sr-judge --pairwise -m '$MODEL' --template '$T/tmpl.txt' --max-tokens 4 --skip-bad -i '$T/bad.mp' | sr-cat"
    assert_success
    [ "$(echo "$output" | jq -r .id)" = q1 ]
    [[ $stderr == *"skipped 1 bad record"* ]] || { echo "$stderr"; false; }
    run --separate-stderr pw --max-prompt-tokens 10 -i "$T/p.mp"
    assert_failure 3
    [[ $stderr == *'record 1 (id "q1")'*'--max-prompt-tokens 10'* ]] || { echo "$stderr"; false; }
}

@test "--pairwise: a template without both replies, or mixed with --eval or --no-force-score, is a usage error" {
    printf '{prompt}\n{response_a}\n' > "$T/one.txt"
    run --separate-stderr sr-judge --pairwise --template "$T/one.txt" < /dev/null
    assert_failure 2
    [[ $stderr == *"{response_b} is missing"* ]] || { echo "$stderr"; false; }
    printf '{prompt}\n{response}\n' > "$T/point.txt"
    run --separate-stderr sr-judge --pairwise --template "$T/point.txt" < /dev/null
    assert_failure 2
    [[ $stderr == *'unknown placeholder "{response}"'*'{response_a} and {response_b}'* ]] || { echo "$stderr"; false; }
    run --separate-stderr sr-judge --pairwise --eval < /dev/null
    assert_failure 2
    run --separate-stderr sr-judge --pairwise --no-force-score < /dev/null
    assert_failure 2
    [[ $stderr == *"--no-force-score"* ]]
}

# ---- --winrate: the head-to-head report, no model ------------------------------
# Hand-made verdicts: a, a, tie, b and a nil one; q2's orders disagreed.
# win 2/4, tie 1/4, loss 1/4, win rate (2 + 1/2) / 4 = 62.5%.
verdicts() {
    cat > "$T/v.json" <<'JSON'
{"id":"q1","prompt":"p","response_a":"long answer here","response_b":"short","verdict":"a","verdicts":["a","a"]}
{"id":"q2","prompt":"p","response_a":"x","response_b":"yy","verdict":"tie","verdicts":["a","b"]}
{"id":"q3","prompt":"p","response_a":"abc","response_b":"abcd","verdict":"a","verdicts":["a","a"]}
{"id":"q4","prompt":"p","response_a":"é","response_b":"b","verdict":"b","verdicts":["b","b"]}
{"id":"q5","prompt":"p","response_a":"a","response_b":"b","verdict":null,"verdicts":[null,"a"]}
JSON
    sr-cat --from-json < "$T/v.json" > "$T/v.mp"
}

@test "--winrate: shares, win rate and LC win rate with intervals, lengths, position disagreement" {
    verdicts
    run --separate-stderr sr-judge --winrate --eval-json "$T/w.json" -i "$T/v.mp"
    assert_success
    [[ $output == *"4 prompts (1 with no verdict left out)"* ]] || { echo "$output"; false; }
    assert_line --regexp '^win +50\.0%  \[ *[0-9.]+%, *[0-9.]+%\]$'
    assert_line --regexp '^tie +25\.0%'
    assert_line --regexp '^loss +25\.0%'
    assert_line --regexp '^win rate +62\.5%.*wins \+ ties / 2'
    assert_line --regexp '^LC win rate +[0-9.]+%.*length-controlled'
    # characters, not bytes: a's mean (16 + 1 + 3 + 1) / 4, b's (5 + 2 + 4 + 1) / 4
    assert_line 'mean length    a 5, b 3 characters'
    assert_line --partial 'position disagreement 25.0% (1 of 4 records'
    run jq -c '[.prompts, .no_verdict, .win, .tie, .loss, .win_rate, .both_orders, .position_disagreement,
                (.win_rate_lo <= .win_rate and .win_rate <= .win_rate_hi), (.lc_win_rate | type)]' "$T/w.json"
    assert_output '[4,1,0.5,0.25,0.25,0.625,4,0.25,true,"number"]'
    # the same seed, the same intervals
    sr-judge --winrate -i "$T/v.mp" > "$T/again.txt"
    [ "$output" != "" ] && diff <(sr-judge --winrate -i "$T/v.mp") "$T/again.txt"
}

@test "--winrate: a bad verdict exits 3 naming the record and field; nothing to report exits 3" {
    verdicts
    { head -2 "$T/v.json"; echo '{"id":"bad","response_a":"a","response_b":"b","verdict":"c"}'; } |
        sr-cat --from-json > "$T/bad.mp"
    run --separate-stderr sr-judge --winrate -i "$T/bad.mp"
    assert_failure 3
    [[ $stderr == *'record 3 (id "bad")'*'verdict'* ]] || { echo "$stderr"; false; }
    run --separate-stderr sr-judge --winrate --skip-bad -i "$T/bad.mp"
    assert_success
    [[ $output == *"2 prompts"* && $stderr == *"skipped 1 bad record"* ]] || { echo "$output $stderr"; false; }
    echo '{"id":"n","response_a":"a","response_b":"b","verdict":null}' | sr-cat --from-json > "$T/nil.mp"
    run --separate-stderr sr-judge --winrate -i "$T/nil.mp"
    assert_failure 3
    [[ $stderr == *"no record with a verdict"* ]]
    run --separate-stderr sr-judge --winrate --pairwise < /dev/null
    assert_failure 2
}
