#!/usr/bin/env bats
# sr-judge: the --eval mode (agreement of judged scores with human rankings),
# run as a user would. No model is needed for any test here.

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
}

# Judged ranked records, prompts interleaved. Computed by hand (the same
# prompts as tests/unit/test_agreement.c):
#   A ranks 0 1 2, scores 5 4 3:    3 pairs agree; one 5, the best; exact; rho 1, tau 1
#   B ranks 0 1 2, scores 4 4 5:    (0,1) tied, two reversed; one 5, rank 2 (not best);
#                                   not exact; rho -sqrt(3)/2, tau-b -2/sqrt(6)
#   C ranks 0 1,   scores 3 3:      one pair, tied; not exact; scores constant: no rho
#   D rank 0 alone:                 left out (fewer than 2 scored)
#   E ranks 1 1 3, scores 14/3 5 2, and rank 0 with a nil score (left out, so
#     rank 1 is E's best): pairs (0,2) (1,2) agree; two 5s (means >= 4.5), both best;
#     not exact (5 > 14/3 but equal ranks); rho +sqrt(3)/2, tau-b +2/sqrt(6)
# Totals: 4 prompts, 11 replies, 9 pairs, 5 agree (55.6%), 2 tied (22.2%);
# 5-best 3 of 4 (75.0%); exact 1 of 4 (25.0%); rho and tau-b over A B E: 1/3.
fixture() {
    cat > "$T/e.json" <<'EOF'
{"id":"a0","prompt_id":"A","prompt":"pa","response":"x","human_rank":0,"score":5,"scores":[5,5,5]}
{"id":"b0","prompt_id":"B","prompt":"pb","response":"x","human_rank":0,"score":4}
{"id":"a1","prompt_id":"A","prompt":"pa","response":"x","human_rank":1,"score":4}
{"id":"a2","prompt_id":"A","prompt":"pa","response":"x","human_rank":2,"score":3}
{"id":"b1","prompt_id":"B","prompt":"pb","response":"x","human_rank":1,"score":4.0}
{"id":"b2","prompt_id":"B","prompt":"pb","response":"x","human_rank":2,"score":5}
{"id":"c0","prompt_id":"C","prompt":"pc","response":"x","human_rank":0,"score":3}
{"id":"c1","prompt_id":"C","prompt":"pc","response":"x","human_rank":1,"score":3}
{"id":"d0","prompt_id":"D","prompt":"pd","response":"x","human_rank":0,"score":5}
{"id":"e0","prompt_id":"E","prompt":"pe","response":"x","human_rank":1,"score":4.666666666666667}
{"id":"e1","prompt_id":"E","prompt":"pe","response":"x","human_rank":1,"score":5}
{"id":"e2","prompt_id":"E","prompt":"pe","response":"x","human_rank":3,"score":2}
{"id":"e3","prompt_id":"E","prompt":"pe","response":"x","human_rank":0,"score":null}
EOF
    sr-cat --from-json < "$T/e.json" > "$T/e.mp"
}

@test "--eval prints the five measures, computed by hand" {
    fixture
    run sr-judge --eval < "$T/e.mp"
    assert_success
    assert_line 'judge agreement with human rankings: 4 prompts, 11 replies, 9 pairs'
    assert_line --regexp '^pairwise accuracy +55\.6% +\(5 of 9 pairs .*judge ties 22\.2% of them, counted as not agreeing\)$'
    assert_line --regexp '^5-best +75\.0% +\(3 of 4 replies scored 5, a mean score >= 4\.5'
    assert_line --regexp '^exact match +25\.0% +\(1 of 4 prompts'
    assert_line --regexp '^Spearman rho +0\.333 +\(mean over 3 prompts'
    assert_line --regexp '^Kendall tau-b +0\.333$'
    assert_line 'left out           1 replies with a nil score, 1 prompts with fewer than 2 scored replies'
}

