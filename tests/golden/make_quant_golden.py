#!/usr/bin/env python3
"""Tiny llama models in each of llama.cpp's quantization presets, and
llama.cpp's logits for them: tests/golden/quant/, read by
tests/unit/test_quant_presets.c.

  1. sr-tiny-model writes two random F32 models (the fixture tokenizer):
     "k256" (dim 256, ffn 256, one block: every matrix row a multiple of
     256, so the K-quants apply everywhere) and "fallback" (dim 64, ffn 96,
     two blocks: no row is, and llama-quantize falls back to 32-block types
     wherever a preset asks for a 256-block one) (one block at dim 256
     keeps the 22 files near 5 MB);
  2. llama-quantize writes each preset of each (the fallback case only for
     the presets with 256-blocks);
  3. tests/golden/llama_logits.c, built here against libllama, runs each
     file (and the F32 originals) on TOKENS, one token per decode, CPU;
  4. quant/logits.json keeps, per file, the preset, the types its tensors
     ended up in, checksums of gguf-py's dequantization of each quantized
     tensor (so sr's must match to the bit), and llama.cpp's logits as
     float32 bits (KV cache in F32 and flash attention off, as sr runs).
  5. quant/blocks/CASE.PRESET.json keeps, per file, the raw bytes (base64) of every
     tensor llama-quantize did not leave in F32; the F32 ones are checked
     to be the original's bytes.
No GGUF is committed: the test writes the F32 originals again with the same
options through tests/tools/tinymodel.c and builds each preset's file from
the original's metadata and F32 tensors with the blocks put in.

  make -j2 NVCC= build/rel/tests/sr-tiny-model
  /work/venv-quant/bin/python tests/golden/make_quant_golden.py

LLAMA_CPP names the llama.cpp tree (source with build/bin beside it).
"""
import base64
import json
import os
import subprocess
import sys
import tempfile

import gguf
import numpy as np
from gguf import quants

LLAMA = os.environ.get("LLAMA_CPP", "/root/.cache/sr-peers/llama_cpp_python-0.3.36/vendor/llama.cpp")
BIN = os.path.join(LLAMA, "build", "bin")
TINY = os.environ.get("SR_TINY_MODEL", "build/rel/tests/sr-tiny-model")
OUT = "tests/golden/quant"
PRESETS = ["Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_0", "Q4_1", "Q4_K_S", "Q4_K_M",
           "Q5_0", "Q5_1", "Q5_K_S", "Q5_K_M", "Q6_K", "Q8_0", "IQ4_NL", "IQ4_XS"]
FALLBACK = ["Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "IQ4_XS"]
CASES = {"k256": {"dim": 256, "ffn_dim": 256, "layers": 1, "seed": 5},
         "fallback": {"dim": 64, "ffn_dim": 96, "layers": 2, "seed": 6}}
TOKENS = [267, 72, 101, 108, 111]


def run(cmd, **kw):
    env = dict(os.environ, LD_LIBRARY_PATH=BIN)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, **kw)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return r.stdout


def logits(tool, path):
    return run([tool, path] + [str(t) for t in TOKENS]).split()


def tensor_types(path):
    r = gguf.GGUFReader(path)
    return {t.name: t.tensor_type.name for t in r.tensors}


def tensor_checks(path):
    """Per quantized tensor, gguf-py's dequantized float32 bits folded into two
    position-sensitive sums mod 2^64 (sum of bits, sum of bits x (i+1)), as
    decimal strings: the test recomputes them from sr's dequantization, so
    every value must match to the bit."""
    r = gguf.GGUFReader(path)
    out = {}
    for t in r.tensors:
        if t.tensor_type.name == "F32":
            continue
        v = quants.dequantize(t.data, t.tensor_type).astype(np.float32).ravel().view(np.uint32)
        v = v.astype(np.uint64)
        with np.errstate(over="ignore"):
            a = int(v.sum(dtype=np.uint64))
            b = int((v * np.arange(1, v.size + 1, dtype=np.uint64)).sum(dtype=np.uint64))
        out[t.name] = [t.tensor_type.name, int(v.size), str(a), str(b)]
    return out


def blocks(path, f32):
    """The quantized tensors' raw bytes, base64; the rest must be f32's."""
    orig = {t.name: t for t in gguf.GGUFReader(f32).tensors}
    out = {}
    for t in gguf.GGUFReader(path).tensors:
        raw = t.data.tobytes()
        if t.tensor_type.name == "F32":
            if raw != orig[t.name].data.tobytes():
                raise SystemExit(f"{path}: F32 tensor {t.name} differs from the original")
            continue
        out[t.name] = base64.b64encode(raw).decode()
    return out


def main():
    tmp = tempfile.mkdtemp()
    tool = os.path.join(tmp, "llama_logits")
    run(["cc", "-O2", "-I" + os.path.join(LLAMA, "include"), "-I" + os.path.join(LLAMA, "ggml", "include"),
         "tests/golden/llama_logits.c", "-L" + BIN, "-lllama", "-Wl,-rpath," + BIN, "-o", tool])
    os.makedirs(OUT, exist_ok=True)
    doc = {"generator": "tests/golden/make_quant_golden.py", "tokens": TOKENS,
           "llama_cpp": subprocess.run(["git", "-C", LLAMA, "describe", "--always", "--tags"],
                                       capture_output=True, text=True).stdout.strip() or LLAMA,
           "cases": {}, "files": []}
    all_blocks = {}
    for case, o in CASES.items():
        f32 = os.path.join(tmp, case + ".F32.gguf")
        run([TINY, "-o", f32, "--dim", str(o["dim"]), "--ffn-dim", str(o["ffn_dim"]),
             "--layers", str(o["layers"]), "--seed", str(o["seed"])])
        doc["cases"][case] = dict(o, logits_f32="".join(logits(tool, f32)))
        for p in PRESETS if case == "k256" else FALLBACK:
            name = f"{case}.{p}.gguf"
            path = os.path.join(tmp, name)
            run([os.path.join(BIN, "llama-quantize"), f32, path, p])
            types = sorted(set(tensor_types(path).values()))
            doc["files"].append({"file": name, "case": case, "preset": p, "types": types,
                                 "dequant": tensor_checks(path),
                                 "logits": "".join(logits(tool, path))})
            all_blocks[name] = blocks(path, f32)
            print(f"{name}: {os.path.getsize(path)} bytes, types {types}", file=sys.stderr)
    with open(os.path.join(OUT, "logits.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    # one file a preset file (quant/blocks/CASE.PRESET.json): each under 2 MiB
    os.makedirs(os.path.join(OUT, "blocks"), exist_ok=True)
    for name, b in all_blocks.items():
        with open(os.path.join(OUT, "blocks", name[:-len(".gguf")] + ".json"), "w") as f:
            json.dump(b, f, indent=0, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
