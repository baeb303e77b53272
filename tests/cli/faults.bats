#!/usr/bin/env bats
# When things break: a model whose numbers are NaN, and (with the fault
# shim, tests/fault) full disks and I/O errors under every kind of output.

bats_require_minimum_version 1.5.0
load helpers

SR_FAULT_SHIM=${SR_FAULT_SHIM:-$SR_ROOT/build/fault/libsr-faultshim.so}

setup() {
    T=$BATS_TEST_TMPDIR
}

# ---- a broken model ----------------------------------------------------------------

# One NaN in output_norm.weight makes every logit NaN: the sampler has no
# candidate. Each generating tool stops at once, naming the record and the
# token (the model failed, not the data: exit 1), and writes nothing.
@test "NaN logits: sr-gen and sr-judge exit 1 naming the record and the token" {
    write_tiny_model "$T/nan.gguf" --nan output_norm.weight
    echo '{"id":"r1","prompt":"hi"}' | sr-cat --from-json > "$T/p.mp"
    run --separate-stderr sr-gen -m "$T/nan.gguf" -i "$T/p.mp" --max-tokens 4 --max-prompt-tokens 64 \
        -o "$T/g.mp"
    assert_failure 1
    [[ $stderr == *'record 1 (id "r1"): non-finite logits at token 1 of sample 0'* ]]
    [ ! -e "$T/g.mp" ]
    for temp in 0 1; do   # greedy decoding too: argmax over NaN is no answer
        run --separate-stderr sr-gen -m "$T/nan.gguf" -i "$T/p.mp" --max-tokens 4 \
            --max-prompt-tokens 64 -n 1 --temperature $temp
        assert_failure 1
        [[ $stderr == *"non-finite logits at token 1"* ]]
    done
    printf 'Rate: {prompt} / {response}\nScore: ' > "$T/tmpl.txt"
    echo '{"id":"c7","prompt":"hi","response":"yo"}' | sr-cat --from-json > "$T/c.mp"
    run --separate-stderr sr-judge -m "$T/nan.gguf" --template "$T/tmpl.txt" -k 2 --max-tokens 4 \
        --max-prompt-tokens 64 -i "$T/c.mp" -o "$T/j.mp"
    assert_failure 1
    [[ $stderr == *'record 1 (id "c7"): non-finite logits at token 1 of sample 0'* ]]
    [ ! -e "$T/j.mp" ]
}

# The training tools: the reference pass (its NaN must not pass for "not
# given", nor reach --write-ref's records), --eval's JSON, and the loss.
@test "NaN logits: sr-dpo's reference pass and --eval, and sr-sft's loss, exit 1 writing nothing" {
    write_tiny_model "$T/nan.gguf" --nan output_norm.weight
    write_tiny_model "$T/ok.gguf"
    echo '{"id":"a","prompt":"Hi?","chosen":"Hello.","rejected":"No.","response":"Hello."}' |
        sr-cat --from-json > "$T/p.mp"
    run --separate-stderr sr-dpo -m "$T/nan.gguf" -i "$T/p.mp" --write-ref "$T/ref.mp" -o "$T/o.gguf"
    assert_failure 1
    [[ $stderr == *"reference pass ($T/nan.gguf): pair 1: non-finite log-probabilities"* ]]
    [ ! -e "$T/ref.mp" ] && [ ! -e "$T/o.gguf" ]
    run --separate-stderr sr-dpo --eval -m "$T/nan.gguf" --ref "$T/ok.gguf" -i "$T/p.mp"
    assert_failure 1
    [[ $stderr == *"--eval: the loss is not finite"* ]]
    [[ $output != *nan* ]]
    run --separate-stderr sr-sft -m "$T/nan.gguf" -i "$T/p.mp" -o "$T/s.gguf" --max-steps 1
    assert_failure 1
    [[ $stderr == *"step 1: the loss is not finite"* ]]
    [ ! -e "$T/s.gguf" ]
}

# ---- full disks and I/O errors (the fault shim) ----------------------------------

# The shim (tests/fault/faultshim.c, built by make test) makes the Nth write,
# fsync, rename or read of a tool's own files fail with ENOSPC or EIO.
need_shim() {
    if [ -z "${SR_FAULT_SHIM:-}" ] || [ ! -e "$SR_FAULT_SHIM" ]; then
        [ "${CI:-}" != true ] || { echo "SR_FAULT_SHIM '${SR_FAULT_SHIM:-}' is missing (make test builds it)" >&2; return 1; }
        skip "no fault shim (SR_FAULT_SHIM; make test builds it)"
    fi
}

