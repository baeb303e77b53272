#!/usr/bin/env bats
# sr-pairs: preference pairs (and --eft examples) from judged records, run as
# a user would. Fixtures are JSON lines made here with jq, turned into
# msgpack with sr-cat --from-json.

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
}

# Candidates of one prompt: cands PROMPT_ID '[scores]' — sample i gets score
# i (null: nil) and the response "P-i" padded with x to 10*(i+1) characters.
cands() {
    jq -nc --arg p "$1" --argjson s "$2" '$s | to_entries[] |
        {id: "\($p)-\(.key)", prompt_id: $p, prompt: "Question \($p)?",
         response: ("\($p)-\(.key)" + ("x" * (10 * (.key + 1)))), sample: .key, score: .value}'
}

# Pairs as compact JSON, keys picked: pairs_json [sr-pairs options]
pairs_json() {
    sr-pairs "$@" < "$T/c.mp" 2> "$T/err" | sr-cat --keys prompt_id,chosen_id,rejected_id,chosen_score,rejected_score
}

# The plain fixture, prompts interleaved (the input need not be grouped):
#   p1 scores 3 5 1 4   -> chosen p1-1 (5), rejected p1-2 (1)
#   p2 scores 2 2 2     -> tie, dropped
#   p3 scores 4 nil 2   -> nil left out; chosen p3-0, rejected p3-2
#   p4 scores nil 3     -> fewer than 2 scored, dropped
#   p5 scores 5 5 1 1   -> ties for top and bottom: the lowest sample wins: p5-0, p5-2
plain_fixture() {
    { cands p1 '[3,5,1,4]'; cands p2 '[2,2,2]'; cands p3 '[4,null,2]'; cands p4 '[null,3]';
      cands p5 '[5,5,1,1]'; } > "$T/all.json"
    # interleave: every other line moved to the end
    { awk 'NR % 2 == 1' "$T/all.json"; awk 'NR % 2 == 0' "$T/all.json"; } | sr-cat --from-json > "$T/c.mp"
}

@test "pairs: highest chosen, lowest rejected; ties, nil scores and single prompts dropped and counted" {
    plain_fixture
    run pairs_json
    assert_success
    assert_output "$(printf '%s\n' \
        '{"prompt_id":"p1","chosen_id":"p1-1","rejected_id":"p1-2","chosen_score":5.0,"rejected_score":1.0}' \
        '{"prompt_id":"p3","chosen_id":"p3-0","rejected_id":"p3-2","chosen_score":4.0,"rejected_score":2.0}' \
        '{"prompt_id":"p5","chosen_id":"p5-0","rejected_id":"p5-2","chosen_score":5.0,"rejected_score":1.0}')"
    grep -q '16 candidates (2 nil scores), 5 prompts: 3 pairs; dropped: ties 1, fewer than 2 scored 1, gap 0' "$T/err"
    grep -q 'candidate scores (rounded): 0:0 1:3 2:4 3:2 4:2 5:3' "$T/err"
}

@test "pairs carry the texts, a content id, and the chosen record's other keys" {
    { cands q '[1,4]' | jq -c '. + {source: "gen", system: "Be brief.", mine: {"a": [1, 2]}, finish: "stop", tokens: 7}'; } |
        sr-cat --from-json > "$T/c.mp"
    run bash -c 'sr-pairs -q < "$1" | sr-cat' _ "$T/c.mp"
    assert_success
    assert_output --regexp '^\{"id":"[0-9a-f]{16}","prompt_id":"q","prompt":"Question q\?","source":"gen","system":"Be brief.","mine":\{"a":\[1,2\]\},"chosen":"q-1x{20}","rejected":"q-0x{10}","chosen_score":4.0,"rejected_score":1.0,"chosen_id":"q-1","rejected_id":"q-0"\}$'
    # the id depends on the prompt and both candidates' ids, not on their order or other keys
    id=$(sr-pairs -q < "$T/c.mp" | sr-cat --keys id)
    cands q '[1,4]' | tac | sr-cat --from-json | sr-pairs -q | sr-cat --keys id | grep -qxF "$id"
    cands q '[1,4,0]' | sr-cat --from-json | sr-pairs -q | sr-cat --keys id | grep -vqxF "$id"
}

