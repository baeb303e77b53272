#!/usr/bin/env bats
# Memory limits: under a `ulimit -v` too small for the model, each model tool
# exits 1 saying what it could not allocate, and never crashes or hangs.
# Skipped under AddressSanitizer, which reserves terabytes of address space
# up front (no ulimit -v below that can run it).

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
    need_model
    if grep -qa __asan_init "$(command -v sr-gen)"; then skip "ASan build: ulimit -v cannot apply"; fi
    echo '{"id":"c","prompt":"hi","response":"yo","chosen":"yo","rejected":"no"}' | sr-cat --from-json > "$T/c.mp"
}

# limited KB CMD...: CMD under ulimit -v KB, with a time limit so that a hang
# fails the test instead of stalling it, and without OPENBLAS_NUM_THREADS
# (the tools must not need the user to set it: see below).
limited() {
    local kb=$1; shift
    timeout 60 env -u OPENBLAS_NUM_THREADS bash -c 'ulimit -v "$0"; exec "$@"' "$kb" "$@"
}

# every_tool_oom KB WHAT: under ulimit -v KB each model tool exits 1 with
# "out of cpu memory for N MiB of WHAT", and a trainer leaves no output.
every_tool_oom() {
    local kb=$1 what=$2
    run --separate-stderr limited $kb sr-gen -m "$MODEL" -i "$T/c.mp" -n 1 --max-tokens 2 --threads 2
    assert_failure 1
    [[ $stderr == *"out of cpu memory for "*" MiB of $what"* ]]
    run --separate-stderr limited $kb sr-judge -m "$MODEL" -i "$T/c.mp" -k 1 --max-tokens 2 --threads 2
    assert_failure 1
    [[ $stderr == *"out of cpu memory for "*" MiB of $what"* ]]
    for tool in sr-sft sr-dpo; do
        run --separate-stderr limited $kb $tool -m "$MODEL" -i "$T/c.mp" --max-steps 1 --threads 2 \
            -o "$T/o.gguf"
        assert_failure 1
        [[ $stderr == *"out of cpu memory for "*" MiB of $what"* ]]
        [ ! -e "$T/o.gguf" ]
    done
}

# The weights (513 MiB as f32 on the CPU) do not fit in 400 or 500 MB.
@test "ulimit -v below the weights: sr-gen, sr-judge, sr-sft, sr-dpo exit 1 naming the weights" {
    every_tool_oom 400000 weights
    every_tool_oom 500000 weights
}

# In 700 MB the weights fit and the activations do not (before OpenBLAS's
# unused thread pool was kept from being made, it took enough address space
# that the weights did not fit here either).
@test "ulimit -v between the weights and the activations: each tool exits 1 naming the activations" {
    every_tool_oom 700000 activations
}

# Too little even to map the file: "out of memory mapping the file", exit 1
# (the file is sound: not bad input's 3).
# Below about 250 MB OpenBLAS's own thread
# pool (made when the library loads, before main) left a worker retrying an
# allocation forever and the tool hung in exit() after its message; the tools
# now start again with OPENBLAS_NUM_THREADS=1 (io/threadenv.h), and the time
# limit in `limited` turns a hang back into a failure.
@test "ulimit -v below the file's mapping: exit 1, out of memory mapping the file" {
    run --separate-stderr limited 100000 sr-gen -m "$MODEL" -i "$T/c.mp" -n 1 --max-tokens 2 --threads 2
    assert_failure 1
    [[ $stderr == *"out of memory mapping the file ("*" MB)"* ]]
}

# A little more: the file maps, the tokenizer's tables do not.
@test "ulimit -v below the tokenizer's tables: exit 1, out of memory for its merges" {
    run --separate-stderr limited 150000 sr-gen -m "$MODEL" -i "$T/c.mp" -n 1 --max-tokens 2 --threads 2
    assert_failure 1
    [[ $stderr == *"out of memory"* ]]
}

# Thread stacks that do not fit: libgomp, left to find out in the first
# parallel region, printed "Thread creation failed" and exited naming
# nothing; the model's context starts its threads at load and says how many
# it could. (OPENBLAS_NUM_THREADS=1 from the start: with 2 GB stacks
# OpenBLAS's own pool fails in its load-time constructor, before main — the
# one case the tools cannot reach themselves.)
@test "thread stacks beyond ulimit -v: exit 1, cannot start N threads" {
    run --separate-stderr timeout 60 env OPENBLAS_NUM_THREADS=1 bash -c \
        'ulimit -s 2000000; ulimit -v 1900000; exec "$@"' x \
        sr-gen -m "$MODEL" -i "$T/c.mp" -n 1 --max-tokens 2 --threads 2
    assert_failure 1
    [[ $stderr == *"cannot start 2 threads, only 1 ("* ]]
    [[ $stderr != *libgomp* ]]
}
