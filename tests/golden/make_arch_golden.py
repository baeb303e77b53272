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
  3. the logits are kept as float32 bits, 8 hex digits each (every
     "stride"-th one where a case has a stride: "phi3_vocab", with Phi-3's
     own 32064-token vocabulary from ../shared);
  4. "phi3_q8_0" is the "phi3" file through llama-quantize Q8_0: the raw
     bytes of every tensor it quantized are kept (base64, "blocks"), and
     the test rebuilds the file from the F32 one;
  5. a checkpoint sr writes of a phi3 model loads in llama.cpp: the "phi3"
     case trained 3 steps by bin/sr-sft (its attn_qkv and ffn_up written
     fused again), then llama.cpp's logits on that checkpoint against sr's
     (tests/golden/sr_logits.c, against build/rel/libsr.a); printed, not
     stored. Needs make -j2 NVCC= all first.
Then gemma3_vocab.json: a 2-block gemma3 (window 4, soft-cap 0.3) with the
real Gemma vocabulary, ggml-vocab-gemma-4.gguf's tokenizer from the shared
data (262144 tokens, tied head, which llama.cpp loads as a gemma3 model),
on VOCAB_TOKENS; of each row's 262144 logits only COLUMNS are kept (every
509th id, the last, and each row's largest), 60 KB instead of 30 MB.
The models are not committed: the test writes them again with the same
options through tests/tools/tinymodel.c. Needs no Python package.

  make -j2 NVCC= all build/rel/tests/sr-tiny-model
  python3 tests/golden/make_arch_golden.py