@test "ties for the top without sample indices go to the smaller id" {
    printf '%s\n' '{"id":"b","prompt_id":"p","prompt":"P","response":"1","score":3}' \
                  '{"id":"a","prompt_id":"p","prompt":"P","response":"2","score":3}' \
                  '{"id":"c","prompt_id":"p","prompt":"P","response":"3","score":0.5}' \
                  '{"id":"d","prompt_id":"p","prompt":"P","response":"4","score":0.5,"sample":9}' | sr-cat --from-json > "$T/c.mp"
    run pairs_json
    assert_output '{"prompt_id":"p","chosen_id":"a","rejected_id":"d","chosen_score":3.0,"rejected_score":0.5}'
}

@test "--min-gap D drops pairs whose gap is below D, counted" {
    plain_fixture
    run pairs_json --min-gap 3
    assert_success
    assert_output "$(printf '%s\n' \
        '{"prompt_id":"p1","chosen_id":"p1-1","rejected_id":"p1-2","chosen_score":5.0,"rejected_score":1.0}' \
        '{"prompt_id":"p5","chosen_id":"p5-0","rejected_id":"p5-2","chosen_score":5.0,"rejected_score":1.0}')"
    grep -q '2 pairs; dropped: ties 1, fewer than 2 scored 1, gap 1' "$T/err"
    # a gap equal to D is kept, also for means that are not exact in binary
    jq -nc '{id:"a",prompt_id:"m",prompt:"P",response:"r",score:(13/3)}, {id:"b",prompt_id:"m",prompt:"P",response:"s",score:(10/3)}' |
        sr-cat --from-json > "$T/c.mp"
    run pairs_json --min-gap 1
    assert_output --partial '"chosen_id":"a","rejected_id":"b"'
    run pairs_json --min-gap 1.01
    assert_output ""
}

# Length control: scores 5 4.8 1 1.2 with lengths 100 10 5 200 characters,
# so that the plain rule and length control pick differently.
# RHO 0.1: range 4, band 0.4: top band >= 4.6 = {5, 4.8}, bottom <= 1.4 = {1, 1.2}.
lc_fixture() {
    jq -nc '[[5, 100], [4.8, 10], [1, 5], [1.2, 200]] | to_entries[] |
        {id: "L-\(.key)", prompt_id: "L", prompt: "Q", response: ("y" * .value[1]), sample: .key, score: .value[0]}' \
        | sr-cat --from-json > "$T/c.mp"
}

@test "--length-control picks the shortest of the top band and the longest of the bottom band" {
    lc_fixture
    run pairs_json
    assert_output '{"prompt_id":"L","chosen_id":"L-0","rejected_id":"L-2","chosen_score":5.0,"rejected_score":1.0}'
    run pairs_json --length-control 0.1
    assert_output '{"prompt_id":"L","chosen_id":"L-1","rejected_id":"L-3","chosen_score":4.8,"rejected_score":1.2}'
    grep -q 'mean length chosen 10, rejected 200 characters' "$T/err"
    # RHO 0: the bands hold only the top and bottom scores
    run pairs_json --length-control 0
    assert_output '{"prompt_id":"L","chosen_id":"L-0","rejected_id":"L-2","chosen_score":5.0,"rejected_score":1.0}'
    # RHO 0.99: band 3.96, top >= 1.04 = {5, 4.8, 1.2}, bottom <= 4.96 = {4.8, 1, 1.2}
    run pairs_json --length-control 0.99
    assert_output '{"prompt_id":"L","chosen_id":"L-1","rejected_id":"L-3","chosen_score":4.8,"rejected_score":1.2}'
    # overlapping bands can pick one candidate for both: scores 5 3 1, lengths 50 10 5,
    # RHO 0.6: band 2.4, top >= 2.6 = {5, 3} -> shortest 3; bottom <= 3.4 = {3, 1} -> longest 3
    jq -nc '[[5, 50], [3, 10], [1, 5]] | to_entries[] |
        {id: "O-\(.key)", prompt_id: "O", prompt: "Q", response: ("y" * .value[1]), sample: .key, score: .value[0]}' \
        | sr-cat --from-json > "$T/c.mp"
    run pairs_json --length-control 0.6
    assert_output ""
    grep -q 'ties 0, fewer than 2 scored 0, gap 1' "$T/err"
    run pairs_json --length-control 0.4
    assert_output '{"prompt_id":"O","chosen_id":"O-0","rejected_id":"O-2","chosen_score":5.0,"rejected_score":1.0}'
}

