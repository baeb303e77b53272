#!/usr/bin/env bash
# The GPU benchmarks of issue #8, from the repo root on a machine with an
# NVIDIA GPU and nvcc (no network needed): sr's prefill (1 and 64 × 512
# tokens), decode (1 and 64 sequences, 64-token prompts, 128 new tokens),
# and training step (tokens/s and MFU) on the GPU, for a random-init llama
# of SmolLM2-135M's shape (smol) and of TinyLlama-1.1B's (1b); then the same
# with PyTorch + transformers on the same GPU (bench/peer_*.py) when PY can
# import torch and transformers and sees the GPU. One table row per figure.
#
#   bench/run-gpu.sh [--reps R] [--models "smol 1b"] [--gpu N]
#
# Environment: BUILD (build directory, default build; `make bench` runs there
# first, with nvcc found on PATH or at NVCC=), PY (default python3),
# PRECISION (bf16, tf32 or fp32; default bf16), PEAK_TFLOPS (the GPU's dense
# peak at that precision for the MFU; default from the GPU's name for
# H100/H200/A100 bf16, else no MFU), TRAIN_SHAPES (default "1x512 8x512"),
# LOGS (where each run's whole output goes; default $BUILD/bench-gpu).
set -uo pipefail
cd "$(dirname "$0")/.."
reps=3 models="smol 1b" gpu=0
while [ $# -gt 0 ]; do
    case $1 in
        --reps) reps=$2; shift 2 ;;
        --models) models=$2; shift 2 ;;
        --gpu) gpu=$2; shift 2 ;;
        *) echo "usage: $0 [--reps R] [--models \"smol 1b\"] [--gpu N]" >&2; exit 2 ;;
    esac
done
build=${BUILD:-build}
py=${PY:-python3}
prec=${PRECISION:-bf16}
train_shapes=${TRAIN_SHAPES:-1x512 8x512}
logs=${LOGS:-$build/bench-gpu}
export PYTHONDONTWRITEBYTECODE=1

# The Makefile finds nvcc on PATH; a CUDA install often leaves it off PATH.
# (NVCC= set empty builds without CUDA: then every sr row says why it failed.)
if [ -z "${NVCC+set}" ] && ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
    export NVCC=/usr/local/cuda/bin/nvcc
fi
make -s BUILD="$build" bench || { echo "$0: make bench failed" >&2; exit 1; }
mkdir -p "$logs"
bin=$build/rel/bench

gpu_name=$(nvidia-smi -i "$gpu" --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
gpu_name=${gpu_name:-unknown GPU}
peak=${PEAK_TFLOPS:-}
if [ -z "$peak" ] && [ "$prec" = bf16 ]; then
    # dense bf16 tensor-core peaks from NVIDIA's data sheets
    case $gpu_name in
        *H100*PCIe*) peak=756 ;;
        *H100*NVL*) peak=835 ;;
        *H100*|*H200*) peak=989 ;;
        *A100*) peak=312 ;;
    esac
fi
peak_args=()
[ -n "$peak" ] && peak_args=(--peak-tflops "$peak")

echo "# $gpu_name, $prec matmuls; MFU against ${peak:-no} peak TFLOP/s; $reps timed runs each; logs in $logs/"
echo "| GPU | implementation | model | figure | value |"
echo "| --- | --- | --- | --- | --- |"

row() { echo "| $gpu_name | $1 | $2 | $3 | $4 |"; }

# run IMPL MODEL NAME CMD...: the command's output into $logs/NAME.log, then
# its figures as rows (prefill, decode and training lines of both sr and the
# peers have the same shape); a failure is a row too, and the script goes on.
run() {
    local impl=$1 model=$2 name=$3; shift 3
    local log=$logs/$name.log rc=0
    "$@" >"$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        row "$impl" "$model" "$name" "FAILED (exit $rc): $(tail -n 1 "$log")"
        return
    fi
    figures "$log" | while IFS='|' read -r fig val; do row "$impl" "$model" "$fig" "$val"; done
}

# figures LOG: "figure|value" for each figure line in a run's output.
figures() {
    sed -nE 's/^(torch )?prefill ([0-9]+)(x|×)([0-9]+): .* runs: ([0-9]+) tokens\/s.*/prefill \2×\4|\5 tokens\/s/p;
             s/^ *([0-9]+) sequences[^:]*: +[0-9]+ tokens in +[0-9.]+ s = +([0-9.]+) tokens\/s.*/decode \1 seqs|\2 tokens\/s/p;
             s/^(sr|torch) ([0-9]+)(x|×)([0-9]+): .* steps: ([0-9]+) tokens\/s; (peak .*)/train \2×\4|\5 tokens\/s (\6)/p;
             s/^(sr|torch) ([0-9]+)(x|×)([0-9]+): .*; ([0-9.e+-]+) TFLOP\/s; MFU ([0-9.]+%).*/train \2×\4 MFU|\6 (\5 TFLOP\/s)/p;
             s/^(sr|torch) ([0-9]+)(x|×)([0-9]+): .*; ([0-9.e+-]+) TFLOP\/s$/train \2×\4 model FLOPs|\5 TFLOP\/s/p' "$1"
}

dev=(--device cuda --gpu "$gpu" --precision "$prec")
for m in $models; do
    run "sr cuda $prec" "$m" "sr-prefill-$m" "$bin/bench_prefill" --random "$m" "${dev[@]}" \
        --reps "$reps" --batches 1,64 --seq 512
    run "sr cuda $prec" "$m" "sr-decode-$m" "$bin/bench_decode" --random "$m" "${dev[@]}" \
        --seqs 1,64 --prompt 64 --new 128
    for s in $train_shapes; do
        run "sr cuda $prec" "$m" "sr-train-$m-$s" "$bin/bench_train" --random "$m" "${dev[@]}" \
            --batch "${s%x*}" --seq "${s#*x}" --reps "$reps" "${peak_args[@]}"
    done
done

if ! "$py" -c 'import torch, transformers' 2>/dev/null; then
    echo "# PyTorch peers skipped: $py cannot import torch and transformers (PY= names another Python)"
    exit 0
fi
if ! "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    echo "# PyTorch peers skipped: torch in $py sees no CUDA device"
    exit 0
fi
torch_desc=$("$py" -c 'import torch, transformers; print(f"torch {torch.__version__} + transformers {transformers.__version__}")')
pdev=(--device cuda --precision "$prec")
export CUDA_VISIBLE_DEVICES=$gpu
for m in $models; do
    run "$torch_desc, cuda $prec" "$m" "torch-prefill-$m" "$py" bench/peer_prefill.py --only torch \
        --random "$m" "${pdev[@]}" --reps "$reps" --batches 1,64 --seq 512
    run "$torch_desc, cuda $prec" "$m" "torch-decode-$m" "$py" bench/peer_torch_decode.py \
        --random "$m" "${pdev[@]}" --seqs 1,64 --prompt 64 --new 128
    for s in $train_shapes; do
        run "$torch_desc, cuda $prec" "$m" "torch-train-$m-$s" "$py" bench/peer_torch_train.py \
            --random "$m" "${pdev[@]}" --batch "${s%x*}" --seq "${s#*x}" --reps "$reps" "${peak_args[@]}"
    done
done