LLAMA_CPP names the llama.cpp tree (source with build/bin beside it).
"""
import base64
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
         "phi3": {"args": ["--arch", "phi3", "--untied"], "dim": 64, "ffn_dim": 96, "layers": 2, "seed": 16},
         # Phi-3's own vocabulary (32064 tokens, SentencePiece): every 64th logit kept
         "phi3_vocab": {"args": ["--arch", "phi3", "--untied", "--tokenizer-from",
                                 "data/vocab/ggml-vocab-phi-3.gguf"], "dim": 64, "ffn_dim": 96, "layers": 2,
                        "seed": 17, "stride": 64},
         # the "phi3" file through llama-quantize Q8_0: its blocks kept (base64), the test rebuilds it
         "phi3_q8_0": {"args": ["--arch", "phi3", "--untied"], "dim": 64, "ffn_dim": 96, "layers": 2, "seed": 16,
                       "quantize": "Q8_0"},
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


EXAMPLES = [{"id": "a", "prompt": "What is two plus two?", "response": "Four."},
            {"id": "b", "prompt": "Say hi.", "response": "Hi there!", "system": "Be friendly."}]


# bytes per block and elements per block of the types llama-quantize writes here
TYPES = {0: ("F32", 4, 1), 1: ("F16", 2, 1), 8: ("Q8_0", 34, 32)}


def gguf_tensors(path):
    """{name: (type name, raw bytes)} of a GGUF v3 file: enough of the format
    to read llama-quantize's output without gguf-py."""
    data = open(path, "rb").read()
    at = 0

    def take(fmt):
        nonlocal at
        v = struct.unpack_from("<" + fmt, data, at)
        at += struct.calcsize("<" + fmt)
        return v[0] if len(v) == 1 else v

    def string():
        nonlocal at
        n = take("Q")
        at += n
        return data[at - n:at].decode()

    sizes = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        return take(sizes[t])

    assert data[:4] == b"GGUF" and struct.unpack_from("<I", data, 4)[0] == 3
    at = 8
    n_t, n_kv = take("Q"), take("Q")
    kv = {}
    for _ in range(n_kv):
        k = string()
        kv[k] = value(take("I"))
    infos = []
    for _ in range(n_t):
        name = string()
        dims = [take("Q") for _ in range(take("I"))]
        infos.append((name, dims, take("I"), take("Q")))
    align = kv.get("general.alignment", 32)
    base = (at + align - 1) // align * align
    out = {}
    for name, dims, t, off in infos:
        tname, bsize, belems = TYPES[t]
        n = 1
        for d in dims:
            n *= d
        out[name] = (tname, data[base + off:base + off + n // belems * bsize])
    return out


def quantize(tmp, name, path, preset):
    """llama-quantize's file of path: its path, and {tensor: [type, base64]} of
    every tensor it did not leave in F32 (those must be the original's bytes)."""
    q = os.path.join(tmp, name + "." + preset + ".gguf")
    run([os.path.join(BIN, "llama-quantize"), path, q, preset])
    orig, got = gguf_tensors(path), gguf_tensors(q)
    blocks = {}
    for t, (ty, raw) in got.items():
        if ty == "F32":
            assert raw == orig[t][1], t
        else:
            blocks[t] = [ty, base64.b64encode(raw).decode()]
    return q, blocks


def floats(text):
    return [[struct.unpack(">f", bytes.fromhex(r[i:i + 8]))[0] for i in range(0, len(r), 8)]
            for r in text.split()]


def check_checkpoint(tmp, tool):
    """sr-sft's checkpoint of the tiny phi3, in llama.cpp and in sr: the same logits."""
    c = CASES["phi3"]
    src, ckpt, ex = (os.path.join(tmp, n) for n in ("ck-src.gguf", "ck.gguf", "ex.mp"))
    srl = os.path.join(tmp, "sr_logits")
    run(["cc", "-std=c11", "-O2", "-fopenmp", "-D_GNU_SOURCE", "-Ilib", "-Ikernels",
         "-I/usr/include/x86_64-linux-gnu/openblas-pthread", "tests/golden/sr_logits.c", "build/rel/libsr.a",
         "-lmsgpackc", "-lxxhash", "-ljansson", "-lpcre2-8", "-lopenblas", "-lz", "-lm", "-ldl", "-o", srl])
    run([TINY, "-o", src, "--seed", str(c["seed"]), "--dim", str(c["dim"]), "--ffn-dim", str(c["ffn_dim"]),
         "--layers", str(c["layers"])] + c["args"])
    lines = "".join(json.dumps(e) + "\n" for e in EXAMPLES)
    with open(ex, "wb") as f:
        f.write(subprocess.run(["bin/sr-cat", "--from-json"], input=lines.encode(), capture_output=True,
                               check=True).stdout)
    run(["bin/sr-sft", "-q", "-m", src, "-i", ex, "-o", ckpt, "--threads", "1", "--lr", "1e-2", "--batch", "2",
         "--max-steps", "3", "--dtype", "f32"])
    ids = [str(t) for t in TOKENS]
    theirs, ours, before = floats(run([tool, ckpt] + ids)), floats(run([srl, ckpt] + ids)), floats(run([tool, src] + ids))
    diff = max(abs(a - b) for ra, rb in zip(theirs, ours) for a, b in zip(ra, rb))
    moved = max(abs(a - b) for ra, rb in zip(theirs, before) for a, b in zip(ra, rb))
    spread = max(map(max, theirs)) - min(map(min, theirs))
    print(f"phi3 checkpoint in llama.cpp: max |diff| to sr {diff:.3g} (spread {spread:.3g}; "
          f"training moved the logits by {moved:.3g})")
    assert diff <= 1e-6 * spread and moved > 1e-3 * spread


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
            args = [os.path.join(SHARED, a) if a.startswith("data/") else a for a in c["args"]]
            run([TINY, "-o", path, "--seed", str(c["seed"]), "--dim", str(c["dim"]),
                 "--ffn-dim", str(c["ffn_dim"]), "--layers", str(c["layers"])] + args)
            blocks = None
            if "quantize" in c:
                path, blocks = quantize(tmp, name, path, c["quantize"])
            rows = run([tool, path] + [str(t) for t in TOKENS]).split()
            assert len(rows) == len(TOKENS)
            stride = c.get("stride", 1)
            rows = ["".join(r[i:i + 8] for i in range(0, len(r), 8 * stride)) for r in rows]
            cases[name] = {k: v for k, v in c.items()} | {"logits": "".join(rows)}
            if blocks:
                cases[name]["blocks"] = blocks
        check_checkpoint(tmp, tool)
        vocab_case(tool, tmp)
    out = {"source": "llama.cpp (libllama, CPU, 1 thread) via tests/golden/llama_logits.c",
           "tokens": TOKENS, "cases": cases}
    with open(os.path.join(OUT, "logits.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
