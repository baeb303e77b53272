#!/usr/bin/env bats
# Two runs at once on the same output: a second make on the same RUN=, and a
# second sr-sft / sr-dpo on the same -o, refuse with a message naming the
# first (its pid) and write nothing; when the first is gone (even killed
# with -9) the lock goes with it.

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
    unset MAKEFLAGS MFLAGS MAKELEVEL
}

# A stand-in for sr-filter-oasst that takes a while: the first make is still
# in its first stage when the second starts.
slow_bin() {
    mkdir -p "$T/bin"
    cat > "$T/bin/sr-filter-oasst" <<'SH'
#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done
echo $$ > "${out%/*}/../started"
sleep "${SLOW:-3}"
echo done > "$out"
SH
    chmod +x "$T/bin/sr-filter-oasst"
}

pmake() {
    make -C "$SR_ROOT" --no-print-directory BIN="$T/bin" PIPE_PRE= RUNS="$T/runs" "$@"
}

# In the background, with $! make's own pid (a function would put a subshell
# between).
pmake_bg() { make -C "$SR_ROOT" --no-print-directory BIN="$T/bin" PIPE_PRE= RUNS="$T/runs" "$@" & }

wait_for() { for _ in $(seq 1 200); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }

@test "make: a second make on the same RUN= refuses naming the first's pid; another RUN= runs" {
    slow_bin
    pmake_bg "$T/runs/demo/seed/ift.mp" > "$T/first.log" 2>&1
    local first=$!
    wait_for "$T/runs/demo/started"
    run --separate-stderr pmake "$T/runs/demo/seed/ranked.mp"
    assert_failure 2
    [[ $stderr == *"$T/runs/demo is in use by make (pid $first); wait for it to finish or use another RUN="* ]]
    [ ! -e "$T/runs/demo/seed/ranked.mp" ]
    # iter1, report: the same lock; make -n takes none
    run --separate-stderr pmake iter1
    assert_failure 2
    [[ $stderr == *"is in use by make (pid $first)"* ]]
    run pmake -n iter1
    assert_success
    SLOW=0 run pmake RUN=other "$T/runs/other/seed/ranked.mp"
    assert_success
    wait "$first"
    [ "$(cat "$T/runs/demo/seed/ift.mp")" = done ]
    # the first is done: the same RUN= runs at once
    SLOW=0 run pmake "$T/runs/demo/seed/ranked.mp"
    assert_success
}

@test "make: a make killed with -9 leaves no lock behind" {
    slow_bin
    SLOW=30 setsid make -C "$SR_ROOT" --no-print-directory BIN="$T/bin" PIPE_PRE= RUNS="$T/runs" \
        "$T/runs/demo/seed/ift.mp" > /dev/null 2>&1 &
    local first=$!
    wait_for "$T/runs/demo/started"
    kill -9 -- "-$first"     # make, its stage and the lock's holder
    wait "$first" || true
    SLOW=0 run pmake "$T/runs/demo/seed/ift.mp"
    assert_success
    # make alone: the lock goes with it, though (as with any make) the stage
    # it was running outlives it; kill the group (Ctrl-C does) to stop both.
    rm -f "$T/runs/demo/seed/ift.mp" "$T/runs/demo/started"
    SLOW=30 pmake_bg "$T/runs/demo/seed/ift.mp" > /dev/null 2>&1
    first=$!
    wait_for "$T/runs/demo/started"
    local stage
    stage=$(cat "$T/runs/demo/started")
    kill -9 "$first"
    wait "$first" || true
    SLOW=0 run pmake "$T/runs/demo/seed/ranked.mp"
    assert_success
    kill "$stage"
}

# ---- the training tools ------------------------------------------------------

train_setup() {
    write_tiny_model "$T/tiny.gguf"
    sr-cat --from-json > "$T/ex.mp" <<'JSON'
{"id":"a","prompt":"What is two plus two?","response":"Four.","chosen":"Four.","rejected":"Five."}
{"id":"b","prompt":"Name a colour.","response":"Blue.","chosen":"Blue.","rejected":"Up."}
JSON
}

@test "sr-sft and sr-dpo: a second run on the same -o refuses naming the first; the first is unharmed" {
    train_setup
    for tool in sr-sft sr-dpo; do
        local args=(-m "$T/tiny.gguf" -i "$T/ex.mp" --threads 1 --batch 1 --max-steps 100000
                    --save-every 5 --log "$T/$tool.log")
        "$tool" -q "${args[@]}" -o "$T/$tool.gguf" &
        local first=$!
        wait_for "$T/$tool.gguf.state"
        run --separate-stderr "$tool" "${args[@]}" --log "$T/$tool-2.log" -o "$T/$tool.gguf" --resume
        assert_failure 1
        [[ $stderr == *"$T/$tool.gguf is being written by another run (pid $first)"* ]]
        [ ! -e "$T/$tool-2.log" ]
        kill -0 "$first"    # still running
        kill -9 "$first"
        wait "$first" || true
        # the kernel let go of the dead run's lock (its file stays, unlocked)
        run --separate-stderr "$tool" -m "$T/tiny.gguf" -i "$T/ex.mp" --threads 1 --batch 1 \
            --max-steps 3 -o "$T/$tool.gguf"
        assert_success
        [ ! -e "$T/$tool.gguf.lock" ]
    done
}