@test "--eval-json writes the measures as one JSON object" {
    fixture
    sr-judge --eval --eval-json "$T/m.json" -i "$T/e.mp" > /dev/null
    [ "$(wc -l < "$T/m.json")" -eq 1 ]
    run jq -c '[.prompts, .replies, .pairs, .pairs_agree, .pairs_tied, .fives, .fives_best, .exact, .corr_prompts, .nil_scores, .single_prompts]' "$T/m.json"
    assert_output '[4,11,9,5,2,4,3,1,3,1,1]'
    run jq -r '[.pairwise_accuracy, .tie_share, .five_best, .exact_match, .spearman, .kendall_tau] | map(. * 1e6 | round) | @csv' "$T/m.json"
    assert_output '555556,222222,750000,250000,333333,333333'
}

@test "--eval: input order does not matter" {
    fixture
    sr-judge --eval < "$T/e.mp" > "$T/a.txt"
    tac "$T/e.json" | sr-cat --from-json | sr-judge --eval > "$T/b.txt"
    cmp "$T/a.txt" "$T/b.txt"
}

@test "--eval on scores that follow the human ranks exactly: 100%, rho = tau = 1" {
    sr-filter-oasst --ranked -i "$EXAMPLES/oasst-sample.jsonl" 2> /dev/null |
        sr-cat | jq -c '.score = 5 - .human_rank' | sr-cat --from-json > "$T/r.mp"
    sr-judge --eval --eval-json "$T/m.json" < "$T/r.mp" > /dev/null
    run jq -c '[.pairwise_accuracy, .tie_share, .exact_match, .spearman, .kendall_tau]' "$T/m.json"
    assert_output '[1,0,1,1,1]'
    [ "$(jq .prompts "$T/m.json")" -gt 10 ]
    # and reversed: every pair disagrees
    sr-cat < "$T/r.mp" | jq -c '.score = .human_rank' | sr-cat --from-json | sr-judge --eval --eval-json "$T/m2.json" > /dev/null
    run jq -c '[.pairwise_accuracy, .exact_match, .spearman, .kendall_tau]' "$T/m2.json"
    assert_output '[0,0,-1,-1]'
}

@test "--eval: the length preference of the judge beside the humans', in characters" {
    # One prompt, replies of 10 (20 bytes), 30, 20 and 30 characters; ranks
    # 0 1 2 3, scores 2 5 5 1 (tests/unit/test_agreement.c works it by hand):
    # the judge favours the longer in 2 of the 4 pairs it scores apart,
    # humans in 1 of the 5 they rank apart. Counted in bytes it would be 1 of
    # 3 and 1 of 4.
    e=$(printf 'é%.0s' {1..10}) a=$(printf 'a%.0s' {1..30}) b=$(printf 'b%.0s' {1..20}) c=$(printf 'c%.0s' {1..30})
    {
        echo "{\"id\":\"0\",\"prompt_id\":\"P\",\"response\":\"$e\",\"human_rank\":0,\"score\":2}"
        echo "{\"id\":\"1\",\"prompt_id\":\"P\",\"response\":\"$a\",\"human_rank\":1,\"score\":5}"
        echo "{\"id\":\"2\",\"prompt_id\":\"P\",\"response\":\"$b\",\"human_rank\":2,\"score\":5}"
        echo "{\"id\":\"3\",\"prompt_id\":\"P\",\"response\":\"$c\",\"human_rank\":3,\"score\":1}"
    } | sr-cat --from-json > "$T/l.mp"
    run sr-judge --eval --eval-json "$T/m.json" < "$T/l.mp"
    assert_success
    assert_line --regexp '^prefers longer +50\.0% +\(2 of 4 pairs .*\); humans 20\.0% \(1 of 5 ranked apart'
    run jq -c '[.judge_prefers_longer, .judge_length_pairs, .human_prefers_longer, .human_length_pairs]' "$T/m.json"
    assert_output '[0.5,4,0.2,5]'
    # all replies the same length (the fixture): nothing to compare
    fixture
    run sr-judge --eval < "$T/e.mp"
    assert_line --regexp '^prefers longer +n/a +\(0 of 0 pairs'
}

