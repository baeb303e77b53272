#!/usr/bin/env python3
"""llama.cpp's logits for tiny random models of each architecture sr reads
beyond plain llama: tests/golden/arch/logits.json, read by
tests/unit/test_arch.c.

  1. sr-tiny-model writes each case's F32 model (the fixture tokenizer):
     "qwen2" (--arch qwen2: q/k/v biases, NEOX rope, theta 1e6, tied head),
     "qwen2_untied" (the same with output.weight, as the larger Qwen2.5
     sizes have it) and "llama_bias" (--biases: a llama file with attn_q/k/v/output.bias,
     which llama.cpp's llama loader accepts and adds) and "llama_rope_freqs"
     (--rope-freqs: rope_freqs.weight, Llama 3.1's frequency factors, here a
     ramp from 1 to 8 over the 8 pairs of a head, which divide each pair's angle)
     and "qwen3" (--arch qwen3: attn_q_norm/attn_k_norm, an RMSNorm of each
     head of q and k before RoPE, with weights spread over [0.5, 1.5]; heads
     of 24 (attention.key_length) where dim / heads is 16, as Qwen3's head
     size is not dim / heads either);
     "gemma3" (--arch gemma3: qwen3's head norms with heads of 24, the
     post-attention and post-feed-forward norms (weights over [0.5, 1.5]),
     GeGLU, embeddings times sqrt(64), 7 blocks so that the default pattern
     of 6 makes blocks 0-4 and 6 local (a sliding window of 4 positions, RoPE
     base 1e4) and block 5 global (base 1e6), and a final-logit soft-cap of
     0.3, about twice the logits' size, so that it bends them; linear RoPE
     scaling by 8 on the global block, as Gemma 3 4B and larger have it) and
     "gemma3_untied" (no window, no cap, output.weight, 2 blocks);
  2. tests/golden/llama_logits.c, built here against libllama, runs each on
     TOKENS, one token per decode, CPU, KV cache in F32, flash attention off;
  3. the logits are kept as float32 bits, 8 hex digits each.
Then gemma3_vocab.json: a 2-block gemma3 (window 4, soft-cap 0.3) with the
real Gemma vocabulary, ggml-vocab-gemma-4.gguf's tokenizer from the shared
data (262144 tokens, tied head, which llama.cpp loads as a gemma3 model),
on VOCAB_TOKENS; of each row's 262144 logits only COLUMNS are kept (every
509th id, the last, and each row's largest), 60 KB instead of 30 MB.
The models are not committed: the test writes them again with the same
options through tests/tools/tinymodel.c. Needs no Python package.

  make -j2 NVCC= build/rel/tests/sr-tiny-model
  python3 tests/golden/make_arch_golden.py

LLAMA_CPP names the llama.cpp tree (source with build/bin beside it).
"""
import json
import os
import struct
import subprocess
import tempfile

LLAMA = os.environ.get("LLAMA_CPP", "/root/.cache/sr-peers/llama_cpp_python-0.3.36/vendor/llama.cpp")
BIN = os.path.join(LLAMA, "build", "bin")
TINY = os.environ.get("SR_TINY_MODEL", "build/rel/tests/sr-tiny-model")
OUT = "tests/golden/arch"
# dim 64 (heads of 16, 4 query / 2 kv heads), 2 blocks
CASES = {"qwen2": {"args": ["--arch", "qwen2"], "dim": 64, "ffn_dim": 96, "layers": 2, "seed": 11},
         "qwen2_untied": {"args": ["--arch", "qwen2", "--untied"], "dim": 64, "ffn_dim": 96, "layers": 2,
                          "seed": 13},
         "llama_bias": {"args": ["--biases"], "dim": 64, "ffn_dim": 96, "layers": 2, "seed": 12},
         "llama_rope_freqs": {"args": ["--rope-freqs"], "dim": 64, "ffn_dim": 96, "layers": 2, "seed": 14},
         "qwen3": {"args": ["--arch", "qwen3", "--head-dim", "24"], "dim": 64, "ffn_dim": 96, "layers": 2,
                   "seed": 15},
         "gemma3": {"args": ["--arch", "gemma3", "--head-dim", "24", "--window", "4", "--softcap", "0.3",
                             "--rope-scale", "8"],
                    "dim": 64, "ffn_dim": 96, "layers": 7, "seed": 16},
         "gemma3_untied": {"args": ["--arch", "gemma3", "--untied"], "dim": 64, "ffn_dim": 96, "layers": 2,
                           "seed": 17}}
