#!/usr/bin/env bats
# sr-tokenize: the ids of a text, or of records, run as a user would; the ids
# checked against llama.cpp's own test cases for the vocabulary files in
# ../shared/data/vocab (ggml-vocab-NAME.gguf with .inp/.out beside it).

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
    VOCAB=$SHARED/data/vocab
    BPE=$VOCAB/ggml-vocab-llama-bpe.gguf
    SPM=$VOCAB/ggml-vocab-llama-spm.gguf
}

# Case N (from 0) of a llama.cpp .inp file, byte for byte: cases are
# separated by "\n__ggml_vocab_test__\n".
vocab_case() {
    awk -v n="$2" 'BEGIN { RS = "\n__ggml_vocab_test__\n" } NR == n + 1 { printf "%s", $0; exit }' "$1.inp"
}
# Its expected ids: line N+1 of the .out file, without the leading space.
vocab_ids() { sed -n "$(($2 + 1))p" "$1.out" | sed 's/^ //'; }

# JSON lines (one per argument) as a msgpack stream in $T/in.mp.
records() { printf '%s\n' "$@" | sr-cat --from-json > "$T/in.mp"; }

# ---- usage ---------------------------------------------------------------------

@test "--help exits 0 and names the options; --version" {
    run sr-tokenize --help
    assert_success
    assert_line --partial "Usage: sr-tokenize"
    for o in --pieces --bos --special --records --key --chat --chat-format --skip-bad; do
        assert_output --partial -- "$o"
    done
    run sr-tokenize --version
    assert_success
    assert_output --partial "0."
}

@test "usage errors exit 2, naming the option" {
    local -a bad=("--no-such-option" "--key text" "--chat" "--records --key a --chat"
                  "--records --chat --bos" "--records --chat --special" "--records --pieces"
                  "--chat-format chatml" "--records --chat --chat-format nosuch" "stray-argument")
    for args in "${bad[@]}"; do
        # shellcheck disable=SC2086
        run --separate-stderr sr-tokenize -m /dev/null $args < /dev/null
        [ "$status" -eq 2 ] || { echo "sr-tokenize $args: exit $status, not 2"; return 1; }
        [[ $stderr == sr-tokenize:* ]] || { echo "sr-tokenize $args: stderr: $stderr"; return 1; }
    done
    run --separate-stderr sr-tokenize --records --chat --chat-format nosuch -m /dev/null
    [[ $stderr == *"--chat-format: 'nosuch'"* ]]
}

@test "a file that is not GGUF exits 3 with the reason; a missing one exits 1" {
    printf 'not a model at all, just some text that is long enough\n' > "$T/not.gguf"
    run --separate-stderr sr-tokenize -m "$T/not.gguf" <<< "hello"
    assert_failure 3
    [[ $stderr == "sr-tokenize: model $T/not.gguf: "*"not a GGUF file"* ]]
    [ -z "$output" ]
    run --separate-stderr sr-tokenize -m "$T/absent.gguf" <<< "hello"
    assert_failure 1
    [[ $stderr == *"$T/absent.gguf"* ]]
}

# ---- text: llama.cpp's cases -----------------------------------------------------

@test "real data: ids of llama.cpp's cases, BPE (llama-bpe, gpt-2) and SPM (llama-spm), from stdin" {
    need_shared data/vocab/ggml-vocab-llama-bpe.gguf
    local m k
    for m in llama-bpe gpt-2 llama-spm; do
        # plain words, leading spaces, newlines only, tabs, emoji, Cyrillic, digits
        for k in 1 3 7 10 11 18 20 22 28 38 45; do
            vocab_case "$VOCAB/ggml-vocab-$m.gguf" $k > "$T/case"
            run sr-tokenize -m "$VOCAB/ggml-vocab-$m.gguf" -i "$T/case"
            assert_success
            [ "$output" = "$(vocab_ids "$VOCAB/ggml-vocab-$m.gguf" $k)" ] ||
                { echo "$m case $k: got '$output', llama.cpp '$(vocab_ids "$VOCAB/ggml-vocab-$m.gguf" $k)'"; return 1; }
        done
    done
}

