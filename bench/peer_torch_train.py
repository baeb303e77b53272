#!/usr/bin/env python3
"""The same full fine-tuning step in PyTorch + transformers, beside bench_train.c.

  peer_torch_train.py [MODEL.gguf] [--threads N] [--batch B] [--seq T] [--reps R]
                      [--device cpu|cuda] [--random smol|1b] [--precision P]
                      [--peak-tflops X]

Loads the GGUF through transformers (dequantized to fp32), or with --random
builds a random-init llama of sr's --random shapes (peer_common.py), then
times R optimizer steps after one warm-up: forward with labels (the
causal-LM loss over every next-token prediction), backward, clipping to
norm 1, AdamW. The tokens are pseudo-random, as in bench_train.c. Prints
tokens/s and the process's peak RSS.

On the CPU (the default) everything is fp32, as in bench/RESULTS.md. With
--device cuda the weights, gradients and AdamW state stay fp32 and the
forward runs under bf16 autocast (--precision bf16, the default; as sr's
bf16 matmuls), or TF32 / strict fp32 matmuls; AdamW is torch's fused one;
the peak GPU memory is printed too. --peak-tflops X adds the MFU line, with
the same FLOPs formula as bench_train (peer_common.train_flops)."""
import argparse, resource, sys, time

import peer_common

ap = argparse.ArgumentParser()
ap.add_argument('model', nargs='?', default=peer_common.DEFAULT_MODEL)
ap.add_argument('--batch', type=int, default=1)
ap.add_argument('--seq', type=int, default=512)
ap.add_argument('--reps', type=int, default=3)
ap.add_argument('--peak-tflops', type=float, default=0,
                help='the device peak in TFLOP/s for the MFU (989: H100 SXM dense bf16)')
peer_common.add_args(ap)
a = ap.parse_args()

torch = peer_common.setup(a)
model, label = peer_common.load_model(a, a.model)
model.train()
model.config.use_cache = False
if a.device == 'cuda':
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.01, fused=True)
    torch.cuda.reset_peak_memory_stats()
else:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.01)
g = torch.Generator().manual_seed(12345)
ids = torch.randint(0, model.config.vocab_size, (a.batch, a.seq), generator=g).to(a.device)
extended = a.device == 'cuda' or a.random or a.peak_tflops > 0
if extended:
    print(f'{peer_common.describe(a)}; model {label}', flush=True)
times = []
for r in range(a.reps + 1):
    peer_common.sync(a)
    t0 = time.perf_counter()
    with peer_common.autocast(a):
        out = model(input_ids=ids, labels=ids)
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    peer_common.sync(a)
    dt = time.perf_counter() - t0
    print(f'step {r}: {dt:.3f} s, loss {out.loss.item():.4f}', file=sys.stderr)
    if r:
        times.append(dt)
mean = sum(times) / len(times)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1048576
where = f'cuda {a.precision}' if a.device == 'cuda' else f'{a.threads} threads'
gpu_mem = (f'; peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB'
           if a.device == 'cuda' else '')
print(f'torch {a.batch}×{a.seq}: {where}, {mean:.3f} s/step mean (best {min(times):.3f}) '
      f'over {a.reps} steps: {a.batch * a.seq * a.reps / sum(times):.0f} tokens/s; peak RSS {rss:.2f} GiB'
      f'{gpu_mem} (torch {torch.__version__})')
if extended:
    flops = peer_common.train_flops(model.config, a.batch, a.seq)
    rate = flops * a.reps / sum(times)
    line = (f'torch {a.batch}×{a.seq}: {flops * 1e-12:.4g} TFLOP/step = 6·(block matmul weights + '
            f'vocab·dim)·B·T + 6·n_layer·q_dim·B·T(T+1); {rate * 1e-12:.3g} TFLOP/s')
    if a.peak_tflops > 0:
        line += f'; MFU {100 * rate / (a.peak_tflops * 1e12):.1f}% of {a.peak_tflops:g} TFLOP/s'
    print(line)
