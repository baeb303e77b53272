#!/usr/bin/env bash
# sr-judge's two score modes (issue 17), measured against the humans: the
# OASST1 English validation split's human-ranked first-turn replies judged
# by the default model with --score sample (the digit the judge wrote) and
# --score expected (the probability-weighted mean of the digits where it
# wrote it), then sr-judge --eval's five measures for each, side by side.
# Every other setting is sr-judge's default (k 3, T 0.7, top-p 0.9, 256
# tokens, forced score line), as in bench/RESULTS.md's baseline. The two
# modes draw the same tokens (the log-probs do not change the sampling), so
# they differ only in how a judgement's score is read.
#
#   bench/run-judge-modes.sh [--max N] [--out DIR] [-- SR-JUDGE-OPTION...]
#
# The two modes run at once, each with sr-judge's --threads (default every
# core: pass -- --threads N to split them).
# --max N: only the first prompts whose replies make N or more (whole
# prompts; 0, the default: the whole split, 541 replies — about 45 minutes
# per mode on 2 unloaded cores). DATA: the validation file (default
# ../shared/data/real/oasst1_en_validation.messages.jsonl, or
# $SR_SHARED/data/real/...). Results in DIR (default build/judge-modes):
# judged-MODE.mp, MODE.json, MODE.err (sr-judge's summary), table.md.
set -euo pipefail
cd "$(dirname "$0")/.."
max=0 out=build/judge-modes
while [ $# -gt 0 ]; do
    case $1 in
        --max) max=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "usage: $0 [--max N] [--out DIR] [-- SR-JUDGE-OPTION...]" >&2; exit 2 ;;
    esac
done
data=${DATA:-${SR_SHARED:-../shared}/data/real/oasst1_en_validation.messages.jsonl}
mkdir -p "$out"
bin/sr-filter-oasst --ranked -i "$data" -o "$out/ranked-all.mp"
if [ "$max" -gt 0 ]; then
    # whole prompts, in input order, until N replies
    bin/sr-cat < "$out/ranked-all.mp" |
        awk -v max="$max" '{ match($0, /"prompt_id":"[^"]*"/); p = substr($0, RSTART, RLENGTH)
                             if (p != last && n >= max) exit; last = p; n++; print }' |
        bin/sr-cat --from-json > "$out/ranked.mp"
else
    cp "$out/ranked-all.mp" "$out/ranked.mp"
fi
# the two modes side by side (each on its share of the cores: --threads)
for mode in sample expected; do
    ( start=$(date +%s)
      bin/sr-judge --score "$mode" --keep-text "$@" -i "$out/ranked.mp" -o "$out/judged-$mode.mp" 2> "$out/$mode.err"
      echo "$mode: $(( $(date +%s) - start )) s" >&2 ) &
done
wait
for mode in sample expected; do
    [ -s "$out/judged-$mode.mp" ] || { echo "$mode: no output; see $out/$mode.err" >&2; exit 1; }
    bin/sr-judge --eval -i "$out/judged-$mode.mp" --eval-json "$out/$mode.json" > "$out/$mode.txt"
done
# the same tokens drawn in both modes: the judgement texts agree
cmp <(bin/sr-cat --keys judgements < "$out/judged-sample.mp") <(bin/sr-cat --keys judgements < "$out/judged-expected.mp") &&
    echo "the two modes' judgement texts are identical" >&2
{
    echo "| measure | --score sample | --score expected |"
    echo "| --- | --- | --- |"
    for key in pairwise_accuracy five_best exact_match spearman kendall_tau judge_prefers_longer pairs_tied nil_scores; do
        printf '| %s | %s | %s |\n' "$key" "$(jq -r ".$key" "$out/sample.json")" "$(jq -r ".$key" "$out/expected.json")"
    done
} > "$out/table.md"
cat "$out/table.md"