@test "real data: every llama.cpp case through --records equals the .out file (llama-bpe, llama-spm)" {
    need_shared data/vocab/ggml-vocab-llama-spm.gguf
    local m
    for m in llama-bpe llama-spm; do
        local f=$VOCAB/ggml-vocab-$m.gguf
        jq -Rsc 'split("\n__ggml_vocab_test__\n") | (if .[-1] == "" then .[:-1] else . end)
                 | to_entries[] | {id: "case\(.key)", text: .value}' "$f.inp" | sr-cat --from-json > "$T/cases.mp"
        sr-tokenize -m "$f" --records < "$T/cases.mp" | sr-cat | jq -r '.ids | map(tostring) | join(" ")' > "$T/got"
        sed 's/^ //' "$f.out" > "$T/want"
        [ "$(wc -l < "$T/want")" -ge 40 ]
        diff "$T/want" "$T/got"
    done
}

@test "real data: stdin is taken byte for byte (a trailing newline is a token; empty input, an empty line)" {
    need_shared data/vocab/ggml-vocab-llama-bpe.gguf
    run bash -c "printf 'Hello world' | sr-tokenize -m '$BPE'"
    assert_output "9906 1917"
    run bash -c "printf 'Hello world\n' | sr-tokenize -m '$BPE'"
    assert_output "9906 1917 198"
    run bash -c "printf 'Hello world\n\n' | sr-tokenize -m '$BPE'"
    assert_output "9906 1917 271"
    sr-tokenize -m "$BPE" < /dev/null > "$T/empty"
    [ "$(od -An -c "$T/empty" | tr -d ' ')" = '\n' ]
    sr-tokenize -m "$SPM" < /dev/null > "$T/empty"
    [ "$(od -An -c "$T/empty" | tr -d ' ')" = '\n' ]
    # -o writes the same line to a file
    printf 'Hello world' | sr-tokenize -m "$BPE" -o "$T/out"
    [ "$(cat "$T/out")" = "9906 1917" ]
}

@test "real data: text that is not UTF-8 exits 3, naming the byte" {
    need_shared data/vocab/ggml-vocab-llama-bpe.gguf
    run --separate-stderr bash -c "printf 'ok \xff no' | sr-tokenize -m '$BPE'"
    assert_failure 3
    [[ $stderr == "sr-tokenize: standard input: "*"not valid UTF-8 at byte 3"* ]]
}

# ---- pieces, BOS, special tokens ----------------------------------------------------

@test "real data: --pieces writes each token's bytes as a JSON string, non-UTF-8 bytes as \\udcNN" {
    need_shared data/vocab/ggml-vocab-llama-bpe.gguf
    run bash -c "printf 'Hello world\n' | sr-tokenize -m '$BPE' --pieces"
    assert_output '"Hello" " world" "\n"'
    run bash -c "printf 'a\tb\"c\\\\' | sr-tokenize -m '$VOCAB/ggml-vocab-gpt-2.gguf' --pieces"
    assert_output '"a" "\t" "b" "\"" "c" "\\"'
    # SentencePiece: the dummy prefix and ▁ are spaces; the llama's bytes fall back to <0xNN>
    run bash -c "printf ' this is 🦙.cpp' | sr-tokenize -m '$SPM' --pieces"
    assert_output '" " " this" " is" " " "\udcf0" "\udc9f" "\udca6" "\udc99" "." "cpp"'
    # as many pieces as ids, and (UTF-8 pieces) they join back into the text
    printf 'Hello, y'"'"'all! How are you, Äpfel?\n' > "$T/t"
    [ "$(sr-tokenize -m "$BPE" -i "$T/t" | wc -w)" -eq "$(sr-tokenize -m "$BPE" -i "$T/t" --pieces | jq -c . | wc -l)" ]
    [ "$(sr-tokenize -m "$BPE" -i "$T/t" --pieces | jq -j .)" = "$(cat "$T/t")" ]
}

@test "real data: --bos puts the vocabulary's BOS first, and nothing else changes" {
    need_shared data/vocab/ggml-vocab-llama-spm.gguf
    run bash -c "printf 'Hello world' | sr-tokenize -m '$BPE' --bos"
    assert_output "128000 9906 1917"
    run bash -c "printf 'Hello world' | sr-tokenize -m '$SPM' --bos"
    assert_output "1 15043 3186"
    run bash -c "sr-tokenize -m '$SPM' --bos < /dev/null"
    assert_output "1"
}