@test "--length-control measures tokens when every candidate has them" {
    # the same, with token counts that reverse the character lengths
    jq -nc '[[5, 100, 3], [4.8, 10, 30], [1, 5, 50], [1.2, 200, 2]] | to_entries[] |
        {id: "L-\(.key)", prompt_id: "L", prompt: "Q", response: ("y" * .value[1]), tokens: .value[2], score: .value[0]}' \
        | sr-cat --from-json > "$T/c.mp"
    run pairs_json --length-control 0.1
    assert_output '{"prompt_id":"L","chosen_id":"L-0","rejected_id":"L-2","chosen_score":5.0,"rejected_score":1.0}'
    grep -q 'lengths in tokens for 1 prompts' "$T/err"
}

@test "--length-control must be in [0, 1)" {
    for bad in 1 -0.1 1.5 x nan; do
        run sr-pairs --length-control "$bad" < /dev/null
        assert_failure 2
    done
}

@test "truncated candidates (finish length) are left out and counted; --keep-truncated keeps them" {
    # T: the best (5) and the worst (0) were cut off at the cap
    jq -nc '[[5, "length"], [3, "stop"], [1, "stop"], [0, "length"]] | to_entries[] |
        {id: "T-\(.key)", prompt_id: "T", prompt: "Q", response: "r\(.key)", sample: .key,
         finish: .value[1], score: .value[0]}' | sr-cat --from-json > "$T/c.mp"
    run pairs_json
    assert_success
    assert_output '{"prompt_id":"T","chosen_id":"T-1","rejected_id":"T-2","chosen_score":3.0,"rejected_score":1.0}'
    grep -q 'truncated candidates (finish "length"): 2 left out' "$T/err"
    run pairs_json --keep-truncated
    assert_output '{"prompt_id":"T","chosen_id":"T-0","rejected_id":"T-3","chosen_score":5.0,"rejected_score":0.0}'
    grep -q 'truncated candidates (finish "length") kept' "$T/err"
    # a prompt whose candidates were all cut off gives no pair
    jq -nc '[5, 1] | to_entries[] | {id: "U-\(.key)", prompt_id: "U", prompt: "Q", response: "r", finish: "length",
        score: .value}' | sr-cat --from-json > "$T/c.mp"
    run pairs_json
    assert_output ''
    grep -q 'fewer than 2 scored 1' "$T/err"
    run sr-pairs --eft --keep-truncated < /dev/null
    assert_failure 2
}

# ---- --eft ---------------------------------------------------------------------------

# A judged ranked reply: reply PROMPT RANK MEAN '[scores]'; judgement j reads
# "reason j. Score: s" (or "no score" for null).
reply() {
    jq -nc --arg p "$1" --argjson r "$2" --argjson m "$3" --argjson s "$4" \
        '{id: "\($p)-r\($r)", prompt_id: $p, prompt: "Prompt \($p)", response: "Reply \($r) to \($p)",
          human_rank: $r, source: "oasst", tag: "kept", score: $m, scores: $s,
          judgements: [$s | to_entries[] | if .value == null then "no score" else "reason \(.key). Score: \(.value)" end]}'
}

# Agreeing: A (means 4 3 2), E (4.33 4; a nil judgement), F (4 1; an
# off-scale judgement). Disagreeing: B (reversed), C (tied means). Unchecked:
# D (one scored reply), G (two replies of the same rank).
# Judgements of agreeing prompts per score: 2:3 3:3 4:3+4+2=9 5:1 = 16.
eft_fixture() {
    { reply A 0 4 '[4,4,4]'; reply B 0 2 '[2,2,2]'; reply A 1 3 '[3,3,3]'; reply B 1 4 '[4,4,4]'
      reply A 2 2 '[2,2,2]'; reply C 0 3 '[3,3,3]'; reply C 1 3 '[3,3,3]'
      reply D 0 5 '[5,5,5]'; reply D 1 null '[null,null,null]'
      reply E 0 4.333333333333333 '[5,4,4]'; reply E 1 4 '[4,4,null]'
      reply F 0 4 '[4,4]'; reply F 1 1 '[null,7]'
      reply G 0 5 '[5]'; reply G 0 1 '[1]'; } | sr-cat --from-json > "$T/r.mp"
}

