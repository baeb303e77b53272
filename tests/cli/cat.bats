#!/usr/bin/env bats
# sr-cat: msgpack record streams <-> JSON lines, run as a user would.

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
    AWK=$FIXTURES/awkward.json
}

# Two JSON texts are the same after jq -c (differences shown cut short: the
# fixture has a 66 kB line).
same_json() {
    diff <(jq -c . "$1") <(jq -c . "$2") > "$T/diff" || { cut -c1-300 "$T/diff"; false; }
}

# A stream: {"a":1}, then the bytes given (printf format), then {"c":3}.
between() { { printf '\x81\xa1a\x01'; printf "$1"; printf '\x81\xa1c\x03'; } > "$2"; }

# ---- usage ---------------------------------------------------------------------

@test "--help exits 0 and prints the usage" {
    run sr-cat --help
    assert_success
    assert_line --partial "Usage: sr-cat"
    assert_output --partial "--from-json"
    assert_output --partial '$bin'
}

@test "an unknown option exits 2" {
    run --separate-stderr sr-cat --no-such-option
    assert_failure 2
    [[ $stderr == *"--no-such-option"* ]]
}

@test "--pretty with --from-json is a usage error" {
    run sr-cat --from-json --pretty < /dev/null
    assert_failure 2
}

# ---- round trips ---------------------------------------------------------------

@test "awkward.json round-trips through msgpack (compared with jq -c)" {
    sr-cat --from-json < "$AWK" > "$T/a.mp"
    sr-cat < "$T/a.mp" > "$T/back.json"
    same_json "$AWK" "$T/back.json"
}

@test "the output is one compact object per line, UTF-8 unescaped, keys in record order" {
    sr-cat --from-json < "$AWK" | sr-cat > "$T/back.json"
    [ "$(wc -l < "$T/back.json")" -eq "$(grep -c . "$AWK")" ]
    grep -q '"zh":"中文字符，标点。"' "$T/back.json"
    grep -q '"emoji":"😀🎉👩‍👩‍👧‍👦🏳️‍🌈"' "$T/back.json"
    grep -qF '{"":"empty key","empty":"","id":"empty-strings","zebra":1,"apple":2,"mango":3,"Banana":4,"_":5}' "$T/back.json"
    grep -qF '"ctl":"\u0001\u0002\u001f\u007f"' "$T/back.json"
    grep -qF '"nul":"a\u0000b\u0000"' "$T/back.json"
}

@test "integers keep the full range INT64_MIN..UINT64_MAX, exactly" {
    sr-cat --from-json < "$AWK" | sr-cat > "$T/back.json"
    run grep '"id":"ints"' "$T/back.json"
    assert_output '{"id":"ints","zero":0,"one":1,"neg":-1,"i8":-128,"u8":255,"u16":65535,"i32min":-2147483648,"u32max":4294967295,"i64min":-9223372036854775808,"i64max":9223372036854775807,"above_i64":9223372036854775808,"u64max":18446744073709551615,"in_array":[18446744073709551615,-9223372036854775808,1.5,18446744073709551614]}'
    # and in msgpack, uint64 0xcf and int64 0xd3 with the exact bits
    run bash -c "echo '{\"u\":18446744073709551615,\"m\":-9223372036854775808}' | sr-cat --from-json | od -An -tx1 | tr -d ' \n'"
    assert_output '82a175cfffffffffffffffffa16dd38000000000000000'
}

@test "floats print in the shortest form that reads back, with .0 on integral values" {
    sr-cat --from-json < "$AWK" | sr-cat > "$T/back.json"
    run grep '"id":"floats"' "$T/back.json"
    assert_output '{"id":"floats","negzero":-0.0,"tenth":0.1,"big":1e+300,"tiny":5e-324,"one":1.0,"third":0.3333333333333333,"neg":-2.5e-10,"max":1.7976931348623157e+308,"min_normal":2.2250738585072014e-308,"int_valued":1e+22}'
    # 1.0 comes back as a float (0xcb), 1 as an integer
    run bash -c "echo '{\"f\":1.0,\"i\":1}' | sr-cat --from-json | od -An -tx1 | tr -d ' \n'"
    assert_output '82a166cb3ff0000000000000a16901'
}