@test "real data: special tokens in the text are plain text unless --special (ids from llama.cpp)" {
    need_shared data/vocab/ggml-vocab-phi-3.gguf
    # llama-tokenize --stdin --ids --no-bos [--no-parse-special]
    run bash -c "printf 'Hello <|eot_id|> world' | sr-tokenize -m '$BPE'"
    assert_output "9906 83739 68 354 851 91 29 1917"
    run bash -c "printf 'Hello <|eot_id|> world' | sr-tokenize -m '$BPE' --special"
    assert_output "9906 220 128009 1917"
    run bash -c "printf 'Hello </s> world <s>x' | sr-tokenize -m '$SPM'"
    assert_output "15043 1533 29879 29958 3186 529 29879 29958 29916"
    run bash -c "printf 'Hello </s> world <s>x' | sr-tokenize -m '$SPM' --special"
    assert_output "15043 29871 2 29871 3186 29871 1 921"
    # Phi-3: the space after a special token is dropped, but not after <|endoftext|>
    run bash -c "printf 'a <|end|>  b </s>  c <|endoftext|>  d' | sr-tokenize -m '$VOCAB/ggml-vocab-phi-3.gguf' --special"
    assert_output "263 29871 32007 289 29871 2 274 29871 32000 259 270"
    run bash -c "printf 'a<|endoftext|>b' | sr-tokenize -m '$VOCAB/ggml-vocab-gpt-2.gguf' --special"
    assert_output "64 50256 65"
}

# ---- records ----------------------------------------------------------------------------

@test "real data: --records adds ids for --key (default text), keeping every other key" {
    need_shared data/vocab/ggml-vocab-llama-bpe.gguf
    records '{"id":"a","text":"Hello world","tags":["x"],"ids":[0]}' '{"id":"b","text":"","prompt":"Hello"}'
    run bash -c "sr-tokenize -m '$BPE' --records < '$T/in.mp' | sr-cat"
    assert_success
    assert_line -n 0 '{"id":"a","text":"Hello world","tags":["x"],"ids":[9906,1917]}'
    assert_line -n 1 '{"id":"b","text":"","prompt":"Hello","ids":[]}'
    records '{"id":"p","prompt":"Hello","text":"not this"}'
    run bash -c "sr-tokenize -m '$BPE' --records --key prompt --bos < '$T/in.mp' | sr-cat | jq -c .ids"
    assert_output "[128000,9906]"
}

@test "real data: --records --chat: prompt/response/system and messages, as llama.cpp tokenizes the rendered text" {
    need_shared data/vocab/ggml-vocab-llama-bpe.gguf
    records '{"id":"ex","prompt":"Hello","response":"Hi there"}' \
            '{"id":"msg","messages":[{"role":"user","content":"Hello"},{"role":"assistant","content":"Hi there"}]}' \
            '{"id":"sys","system":"Be brief.","prompt":"Hello"}' \
            '{"id":"sysmsg","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello","name":"u"}]}'
    sr-tokenize -m "$BPE" --records --chat --chat-format llama3 < "$T/in.mp" | sr-cat | jq -c '[.id, .ids]' > "$T/got"
    # llama-tokenize --stdin --ids --no-bos on the rendered Llama 3 text, special tokens parsed
    local ex='[128000,128006,882,128007,271,9906,128009,128006,78191,128007,271,13347,1070,128009]'
    local sys='[128000,128006,9125,128007,271,3513,10015,13,128009,128006,882,128007,271,9906,128009,128006,78191,128007,271]'
    run cat "$T/got"
    assert_line -n 0 "[\"ex\",$ex]"
    assert_line -n 1 "[\"msg\",$ex]"
    assert_line -n 2 "[\"sys\",$sys]"
    assert_line -n 3 "[\"sysmsg\",$sys]"
    # the same as --special on the text the template renders
    printf '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n' > "$T/rendered"
    [ "[$(sr-tokenize -m "$BPE" --special -i "$T/rendered" | tr ' ' ,)]" = "$sys" ]
}

