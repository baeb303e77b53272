#!/usr/bin/env bash
# Decode throughput of the generation engine (release build), from the repo root.
#   bench/run-decode.sh [--threads N] [--prompt P] [--new T] [--seqs 1,8,32] [-m MODEL]
#                       [--random smol|1b] [--device cpu|cuda] [--precision P]
# (every option goes to bench_decode; bench/run-gpu.sh runs the GPU set)
# BUILD=dir selects another build directory (default build, as make uses).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
make -s BUILD="$build" "$build/rel/bench/bench_decode"
exec "$build/rel/bench/bench_decode" "$@"