@test "--eft keeps the judgements of prompts whose score order agrees with the human ranks" {
    eft_fixture
    sr-pairs --eft < "$T/r.mp" 2> "$T/err" | sr-cat > "$T/ex.json"
    # only A, E and F
    run jq -r '.prompt_id' "$T/ex.json"
    [ "$(jq -r .prompt_id "$T/ex.json" | sort -u | tr '\n' ' ')" = "A E F " ]
    grep -q -- '--eft: 15 replies (1 nil scores), 7 prompts: agreeing 3, disagreeing 2, unchecked 2' "$T/err"
    grep -q -- '--eft: 39 judgements: unparsed 5, off the 0..5 scale 1; 16 from agreeing prompts' "$T/err"
}

@test "--eft balances the scores: buckets above the mean are cut to it" {
    # every judgement a reply has (--eft-per-reply 0); E-r0's two 4s tie with E-r1's and are
    # dropped (below), so 2:3 3:3 4:7 5:1 -> 14 in 4 buckets, mean 3.5 -> 4: score 4 is cut to 4
    eft_fixture
    sr-pairs --eft --eft-per-reply 0 < "$T/r.mp" 2> "$T/err" | sr-cat > "$T/ex.json"
    run bash -c "jq -r .score '$T/ex.json' | sort | uniq -c | awk '{print \$2 \":\" \$1}' | tr '\n' ' '"
    assert_output "2:3 3:3 4:4 5:1 "
    grep -q -- '--eft: per score before balancing: 0:0 1:0 2:3 3:3 4:7 5:1' "$T/err"
    grep -q -- '--eft: per score after balancing:  0:0 1:0 2:3 3:3 4:4 5:1' "$T/err"
    grep -q -- '--eft: 11 examples (buckets over 4 cut to it, seed 0)' "$T/err"
    # the same seed gives the same examples; the counts do not depend on it
    sr-pairs --eft --eft-per-reply 0 -q < "$T/r.mp" | sr-cat > "$T/again.json"
    cmp "$T/ex.json" "$T/again.json"
    for seed in 1 2 3 4 5; do
        sr-pairs --eft --eft-per-reply 0 -q --seed $seed < "$T/r.mp" | sr-cat > "$T/s$seed.json"
        [ "$(jq -r .score "$T/s$seed.json" | sort | uniq -c | awk '{print $2 ":" $1}' | tr '\n' ' ')" = "2:3 3:3 4:4 5:1 " ]
    done
    # and some seed keeps other score-4 judgements than seed 0
    differs=0
    for seed in 1 2 3 4 5; do cmp -s "$T/ex.json" "$T/s$seed.json" || differs=1; done
    [ $differs = 1 ]
}

@test "--eft examples: the judge prompt, the judgement, its score, ids and passed-through keys" {
    eft_fixture
    sr-pairs --eft --eft-per-reply 0 -q < "$T/r.mp" | sr-cat > "$T/ex.json"
    # every example of reply A-r1 (score 3, judgements 0..2, none cut)
    run jq -c 'select(.reply_id == "A-r1") | [.id, .response, .score, .source, .prompt_id, .tag, has("human_rank"), has("scores"), has("judgements")]' "$T/ex.json"
    assert_line --index 0 --regexp '^\["[0-9a-f]{16}","reason 0. Score: 3",3,"eft","A","kept",false,false,false\]$'
    assert_line --index 2 --regexp '^\["[0-9a-f]{16}","reason 2. Score: 3",3,"eft","A","kept",false,false,false\]$'
    # ids are distinct
    [ "$(jq -r .id "$T/ex.json" | sort -u | wc -l)" -eq 11 ]
    # the prompt is the built-in judge prompt for that reply
    prompt=$(jq -r 'select(.reply_id == "A-r1") | .prompt' "$T/ex.json" | head -c 100000)
    [[ $prompt == *'"""'$'\n''Prompt A'$'\n''"""'* ]]
    [[ $prompt == *'"""'$'\n''Reply 1 to A'$'\n''"""'* ]]
    [[ $prompt == *"Score: <points>"* ]]
}

