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
8x512 tokens of a fixed pseudo-random sequence, after one warm-up.

On a GPU, beside bench_prefill's --device cuda / --random (PyTorch only):
    python bench/peer_prefill.py --device cuda --random smol --batches 1,64
--device cuda runs PyTorch on the GPU (bf16 autocast over fp32 weights by
default, as sr's --precision bf16; --precision tf32|fp32 as sr's);
--random smol|1b builds a random-init llama of sr's --random shapes
(peer_common.py) instead of loading the GGUF. llama.cpp runs only on the
CPU from the GGUF, so either flag leaves it out."""
import argparse
import random
import time

import peer_common


def tokens(n, vocab, seed):
    r = random.Random(seed)
    return [r.randrange(17, vocab) for _ in range(n)]


def bench(label, fn, reps, n_tokens, sync=lambda: None):
    fn()  # warm-up
    sync()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t0)
    mean = sum(ts) / len(ts)
    print(f"{label}: {mean:.3f} s mean, {min(ts):.3f} s best over {reps} runs: "
          f"{n_tokens / mean:.0f} tokens/s (best {n_tokens / min(ts):.0f})", flush=True)


def llamacpp(path, threads, reps, batches, seq):
    import llama_cpp
    from llama_cpp import Llama
    llm = Llama(model_path=path, n_ctx=4096, n_batch=512, n_ubatch=512, n_threads=threads,
                n_threads_batch=threads, logits_all=True, verbose=False)
    vocab = llm.n_vocab()
    print(f"llama.cpp (llama-cpp-python {llama_cpp.__version__}), {threads} threads, "
          f"Q4_1 weights as stored")
    for B in batches:
        seqs = [tokens(seq, vocab, b) for b in range(B)]

        def run():
            # llama-cpp-python's high-level API holds one sequence: B
            # sequences are evaluated one after another.
            for s in seqs:
                llm.reset()
                llm.eval(s)
        bench(f"llama.cpp prefill {B}x{seq}", run, reps, seq * B)


def torch_hf(a, batches, seq):
    torch = peer_common.setup(a)
    model, label = peer_common.load_model(a, a.model)
    model.eval()
    vocab = model.config.vocab_size
    if a.device == "cpu" and not a.random:
        import transformers
        print(f"PyTorch {torch.__version__} + transformers {transformers.__version__}, "
              f"{a.threads} threads, fp32 (weights dequantized)")
    else:
        print(f"{peer_common.describe(a)}; model {label}")
    for B in batches:
        ids = torch.tensor([tokens(seq, vocab, b) for b in range(B)], device=a.device)

        def run():
            with torch.no_grad(), peer_common.autocast(a):
                model(ids, use_cache=False)
        bench(f"torch prefill {B}x{seq}", run, a.reps, seq * B, lambda: peer_common.sync(a))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-m", "--model", default=peer_common.DEFAULT_MODEL)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", choices=["llamacpp", "torch"])
    ap.add_argument("--batches", default="1,8", help="sequences per forward (default 1,8)")
    ap.add_argument("--seq", type=int, default=512, help="tokens per sequence (default 512)")
    peer_common.add_args(ap)
    a = ap.parse_args()
    batches = [int(x) for x in a.batches.split(",")]
    gpu_or_random = a.device == "cuda" or a.random
    if a.only == "llamacpp" and gpu_or_random:
        ap.error("llama.cpp runs on the CPU from the GGUF: no --device cuda or --random")
    if a.only in (None, "llamacpp") and not gpu_or_random:
        llamacpp(a.model, a.threads, a.reps, batches, a.seq)
    if a.only in (None, "torch"):
        torch_hf(a, batches, a.seq)


if __name__ == "__main__":
    main()
