#!/usr/bin/env bats
# layout.bats — the house rules of DESIGN §1 and §10, checked on the sources
# so a change that breaks them fails here rather than in review:
# arrows go down only, tools stay pipeline stages, functions stay readable.

load helpers

setup() { cd "$SR_ROOT"; }

# The quoted includes of the files under $1 that name a folder in $2.
includes_of() {
    grep -HnE "^[[:space:]]*#[[:space:]]*include \"($2)/" $(find "$1" -name '*.[ch]' -o -name '*.cu') || true
}

@test "lib/base includes nothing of io, lm or sr" {
    run includes_of lib/base 'io|lm|sr'
    assert_output ""
}

@test "lib/lm includes neither io nor sr (it returns errors, never exits)" {
    run includes_of lib/lm 'io|sr'
    assert_output ""
}

@test "lib/io includes nothing of sr" {
    run includes_of lib/io 'sr'
    assert_output ""
}

@test "kernels/ includes nothing of lib/" {
    run includes_of kernels 'base|io|lm|sr'
    assert_output ""
}

@test "lib/lm and lib/base never exit the process" {
    run grep -nE '\b(exit|_exit|abort|sr_die)[[:space:]]*\(' $(find lib/lm lib/base -name '*.c')
    assert_output ""
}

@test "every include of a lib header names its folder" {
    local hdrs
    hdrs=$(cd lib && ls */*.h | xargs -n1 basename | paste -sd'|')
    run grep -nE "#[[:space:]]*include \"($hdrs)\"" $(find lib tools tests/unit tests/gpu bench -name '*.[ch]')
    assert_output ""
}

@test "no CUDA #if outside kernels/" {
    run grep -nE '^[[:space:]]*#[[:space:]]*if.*(CUDA|__CUDACC__)' $(find lib tools -name '*.[ch]')
    assert_output ""
}

@test "no tool source is over 250 lines" {
    run awk 'FNR == 1 && NR > 1 && n > 250 { print prev ": " n " lines" } { n = FNR; prev = FILENAME }
             END { if (n > 250) print prev ": " n " lines" }' tools/*.c
    assert_output ""
}

@test "no function over 80 lines outside kernels/ and tests/" {
    if ! ctags --version 2>/dev/null | grep -q Universal; then
        [ "${CI:-}" != true ] || { echo "universal-ctags is missing (make deps), and CI=true makes that a failure" >&2; return 1; }
        skip "universal-ctags not installed (make deps installs it)"
    fi
    run bash -c "ctags -x --c-kinds=f --_xformat='%N %F %n %{end}' lib/*/*.c tools/*.c |
                 awk '{ l = \$4 - \$3 + 1; if (l > 80) print \$2 \": \" \$1 \" is \" l \" lines\" }'"
    assert_success
    assert_output ""
}