@test "--eft: a judgement that disagrees with the humans on its own is dropped; one example per reply" {
    # H: the means agree (3.33 > 3), but H-r0's third judgement (2) is below every one of
    # H-r1's (3): dropped, the others kept (no bucket is cut in these small cases)
    { reply H 0 3.3333333333333335 '[4,4,2]'; reply H 1 3 '[3,3,3]'; } | sr-cat --from-json > "$T/h.mp"
    sr-pairs --eft --eft-per-reply 0 < "$T/h.mp" 2> "$T/err" | sr-cat > "$T/all.json"
    run jq -r '"\(.reply_id) \(.response)"' "$T/all.json"
    assert_output "$(printf '%s\n' 'H-r0 reason 0. Score: 4' 'H-r0 reason 1. Score: 4' \
        'H-r1 reason 0. Score: 3' 'H-r1 reason 1. Score: 3' 'H-r1 reason 2. Score: 3')"
    grep -q -- '--eft: of those, 1 disagree with the human order on their own (dropped), 0 over the examples per reply (no cap); 5 to balance' "$T/err"
    # by default a reply gives one example: its first judgement left
    sr-pairs --eft < "$T/h.mp" 2> "$T/err" | sr-cat > "$T/one.json"
    run jq -r '"\(.reply_id) \(.response)"' "$T/one.json"
    assert_output "$(printf '%s\n' 'H-r0 reason 0. Score: 4' 'H-r1 reason 0. Score: 3')"
    grep -q -- '1 disagree with the human order on their own (dropped), 3 over the examples per reply (1); 2 to balance' "$T/err"
    # --eft-per-reply 2: two of H-r1's three
    [ "$(sr-pairs --eft -q --eft-per-reply 2 < "$T/h.mp" | sr-cat | jq -r .reply_id | grep -c H-r1)" -eq 2 ]
    # E: E-r0's 4s tie with E-r1's 4s; with as many conflicts, the judgement farther from
    # its reply's mean (E-r0's, 4 against 4.33) goes first, and then no conflict is left
    { reply E 0 4.333333333333333 '[5,4,4]'; reply E 1 4 '[4,4,null]'; } | sr-cat --from-json > "$T/e.mp"
    sr-pairs --eft -q --eft-per-reply 0 < "$T/e.mp" | sr-cat > "$T/e.json"
    run jq -r '"\(.reply_id) \(.response)"' "$T/e.json"
    assert_output "$(printf '%s\n' 'E-r0 reason 0. Score: 5' 'E-r1 reason 0. Score: 4' 'E-r1 reason 1. Score: 4')"
    # the same examples whatever the input order
    cat "$T/h.mp" "$T/e.mp" | sr-pairs --eft -q --eft-per-reply 0 | sr-cat | sort > "$T/fwd"
    cat "$T/h.mp" "$T/e.mp" | sr-cat | tac | sr-cat --from-json | sr-pairs --eft -q --eft-per-reply 0 | sr-cat | sort > "$T/rev"
    cmp "$T/fwd" "$T/rev"
    run sr-pairs --eft-per-reply 2 < /dev/null
    assert_failure 2
}

@test "--eft --template renders the prompt with the user's template" {
    eft_fixture
    printf 'Judge {{strictly}}.\nQ: {prompt}\nA: {response}\n' > "$T/tmpl.txt"
    sr-pairs --eft -q --template "$T/tmpl.txt" < "$T/r.mp" | sr-cat > "$T/ex.json"
    run jq -r 'select(.reply_id == "E-r1") | .prompt' "$T/ex.json"
    assert_line --index 0 'Judge {strictly}.'
    assert_line --index 1 'Q: Prompt E'
    assert_line --index 2 'A: Reply 1 to E'
}

