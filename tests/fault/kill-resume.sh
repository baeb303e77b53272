#!/usr/bin/env bash
# kill-resume.sh — SIGKILL a small pipeline run at random moments, resume it
# each time, and check that its files are byte-identical to an uninterrupted
# run's (the records and the GGUFs; the --log files step for step, without
# their timings).
#
#   tests/fault/kill-resume.sh [-n KILLS] [-s SEED] [-w DIR] [TARGET]...
#
# KILLS (default 3): how many kills; each lands at a random moment within
# the uninterrupted run's wall time (so in any stage, in training between
# steps or while a checkpoint or its state is written: SAVE_EVERY=1). The
# run and its stages are one process group, killed together, as a machine
# that loses power kills them. TARGETs default to iter3; a target is given
# as a path under the run (seed/ift.mp, iter1/sft.gguf) or a phony (iter3).
# SEED picks the moments (default: random, printed so a failure can be
# replayed). Needs bin/ and build/rel/tests/sr-tiny-model (make test).
# Exit 0 when identical, 1 with the differing files named.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
kills=3 seed=$RANDOM work=
while getopts n:s:w: o; do
    case $o in
        n) kills=$OPTARG ;; s) seed=$OPTARG ;; w) work=$OPTARG ;;
        *) echo "usage: $0 [-n KILLS] [-s SEED] [-w DIR] [TARGET]..." >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
targets=("${@:-iter3}")
own=
[ -n "$work" ] || { work=$(mktemp -d); own=1; }
mkdir -p "$work"
bin=${SR_BIN:-$root/bin}
tiny=${SR_TINY_MODEL:-$root/build/rel/tests/sr-tiny-model}
RANDOM=$seed
echo "# kill-resume: $kills kills, seed $seed, in $work, targets ${targets[*]}"
"$tiny" -o "$work/tiny.gguf" || exit 2
unset MAKEFLAGS MFLAGS MAKELEVEL
old=(PIPE_PRE=)
for t in "$bin"/sr-*; do old+=(-o "$t"); done

# pmake RUN: make RUN's goals, exec'd in a session of its own (so that $!
# of "pmake &" is make's pid and its process group's id); run it in a
# subshell when not in the background.
# goals RUN: the make goals of RUN's run.
goals() { local t; for t in "${targets[@]}"; do case $t in */*) echo "$work/runs/$1/$t" ;; *) echo "$t" ;; esac; done; }
pmake() {
    local run=$1; shift
    # shellcheck disable=SC2046
    exec setsid make -C "$root" --no-print-directory BIN="$bin" "${old[@]}" RUNS="$work/runs" RUN="$run" \
        SCALE=micro MODEL="$work/tiny.gguf" SAVE_EVERY=1 THREADS=1 $(goals "$run") "$@"
}

start=$(date +%s%N)
(pmake ref) > "$work/ref.log" 2>&1 || { echo "the uninterrupted run failed: $work/ref.log" >&2; tail -5 "$work/ref.log" >&2; exit 2; }
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "# uninterrupted: $ms ms"

# compare: the cut run's files against the uninterrupted one's; 0 when identical.
compare() {
    local bad=0 f rel g left
    strip() { jq -c 'del(.tokens_per_s, .seconds)' "$1" 2>/dev/null; }
    while IFS= read -r -d '' f; do
        rel=${f#"$work/runs/ref/"}
        g=$work/runs/cut/$rel
        case $rel in
            *.mp|*.gguf) cmp -s "$f" "$g" || { echo "differs: $rel"; bad=1; } ;;
            # steps, losses and learning rates; not the timings
            *.log.jsonl) [ "$(strip "$f")" = "$(strip "$g")" ] || { echo "differs: $rel"; bad=1; } ;;
        esac
    done < <(find "$work/runs/ref" -type f -print0)
    # nothing left half-done: no temporaries, states or part files
    left=$(find "$work/runs/cut" -name '*.tmp.*' -o -name '*.part.gguf*' | sed "s|$work/runs/cut/||")
    [ -z "$left" ] || { echo "left behind: $left"; bad=1; }
    return "$bad"
}

# Kill at a random moment within the uninterrupted run's time; a run that
# ends first is a finished cycle: it is compared, and the next starts afresh.
landed=0 cycles=0 tries=0 bad=0
while [ "$landed" -lt "$kills" ] && [ "$tries" -lt $((kills * 10)) ]; do
    tries=$((tries + 1))
    pmake cut >> "$work/cut.log" 2>&1 &
    pid=$!
    at=$(( (RANDOM * 32768 + RANDOM) % (ms > 1 ? ms : 1) ))
    sleep "$(printf '%d.%03d' $((at / 1000)) $((at % 1000)))"
    if kill -9 -- "-$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null
        landed=$((landed + 1))
        echo "#   kill $landed at $at ms"
        continue
    fi
    wait "$pid" || { echo "a resumed run failed: $work/cut.log" >&2; tail -5 "$work/cut.log" >&2; exit 1; }
    cycles=$((cycles + 1))
    compare || bad=1
    rm -rf "$work/runs/cut"
done
(pmake cut) >> "$work/cut.log" 2>&1 || { echo "the resumed run failed: $work/cut.log" >&2; tail -5 "$work/cut.log" >&2; exit 1; }
cycles=$((cycles + 1))
compare || bad=1
[ "$bad" = 0 ] && echo "# identical: $landed kills over $cycles runs"
# a directory of its own goes when all is well; a failure's stays to look at
[ "$bad" = 0 ] && [ -n "$own" ] && rm -rf "$work"
exit "$bad"
