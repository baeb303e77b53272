#!/usr/bin/env python3
"""The same full fine-tuning step in PyTorch + transformers, fp32, on the CPU.

  peer_torch_train.py MODEL.gguf [--threads N] [--batch B] [--seq T] [--reps R]

Loads the GGUF through transformers (dequantized to fp32), then times R
optimizer steps after one warm-up: forward with labels (the causal-LM loss
over every next-token prediction), backward, clipping to norm 1, AdamW.
The tokens are pseudo-random, as in bench_train.c. Prints tokens/s and the
process's peak RSS."""
import argparse, os, resource, sys, time

ap = argparse.ArgumentParser()
ap.add_argument('model')
ap.add_argument('--threads', type=int, default=os.cpu_count())
ap.add_argument('--batch', type=int, default=1)
ap.add_argument('--seq', type=int, default=512)
ap.add_argument('--reps', type=int, default=3)
a = ap.parse_args()

import torch
from transformers import AutoModelForCausalLM
torch.set_num_threads(a.threads)
d, f = os.path.split(os.path.abspath(a.model))
model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32)
model.train()
model.config.use_cache = False
opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.01)
g = torch.Generator().manual_seed(12345)
ids = torch.randint(0, model.config.vocab_size, (a.batch, a.seq), generator=g)
times = []
for r in range(a.reps + 1):
    t0 = time.perf_counter()
    out = model(input_ids=ids, labels=ids)
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    dt = time.perf_counter() - t0
    print(f'step {r}: {dt:.3f} s, loss {out.loss.item():.4f}', file=sys.stderr)
    if r:
        times.append(dt)
mean = sum(times) / len(times)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1048576
print(f'torch {a.batch}×{a.seq}: {a.threads} threads, {mean:.3f} s/step mean (best {min(times):.3f}) '
      f'over {a.reps} steps: {a.batch * a.seq * a.reps / sum(times):.0f} tokens/s; peak RSS {rss:.2f} GiB '
      f'(torch {torch.__version__})')