@test "--eval with nothing to measure prints n/a and JSON nulls" {
    echo '{"prompt_id":"p","human_rank":0,"score":null}' | sr-cat --from-json > "$T/n.mp"
    run sr-judge --eval --eval-json "$T/m.json" < "$T/n.mp"
    assert_success
    assert_line --regexp '^pairwise accuracy +n/a'
    run jq -c '[.prompts, .nil_scores, .pairwise_accuracy, .spearman, .judge_prefers_longer]' "$T/m.json"
    assert_output '[0,1,null,null,null]'
}

@test "--eval: bad records exit 3 naming the record and key, or are skipped with --skip-bad" {
    fixture
    while IFS='|' read -r line key what; do
        { head -3 "$T/e.json"; echo "$line"; tail -n +4 "$T/e.json"; } | sr-cat --from-json > "$T/b.mp"
        run --separate-stderr sr-judge --eval < "$T/b.mp"
        assert_failure 3
        [[ $stderr == *"record 4"*"key \"$key\": $what"* ]] || { echo "$stderr"; false; }
        run --separate-stderr sr-judge --eval --skip-bad < "$T/b.mp"
        assert_success
        assert_line 'judge agreement with human rankings: 4 prompts, 11 replies, 9 pairs'
        [[ $stderr == *"skipped 1 bad record"* ]]
    done <<'EOF'
{"id":"z","human_rank":0,"score":1}|prompt_id|missing
{"id":"z","prompt_id":"A","score":1}|human_rank|missing
{"id":"z","prompt_id":"A","human_rank":"0","score":1}|human_rank|expected an integer
{"id":"z","prompt_id":"A","human_rank":0}|score|missing
{"id":"z","prompt_id":"A","human_rank":0,"score":[4]}|score|expected a finite number or nil, got an array
{"id":"z","prompt_id":"A","human_rank":0,"score":1,"response":7}|response|expected a string, got an integer
EOF
}

@test "--eval -o FILE writes the report there" {
    fixture
    sr-judge --eval -i "$T/e.mp" -o "$T/report.txt"
    grep -q '^exact match  *25.0%' "$T/report.txt"
}

@test "--eval-json without --eval is a usage error" {
    run sr-judge --eval-json "$T/m.json" < /dev/null
    assert_failure 2
    [ ! -e "$T/m.json" ]
}

@test "--help exits 0 and names the options" {
    run sr-judge --help
    assert_success
    assert_line --partial "Usage: sr-judge"
    assert_output --partial "--eval-json FILE"
    assert_output --partial "--template FILE"
}

@test "an unknown option exits 2" {
    run --separate-stderr sr-judge --no-such-option
    assert_failure 2
    [[ $stderr == *"--no-such-option"* ]]
}

# ---- judging, with the real model ------------------------------------------------
# The model is small and judging slow on a CPU: two short candidates, a short
# template (a short prefill), -k 2 and few tokens keep each run to seconds.

# Candidate records, as sr-gen writes them, with a key of the user's own.
candidates() {
    cat > "$T/c.json" <<'JSON'
{"id":"c1","prompt_id":"p1","prompt":"What is the capital of France?","response":"The capital of France is Paris.","sample":0,"finish":"stop","tokens":8,"tag":"mine"}
{"id":"c2","prompt_id":"p2","prompt":"Name a primary colour.","response":"Blue is a primary colour.","sample":0,"finish":"stop","tokens":7,"tag":"yours"}
JSON
    sr-cat --from-json < "$T/c.json" > "$T/c.mp"
    printf '%s\n' 'Question: {prompt}' 'Answer: {response}' \
        'What score (0-5) does the answer get? Start your reply with "Score:".' > "$T/tmpl.txt"
}

judge() { sr-judge -m "$MODEL" --template "$T/tmpl.txt" -k 2 --max-tokens 16 "$@"; }

# score is the mean of the non-nil scores, or nil when there are none
MEAN_OK='(.scores | map(select(. != null))) as $s
         | .score == (if ($s | length) > 0 then ($s | add / length) else null end)'