# faulted SPEC CMD...: CMD with the shim and SR_FAULT=SPEC. Under ASan the
# shim comes before the ASan runtime, which ASan allows when told.
faulted() {
    ( export LD_PRELOAD=$SR_FAULT_SHIM SR_FAULT=$1 ASAN_OPTIONS="verify_asan_link_order=0:${ASAN_OPTIONS:-}"
      shift; "$@" )
}
# counted CMD...: CMD with the shim counting its calls into $T/count.
counted() {
    rm -f "$T/count"
    ( export LD_PRELOAD=$SR_FAULT_SHIM SR_FAULT_COUNT=$T/count ASAN_OPTIONS="verify_asan_link_order=0:${ASAN_OPTIONS:-}"
      "$@" )
}
# calls CALL: how many the counted run made.
calls() { awk -v c="$1" '$1 == c { n += $2 } END { print n + 0 }' "$T/count"; }
# picks TOTAL: which of the calls to fail: the first two, a middle one, the
# last two.
picks() { printf '%s\n' 1 2 $(($1 / 2)) $(($1 - 1)) "$1" | awk -v n="$1" '$1 >= 1 && $1 <= n && !seen[$1]++'; }
# The errno alternates, so both are seen; the message must give the one
# that happened (a later call's errno, or a made-up EIO, would mislead).
next_errno() { [ "${ERRNO:-EIO}" = EIO ] && ERRNO=ENOSPC || ERRNO=EIO; }
says_errno() {
    local text="No space left on device"
    [ "$ERRNO" = EIO ] && text="Input/output error"
    [[ $stderr == *"$text"* ]]
}

no_temporaries() {
    local left
    left=$(find "$T" -name '*.tmp.[0-9]*')
    [ -z "$left" ] || { echo "# temporaries left: $left" >&3; return 1; }
}

# output_faults OUT CMD...: CMD writes OUT (its -o). Run clean, counted; then
# for a few N of each of write, fsync and rename, over a previous OUT: the
# Nth call failing makes CMD exit 1 with a message naming OUT (the name
# given, not a temporary's), and leaves the previous OUT byte for byte and
# no temporary. A failed fsync of the directory, after the rename, is not
# reported (nothing is lost: the file is whole, in place); then OUT is the
# clean run's.
output_faults() {
    local out=$1 call n failed=0; shift
    counted "$@"
    cp "$out" "$T/want"
    for call in write fsync rename; do
        for n in $(picks "$(calls $call)"); do
            next_errno
            echo previous > "$out"
            run --separate-stderr faulted "$call:$n:$ERRNO" "$@"
            if [ "$status" -eq 0 ] && [ "$call" = fsync ]; then
                cmp "$out" "$T/want"
                continue
            fi
            echo "# $1, $call #$n ($ERRNO): exit $status: ${stderr//$'\n'/ | }" >&3
            [ "$status" -eq 1 ]
            [[ $stderr == *"$out"* && $stderr != *.tmp.* ]]
            says_errno
            [ "$(cat "$out")" = previous ]
            no_temporaries
            failed=$((failed + 1))
        done
    done
    [ "$failed" -ge 3 ]
    cp "$T/want" "$out"
}

# read_faults IN CMD...: the Nth read of CMD's input failing (EIO) makes it
# exit 1 naming IN, never treat the input as ended.
read_faults() {
    local in=$1 n; shift
    counted "$@" > /dev/null
    for n in $(picks "$(calls read)"); do
        run --separate-stderr faulted "read:$n:EIO" "$@"
        echo "# $1, read #$n: exit $status: ${stderr//$'\n'/ | }" >&3
        [ "$status" -eq 1 ]
        [[ $stderr == *"$in"*"Input/output error"* ]]
    done
}

fixture_prompts() {
    for i in 1 2 3; do echo "{\"id\":\"p$i\",\"prompt\":\"Question $i?\"}"; done | sr-cat --from-json > "$T/p.mp"
}

@test "sr-cat -o: a failed write, fsync or rename exits 1 naming the file, the previous one kept" {
    need_shim
    seq 1 4000 | awk '{ printf "{\"id\":\"r%d\",\"prompt\":\"line %d of the input\"}\n", $1, $1 }' > "$T/in.json"
    output_faults "$T/out.mp" sr-cat --from-json -i "$T/in.json" -o "$T/out.mp"
    output_faults "$T/out.json" sr-cat -i "$T/out.mp" -o "$T/out.json"
}