@test "a bad --template is a usage error naming what is missing" {
    printf 'Q: {prompt}\n' > "$T/tmpl.txt"
    run --separate-stderr sr-pairs --eft --template "$T/tmpl.txt" < /dev/null
    assert_failure 2
    [[ $stderr == *"tmpl.txt"*"{response} is missing"* ]]
    printf 'Q: {prompt} {respons}\n' > "$T/tmpl.txt"
    run --separate-stderr sr-pairs --eft --template "$T/tmpl.txt" < /dev/null
    assert_failure 2
    [[ $stderr == *'unknown placeholder "{respons}"'* ]]
    run sr-pairs --eft --template "$T/none.txt" < /dev/null
    assert_failure 1
    run sr-pairs --template "$T/tmpl.txt" < /dev/null
    assert_failure 2
    run sr-pairs --eft --min-gap 1 < /dev/null
    assert_failure 2
}

# ---- bad input -------------------------------------------------------------------------

# bad_case NAME JSON-LINE [sr-pairs options]: the line between two good candidates.
bad_stream() {
    { cands p '[1,3]' | head -1; echo "$1"; cands p '[1,3]' | tail -1; } | sr-cat --from-json > "$T/b.mp"
}

@test "bad records stop with exit 3 naming the record and key, or are skipped with --skip-bad" {
    while IFS='|' read -r line key what; do
        bad_stream "$line"
        run --separate-stderr sr-pairs < "$T/b.mp"
        assert_failure 3
        [[ $stderr == *"record 2"*"key \"$key\": $what"* ]] || { echo "$stderr"; false; }
        run --separate-stderr bash -c 'sr-pairs --skip-bad < "$1" | sr-cat -n' _ "$T/b.mp"
        assert_success
        assert_output 1
        [[ $stderr == *"skipped 1 bad record"* ]]
    done <<'EOF'
{"id":"x","prompt":"P","response":"r","score":2}|prompt_id|missing
{"id":"x","prompt_id":7,"prompt":"P","response":"r","score":2}|prompt_id|expected a string
{"id":"x","prompt_id":"p","prompt":"P","response":"r","score":"4"}|score|expected a number or nil, got a string
{"id":"x","prompt_id":"p","prompt":"P","response":"r"}|score|missing
{"id":"x","prompt_id":"p","prompt":"P","score":1}|response|missing
{"prompt_id":"p","prompt":"P","response":"r","score":1}|id|missing
{"id":"x","prompt_id":"p","prompt":"P","response":"r","score":1,"sample":"0"}|sample|expected an integer
{"id":"x","prompt_id":"p","prompt":"P","response":"r","score":1,"tokens":-3}|tokens|-3 is below 0
EOF
}

@test "--eft: bad ranked records (length mismatch, wrong types) exit 3, or are skipped" {
    while IFS='|' read -r filter key what; do
        { reply A 0 4 '[4]'; reply A 1 2 '[2]' | jq -c "$filter"; reply A 2 1 '[1]'; } | sr-cat --from-json > "$T/b.mp"
        run --separate-stderr sr-pairs --eft < "$T/b.mp"
        assert_failure 3
        [[ $stderr == *"record 2 (id \"A-r1\")"*"key \"$key\": $what"* ]] || { echo "$stderr"; false; }
        run --separate-stderr bash -c 'sr-pairs --eft --skip-bad < "$1" | sr-cat -n' _ "$T/b.mp"
        assert_success
        assert_output 2
        [[ $stderr == *"skipped 1 bad record"* ]]
    done <<'EOF'
.judgements += ["extra"]|judgements|2 judgements but 1 scores
.scores = [2, 3]|judgements|1 judgements but 2 scores
del(.judgements)|judgements|missing
.scores = 2|scores|expected an array, got an integer
.scores = ["2"]|scores|element 0: expected a number or nil, got a string
.judgements = [null]|judgements|element 0: expected a string, got nil
del(.human_rank)|human_rank|missing
.human_rank = 0.5|human_rank|expected an integer
EOF
}

# ---- usage and output ---------------------------------------------------------------

