#!/usr/bin/env bash
# Fine-tune the real model briefly with sr-sft (F32 checkpoint), then check
# that llama.cpp loads it and that its greedy continuations equal sr's.
#   tests/golden/check-checkpoint.sh   (from the repository root)
# BUILD=dir selects the build (default build); PY= the Python with
# llama-cpp-python (default /tmp/venv-golden/bin/python).
set -euo pipefail
build=${BUILD:-build}
py=${PY:-/tmp/venv-golden/bin/python}
model=${SR_MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
make -s BUILD="$build" BIN="$build/bin" "$build/rel/libsr.a" "$build/bin/sr-sft" "$build/bin/sr-filter-oasst"
gcc -std=c11 -O2 -Wall -Wextra -Werror -fopenmp -D_GNU_SOURCE -Ilib -Ikernels \
    -I/usr/include/x86_64-linux-gnu/openblas-pthread -o "$build/sr_greedy" tests/golden/sr_greedy.c \
    "$build/rel/libsr.a" -lmsgpackc -lxxhash -ljansson -lpcre2-8 -lopenblas -lz -lm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$build/bin/sr-filter-oasst" -i examples/oasst-sample.jsonl 2>/dev/null > "$tmp/ift.mp"
"$build/bin/sr-sft" -q -m "$model" -i "$tmp/ift.mp" -o "$tmp/ckpt.gguf" --lr 1e-4 --batch 2 \
    --max-steps 8 --max-len 96 --dtype f32
"$build/sr_greedy" "$tmp/ckpt.gguf" tests/golden/prompts.jsonl 24 6 > "$tmp/ours.jsonl"
"$py" tests/golden/check_llamacpp_checkpoint.py "$tmp/ckpt.gguf" "$tmp/ours.jsonl"