@test "real data: --chat with Llama 2 on the SentencePiece vocabulary; no template and no --chat-format exits 3" {
    need_shared data/vocab/ggml-vocab-llama-spm.gguf
    records '{"id":"p","prompt":"Hello"}'
    run bash -c "sr-tokenize -m '$SPM' --records --chat --chat-format llama2 < '$T/in.mp' | sr-cat | jq -c .ids"
    assert_success
    # llama-tokenize --stdin --ids --no-bos: "<s>[INST] Hello [/INST]"
    assert_output "[1,518,25580,29962,15043,518,29914,25580,29962]"
    run --separate-stderr sr-tokenize -m "$SPM" --records --chat < "$T/in.mp"
    assert_failure 3
    [[ $stderr == *"chat template"*"--chat-format"* ]]
}

@test "real data: a bad record exits 3 naming the record and the key" {
    need_shared data/vocab/ggml-vocab-llama-bpe.gguf
    records '{"id":"ok","text":"a"}' '{"id":"num","text":7}'
    run --separate-stderr sr-tokenize -m "$BPE" --records -i "$T/in.mp"
    assert_failure 3
    [[ $stderr == *'record 2 (id "num"): key "text": expected a string, got an integer'* ]]
    records '{"id":"none"}'
    run --separate-stderr sr-tokenize -m "$BPE" --records --key body -i "$T/in.mp"
    assert_failure 3
    [[ $stderr == *'record 1 (id "none"): key "body": missing'* ]]
    local -a chat_bad=('{"id":"c1","messages":[{"role":"tool","content":"x"}]}|turn 0: role "tool"'
                       '{"id":"c2","messages":"hi"}|expected an array'
                       '{"id":"c3","messages":[{"role":"user"}]}|turn 0: "content": missing'
                       '{"id":"c4","messages":[]}|no turns'
                       '{"id":"c5","prompt":"a","messages":[{"role":"user","content":"x"}]}|prompt too'
                       '{"id":"c6","prompt":"a","system":1}|key "system": expected a string')
    for c in "${chat_bad[@]}"; do
        records "${c%%|*}"
        run --separate-stderr sr-tokenize -m "$BPE" --records --chat --chat-format llama3 -i "$T/in.mp"
        [ "$status" -eq 3 ] || { echo "${c%%|*}: exit $status"; return 1; }
        [[ $stderr == *'record 1 (id "c'*'"): key "'* && $stderr == *"${c#*|}"* ]] || { echo "stderr: $stderr"; return 1; }
    done
}

@test "real data: --skip-bad skips bad records, counts them and writes the rest" {
    need_shared data/vocab/ggml-vocab-llama-bpe.gguf
    records '{"id":"a","text":"Hello"}' '{"id":"b"}' '{"id":"c","text":[1]}' '{"id":"d","text":" world"}'
    run --separate-stderr bash -c "sr-tokenize -m '$BPE' --records --skip-bad < '$T/in.mp' | sr-cat | jq -c '[.id, .ids]'"
    assert_success
    assert_output $'["a",[9906]]\n["d",[1917]]'
    [[ $stderr == *"skipped 2 bad records"* ]]
}

@test "real data: --decode gives back the text of llama.cpp's cases (llama-bpe, llama-spm); bad ids exit 3" {
    need_shared data/vocab/ggml-vocab-llama-spm.gguf
    for v in "$BPE" "$SPM"; do
        for n in 3 7 12 20; do
            vocab_case "$v" $n > "$T/text"
            sr-tokenize -m "$v" -i "$T/text" > "$T/ids"
            sr-tokenize -m "$v" --decode -i "$T/ids" > "$T/back"
            # SentencePiece writes its leading space; the text is the same after it
            if [ "$v" = "$SPM" ]; then sed -i '1s/^ //' "$T/back"; fi
            cmp "$T/text" "$T/back"
        done
    done
    # a JSON array reads too; control tokens are left out as in sr-gen's replies
    run sr-tokenize -m "$BPE" --decode <<< "[$(printf 'Hi' | sr-tokenize -m "$BPE" --bos | tr ' ' ',')]"
    assert_success
    assert_output "Hi"
    run --separate-stderr sr-tokenize -m "$BPE" --decode <<< "1 2 x"
    assert_failure 3
    [[ $stderr == *'"x"'* ]]
    run --separate-stderr sr-tokenize -m "$BPE" --decode <<< "999999999"
    assert_failure 3
    run --separate-stderr sr-tokenize -m "$BPE" --decode --bos < /dev/null
    assert_failure 2
}