@test "msgpack -> JSON -> msgpack is byte-exact for a stream made with --from-json" {
    sr-cat --from-json < "$AWK" > "$T/a.mp"
    sr-cat < "$T/a.mp" | sr-cat --from-json > "$T/b.mp"
    cmp "$T/a.mp" "$T/b.mp"
}

@test "msgpack -> JSON -> msgpack is byte-exact for bin, float32, ext, NaN and odd maps" {
    # {"f": float32 0.1, "b": bin 00 01 ff, "e": fixext1 type 7, "n": float64 NaN,
    #  "x": float32 -Inf, "m": {"$bin": "text"} (a map, not a tag), "k": {1: 2}}
    printf '\x87\xa1f\xca\x3d\xcc\xcc\xcd\xa1b\xc4\x03\x00\x01\xff\xa1e\xd4\x07\x2a' > "$T/raw.mp"
    printf '\xa1n\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00\xa1x\xca\xff\x80\x00\x00' >> "$T/raw.mp"
    printf '\xa1m\x81\xa4$bin\xa4text\xa1k\x81\x01\x02' >> "$T/raw.mp"
    run sr-cat < "$T/raw.mp"
    assert_success
    assert_output '{"f":{"$f32":0.10000000149011612},"b":{"$bin":"AAH/"},"e":{"$ext":[7,"Kg=="]},"n":{"$f64":"nan"},"x":{"$f32":"-inf"},"m":{"$map":{"$bin":"text"}},"k":{"$map":[[1,2]]}}'
    sr-cat < "$T/raw.mp" | sr-cat --from-json > "$T/back.mp"
    cmp "$T/raw.mp" "$T/back.mp"
}

@test "--pretty indents, and reads back as the same JSON" {
    run sr-cat --pretty < <(printf '{"a":[1,{"b":null}],"c":{}}\n' | sr-cat --from-json)
    assert_success
    assert_output "$(printf '{\n  "a": [\n    1,\n    {\n      "b": null\n    }\n  ],\n  "c": {}\n}')"
    sr-cat --from-json < "$AWK" > "$T/a.mp"
    sr-cat --pretty < "$T/a.mp" > "$T/pretty.json"
    sr-cat < "$T/a.mp" > "$T/compact.json"
    same_json "$T/pretty.json" "$T/compact.json"
}

@test "--from-json reads gzip-compressed JSON lines" {
    gzip -c "$AWK" > "$T/a.json.gz"
    cmp <(sr-cat --from-json -i "$T/a.json.gz") <(sr-cat --from-json < "$AWK")
}

# ---- extras --------------------------------------------------------------------

@test "-n / --count prints only the number of records" {
    sr-cat --from-json < "$AWK" > "$T/a.mp"
    run sr-cat -n < "$T/a.mp"
    assert_output "$(grep -c . "$AWK")"
    run sr-cat --from-json --count < "$AWK"
    assert_output "$(grep -c . "$AWK")"
}

@test "--keys prints only those keys, in that order, leaving out absent ones" {
    printf '{"id":"1","b":2,"a":1}\n{"id":"2","c":3}\n' | sr-cat --from-json > "$T/s.mp"
    run sr-cat --keys a,id,nope < "$T/s.mp"
    assert_output "$(printf '{"a":1,"id":"1"}\n{"id":"2"}')"
}

@test "--head N stops after N records" {
    sr-cat --from-json < "$AWK" > "$T/a.mp"
    run sr-cat --head 2 --keys id < "$T/a.mp"
    assert_output "$(printf '{"id":"unicode"}\n{"id":"controls"}')"
    run sr-cat --head 0 < "$T/a.mp"
    assert_success
    assert_output ""
}