@test "sr-cat: a failed read of the input exits 1 naming it" {
    need_shim
    seq 1 4000 | awk '{ printf "{\"id\":\"r%d\",\"prompt\":\"line %d of the input\"}\n", $1, $1 }' > "$T/in.json"
    sr-cat --from-json -i "$T/in.json" -o "$T/in.mp"
    read_faults "$T/in.json" sr-cat --from-json -i "$T/in.json" -o "$T/o1.mp"
    read_faults "$T/in.mp" sr-cat -i "$T/in.mp" -o "$T/o2.json"
}

@test "sr-gen and sr-judge -o: failed writes, fsyncs and renames exit 1 naming the file" {
    need_shim
    write_tiny_model "$T/tiny.gguf"
    fixture_prompts
    output_faults "$T/c.mp" sr-gen -q -m "$T/tiny.gguf" -i "$T/p.mp" -n 2 --max-tokens 4 \
        --max-prompt-tokens 64 -o "$T/c.mp"
    printf 'Rate: {prompt} / {response}\nScore: ' > "$T/tmpl.txt"
    output_faults "$T/j.mp" sr-judge -q -m "$T/tiny.gguf" --template "$T/tmpl.txt" -k 1 --max-tokens 4 \
        --max-prompt-tokens 64 --retries 0 -i "$T/c.mp" -o "$T/j.mp"
}

@test "sr-pairs -o and the sr-judge --eval-json report: failed writes exit 1 naming the file" {
    need_shim
    for p in a b c; do for s in 0 1 2; do
        echo "{\"id\":\"$p$s\",\"prompt_id\":\"$p\",\"prompt\":\"Q $p?\",\"response\":\"R $s\",\"sample\":$s,\"score\":$((s + 2)),\"human_rank\":$((2 - s))}"
    done; done | sr-cat --from-json > "$T/judged.mp"
    output_faults "$T/pairs.mp" sr-pairs -q -i "$T/judged.mp" -o "$T/pairs.mp"
    output_faults "$T/m.json" sr-judge --eval --eval-json "$T/m.json" -i "$T/judged.mp"
}

# training_faults TOOL ARGS...: TOOL trains 4 steps with --save-every 2, so
# the checkpoint and its .state are written at step 2 and again at step 4.
# A rename failing at step 4's checkpoint leaves step 2's files: those are
# "the previous checkpoint and state". Then for a few N of each call, a run
# from scratch with the Nth failing exits 1 naming one of the two files,
# leaves no temporary, and what it leaves is whole: the checkpoint absent,
# step 2's byte for byte, or step 4's (when only the last state failed); the
# state absent or step 2's. And --resume from whatever was left ends
# byte-identical to a clean run: nothing is lost.
training_faults() {
    local tool=$1 call n failed=0; shift
    local run=("$tool" -q "$@" --max-steps 4 --save-every 2 --micro-batch 1)
    "${run[@]}" -o "$T/want.gguf"
    counted "${run[@]}" -o "$T/o.gguf"
    cmp "$T/o.gguf" "$T/want.gguf"
    [ "$(calls rename)" -eq 4 ]
    rm -f "$T"/o.gguf*
    run --separate-stderr faulted rename:3:ENOSPC "${run[@]}" -o "$T/o.gguf"
    [ "$status" -eq 1 ]
    cp "$T/o.gguf" "$T/prev.gguf"
    cp "$T/o.gguf.state" "$T/prev.state"
    ! cmp -s "$T/prev.gguf" "$T/want.gguf"
    for call in write fsync rename; do
        for n in $(picks "$(calls $call)"); do
            next_errno
            rm -f "$T"/o.gguf*
            run --separate-stderr faulted "$call:$n:$ERRNO" "${run[@]}" -o "$T/o.gguf"
            echo "# $tool, $call #$n ($ERRNO): exit $status: ${stderr//$'\n'/ | }" >&3
            if [ "$status" -ne 0 ] || [ "$call" != fsync ]; then
                [ "$status" -eq 1 ]
                [[ $stderr == *"$T/o.gguf"* && $stderr != *.tmp.* ]]
                says_errno
                failed=$((failed + 1))
            fi
            no_temporaries
            [ ! -e "$T/o.gguf" ] || cmp -s "$T/o.gguf" "$T/prev.gguf" || cmp "$T/o.gguf" "$T/want.gguf"
            [ ! -e "$T/o.gguf.state" ] || cmp -s "$T/o.gguf.state" "$T/prev.state" || [ "$status" -eq 0 ]
            "${run[@]}" -o "$T/o.gguf" --resume 2> /dev/null
            cmp "$T/o.gguf" "$T/want.gguf"
        done
    done
    [ "$failed" -ge 8 ]
}

