#!/usr/bin/env bats
# Kills at random moments (tests/fault/kill-resume.sh): a micro pipeline run
# on a tiny random model, SIGKILLed with its stages a few times and resumed,
# ends with the same bytes as an uninterrupted run. make fault-campaign runs
# it with 20 kills.

load helpers

@test "a micro run killed at 3 random moments and resumed is byte-identical to an uninterrupted one" {
    [ -x "$SR_TINY_MODEL" ] || skip "no $SR_TINY_MODEL (make test builds it)"
    unset MAKEFLAGS MFLAGS MAKELEVEL
    run "$SR_ROOT/tests/fault/kill-resume.sh" -n 3 -w "$BATS_TEST_TMPDIR/kr" \
        seed/ift.mp seed/ranked.mp seed/heldout-prompts.mp iter1/sft.gguf
    echo "$output" | sed 's/^/# /' >&3
    [ "$status" -eq 0 ]
    [[ $output == *"# identical: 3 kills over "* ]]
}