# ---- bad msgpack input ---------------------------------------------------------

@test "truncated msgpack: exit 3 naming the record" {
    printf '\x81\xa1a\x01\x81\xa1b\xa5ab' > "$T/t.mp"
    run --separate-stderr sr-cat < "$T/t.mp"
    assert_failure 3
    [[ $stderr == *"record 2"*"truncated"* ]]
    assert_output '{"a":1}'
}

@test "truncated msgpack with --skip-bad: exit 0, counted" {
    printf '\x81\xa1a\x01\x81\xa1b\xa5ab' > "$T/t.mp"
    run --separate-stderr sr-cat --skip-bad < "$T/t.mp"
    assert_success
    assert_output '{"a":1}'
    [[ $stderr == *"skipped 1 bad record"* ]]
}

@test "a record that is not a map: exit 3" {
    between '\x05' "$T/s.mp"
    run --separate-stderr sr-cat < "$T/s.mp"
    assert_failure 3
    [[ $stderr == *"record 2: not a map but an integer"* ]]
}

@test "records that are not maps, with --skip-bad: the good ones come out, counted" {
    between '\x05\x92\x01\x02' "$T/s.mp"
    run --separate-stderr sr-cat --skip-bad < "$T/s.mp"
    assert_success
    assert_output "$(printf '{"a":1}\n{"c":3}')"
    [[ $stderr == *"skipped 2 bad records"* ]]
}

@test "a non-string key: exit 3" {
    between '\x81\x01\xa1x' "$T/s.mp"
    run --separate-stderr sr-cat < "$T/s.mp"
    assert_failure 3
    [[ $stderr == *"record 2"*"not a string"* ]]
}

@test "a non-string key with --skip-bad" {
    between '\x81\x01\xa1x' "$T/s.mp"
    run --separate-stderr sr-cat --skip-bad < "$T/s.mp"
    assert_success
    assert_output "$(printf '{"a":1}\n{"c":3}')"
    [[ $stderr == *"skipped 1 bad record"* ]]
}

@test "invalid UTF-8 in a msgpack string: exit 3" {
    between '\x81\xa1s\xa2\xff\xfe' "$T/s.mp"
    run --separate-stderr sr-cat < "$T/s.mp"
    assert_failure 3
    [[ $stderr == *"record 2"*"invalid UTF-8"* ]]
}

@test "invalid UTF-8 in a msgpack string with --skip-bad" {
    between '\x81\xa1s\xa2\xff\xfe' "$T/s.mp"
    run --separate-stderr sr-cat --skip-bad < "$T/s.mp"
    assert_success
    assert_output "$(printf '{"a":1}\n{"c":3}')"
    [[ $stderr == *"skipped 1 bad record"* ]]
}

@test "an empty input: exit 0, no output" {
    run --separate-stderr sr-cat < /dev/null
    assert_success
    assert_output ""
    [ -z "$stderr" ]
    run --separate-stderr sr-cat --from-json --skip-bad < /dev/null
    assert_success
    assert_output ""
    [ -z "$stderr" ]
    run sr-cat --from-json < /dev/null
    assert_success
    assert_output ""
}

# A 64 MiB string, made here: {"id":"big","s":"aaaa..."} between two small records.
big_stream() {
    { printf '\x81\xa1a\x01\x82\xa2id\xa3big\xa1s\xdb\x04\x00\x00\x00'
      head -c 67108864 /dev/zero | tr '\0' a
      printf '\x81\xa1c\x03'; } > "$1"
}

@test "a 64 MiB string over --max-record 16M: exit 3 naming the record" {
    big_stream "$T/big.mp"
    run --separate-stderr sr-cat --max-record 16M < "$T/big.mp"
    assert_failure 3
    [[ $stderr == *"record 2"*"--max-record"* ]]
}

@test "a 64 MiB string over --max-record 16M with --skip-bad" {
    big_stream "$T/big.mp"
    run --separate-stderr sr-cat --max-record 16M --skip-bad < "$T/big.mp"
    assert_success
    assert_output "$(printf '{"a":1}\n{"c":3}')"
    [[ $stderr == *"skipped 1 bad record"* ]]
}