@test "judging: k scores per record, their mean, every key kept; --keep-text keeps the texts" {
    need_model
    candidates
    run --separate-stderr bash -c "sr-judge -m '$MODEL' --template '$T/tmpl.txt' -k 2 --max-tokens 16 --keep-text -i '$T/c.mp' | sr-cat"
    assert_success
    echo "$output" > "$T/j.jsonl"
    [ "$(wc -l < "$T/j.jsonl")" -eq 2 ]
    run jq -r '.id' "$T/j.jsonl"
    assert_output $'c1\nc2'
    run jq -c "[($MEAN_OK), (.scores | length), (.judgements | length),
                (.scores | all(. == null or (type == \"number\" and . == floor and . >= 0 and . <= 5))),
                (.judgements | all(type == \"string\" and length > 0))]" "$T/j.jsonl"
    assert_output $'[true,2,2,true,true]\n[true,2,2,true,true]'
    # the input's keys, in their order, then the new ones
    run jq -c 'keys_unsorted' "$T/j.jsonl"
    assert_line --index 0 '["id","prompt_id","prompt","response","sample","finish","tokens","tag","score","scores","judgements"]'
    run jq -r '.tag' "$T/j.jsonl"
    assert_output $'mine\nyours'
    # the stderr summary
    [[ $stderr == *"2 records, 4 judgements"* ]] || { echo "$stderr"; false; }
    [[ $stderr == *"scores: 0: "*"5: "* && $stderr == *"tokens/s"* ]]
    # the same judgements without --keep-text: no texts, the same scores
    judge -q -i "$T/c.mp" | sr-cat > "$T/n.jsonl"
    run jq -c 'has("judgements")' "$T/n.jsonl"
    assert_output $'false\nfalse'
    diff <(jq -c '[.score, .scores]' "$T/j.jsonl") <(jq -c '[.score, .scores]' "$T/n.jsonl")
}

@test "judging: the same output for any --batch and --threads, and shards make up the whole" {
    need_model
    candidates
    # (most judgements by this model have no score, so retries are drawn too;
    # forcing has its own test below)
    judge -q --seed 5 --no-force-score --retries 1 --batch 1 --threads 1 -i "$T/c.mp" > "$T/b1.mp"
    judge -q --seed 5 --no-force-score --retries 1 --batch 8 -i "$T/c.mp" > "$T/b8.mp"
    cmp "$T/b1.mp" "$T/b8.mp"
    { judge -q --seed 5 --no-force-score --retries 1 --shard 0/2 -i "$T/c.mp"
      judge -q --seed 5 --no-force-score --retries 1 --shard 1/2 -i "$T/c.mp"; } | sr-cat | sort > "$T/sh"
    sr-cat < "$T/b1.mp" | sort > "$T/whole"
    [ "$(wc -l < "$T/whole")" -eq 2 ]
    cmp "$T/whole" "$T/sh"
}

@test "judging: bad records exit 3 naming the record, or are skipped and counted" {
    need_model
    candidates
    { head -1 "$T/c.json"; echo '{"id":"nr","prompt":"A question with no response"}'; tail -1 "$T/c.json"; } |
        sr-cat --from-json > "$T/bad.mp"
    run --separate-stderr judge -i "$T/bad.mp"
    assert_failure 3
    [[ $stderr == *'record 2 (id "nr")'*'response'*missing* ]] || { echo "$stderr"; false; }

    run --separate-stderr bash -c "sr-judge -m '$MODEL' --template '$T/tmpl.txt' -k 1 --max-tokens 8 --retries 0 --skip-bad -i '$T/bad.mp' | sr-cat"
    assert_success
    [ "$(echo "$output" | jq -r .id | tr '\n' ' ')" = "c1 c2 " ]
    [[ $stderr == *"skipped 1 bad record"* ]] || { echo "$stderr"; false; }

    # a judge prompt over the budget
    run --separate-stderr judge --max-prompt-tokens 20 -i "$T/c.mp"
    assert_failure 3
    [[ $stderr == *'record 1 (id "c1")'*'--max-prompt-tokens 20'* ]] || { echo "$stderr"; false; }
}

@test "sr-judge | head -c 10 ends quietly" {
    need_model
    candidates
    run --separate-stderr bash -o pipefail -c "sr-judge -q -m '$MODEL' --template '$T/tmpl.txt' -k 2 --max-tokens 8 --retries 0 -i '$T/c.mp' | head -c 10 > /dev/null"
    assert_success
    [ -z "$stderr" ]
}

@test "a --template without {response}, or with an unknown placeholder, is a usage error" {
    printf 'Judge this: {prompt}\nScore: <points>\n' > "$T/bad.txt"
    run --separate-stderr sr-judge --template "$T/bad.txt" < /dev/null
    assert_failure 2
    [[ $stderr == *"{response}"* ]] || { echo "$stderr"; false; }
    printf '{prompt} {response} {answer}\n' > "$T/bad2.txt"
    run --separate-stderr sr-judge --template "$T/bad2.txt" < /dev/null
    assert_failure 2
    [[ $stderr == *"{answer}"* ]] || { echo "$stderr"; false; }
}

@test "judging: a malformed --shard is a usage error" {
    run --separate-stderr sr-judge --shard 2/2 < /dev/null
    assert_failure 2
    [[ $stderr == *"--shard"* ]]
}

# ---- score completion ("forced score"), on by default --------------------------
# The built-in rubric: this model seldom ends a judgement with a score line
# within 32 tokens, so most judgements here are continued with "\nScore:".

@test "forcing: every record gets a score, forced texts end with a score line, any --batch alike" {
    need_model
    candidates
    run --separate-stderr sr-judge -m "$MODEL" -k 2 --max-tokens 32 --keep-text --batch 1 --threads 1 \
        -i "$T/c.mp" -o "$T/f1.mp"
    assert_success
    [[ $stderr =~ "2 records, 4 judgements: 4 with a score, 0 without one".*" "([1-4])" forced score lines, "([0-4])" of them with a score; 0 records with a nil score" ]] ||
        { echo "$stderr"; false; }
    forced=${BASH_REMATCH[1]}
    sr-cat < "$T/f1.mp" > "$T/f1.jsonl"
    run jq -c "[($MEAN_OK), (.score != null), (.scores | all(. != null))]" "$T/f1.jsonl"
    assert_output $'[true,true,true]\n[true,true,true]'
    # a forced judgement ends with the forced line: "Score:" and its completion
    n=$(jq '[.judgements[] | select(test("\nScore: ?[0-5][^\n]*$"))] | length' "$T/f1.jsonl" | paste -sd+ | bc)
    [ "$n" -ge "$forced" ]
    # the same with another batch and thread count (and input: c2 alone, to keep it short)
    tail -1 "$T/c.json" | sr-cat --from-json > "$T/c2.mp"
    sr-judge -q -m "$MODEL" -k 2 --max-tokens 32 --keep-text --batch 8 -i "$T/c2.mp" | sr-cat > "$T/f8.jsonl"
    [ "$(wc -l < "$T/f8.jsonl")" -eq 1 ]
    tail -1 "$T/f1.jsonl" | cmp - "$T/f8.jsonl"
}

@test "--no-force-score: no completions; judgements without a score stay nil after --retries" {
    need_model
    candidates
    head -1 "$T/c.json" | sr-cat --from-json > "$T/c1.mp"
    run --separate-stderr sr-judge -m "$MODEL" -k 2 --max-tokens 8 --no-force-score --retries 0 \
        --keep-text -i "$T/c1.mp" -o "$T/n.mp"
    assert_success
    [[ $stderr == *"after 0 resamples (--retries 0)"* && $stderr != *forced* ]] || { echo "$stderr"; false; }
    # 8 tokens of the rubric's judgement: no score line, and none is forced
    run bash -c "sr-cat < '$T/n.mp' | jq -c '[.score, .scores, (.judgements | map(test(\"Score:\")) | any)]'"
    assert_output '[null,[null,null],false]'
}

@test "--score expected: the same judgements, each score the digits' probability-weighted mean there" {
    need_model
    candidates
    head -1 "$T/c.json" | sr-cat --from-json > "$T/c1.mp"
    sr-judge -q -m "$MODEL" -k 2 --max-tokens 8 --keep-text -i "$T/c1.mp" | sr-cat > "$T/s.json"
    run --separate-stderr sr-judge -m "$MODEL" -k 2 --max-tokens 8 --keep-text --score expected -i "$T/c1.mp" -o "$T/e.mp"
    assert_success
    [[ $stderr == *"sampled digits: "* && $stderr == *"expected scores: mean "*"0 left at the sampled digit"* ]] ||
        { echo "$stderr"; false; }
    sr-cat < "$T/e.mp" > "$T/e.json"
    # the log-probs do not change what is drawn: the same texts
    diff <(jq -c .judgements "$T/s.json") <(jq -c .judgements "$T/e.json")
    # reals on the scale, not all whole, their mean the score; nil where the sampled score is nil
    run jq -c "[($MEAN_OK), (.scores | all(type == \"number\" and . >= 0 and . <= 5)), (.scores | any(. != floor))]" "$T/e.json"
    assert_output '[true,true,true]'
    jq -e --slurpfile s "$T/s.json" '[.scores, $s[0].scores] | transpose | all((.[0] == null) == (.[1] == null))' "$T/e.json"
    run sr-judge --score mean < /dev/null
    assert_failure 2
    run sr-judge --score expected --pairwise < /dev/null
    assert_failure 2
}

# ---- --retries with forcing, on a tiny random model --------------------------------
# A random model's forced "Score:" line seldom continues with a digit, so the
# judgements below end with no score even after forcing: --retries draws them
# again (the whole judgement, then its forced line, from the attempt's streams).

@test "--retries: a judgement whose forced line gives no score is drawn again, deterministically" {
    write_tiny_model "$T/tiny.gguf" --seed 2
    candidates
    printf '%s\n' 'Q: {prompt}' 'A: {response}' 'Score:' > "$T/tmpl.txt"
    tj() { sr-judge -m "$T/tiny.gguf" --template "$T/tmpl.txt" -k 3 --max-tokens 8 --max-prompt-tokens 128 \
               --keep-text -i "$T/c.mp" "$@"; }
    run --separate-stderr tj --retries 0 -o "$T/r0.mp"
    assert_success
    [[ $stderr == *"0 with a score, 6 without one"*"6 forced score lines, 0 of them with a score; 2 records with a nil score; 0 resamples"* ]] ||
        { echo "$stderr"; false; }
    run --separate-stderr tj --retries 3 --batch 1 -o "$T/r3.mp"
    assert_success
    # 6 failed at first, so 6 resamples in round 1, and the fewer still failing after each
    [[ $stderr =~ "; "([0-9]+)" forced score lines, "([1-6])" of them with a score; "[0-9]+" records with a nil score; "([0-9]+)" resamples where the forced line gave none (--retries 3)" ]] ||
        { echo "$stderr"; false; }
    local forced=${BASH_REMATCH[1]} ok=${BASH_REMATCH[2]} resampled=${BASH_REMATCH[3]}
    [ "$resampled" -gt 6 ] && [ "$resampled" -le 18 ] && [ "$forced" -eq $((6 + resampled)) ]
    # the scores the retries found are in the records, each from a forced line
    sr-cat < "$T/r3.mp" > "$T/r3.json"
    [ "$(jq '[.scores[] | select(. != null)] | length' "$T/r3.json" | paste -sd+ | bc)" -eq "$ok" ]
    jq -e '[.scores, .judgements] | transpose[] | select(.[0] != null) | .[1] | test("\nScore: ?[0-5][^\n]*$")' \
        "$T/r3.json" > /dev/null
    # the same records for any --batch
    tj -q --retries 3 --batch 7 | sr-cat | cmp - "$T/r3.json"
}
