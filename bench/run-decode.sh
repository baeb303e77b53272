#!/usr/bin/env bash
# Build bench_decode against the release libsr.a and run it from the repo root.
#   bench/run-decode.sh [--threads N] [--prompt P] [--new T] [--seqs 1,8,32] [-m MODEL]
# BUILD=dir selects another build directory (default build, as make uses).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
lib=$build/rel/libsr.a
make -s BUILD="$build" "$lib"
mkdir -p "$build/bench"
gcc -std=c11 -O2 -g -Wall -Wextra -Werror -pthread -fopenmp -D_GNU_SOURCE \
    -Ilib -Ikernels -I/usr/include/x86_64-linux-gnu/openblas-pthread \
    -o "$build/bench/bench_decode" bench/bench_decode.c "$lib" \
    -lmsgpackc -lxxhash -ljansson -lpcre2-8 -lopenblas -lz -lm
exec "$build/bench/bench_decode" "$@"
