#!/bin/sh
# Writes tests/golden/qact/qact.json: ggml's reference 8-bit activation
# quantizers on the rows of qact_cases.h (see qact_ref.c). Needs llama.cpp's
# build (LLAMA_CPP: the source tree with build/bin inside) and libxxhash.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
L=${LLAMA_CPP:-/root/.cache/sr-peers/llama_cpp_python-0.3.36/vendor/llama.cpp}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc -std=c11 -O2 -Wall -Wextra -I"$L/ggml/include" -o "$tmp/qact_ref" "$here/qact_ref.c" \
   -L"$L/build/bin" -Wl,-rpath,"$L/build/bin" -lggml-base -lggml-cpu -lxxhash
"$tmp/qact_ref" "${1:-3000}" > "$here/qact.json"
echo "wrote $here/qact.json"