TOKENS = [267, 72, 101, 108, 111, 32, 116, 104, 101, 114, 101, 33, 256, 120]
SHARED = os.environ.get("SR_SHARED", "../shared")
VOCAB = "data/vocab/ggml-vocab-gemma-4.gguf"
VOCAB_CASE = {"args": ["--arch", "gemma3", "--head-dim", "24", "--window", "4", "--softcap", "0.3"],
              "dim": 64, "ffn_dim": 96, "layers": 2, "seed": 18}
VOCAB_TOKENS = [2, 818, 5279, 529, 7001, 236764, 1394, 107, 236743, 262000, 45, 100000, 3, 1]


def run(cmd):
    env = dict(os.environ, LD_LIBRARY_PATH=BIN)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return r.stdout


def vocab_case(tool, tmp):
    path = os.path.join(tmp, "gemma3_vocab.gguf")
    c = VOCAB_CASE
    run([TINY, "-o", path, "--seed", str(c["seed"]), "--dim", str(c["dim"]), "--ffn-dim", str(c["ffn_dim"]),
         "--layers", str(c["layers"]), "--tokenizer-from", os.path.join(SHARED, VOCAB)] + c["args"])
    rows = run([tool, path] + [str(t) for t in VOCAB_TOKENS]).split()
    assert len(rows) == len(VOCAB_TOKENS)
    n_vocab = len(rows[0]) // 8
    vals = [[struct.unpack(">f", bytes.fromhex(r[8 * i:8 * i + 8]))[0] for i in range(n_vocab)] for r in rows]
    cols = set(range(0, n_vocab, 509)) | {n_vocab - 1} | {max(range(n_vocab), key=v.__getitem__) for v in vals}
    cols = sorted(cols)
    logits = "".join(r[8 * i:8 * i + 8] for r in rows for i in cols)
    out = {"source": "llama.cpp (libllama, CPU, 1 thread) via tests/golden/llama_logits.c",
           "vocab": VOCAB, "n_vocab": n_vocab, "tokens": VOCAB_TOKENS, "columns": cols,
           "case": dict(c) | {"logits": logits}}
    with open(os.path.join(OUT, "gemma3_vocab.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tool = os.path.join(tmp, "llama_logits")
        run(["cc", "-O2", "-I" + os.path.join(LLAMA, "include"), "-I" + os.path.join(LLAMA, "ggml", "include"),
             "tests/golden/llama_logits.c", "-L" + BIN, "-lllama", "-Wl,-rpath," + BIN, "-o", tool])
        cases = {}
        for name, c in CASES.items():
            path = os.path.join(tmp, name + ".gguf")
            run([TINY, "-o", path, "--seed", str(c["seed"]), "--dim", str(c["dim"]),
                 "--ffn-dim", str(c["ffn_dim"]), "--layers", str(c["layers"])] + c["args"])
            rows = run([tool, path] + [str(t) for t in TOKENS]).split()
            assert len(rows) == len(TOKENS)
            cases[name] = {k: v for k, v in c.items()} | {"logits": "".join(rows)}
        vocab_case(tool, tmp)
    out = {"source": "llama.cpp (libllama, CPU, 1 thread) via tests/golden/llama_logits.c",
           "tokens": TOKENS, "cases": cases}
    with open(os.path.join(OUT, "logits.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
