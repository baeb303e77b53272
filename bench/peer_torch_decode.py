#!/usr/bin/env python3
"""peer_torch_decode.py — PyTorch + transformers' decoding throughput, beside
bench/bench_decode.c (mainly for a GPU: bench/run-gpu.sh).

    python bench/peer_torch_decode.py [--device cpu|cuda] [--random smol|1b]
                                      [--precision bf16|tf32|fp32] [--seqs 1,64]
                                      [--prompt P] [--new T] [-m MODEL] [--threads N]

Same shape as bench_decode: for each count S, S prompts of P token ids (the
same generator, control tokens excluded), T new tokens each, T 0.7, top-p
0.9, no end-of-sequence stop, so every sequence runs its full length; the
whole run is timed, prefill included. The S sequences are one batched
model.generate call (equal prompt lengths, so no padding), with
transformers' default (dynamic) KV cache and no torch.compile: what a plain
transformers user gets. The model is the GGUF (dequantized to fp32) or, with
--random, a random-init llama of sr's --random shapes (peer_common.py);
--device cuda runs under bf16 autocast by default (peer_common.py)."""
import argparse
import sys
import time

import peer_common


def main():
    ap = argparse.ArgumentParser()
    peer_common.add_decode_args(ap, seqs="1,8,32")
    peer_common.add_args(ap)
    a = ap.parse_args()
    torch = peer_common.setup(a)
    model, label = peer_common.load_model(a, a.model)
    model.eval()
    vocab = model.config.vocab_size
    print(f"{peer_common.describe(a)}; model {label}; prompt {a.prompt}, new {a.new} tokens",
          flush=True)
    torch.manual_seed(1234)
    for k, S in enumerate(int(x) for x in a.seqs.split(",")):
        ids = torch.tensor([peer_common.prompt_ids(i, a.prompt, vocab) for i in range(S)], device=a.device)
        mask = torch.ones_like(ids)

        def run():
            with torch.no_grad(), peer_common.autocast(a):
                return model.generate(input_ids=ids, attention_mask=mask, do_sample=True,
                                      temperature=0.7, top_p=0.9, top_k=0,
                                      max_new_tokens=a.new, min_new_tokens=a.new,
                                      pad_token_id=0)   # min_new_tokens: no end-of-sequence
        if k == 0 and a.device == "cuda":
            run()   # warm-up: CUDA's lazy loading and cuBLAS's set-up, as bench_decode does
        peer_common.sync(a)
        t0 = time.perf_counter()
        out = run()
        peer_common.sync(a)
        dt = time.perf_counter() - t0
        tokens = (out.shape[1] - a.prompt) * S
        print(f"{S:3d} sequences: {tokens:6d} tokens in {dt:7.2f} s = {tokens / dt:7.1f} tokens/s",
              flush=True)


if __name__ == "__main__":
    sys.exit(main())
