#!/usr/bin/env bats
# The tools start OpenMP with idle workers sleeping (io/waitpolicy.h), unless
# the user chose a policy: on a shared machine spinning workers cost a busy
# core's work many times over.

bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BATS_TEST_TMPDIR
    mkfifo "$T/in"
}

# The OMP_* / GOMP_* variables of a tool while it waits on its input.
env_of() {
    env "$@" sr-cat -i "$T/in" > /dev/null &
    local pid=$!
    for _ in $(seq 50); do
        tr '\0' '\n' < /proc/$pid/environ 2>/dev/null | grep -q OMP_WAIT_POLICY && break
        sleep 0.1
    done
    tr '\0' '\n' < /proc/$pid/environ | grep -E '^(OMP_WAIT_POLICY|GOMP_SPINCOUNT)=' | sort
    # the end of its input (bounded: a tool that never opened it must not hang the suite)
    timeout 10 sh -c ': > "$1"' sh "$T/in" || kill $pid
    wait $pid
}

@test "no policy given: the tool runs with OMP_WAIT_POLICY=passive, its arguments intact" {
    run env_of -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT
    assert_success
    assert_output 'OMP_WAIT_POLICY=passive'
    # the started-again process still has its options
    run env -u OMP_WAIT_POLICY bash -c 'echo "{\"a\": 1}" | sr-cat --from-json | sr-cat --keys a'
    assert_output '{"a":1}'
}

@test "a policy the user set is left as it is" {
    run env_of -u GOMP_SPINCOUNT OMP_WAIT_POLICY=active
    assert_output 'OMP_WAIT_POLICY=active'
    run env_of -u OMP_WAIT_POLICY GOMP_SPINCOUNT=1000
    assert_output 'GOMP_SPINCOUNT=1000'
}