@test "a 64 MiB string converts with the default limit, and back" {
    big_stream "$T/big.mp"
    sr-cat < "$T/big.mp" > "$T/big.json"
    prefix='{"id":"big","s":""}'
    # three lines: the small records (8 bytes each with \n), the big one
    [ "$(wc -c < "$T/big.json")" -eq $((67108864 + ${#prefix} + 1 + 16)) ]
    [ "$(sed -n 2p "$T/big.json" | cut -c1-20)" = '{"id":"big","s":"aaa' ]
    sr-cat --from-json < "$T/big.json" | cmp - "$T/big.mp"
}

# ---- bad JSON input ------------------------------------------------------------

@test "a malformed JSON line: exit 3 naming the line and column" {
    printf '{"a":1}\n{"b": [1,2}\n{"c":3}\n' > "$T/m.json"
    run --separate-stderr sr-cat --from-json -i "$T/m.json"
    assert_failure 3
    [[ $stderr == *"m.json: line 2: column 11:"*"expected"* ]]
}

@test "a malformed JSON line with --skip-bad" {
    printf '{"a":1}\n{"b": [1,2}\n{"c":3}\n{"d"\n' > "$T/m.json"
    sr-cat --from-json --skip-bad < "$T/m.json" 2> "$T/err" > "$T/out.mp"
    grep -q "skipped 2 bad records" "$T/err"
    run sr-cat < "$T/out.mp"
    assert_output "$(printf '{"a":1}\n{"c":3}')"
}

@test "invalid UTF-8 in a JSON line: exit 3" {
    printf '{"a":1}\n{"b":"\xff\xfe"}\n' > "$T/u.json"
    run --separate-stderr sr-cat --from-json < "$T/u.json"
    assert_failure 3
    [[ $stderr == *"line 2: "*"0xff"* ]]
}

@test "invalid UTF-8 in a JSON line with --skip-bad" {
    printf '{"a":1}\n{"b":"\xff\xfe"}\n{"c":3}\n' > "$T/u.json"
    sr-cat --from-json --skip-bad < "$T/u.json" 2> "$T/err" > "$T/out.mp"
    grep -q "skipped 1 bad record" "$T/err"
    run sr-cat < "$T/out.mp"
    assert_output "$(printf '{"a":1}\n{"c":3}')"
}

@test "a JSON line that is an array: exit 3" {
    printf '{"a":1}\n[1,2]\n' > "$T/a.json"
    run --separate-stderr sr-cat --from-json < "$T/a.json"
    assert_failure 3
    [[ $stderr == *"line 2: not an object"* ]]
}

@test "a JSON line that is an array with --skip-bad" {
    printf '{"a":1}\n[1,2]\n{"c":3}\n' > "$T/a.json"
    sr-cat --from-json --skip-bad < "$T/a.json" 2> "$T/err" > "$T/out.mp"
    grep -q "skipped 1 bad record" "$T/err"
    run sr-cat < "$T/out.mp"
    assert_output "$(printf '{"a":1}\n{"c":3}')"
}

@test "blank lines in JSON input are skipped silently" {
    printf '\n{"a":1}\n\n  \t\r\n{"c":3}\n\n' > "$T/b.json"
    run --separate-stderr sr-cat --from-json < "$T/b.json"
    assert_success
    [ -z "$stderr" ]
    run sr-cat < <(sr-cat --from-json < "$T/b.json")
    assert_output "$(printf '{"a":1}\n{"c":3}')"
}

@test "integers beyond msgpack's range, duplicate keys, and bad tags are bad lines" {
    for line in '{"a":18446744073709551616}' '{"a":-9223372036854775809}' '{"a":1,"a":2}' \
                '{"a":{"$bin":"abc"}}' '{"a":{"$bin":5}}' '{"a":[{"$ext":[300,""]}]}' \
                '{"a":{"$f32":1e300}}' '{"a":{"$f64":"NaN"}}' '{"$bin":""}' '{"$map":[[1,2]]}'; do
        run --separate-stderr sr-cat --from-json <<< "$line"
        assert_failure 3
        [[ $stderr == *"line 1: "* ]]
    done
    run --separate-stderr sr-cat --from-json <<< '{"x":{"y":[0,{"$ext":[300,""]}]}}'
    [[ $stderr == *"at .x.y[1]: "*"-128..127"* ]]
}

@test "a JSON line nested deeper than a record can be read back is a bad line" {
    deep() { printf '{"a":'; printf '[%.0s' $(seq "$1"); printf ']%.0s' $(seq "$1"); echo '}'; }
    deep 31 | sr-cat --from-json | sr-cat > "$T/ok.json"    # the map and 31 arrays: 32 levels
    [ "$(wc -l < "$T/ok.json")" -eq 1 ]
    run --separate-stderr sr-cat --from-json < <(deep 32)
    assert_failure 3
    [[ $stderr == *"line 1: at .a[0]"*"nested deeper than 32"* ]]
}

@test "a JSON line over --max-record is a bad line" {
    { echo '{"a":1}'; printf '{"s":"%s"}\n' "$(head -c 5000 /dev/zero | tr '\0' x)"; echo '{"c":3}'; } > "$T/l.json"
    run sr-cat --from-json --max-record 1K < "$T/l.json"
    assert_failure 3
    sr-cat --from-json --max-record 1K --skip-bad < "$T/l.json" 2> "$T/err" > "$T/out.mp"
    grep -q "skipped 1 bad record" "$T/err"
    run sr-cat < "$T/out.mp"
    assert_output "$(printf '{"a":1}\n{"c":3}')"
}

# ---- output --------------------------------------------------------------------

@test "sr-cat | head -1 ends quietly" {
    sr-cat --from-json < "$AWK" > "$T/a.mp"
    for i in $(seq 40); do cat "$T/a.mp"; done > "$T/many.mp"
    run --separate-stderr bash -c 'set -o pipefail; sr-cat < "$1" | head -1 > /dev/null' _ "$T/many.mp"
    assert_success
    [ -z "$stderr" ]
    sr-cat < "$T/many.mp" > "$T/many.json"
    run --separate-stderr bash -c 'set -o pipefail; sr-cat --from-json < "$1" | head -c 10 > /dev/null' _ "$T/many.json"
    assert_success
    [ -z "$stderr" ]
}

@test "-o FILE is written atomically; after a failure FILE does not exist" {
    sr-cat --from-json < "$AWK" > "$T/a.mp"
    sr-cat -i "$T/a.mp" -o "$T/out.json"
    cmp "$T/out.json" <(sr-cat < "$T/a.mp")
    sr-cat --from-json -i "$T/out.json" -o "$T/out.mp"
    cmp "$T/out.mp" "$T/a.mp"
    [ -z "$(ls "$T" | grep '\.tmp\.')" ]

    between '\x05' "$T/bad.mp"
    run sr-cat -i "$T/bad.mp" -o "$T/fail.json"
    assert_failure 3
    [ ! -e "$T/fail.json" ]
    printf '{"a":1}\n[1]\n' > "$T/bad.json"
    run sr-cat --from-json -i "$T/bad.json" -o "$T/fail.mp"
    assert_failure 3
    [ ! -e "$T/fail.mp" ]
    [ -z "$(ls "$T" | grep '\.tmp\.')" ]
}

@test "-o into a directory that is not there names the file given, not its temporary" {
    echo '{"a":1}' | sr-cat --from-json > "$T/a.mp"
    run --separate-stderr sr-cat -i "$T/a.mp" -o "$T/no-such-dir/x.json"
    assert_failure 1
    [[ $stderr == *"cannot write $T/no-such-dir/x.json: "* ]]
    [[ $stderr != *.tmp.* ]]
}
