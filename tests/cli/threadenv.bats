#!/usr/bin/env bats
# The tools start again with the thread settings sr needs (io/threadenv.h):
# OpenMP's idle workers sleep, unless the user chose a policy (on a shared
# machine spinning workers cost a busy core's work many times over), and
# OpenBLAS makes no thread pool of its own (sr never uses one, and under a
# small ulimit -v its workers hung the tool at exit).

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
    mkfifo "$T/in"
}

# The OMP_* / GOMP_* / OPENBLAS_* variables of a tool while it waits on its
# input (the started-again process: the one with OPENBLAS_NUM_THREADS=1).
env_of() {
    env "$@" sr-cat -i "$T/in" > /dev/null &
    local pid=$!
    for _ in $(seq 50); do
        tr '\0' '\n' < /proc/$pid/environ 2>/dev/null | grep -qx OPENBLAS_NUM_THREADS=1 && break
        sleep 0.1
    done
    tr '\0' '\n' < /proc/$pid/environ | grep -E '^(OMP_WAIT_POLICY|GOMP_SPINCOUNT|OPENBLAS_NUM_THREADS)=' | sort
    # the end of its input (bounded: a tool that never opened it must not hang the suite)
    timeout 10 sh -c ': > "$1"' sh "$T/in" || kill $pid
    wait $pid
}

@test "nothing given: OMP_WAIT_POLICY=passive, OPENBLAS_NUM_THREADS=1, arguments intact" {
    run env_of -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u OPENBLAS_NUM_THREADS
    assert_success
    assert_output $'OMP_WAIT_POLICY=passive\nOPENBLAS_NUM_THREADS=1'
    # the started-again process still has its options
    run env -u OMP_WAIT_POLICY -u OPENBLAS_NUM_THREADS bash -c 'echo "{\"a\": 1}" | sr-cat --from-json | sr-cat --keys a'
    assert_output '{"a":1}'
}

@test "a wait policy the user set is left as it is; OpenBLAS still gets one thread" {
    run env_of -u GOMP_SPINCOUNT -u OPENBLAS_NUM_THREADS OMP_WAIT_POLICY=active
    assert_output $'OMP_WAIT_POLICY=active\nOPENBLAS_NUM_THREADS=1'
    run env_of -u OMP_WAIT_POLICY -u OPENBLAS_NUM_THREADS GOMP_SPINCOUNT=1000
    assert_output $'GOMP_SPINCOUNT=1000\nOPENBLAS_NUM_THREADS=1'
}

@test "OPENBLAS_NUM_THREADS from the user becomes 1: sr sets one OpenBLAS thread at run time anyway" {
    run env_of -u GOMP_SPINCOUNT OMP_WAIT_POLICY=passive OPENBLAS_NUM_THREADS=4
    assert_output $'OMP_WAIT_POLICY=passive\nOPENBLAS_NUM_THREADS=1'
}
