#!/usr/bin/env python3
"""peer_llamacpp_decode.py — llama.cpp's decoding throughput on the same GGUF,
beside bench/bench_decode.c.

    /tmp/venv-golden/bin/python bench/peer_llamacpp_decode.py [--threads N] [--seqs 1,8] [-m MODEL]

Versions used for bench/RESULTS.md: llama-cpp-python 0.3.36 (its bundled
llama.cpp), Python 3 from /tmp/venv-golden (see tests/golden/README.md).

Same shape as bench_decode: prompts of 64 token ids (the same generator,
control tokens excluded), 128 new tokens each, T 0.7, top-p 0.9, the
end-of-turn token banned so every sequence runs its full length. The
high-level API decodes one sequence at a time, so S "concurrent" sequences
are S sequential completions: that is what it offers. llama.cpp computes with
the Q4_1 weights as stored (8-bit activations); sr dequantizes to fp32.

--device cuda offloads every layer to the GPU (n_gpu_layers=-1); that needs
a llama-cpp-python built with CUDA (CMAKE_ARGS="-DGGML_CUDA=on"), else
llama.cpp stays on the CPU. llama.cpp reads only GGUF files, so a random-init
model (--random smol|1b) is decoded by PyTorch instead: peer_torch_decode.py.
"""
import argparse
import sys
import time

import llama_cpp
from llama_cpp import Llama

import peer_common


def main():
    ap = argparse.ArgumentParser()
    peer_common.add_decode_args(ap)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--random", choices=["smol", "1b"],
                    help="not here: llama.cpp needs a GGUF (use peer_torch_decode.py)")
    a = ap.parse_args()
    if a.random:
        ap.error("--random: llama.cpp reads only GGUF files; peer_torch_decode.py --random "
                 f"{a.random} decodes a random-init model")
    gpu = a.device == "cuda"
    if gpu and not llama_cpp.llama_supports_gpu_offload():
        ap.error("--device cuda: this llama-cpp-python was built without GPU offload")
    llm = Llama(model_path=a.model, n_ctx=a.prompt + a.new + 8, n_threads=a.threads,
                n_threads_batch=a.threads, seed=1234, verbose=False,
                n_gpu_layers=-1 if gpu else 0)
    vocab = llm.n_vocab()
    where = "cuda (every layer offloaded)" if gpu else f"{a.threads} threads"
    print(f"llama-cpp-python {llama_cpp.__version__}, {where}, prompt {a.prompt}, "
          f"new {a.new} tokens", flush=True)
    for S in [int(x) for x in a.seqs.split(",")]:
        tokens = 0
        t0 = time.perf_counter()
        for i in range(S):
            llm.reset()
            n = 0
            for tok in llm.generate(peer_common.prompt_ids(i, a.prompt, vocab), temp=0.7, top_p=0.9, top_k=0,
                                    min_p=0.0, repeat_penalty=1.0, reset=True,
                                    logits_processor=[ban_eos(llm.token_eos())]):
                n += 1
                if n >= a.new:
                    break
            tokens += n
        dt = time.perf_counter() - t0
        print(f"{S:3d} sequences (sequential): {tokens:6d} tokens in {dt:7.2f} s = "
              f"{tokens / dt:7.1f} tokens/s", flush=True)


def ban_eos(eos):
    def f(input_ids, scores):
        scores[eos] = -float("inf")
        return scores
    return f


if __name__ == "__main__":
    sys.exit(main())