sft_fixture() {
    write_tiny_model "$T/tiny.gguf"
    for i in 1 2 3 4 5 6; do
        echo "{\"id\":\"x$i\",\"prompt\":\"Question number $i?\",\"response\":\"Answer $i.\"}"
    done | sr-cat --from-json > "$T/ex.mp"
}

@test "sr-sft: a failed write, fsync or rename of a checkpoint or state keeps the previous pair; --resume recovers" {
    need_shim
    sft_fixture
    training_faults sr-sft -m "$T/tiny.gguf" -i "$T/ex.mp" --threads 2 --lr 1e-3 --batch 2
}

@test "sr-dpo: the same for its checkpoints and states" {
    need_shim
    write_tiny_model "$T/tiny.gguf"
    for i in 1 2 3 4 5 6; do
        echo "{\"id\":\"x$i\",\"prompt\":\"Question $i?\",\"chosen\":\"Answer $i.\",\"rejected\":\"No.\"}"
    done | sr-cat --from-json > "$T/pairs.mp"
    training_faults sr-dpo -m "$T/tiny.gguf" -i "$T/pairs.mp" --threads 2 --lr 1e-3 --batch 2
}

@test "sr-sft --resume: a failed read of the state exits 1 naming it, and leaves it as it was" {
    need_shim
    sft_fixture
    local run=(sr-sft -q -m "$T/tiny.gguf" -i "$T/ex.mp" --threads 2 --lr 1e-3 --batch 2 --max-steps 4
               --save-every 2 --micro-batch 1)
    run faulted rename:3:ENOSPC "${run[@]}" -o "$T/o.gguf"
    [ "$status" -eq 1 ]
    cp "$T/o.gguf.state" "$T/prev.state"
    cp "$T/o.gguf" "$T/prev.gguf"
    SR_FAULT_TRACE=1 counted "${run[@]}" -o "$T/probe.gguf" 2> "$T/trace"
    # the reads of the state come after those of the data: aim at the state's
    cp "$T/prev.state" "$T/probe.gguf.state"
    SR_FAULT_TRACE=1 counted "${run[@]}" -o "$T/probe.gguf" --resume 2> "$T/trace"
    local n
    for n in $(grep -E '^faultshim: read #[0-9]+ .*probe\.gguf\.state$' "$T/trace" | awk '{ sub("#", "", $3); print $3 }' | sed -n '1p;$p'); do
        run --separate-stderr faulted "read:$n:EIO" "${run[@]}" -o "$T/o.gguf" --resume
        echo "# sr-sft --resume, read #$n: exit $status: ${stderr//$'\n'/ | }" >&3
        [ "$status" -eq 1 ]
        [[ $stderr == *"$T/o.gguf.state: read error: Input/output error"* ]]
        cmp "$T/o.gguf.state" "$T/prev.state"
        cmp "$T/o.gguf" "$T/prev.gguf"
    done
}

# ---- a real full disk ------------------------------------------------------------

# A 256 KiB tmpfs in a mount namespace of its own (unshare -rm: no root
# needed where user namespaces are allowed; nothing outside sees it), and an
# output of about 400 KB: the kernel's ENOSPC, not the shim's.
@test "a real full disk (a 256 KiB tmpfs): sr-cat -o exits 1 naming the file, the previous one kept" {
    local ns=(unshare -rm)
    "${ns[@]}" true 2> /dev/null || ns=(unshare -m)
    "${ns[@]}" true 2> /dev/null || skip "no mount namespace (unshare -rm and unshare -m refused): no tmpfs to fill"
    seq 1 8000 | awk '{ printf "{\"id\":\"r%d\",\"prompt\":\"line %d of the input, padded out\"}\n", $1, $1 }' > "$T/in.json"
    mkdir "$T/mnt"
    run --separate-stderr "${ns[@]}" bash -c '
        mount -t tmpfs -o size=256k tmpfs "$1" || exit 77
        echo previous > "$1/out.mp"
        sr-cat --from-json -i "$2" -o "$1/out.mp"
        echo "status $?"
        echo "left $(ls "$1" | paste -sd " ")"
        echo "out $(cat "$1/out.mp")"' _ "$T/mnt" "$T/in.json"
    [ "$status" -ne 77 ] || skip "tmpfs cannot be mounted here: $stderr"
    echo "# $output | $stderr" >&3
    assert_line "status 1"
    assert_line "left out.mp"
    assert_line "out previous"
    [[ $stderr == *"$T/mnt/out.mp: No space left on device"* ]]
}
