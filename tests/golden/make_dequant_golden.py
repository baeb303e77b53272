#!/usr/bin/env python3
"""Golden values for sr's GGUF dequantization, from an independent reader.

Uses the `gguf` PyPI package (llama.cpp's own Python reader and its numpy
dequantizers) to write tests/golden/dequant.json, which tests/unit/test_gguf.c
compares against kernels/cpu/dequant.c and blocks.c:

  * tensors of the real model (every type the file holds: Q4_1, Q8_0, F32):
    the first values in file order, and (sum, sum of squares) over the whole
    tensor in float64;
  * for types the model lacks (Q4_0, Q8_0, Q4_K, Q6_K, F16, BF16): raw block
    bytes (quantized by the package where it can, random bytes with finite
    scales where it cannot) and the package's dequantized floats;
  * fp32 -> fp16 (numpy's RNE cast) and fp32 -> bf16 (the package's
    ggml-equivalent rounding) bit patterns for the conversion helpers.

Generated with gguf 0.19.0 and numpy 2.4.6 on Python 3.11:

  python3 -m venv /tmp/venv-gguf && /tmp/venv-gguf/bin/pip install gguf numpy
  /tmp/venv-gguf/bin/python tests/golden/make_dequant_golden.py \
      models/SmolLM2-135M-Instruct.Q4_1.gguf tests/golden/dequant.json

Floats are written as JSON numbers holding the exact float32 value (Python's
repr of the double it widens to), so the comparison can be exact.
"""
import json
import sys

import numpy as np
import gguf
from gguf import quants
from gguf.constants import GGMLQuantizationType as T

N_FIRST = 1024
MODEL_TENSORS = [
    "blk.0.attn_q.weight",      # Q4_1
    "blk.29.ffn_down.weight",   # Q4_1, the other orientation
    "token_embd.weight",        # Q8_0
    "output_norm.weight",       # F32
    "blk.0.attn_norm.weight",   # F32
]


def floats(a):
    return [float(x) for x in np.asarray(a, dtype=np.float32).ravel()]


def model_tensors(path):
    r = gguf.GGUFReader(path)
    by_name = {t.name: t for t in r.tensors}
    out = []
    for name in MODEL_TENSORS:
        t = by_name[name]
        d = quants.dequantize(t.data, t.tensor_type).astype(np.float32).ravel()
        d64 = d.astype(np.float64)
        out.append({
            "name": name,
            "type": t.tensor_type.name,
            "ne": [int(x) for x in t.shape],
            "n": int(d.size),
            "first": floats(d[:N_FIRST]),
            "sum": float(d64.sum()),
            "sumsq": float((d64 * d64).sum()),
        })
    return out


def block_case(qtype, raw):
    raw = np.ascontiguousarray(raw, dtype=np.uint8).ravel()
    vals = quants.dequantize(raw, qtype).astype(np.float32).ravel()
    assert np.all(np.isfinite(vals)), qtype
    return {"type": qtype.name, "n": int(vals.size), "hex": raw.tobytes().hex(), "values": floats(vals)}


def random_k_blocks(rng, qtype, n_blocks):
    """Random bytes for a K-quant super-block, with finite fp16 scales."""
    size = gguf.GGML_QUANT_SIZES[qtype][1]
    raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    scales = (rng.standard_normal((n_blocks, 2)) * 0.01).astype(np.float16).view(np.uint8)
    if qtype == T.Q4_K:        # d, dmin lead the block
        raw[:, 0:4] = scales.reshape(n_blocks, 4)
    else:                      # Q6_K: d ends it
        raw[:, size - 2:size] = scales[:, 0:2]
    return raw


def blocks(rng):
    cases = []
    x = (rng.standard_normal((8, 32)) * 0.05).astype(np.float32)
    x[0, :] = 0.0                          # an all-zero block (d = 0)
    for qt in (T.Q4_0, T.Q4_1, T.Q8_0):
        cases.append(block_case(qt, quants.quantize(x, qt)))
    for qt in (T.Q4_K, T.Q6_K):
        cases.append(block_case(qt, random_k_blocks(rng, qt, 4)))
    h = (rng.standard_normal(256) * 3).astype(np.float16)
    h[:8] = np.array([0.0, -0.0, 65504.0, -65504.0, 6.1e-5, 6e-8, -3e-7, 1.0], dtype=np.float16)
    cases.append(block_case(T.F16, h.view(np.uint8)))
    b = (rng.standard_normal(256) * 100).astype(np.float32)
    cases.append(block_case(T.BF16, quants.quantize(b, T.BF16)))
    return cases


def conversions(rng):
    bits = list(rng.integers(0, 2**32, size=2000, dtype=np.uint64))
    edge = [
        0x00000000, 0x80000000, 0x3f800000, 0x477fe000, 0x477fefff, 0x477ff000, 0x477fffff,
        0x7f7fffff, 0x7f800000, 0xff800000, 0x38800000, 0x387fffff, 0x33000000, 0x33000001,
        0x32ffffff, 0x33800000, 0x33c00000, 0x3f801000, 0x3f803000, 0x3f800fff, 0x3f807fff,
        0x3f808000, 0x3f818000, 0x00000001, 0x807fffff, 0x7fc00000, 0x7f800001, 0xffffffff,
    ]
    edge += [int(v) for v in (rng.standard_normal(500) * 1e-5).astype(np.float32).view(np.uint32)]
    u = np.array([int(v) for v in edge + bits], dtype=np.uint32)
    f = u.view(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        f16 = f.astype(np.float16).view(np.uint16)
    bf16 = quants.quantize(f, T.BF16).view(np.uint16)
    nan = np.isnan(f)
    return {
        # numpy keeps NaN payloads unquieted, ggml does not: NaNs are checked in C
        "f32_bits": [int(v) for v in u],
        "f16_bits": [None if nan[i] else int(v) for i, v in enumerate(f16)],
        "bf16_bits": [int(v) for v in bf16],
    }


def main():
    model = sys.argv[1] if len(sys.argv) > 1 else "models/SmolLM2-135M-Instruct.Q4_1.gguf"
    out = sys.argv[2] if len(sys.argv) > 2 else "tests/golden/dequant.json"
    rng = np.random.default_rng(20240601)
    doc = {
        "generator": "tests/golden/make_dequant_golden.py",
        "versions": {"gguf": getattr(gguf, "__version__", None) or _dist_version("gguf"),
                     "numpy": np.__version__},
        "model": model.rsplit("/", 1)[-1],
        "tensors": model_tensors(model),
        "blocks": blocks(rng),
        "convert": conversions(rng),
    }
    with open(out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


def _dist_version(name):
    from importlib.metadata import version
    return version(name)


if __name__ == "__main__":
    main()
