#!/usr/bin/env bats
# sr-filter-oasst: seed data from Open Assistant exports, run as a user would.
# Expected records are computed here again, with jq, from the rule in
# sr-filter-oasst(1) — never copied from the tool's own output.

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
    SAMPLE=$EXAMPLES/oasst-sample.jsonl
    FLAT=$SHARED/data/real/oasst1_en_validation.messages.jsonl
    TREES=$SHARED/data/real/oasst1_en_100.trees.jsonl
}

# The tool's records as sorted compact JSON: {id, prompt_id, prompt, response[, human_rank]}.
tool_records() {
    sr-filter-oasst -q "$@" | sr-cat |
        jq -c '{id, prompt_id, prompt, response} + (if has("human_rank") then {human_rank} else {} end)' |
        sort
}

# The paper's rule over a flat messages file (any order): a live root prompt
# (prompter, no parent) and its live direct assistant replies; live = tree_state
# (when given) ready_for_export, not deleted, review_result true, lang L,
# non-blank text. IFT: rank <= $3 (default 0); ranked ($2 = true): every
# ranked reply of a prompt with at least two.
jq_flat() {
    jq -cs --arg L en --argjson ranked "$2" --argjson R "${3:-0}" '
      def live: ((.tree_state // "ready_for_export") == "ready_for_export") and .deleted != true
                and .review_result == true and .lang == $L and (.text | test("[^ \t\n\r]"));
      (map(select(.role == "prompter" and .parent_id == null and live)) | INDEX(.message_id)) as $roots
      | [.[] | select(.role == "assistant" and .parent_id != null and $roots[.parent_id] != null
                      and live and .rank != null)]
      | if $ranked then group_by(.parent_id) | map(select(length >= 2)) | add // []
        else map(select(.rank <= $R)) end
      | .[] | {id: .message_id, prompt_id: .parent_id, prompt: $roots[.parent_id].text, response: .text}
              + (if $ranked then {human_rank: .rank} else {} end)' "$1" | sort
}

# The same rule over a nested trees file, walking prompt -> replies.
jq_trees() {
    jq -c --arg L en --argjson ranked "$2" '
      def live: .deleted != true and .review_result == true and .lang == $L
                and (.text | test("[^ \t\n\r]"));
      select((.tree_state // "ready_for_export") == "ready_for_export")
      | .prompt as $p | select($p.role == "prompter" and ($p | live))
      | [$p.replies[]? | select(.role == "assistant" and live and .rank != null)]
      | if $ranked then select(length >= 2) else map(select(.rank == 0)) end
      | .[] | {id: .message_id, prompt_id: $p.message_id, prompt: $p.text, response: .text}
              + (if $ranked then {human_rank: .rank} else {} end)' "$1" | sort
}

# Same records, and say how many.
same_records() {   # EXPECTED ACTUAL
    echo "expected $(wc -l < "$1") records, got $(wc -l < "$2")"
    [ -s "$1" ]
    diff <(jq -r .id "$1") <(jq -r .id "$2")
    cmp "$1" "$2"
}

# ---- real data ---------------------------------------------------------------------

@test "real flat export (HF layout): IFT records equal the rule computed with jq" {
    need_shared data/real/oasst1_en_validation.messages.jsonl
    jq_flat "$FLAT" false > "$T/want"
    tool_records -i "$FLAT" > "$T/got"
    same_records "$T/want" "$T/got"
}

@test "real flat export: --ranked records equal the rule computed with jq" {
    need_shared data/real/oasst1_en_validation.messages.jsonl
    jq_flat "$FLAT" true > "$T/want"
    tool_records --ranked -i "$FLAT" > "$T/got"
    same_records "$T/want" "$T/got"
}

@test "real trees export: IFT records equal the rule computed with jq" {
    need_shared data/real/oasst1_en_100.trees.jsonl
    jq_trees "$TREES" false > "$T/want"
    tool_records -i "$TREES" > "$T/got"
    same_records "$T/want" "$T/got"
}

@test "real trees export: --ranked records equal the rule computed with jq" {
    need_shared data/real/oasst1_en_100.trees.jsonl
    jq_trees "$TREES" true > "$T/want"
    tool_records --ranked -i "$TREES" > "$T/got"
    same_records "$T/want" "$T/got"
}

@test "gzip input, from a file or standard input, gives byte-identical output" {
    need_shared data/real/oasst1_en_validation.messages.jsonl
    for f in "$FLAT" "$TREES"; do
        gzip -c "$f" > "$T/in.gz"
        for mode in "" --ranked; do
            sr-filter-oasst -q $mode -i "$f" > "$T/plain"
            sr-filter-oasst -q $mode -i "$T/in.gz" > "$T/gz"
            sr-filter-oasst -q $mode < "$T/in.gz" > "$T/stdin"
            [ -s "$T/plain" ]
            cmp "$T/plain" "$T/gz"
            cmp "$T/plain" "$T/stdin"
        done
    done
}

@test "real data: --ranked orders each prompt's replies by human_rank, then id" {
    need_shared data/real/oasst1_en_validation.messages.jsonl
    sr-filter-oasst -q --ranked -i "$FLAT" | sr-cat | jq -c '[.prompt_id, .human_rank, .id]' > "$T/order"
    # within a prompt, [human_rank, id] never goes down, and a prompt's records are contiguous
    run jq -sc 'reduce .[] as $r ({prev: null, seen: {}, bad: 0};
        if .prev != null and .prev[0] == $r[0] then
            (if ($r[1:] < .prev[1:]) then .bad += 1 else . end)
        elif .seen[$r[0]] then .bad += 1 else . end
        | .seen[$r[0]] = true | .prev = $r) | .bad' "$T/order"
    assert_output 0
}

# ---- the example data -----------------------------------------------------------------

@test "examples/oasst-sample.jsonl: at least 30 prompts in --ranked output, matching the jq rule" {
    tool_records --ranked -i "$SAMPLE" > "$T/got"
    jq_flat "$SAMPLE" true > "$T/want"
    same_records "$T/want" "$T/got"
    prompts=$(jq -r .prompt_id "$T/got" | sort -u | wc -l)
    echo "prompts: $prompts"
    [ "$prompts" -ge 30 ]
    # every prompt there has 2 to 4 ranked replies, ranks starting at 0
    run jq -sc 'group_by(.prompt_id) | map(length) | [min, max]' "$T/got"
    assert_output '[2,4]'
    jq_flat "$SAMPLE" false > "$T/want"
    tool_records -i "$SAMPLE" > "$T/got"
    same_records "$T/want" "$T/got"
}

@test "examples/oasst-sample.jsonl: non-English, deleted, unreviewed, failed, other-state and deeper messages never appear" {
    never=(
        2b075013-9dc6-5da0-9f74-b3db0a4951e3  # depth 2: a prompter follow-up
        742622b7-9d4c-570e-af5e-d7a4a5a27cda  # depth 3: an assistant reply ranked 0
        eb2430eb-40b6-58a5-b1c5-89750f28acb9  # depth 3 in the tree where a follow-up precedes its parent
        8b864cdd-80e7-579d-a814-c7c053e63c69  # a deleted reply
        55579b19-f007-5199-b229-ccaecd101df9  # a deleted reply with rank 1
        036c7639-3059-52a7-9f53-5c2b11861651  # review_result false
        f533081f-3c2a-5132-bd3d-2f712cb9c81f  # review_result null
        5f271719-cd63-55e4-896c-093adfd6bafa  # review_result absent
        ba6c7ba9-ebb1-5fb2-8069-6cb722b32ee7  # lang "es" in an English tree
        14dd77c0-f0e1-59a4-bcc8-f5ca4e66ac02  # reviewed but not ranked
        eb60b3e3-d7ec-5c41-98fb-128219cc1808  # a German prompt
        9463ada8-d548-55de-9109-9a77b1001f6a  # a Spanish prompt
        a3bac4bc-8d63-546d-8b9f-6aa153d7c776  # tree_state aborted_low_grade
        2d68656b-f834-50ac-9686-11c477b6489b  # tree_state growing
        504fe0c3-88b7-5409-a7a7-c58b0e471471  # a deleted prompt
        7f6d2356-079d-5087-9316-affde1dec0a7  # a prompt that failed review
    )
    for mode in "" --ranked; do
        sr-filter-oasst -q $mode -i "$SAMPLE" | sr-cat | jq -r '.id, .prompt_id' | sort -u > "$T/ids"
        [ -s "$T/ids" ]
        for id in "${never[@]}"; do
            grep -q "\"message_id\": \"$id\"" "$SAMPLE"     # it is in the sample
            if grep -qx "$id" "$T/ids"; then echo "$id appears ($mode)"; false; fi
        done
        # and, by rule: nothing deeper than the first turn, nothing not live
        jq -r 'select(.parent_id != null and .role == "prompter"), select(.lang != "en"),
               select(.deleted), select(.review_result != true),
               select(.tree_state != "ready_for_export") | .message_id' "$SAMPLE" | sort -u > "$T/bad"
        [ "$(wc -l < "$T/bad")" -ge 20 ]
        run comm -12 "$T/ids" "$T/bad"
        assert_output ""
    done
    # the one prompt whose second ranked reply was deleted: in IFT, not in --ranked
    one=8ed91958-8fb6-5d17-9482-520be8f03ea0
    run bash -c "sr-filter-oasst -q -i '$SAMPLE' | sr-cat | jq -r .prompt_id | grep -cx $one"
    assert_output 1
    run bash -c "sr-filter-oasst -q --ranked -i '$SAMPLE' | sr-cat | jq -r .prompt_id | grep -cx $one"
    assert_output 0
}

@test "examples: --lang de and --lang es select those trees" {
    run bash -c "sr-filter-oasst -q --lang de -i '$SAMPLE' | sr-cat | jq -r .prompt_id"
    assert_output eb60b3e3-d7ec-5c41-98fb-128219cc1808
    run bash -c "sr-filter-oasst -q --lang es --ranked -i '$SAMPLE' | sr-cat | jq -c .human_rank | tr '\n' ' '"
    assert_output "0 1 2 "
}

@test "--max-rank 1 adds the second-best replies" {
    jq_flat "$SAMPLE" false 1 > "$T/want"
    tool_records --max-rank 1 -i "$SAMPLE" > "$T/got"
    same_records "$T/want" "$T/got"
    [ "$(wc -l < "$T/got")" -gt "$(tool_records -i "$SAMPLE" | wc -l)" ]
}

@test "the flat and the nested layouts of the same data give the same records" {
    # nest the sample with jq: a tree per root, replies in input order
    jq -cs '. as $all
        | def node($m): $m + {replies: [$all[] | select(.parent_id == $m.message_id) | node(.)]};
        $all[] | select(.parent_id == null)
        | {message_tree_id, tree_state, prompt: (node(.) | del(.message_tree_id, .tree_state))}' \
        "$SAMPLE" > "$T/nested.jsonl"
    [ "$(wc -l < "$T/nested.jsonl")" -ge 40 ]
    for mode in "" --ranked; do
        sr-filter-oasst -q $mode -i "$SAMPLE" > "$T/flat.mp"
        sr-filter-oasst -q $mode -i "$T/nested.jsonl" > "$T/nested.mp"
        cmp "$T/flat.mp" "$T/nested.mp"
    done
}

@test "replies before their parents: the input order does not change the records" {
    tac "$SAMPLE" > "$T/reversed.jsonl"
    for mode in "" --ranked; do
        diff <(tool_records $mode -i "$SAMPLE") <(tool_records $mode -i "$T/reversed.jsonl")
    done
}

@test "output records: keys, order of trees and source" {
    run bash -c "sr-filter-oasst -q -i '$SAMPLE' | sr-cat | head -1 | jq -c 'keys_unsorted'"
    assert_output '["id","prompt_id","prompt","response","source"]'
    run bash -c "sr-filter-oasst -q --ranked -i '$SAMPLE' | sr-cat | head -1 | jq -c '[keys_unsorted, .source, .human_rank]'"
    assert_output '[["id","prompt_id","prompt","response","human_rank","source"],"oasst",0]'
    # trees in order of first appearance: the prompts' order is the sample's order of trees
    sr-filter-oasst -q -i "$SAMPLE" | sr-cat | jq -r .prompt_id > "$T/got"
    jq -r '.message_tree_id' "$SAMPLE" | awk '!seen[$0]++' | grep -xFf "$T/got" > "$T/want"
    cmp "$T/want" "$T/got"
}

@test "the summary counts every message once" {
    run --separate-stderr sr-filter-oasst -i "$SAMPLE" -o "$T/out.mp"
    assert_success
    echo "$stderr"
    [[ $stderr == *"179 messages, 43 trees: "* ]]
    # records + prompts + every dropped count = messages
    sum=$(sed -e 's/.*trees: //' -e 's/[^0-9]\+/ /g' <<< "$stderr" | awk '{ for (i = 1; i <= NF; i++) s += $i } END { print s }')
    [ "$sum" -eq 179 ]
    for reason in "not first turn" "tree state" deleted "review failed" unreviewed language rank "prompt dropped"; do
        [[ $stderr == *"$reason "* ]]
    done
    run --separate-stderr sr-filter-oasst --quiet -i "$SAMPLE" -o "$T/out.mp"
    assert_success
    [ -z "$stderr" ]
}

# ---- the split ----------------------------------------------------------------------

@test "--keep 70 and --keep 70 --held-out partition the trees, stably" {
    sr-filter-oasst -q --ranked -i "$SAMPLE" | sr-cat | jq -r .prompt_id | sort -u > "$T/all"
    sr-filter-oasst -q --ranked --keep 70 --split-salt x -i "$SAMPLE" > "$T/keep.mp"
    sr-filter-oasst -q --ranked --keep 70 --split-salt x --held-out -i "$SAMPLE" > "$T/held.mp"
    sr-cat < "$T/keep.mp" | jq -r .prompt_id | sort -u > "$T/keep"
    sr-cat < "$T/held.mp" | jq -r .prompt_id | sort -u > "$T/held"
    echo "trees: $(wc -l < "$T/all") = $(wc -l < "$T/keep") kept + $(wc -l < "$T/held") held out"
    [ -s "$T/keep" ] && [ -s "$T/held" ]
    [ -z "$(comm -12 "$T/keep" "$T/held")" ]
    cmp "$T/all" <(sort -u "$T/keep" "$T/held")
    # stable across runs, and from another salt another split
    sr-filter-oasst -q --ranked --keep 70 --split-salt x -i "$SAMPLE" | cmp - "$T/keep.mp"
    sr-filter-oasst -q --ranked --keep 70 --split-salt y -i "$SAMPLE" | sr-cat | jq -r .prompt_id | sort -u > "$T/keep-y"
    if cmp -s "$T/keep" "$T/keep-y"; then echo "salts x and y split alike"; false; fi
    # the extremes
    [ -z "$(sr-filter-oasst -q --keep 0 -i "$SAMPLE")" ]
    sr-filter-oasst -q --keep 100 -i "$SAMPLE" | cmp - <(sr-filter-oasst -q -i "$SAMPLE")
}

@test "the split partitions the real trees too (IFT)" {
    need_shared data/real/oasst1_en_validation.messages.jsonl
    sr-filter-oasst -q -i "$FLAT" | sr-cat | jq -r .id | sort > "$T/all"
    sr-filter-oasst -q --keep 90 -i "$FLAT" | sr-cat | jq -r .id | sort > "$T/keep"
    sr-filter-oasst -q --keep 90 --held-out -i "$FLAT" | sr-cat | jq -r .id | sort > "$T/held"
    [ -z "$(comm -12 "$T/keep" "$T/held")" ]
    cmp "$T/all" <(sort "$T/keep" "$T/held")
    [ "$(wc -l < "$T/held")" -gt 0 ] && [ "$(wc -l < "$T/held")" -lt 60 ]
}

# ---- bad input ------------------------------------------------------------------------

# The sample's first 6 lines (a tree: a prompt, then its replies) with LINE inserted after line 3.
with_line() {
    { head -3 "$SAMPLE"; printf '%s\n' "$1"; sed -n 4,6p "$SAMPLE"; } > "$2"
}

@test "a malformed JSON line: exit 3, naming the line" {
    with_line '{"message_id": "x", "role": ' "$T/bad.jsonl"
    run --separate-stderr sr-filter-oasst -i "$T/bad.jsonl" -o "$T/out.mp"
    assert_failure 3
    echo "$stderr"
    [[ $stderr == *"line 4"* ]]
    [[ $stderr == *"not valid JSON"* ]]
    [ ! -e "$T/out.mp" ]
    [ -z "$(ls "$T" | grep out.mp)" ]     # no temporary left either
}

@test "a malformed JSON line with --skip-bad: exit 0, skipped and counted" {
    with_line '{"message_id": "x", "role": ' "$T/bad.jsonl"
    { head -3 "$SAMPLE"; sed -n 4,6p "$SAMPLE"; } > "$T/good.jsonl"
    run --separate-stderr sr-filter-oasst --skip-bad -i "$T/bad.jsonl" -o "$T/out.mp"
    assert_success
    echo "$stderr"
    [[ $stderr == *"skipped: "*"line 4"* ]]
    [[ $stderr == *"skipped 1 bad record"* ]]
    sr-filter-oasst -q -i "$T/good.jsonl" | cmp - "$T/out.mp"
    [ -s "$T/out.mp" ]
}

@test "a field of the wrong type: exit 3, naming the line and the field" {
    line=$(sed -n 2p "$SAMPLE" | jq -c '.rank = "zero"')
    with_line "$line" "$T/bad.jsonl"
    run --separate-stderr sr-filter-oasst -i "$T/bad.jsonl"
    assert_failure 3
    echo "$stderr"
    [[ $stderr == *'line 4 (message_id "'*'field "rank": expected an integer or null, got a string'* ]]
    for edit in '.text = 5' '.role = "moderator"' '.deleted = "no"' '.review_result = 1' '.lang = ["en"]' \
                '.parent_id = 7' '.rank = -1' '.rank = 1.5' 'del(.message_id)' 'del(.text)' '[.]'; do
        line=$(sed -n 2p "$SAMPLE" | jq -c "$edit")
        with_line "$line" "$T/bad.jsonl"
        run --separate-stderr sr-filter-oasst -i "$T/bad.jsonl"
        echo "$edit: $stderr"
        assert_failure 3
        [[ $stderr == *"line 4"* ]]
    done
    # a reply nested in a tree
    jq -c '{message_tree_id: "t", prompt: {message_id: "t", role: "prompter", text: "q", lang: "en",
            review_result: true, replies: [{message_id: "r", role: "assistant", text: "a", lang: "en",
            review_result: true, rank: "zero"}]}}' -n > "$T/tree.jsonl"
    run --separate-stderr sr-filter-oasst -i "$T/tree.jsonl"
    assert_failure 3
    [[ $stderr == *'line 1, depth 1 (message_id "r"): field "rank"'* ]]
}

@test "a duplicate message_id: exit 3" {
    { cat "$SAMPLE"; sed -n 2p "$SAMPLE"; } > "$T/dup.jsonl"
    run --separate-stderr sr-filter-oasst -i "$T/dup.jsonl"
    assert_failure 3
    [[ $stderr == *"already seen on line"* ]]
}

@test "invalid UTF-8 in a line: exit 3, or skipped with --skip-bad" {
    { head -3 "$SAMPLE"; sed -n 2p "$SAMPLE" | jq -c '.message_id = "u8"' | sed 's/"text": *"/&\xff\xfe/'; } > "$T/bad.jsonl"
    grep -qa $'\xff' "$T/bad.jsonl"
    run --separate-stderr sr-filter-oasst -i "$T/bad.jsonl"
    assert_failure 3
    echo "$stderr"
    [[ $stderr == *"line 4"* ]]
    run --separate-stderr sr-filter-oasst --skip-bad -i "$T/bad.jsonl" -o "$T/out.mp"
    assert_success
    [[ $stderr == *"skipped 1 bad record"* ]]
}

@test "a truncated .gz: exit 3; with --skip-bad the lines before it count" {
    gzip -c "$SAMPLE" > "$T/full.gz"
    head -c $(( $(stat -c %s "$T/full.gz") / 2 )) "$T/full.gz" > "$T/cut.gz"
    run --separate-stderr sr-filter-oasst -i "$T/cut.gz" -o "$T/out.mp"
    assert_failure 3
    echo "$stderr"
    [[ $stderr == *"truncated"* ]]
    [ ! -e "$T/out.mp" ]
    run --separate-stderr sr-filter-oasst --skip-bad -i "$T/cut.gz" -o "$T/out.mp"
    assert_success
    [[ $stderr == *"skipped 1 bad record"* ]]
    n=$(sr-cat < "$T/out.mp" | wc -l)
    echo "records before the cut: $n"
    [ "$n" -gt 0 ] && [ "$n" -lt 37 ]
    # corrupt, not truncated: flip bytes in the middle of the stream
    cp "$T/full.gz" "$T/bad.gz"
    printf '\x00\x01\x02\x03\x04\x05\x06\x07' | dd of="$T/bad.gz" bs=1 seek=2000 conv=notrunc status=none
    run --separate-stderr sr-filter-oasst -i "$T/bad.gz"
    assert_failure 3
}

@test "an empty input: exit 0, no output" {
    : > "$T/empty.jsonl"
    run --separate-stderr sr-filter-oasst -i "$T/empty.jsonl" -o "$T/out.mp"
    assert_success
    [ -e "$T/out.mp" ] && [ ! -s "$T/out.mp" ]
    [[ $stderr == *"0 messages, 0 trees: 0 records"* ]]
    run bash -c "sr-filter-oasst -q < '$T/empty.jsonl'"
    assert_success
    assert_output ""
    printf '\n  \n' | gzip > "$T/blank.gz"
    run sr-filter-oasst -q -i "$T/blank.gz"
    assert_success
    assert_output ""
}

@test "a line over --max-record: exit 3" {
    run --separate-stderr sr-filter-oasst --max-record 1K -i "$SAMPLE"
    assert_failure 3
    [[ $stderr == *"longer than the limit of 1024 bytes"* ]]
    run --separate-stderr sr-filter-oasst --max-record 1K --skip-bad -i "$SAMPLE" -o "$T/out.mp"
    assert_success
    [[ $stderr == *"skipped"*"bad records"* ]]
}

@test "a large export streams through (10,000 trees, out of order)" {
    jq -nc 'range(10000) as $i
        | {message_id: "r\($i)", parent_id: "p\($i)", role: "assistant", text: "The answer to question \($i) is \($i * 2).",
           lang: "en", review_result: true, deleted: false, rank: 0, message_tree_id: "p\($i)"},
          {message_id: "p\($i)", role: "prompter", text: "What is \($i) times two?", lang: "en",
           review_result: true, deleted: false, message_tree_id: "p\($i)"}' > "$T/big.jsonl"
    run --separate-stderr sr-filter-oasst -i "$T/big.jsonl" -o "$T/big.mp"
    assert_success
    [[ $stderr == *"20000 messages, 10000 trees: 10000 records from 10000 prompts"* ]]
    run bash -c "sr-cat < '$T/big.mp' | sed -n '1p;10000p' | jq -c '[.id, .prompt_id]'"
    assert_output $'["r0","p0"]\n["r9999","p9999"]'
}

# msgpack has no lines, so head -c stands for head -1 here.
@test "sr-filter-oasst | head ends quietly (a closed pipe is a normal end)" {
    jq -nc 'range(3000) as $i
        | {message_id: "p\($i)", role: "prompter", text: "Prompt number \($i)", lang: "en", review_result: true},
          {message_id: "r\($i)", parent_id: "p\($i)", role: "assistant", lang: "en", review_result: true,
           rank: 0, text: "A reply long enough that three thousand of them fill a pipe: \($i)"}' > "$T/big.jsonl"
    run --separate-stderr bash -c "set -o pipefail; sr-filter-oasst -i '$T/big.jsonl' | head -c 100 > '$T/head.out'"
    assert_success
    [ -z "$stderr" ]
}

@test "sr-filter-oasst ... | head -1 on the real export exits quietly" {
    need_shared data/real/oasst1_en_validation.messages.jsonl
    run --separate-stderr bash -c "set -o pipefail; sr-filter-oasst -q --ranked -i '$SHARED/data/real/oasst1_en_validation.messages.jsonl' | head -1 > '$T/head1.out'"
    assert_success
    [ -z "$stderr" ]
}

# ---- usage ----------------------------------------------------------------------------

@test "--help exits 0 and lists the options; an unknown option exits 2" {
    run sr-filter-oasst --help
    assert_success
    assert_output --partial "Usage: sr-filter-oasst"
    for o in --ranked --lang --max-rank --keep --split-salt --held-out --quiet --skip-bad; do
        assert_output --partial -- "$o"
    done
    run --separate-stderr sr-filter-oasst --no-such-option
    assert_failure 2
    [[ $stderr == *"--no-such-option"* ]]
    run sr-filter-oasst --keep 101
    assert_failure 2
    run sr-filter-oasst stray-argument
    assert_failure 2
}

@test "an input file that does not exist: exit 1" {
    run --separate-stderr sr-filter-oasst -i "$T/nope.jsonl"
    assert_failure 1
    [[ $stderr == *"nope.jsonl"* ]]
}
