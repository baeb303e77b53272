#!/usr/bin/env bash
# Prefill throughput of the model's forward pass (release build), from the repo root.
#   bench/run-prefill.sh [--threads N] [--reps R] [-m MODEL] [--batches 1,8] [--seq T]
#                        [--random smol|1b] [--device cpu|cuda] [--precision P]
# (every option goes to bench_prefill; bench/run-gpu.sh runs the GPU set)
# BUILD=dir selects another build directory (default build, as make uses).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
make -s BUILD="$build" "$build/rel/bench/bench_prefill"
exec "$build/rel/bench/bench_prefill" "$@"
