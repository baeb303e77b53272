# helpers.bash — loaded by every bats suite: `load helpers`.
# tests/run puts the binaries under test first on PATH ($SR_BIN).

bats_load_library bats-support 2>/dev/null || load /usr/lib/bats/bats-support/load
bats_load_library bats-assert 2>/dev/null || load /usr/lib/bats/bats-assert/load

SR_ROOT=${SR_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
FIXTURES=$SR_ROOT/tests/fixtures
EXAMPLES=$SR_ROOT/examples
SHARED=${SR_SHARED:-$SR_ROOT/../shared}
if [ -n "${SR_BIN:-}" ]; then PATH="$SR_BIN:$PATH"; else PATH="$SR_ROOT/bin:$PATH"; fi
# The tests' tiny random model writer (tests/tools/sr-tiny-model): make test
# builds it and says where; by hand, the release build's.
SR_TINY_MODEL=${SR_TINY_MODEL:-$SR_ROOT/build/rel/tests/sr-tiny-model}

# write_tiny_model FILE [--seed N]: a tiny random model with the fixture
# tokenizer (the same whether or not the real model is here), in seconds.
write_tiny_model() {
    local out=$1; shift
    if [ ! -x "$SR_TINY_MODEL" ]; then
        echo "$SR_TINY_MODEL is missing: build it with make test (or make $SR_TINY_MODEL)" >&2
        return 1
    fi
    "$SR_TINY_MODEL" -o "$out" "$@"
}

# Real data from ../shared: present in CI, absent in a user's clone. Skips the
# test with a message when absent, but fails under CI=true so CI cannot pass
# by skipping.
need_shared() {
    local f=$SHARED/$1
    if [ ! -e "$f" ]; then
        if [ "${CI:-}" = true ]; then
            echo "$f is missing, and CI=true makes that a failure" >&2
            return 1
        fi
        skip "no ../shared/data (a user's clone): real-data test skipped"
    fi
}

# The default model (make model): skipped when absent, a failure under CI=true.
need_model() {
    MODEL=${SR_TEST_MODEL:-$SR_ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf}
    if [ ! -e "$MODEL" ]; then
        if [ "${CI:-}" = true ]; then
            echo "model $MODEL is missing (make model), and CI=true makes that a failure" >&2
            return 1
        fi
        skip "no model (run make model): test skipped"
    fi
}

# The training tools' shared properties, for a runner $1 (tiny_sft, tiny_dpo:
# the tool on its tiny model and data, extra flags appended) and its
# background form $2 (which leaves the tool's pid in $!).

# The same run twice gives the same bytes; another --seed does not.
same_bytes_per_seed() {
    local run=$1
    "$run" -q -o "$T/a.gguf" --epochs 2
    "$run" -q -o "$T/b.gguf" --epochs 2
    cmp "$T/a.gguf" "$T/b.gguf"
    "$run" -q -o "$T/c.gguf" --epochs 2 --seed 9
    ! cmp -s "$T/a.gguf" "$T/c.gguf"
}

# --dropout: two runs with one seed give the same bytes, a run without it
# others; the checkpoint records it (and only when on).
dropout_is_seeded() {
    local run=$1
    "$run" -q -o "$T/a.gguf" --epochs 2 --dropout 0.1 "${@:2}"
    "$run" -q -o "$T/b.gguf" --epochs 2 --dropout 0.1 "${@:2}"
    cmp "$T/a.gguf" "$T/b.gguf"
    "$run" -q -o "$T/n.gguf" --epochs 2 "${@:2}"
    ! cmp -s "$T/a.gguf" "$T/n.gguf"
    grep -q "sr.hparams.dropout" "$T/a.gguf"
    ! grep -q "sr.hparams.dropout" "$T/n.gguf"
}

# kill -9 in the middle, then --resume: bit-identical to an uninterrupted run.
kill_then_resume_is_identical() {
    local run=$1 run_bg=$2 pid done_steps
    local args=(--max-steps 300 --save-every 20 --micro-batch 1 --warmup 5)
    "$run" -q -o "$T/full.gguf" "${args[@]}"
    "$run_bg" -q -o "$T/cut.gguf" "${args[@]}" --log "$T/cut.log"
    pid=$!
    # the first state (step 20): up to 2 minutes on a loaded machine, where
    # sr-dpo's reference pass alone has taken more than the 8 s once allowed
    for _ in $(seq 1 6000); do [ -e "$T/cut.gguf.state" ] || ! kill -0 "$pid" 2>/dev/null && break; sleep 0.02; done
    kill -9 "$pid"
    wait "$pid" || true
    [ -e "$T/cut.gguf.state" ]
    done_steps=$(wc -l < "$T/cut.log")
    echo "# killed after $done_steps of 300 steps" >&3
    [ "$done_steps" -lt 300 ]
    # What a kill during a save leaves: the dead run's partial checkpoint and
    # state go when the resumed run starts; a live writer's temporary and
    # another output's stay.
    echo partial > "$T/cut.gguf.tmp.$pid"
    echo partial > "$T/cut.gguf.state.tmp.$pid"
    echo partial > "$T/cut.gguf.tmp.$$"
    echo partial > "$T/full.gguf.tmp.$pid"
    run --separate-stderr "$run" -o "$T/cut.gguf" "${args[@]}" --resume --log "$T/cut.log"
    assert_success
    [[ $stderr == *"resuming"* ]]
    cmp "$T/full.gguf" "$T/cut.gguf"
    [ ! -e "$T/cut.gguf.tmp.$pid" ] && [ ! -e "$T/cut.gguf.state.tmp.$pid" ]
    [ -e "$T/cut.gguf.tmp.$$" ] && [ -e "$T/full.gguf.tmp.$pid" ]
    rm "$T/cut.gguf.tmp.$$" "$T/full.gguf.tmp.$pid"
    # the log: one line per step, 1 to 300 in order, none of the redone twice
    [ "$(wc -l < "$T/cut.log")" -eq 300 ]
    [ "$(sed 's/^{"step":\([0-9]*\),.*/\1/' "$T/cut.log" | tr '\n' ' ')" = "$(seq -s ' ' 1 300) " ]
}
