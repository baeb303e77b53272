#!/usr/bin/env python3
"""Prefill throughput of the peers, on the same GGUF and thread count as
bench_prefill: llama.cpp (llama-cpp-python) and PyTorch + transformers (fp32).

    python bench/peer_prefill.py [--threads N] [--reps R] [-m MODEL]

Run it in a throwaway virtualenv (not committed):
    python3 -m venv /tmp/venv-peer
    /tmp/venv-peer/bin/pip install llama-cpp-python==0.3.36 torch==2.15.0 \
        transformers==5.24.0 accelerate==1.15.0 gguf==0.19.0
Versions used for bench/RESULTS.md: llama-cpp-python 0.3.36 (built from the
PyPI source package), torch 2.15.0, transformers 5.24.0.

Like bench_prefill, each run computes logits for every position of 1x512 and
8x512 tokens of a fixed pseudo-random sequence, after one warm-up."""
import argparse
import os
import random
import time


def tokens(n, vocab, seed):
    r = random.Random(seed)
    return [r.randrange(17, vocab) for _ in range(n)]


def bench(label, fn, reps, n_tokens):
    fn()  # warm-up
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    mean = sum(ts) / len(ts)
    print(f"{label}: {mean:.3f} s mean, {min(ts):.3f} s best over {reps} runs: "
          f"{n_tokens / mean:.0f} tokens/s (best {n_tokens / min(ts):.0f})", flush=True)


def llamacpp(path, threads, reps):
    import llama_cpp
    from llama_cpp import Llama
    llm = Llama(model_path=path, n_ctx=4096, n_batch=512, n_ubatch=512, n_threads=threads,
                n_threads_batch=threads, logits_all=True, verbose=False)
    vocab = llm.n_vocab()
    print(f"llama.cpp (llama-cpp-python {llama_cpp.__version__}), {threads} threads, "
          f"Q4_1 weights as stored")
    for B in (1, 8):
        seqs = [tokens(512, vocab, b) for b in range(B)]

        def run():
            # llama-cpp-python's high-level API holds one sequence: B
            # sequences are evaluated one after another.
            for s in seqs:
                llm.reset()
                llm.eval(s)
        bench(f"llama.cpp prefill {B}x512", run, reps, 512 * B)


def torch_hf(path, threads, reps):
    import torch
    import transformers
    from transformers import AutoModelForCausalLM
    torch.set_num_threads(threads)
    d, f = os.path.split(os.path.abspath(path))
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32)
    model.eval()
    vocab = model.config.vocab_size
    print(f"PyTorch {torch.__version__} + transformers {transformers.__version__}, "
          f"{threads} threads, fp32 (weights dequantized)")
    for B in (1, 8):
        ids = torch.tensor([tokens(512, vocab, b) for b in range(B)])

        def run():
            with torch.no_grad():
                model(ids, use_cache=False)
        bench(f"torch prefill {B}x512", run, reps, 512 * B)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-m", "--model", default="models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", choices=["llamacpp", "torch"])
    a = ap.parse_args()
    if a.only in (None, "llamacpp"):
        llamacpp(a.model, a.threads, a.reps)
    if a.only in (None, "torch"):
        torch_hf(a.model, a.threads, a.reps)


if __name__ == "__main__":
    main()
