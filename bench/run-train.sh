#!/usr/bin/env bash
# Training throughput and peak RSS of one full fine-tuning step, sr against
# PyTorch + transformers (fp32, the same threads), at 1×512 and 4×512 tokens.
#   bench/run-train.sh [--threads N] [--reps R]
# (the CPU figures of bench/RESULTS.md; bench/run-gpu.sh runs the GPU set)
# BUILD=dir selects the build directory (default build); PY= the Python with
# torch and transformers (default /tmp/venv-golden/bin/python; skipped if absent).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=$(nproc) reps=3
while [ $# -gt 0 ]; do
    case $1 in
        --threads) threads=$2; shift 2 ;;
        --reps) reps=$2; shift 2 ;;
        *) echo "usage: $0 [--threads N] [--reps R]" >&2; exit 2 ;;
    esac
done
build=${BUILD:-build}
make -s BUILD="$build" "$build/rel/bench/bench_train"
model=${SR_MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
py=${PY:-/tmp/venv-golden/bin/python}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
for b in 1 4; do
    "$build/rel/bench/bench_train" -m "$model" --threads "$threads" --batch "$b" --seq 512 --reps "$reps"
    if [ -x "$py" ]; then
        "$py" bench/peer_torch_train.py "$model" --threads "$threads" --batch "$b" --seq 512 --reps "$reps"
    fi
done