@test "| head -c 10 ends quietly" {
    jq -nc 'range(3000) as $i | range(4) as $k |
        {id: "p\($i)-\($k)", prompt_id: "p\($i)", prompt: "Q", response: ("z" * 100), sample: $k, score: $k}' |
        sr-cat --from-json > "$T/many.mp"
    run --separate-stderr bash -c 'set -o pipefail; sr-pairs < "$1" | head -c 10 > /dev/null' _ "$T/many.mp"
    assert_success
    [[ $stderr != *rror* && $stderr != *"Broken pipe"* ]]
}

@test "-o FILE appears only on success" {
    plain_fixture
    sr-pairs -q -i "$T/c.mp" -o "$T/out.mp"
    [ "$(sr-cat -n < "$T/out.mp")" -eq 3 ]
    bad_stream '{"id":"x","prompt":"P","response":"r","score":2}'
    run sr-pairs -i "$T/b.mp" -o "$T/fail.mp"
    assert_failure 3
    [ ! -e "$T/fail.mp" ]
    [ -z "$(ls "$T" | grep '\.tmp\.')" ]
}

@test "an empty input gives no pairs and exit 0" {
    run --separate-stderr sr-pairs < /dev/null
    assert_success
    assert_output ""
    [[ $stderr == *"0 candidates (0 nil scores), 0 prompts: 0 pairs"* ]]
    run sr-pairs --eft -q < /dev/null
    assert_success
    assert_output ""
}

@test "--help exits 0 and names the options" {
    run sr-pairs --help
    assert_success
    assert_line --partial "Usage: sr-pairs"
    assert_output --partial "--length-control RHO"
    assert_output --partial "--eft"
    assert_output --partial "--min-gap D"
}

@test "an unknown option exits 2" {
    run --separate-stderr sr-pairs --no-such-option
    assert_failure 2
    [[ $stderr == *"--no-such-option"* ]]
}

# DivPO's fixture, one prompt: two in the top band and two in the bottom band
# at --diverse 0.2 (band 0.8 of [1, 5]), one in between; the cat sentences
# are near copies of each other, the others share no word with any.
divpo_fixture() {
    jq -nc '[[5, "the cat sat on the mat by the door"], [4.5, "quantum fields describe strong nuclear forces"],
             [3, "the cat sat on the mat by the window"], [1, "purple elephants dance loudly at night"],
             [1.5, "the cat sat on the mat near the door"]] | to_entries[] |
        {id: "D-\(.key)", prompt_id: "D", prompt: "Q", response: .value[1], sample: .key, score: .value[0]}' \
        | sr-cat --from-json > "$T/c.mp"
}

@test "--diverse (DivPO): the least similar of the top band chosen, the most similar of the bottom band rejected" {
    divpo_fixture
    run pairs_json
    assert_output '{"prompt_id":"D","chosen_id":"D-0","rejected_id":"D-3","chosen_score":5.0,"rejected_score":1.0}'
    run pairs_json --diverse 0.2
    assert_output '{"prompt_id":"D","chosen_id":"D-1","rejected_id":"D-4","chosen_score":4.5,"rejected_score":1.5}'
    # D-1 shares no word with the others; D-4 is a near copy of D-0 and D-2:
    # LCS 8 and 7 of 9 words, (8/9 + 7/9) / 4 = 0.417
    grep -q 'diverse 0.2: mean ROUGE-L F against the prompt.s other candidates, chosen 0.000, rejected 0.417' "$T/err"
    # RHO 0: the bands hold only the top and bottom scores, as the plain rule
    run pairs_json --diverse 0
    assert_output '{"prompt_id":"D","chosen_id":"D-0","rejected_id":"D-3","chosen_score":5.0,"rejected_score":1.0}'
    # the band must be in [0, 1), and it is one rule or the other, for pairs only
    for bad in 1 -0.1 x; do
        run sr-pairs --diverse "$bad" < /dev/null
        assert_failure 2
    done
    run sr-pairs --diverse 0.1 --length-control 0.1 < /dev/null
    assert_failure 2
    assert_output --partial 'give one'
    run sr-pairs --eft --diverse 0.1 < /dev/null
    assert_failure 2
}
