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
  * "edge_blocks", for every type sr dequantizes (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0
    Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K IQ4_NL IQ4_XS): blocks of random bytes whose
    scale fields (d, dmin; fp16, or fp32 for Q8_K) are set to NaN (several
    payloads and signs), +-inf, subnormals, +-0, the largest finite values
    and random bit patterns, plus fully random blocks; the expected values are
    float32 bit patterns (hex), since NaN and inf are not JSON numbers. The
    reference is gguf-py's numpy dequantizer; Q8_K, which gguf-py lacks, comes
    from libggml (ggml_get_type_traits' to_float, or for Q8_K, whose entry has
    none, the exported dequantize_row_q8_K, through ctypes), and
    every other type is checked against libggml too (the script stops if the
    two references disagree on any bit). Set LIBGGML to libggml-base.so.
    With no model file, the "tensors" section is kept from the existing
    output file;
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


# Byte offsets of each type's float scale fields inside its block.
SCALE_FIELDS = {
    "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
    "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208],
    "IQ4_NL": [0], "IQ4_XS": [0], "Q8_K": [0],
}
F16_EDGES = [0x7e00, 0xfe00, 0x7d01, 0x7c01, 0x7c00, 0xfc00, 0x0001, 0x8001, 0x03ff, 0x0200,
             0x0000, 0x8000, 0x7bff, 0xfbff, 0x0400]
F32_EDGES = [0x7fc00000, 0xffc00000, 0x7fa00001, 0x7f800000, 0xff800000, 0x00000001,
             0x80000001, 0x007fffff, 0x00000000, 0x80000000, 0x7f7fffff, 0xff7fffff, 0x00800000]


def ggml_lib():
    import ctypes
    import os
    path = os.environ.get("LIBGGML", "/root/.cache/sr-peers/llama_cpp_python-0.3.36/vendor/"
                          "llama.cpp/build/bin/libggml-base.so")
    lib = ctypes.CDLL(path)

    class Traits(ctypes.Structure):
        _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64),
                    ("blck_size_interleave", ctypes.c_int64), ("type_size", ctypes.c_size_t),
                    ("is_quantized", ctypes.c_bool), ("to_float", ctypes.c_void_p),
                    ("from_float_ref", ctypes.c_void_p)]
    lib.ggml_get_type_traits.restype = ctypes.POINTER(Traits)
    lib.ggml_get_type_traits.argtypes = [ctypes.c_int]
    fn_t = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)

    def to_float(qtype, raw):
        tr = lib.ggml_get_type_traits(int(qtype)).contents
        n = raw.size // tr.type_size * tr.blck_size
        out = np.zeros(n, dtype=np.float32)
        src = np.ascontiguousarray(raw)
        # ggml's type table gives Q8_K no to_float; its exported row function
        fn = tr.to_float or ctypes.cast(getattr(lib, f"dequantize_row_{qtype.name.lower()[:-1]}K"),
                                        ctypes.c_void_p).value
        fn_t(fn)(src.ctypes.data, out.ctypes.data, n)
        return out
    return to_float


def edge_raw(rng, name, size):
    """Random blocks whose scale fields take each edge value, then random ones."""
    fields = SCALE_FIELDS[name]
    edges = F32_EDGES if name == "Q8_K" else F16_EDGES
    width = 4 if name == "Q8_K" else 2
    fmt = "<u4" if width == 4 else "<u2"
    rows = []
    for k, e in enumerate(edges):
        raw = rng.integers(0, 256, size=size, dtype=np.uint8)
        for f_i, off in enumerate(fields):
            # the first field takes the edge; a second one cycles through the others
            v = e if f_i == 0 else edges[(k * 5 + 3) % len(edges)]
            raw[off:off + width] = np.array([v], dtype=fmt).view(np.uint8)
        rows.append(raw)
    for k in range(len(fields)):     # the edge in the second field, a finite first
        for e in edges[:6] if k else []:
            raw = rng.integers(0, 256, size=size, dtype=np.uint8)
            raw[fields[0]:fields[0] + width] = np.array([0x2c00 if width == 2 else 0x3c000000],
                                                        dtype=fmt).view(np.uint8)
            raw[fields[k]:fields[k] + width] = np.array([e], dtype=fmt).view(np.uint8)
            rows.append(raw)
    for _ in range(4):               # fully random bytes
        rows.append(rng.integers(0, 256, size=size, dtype=np.uint8))
    return np.concatenate(rows)


def edge_blocks(rng):
    to_float = ggml_lib()
    cases = []
    for name in SCALE_FIELDS:
        qt = T[name]
        size = gguf.GGML_QUANT_SIZES[qt][1]
        raw = edge_raw(rng, name, size)
        ref = to_float(qt, raw).view(np.uint32)
        if name != "Q8_K":
            with np.errstate(all="ignore"):
                py = quants.dequantize(raw, qt).astype(np.float32).ravel().view(np.uint32)
            bad = np.nonzero(py != ref)[0]
            if bad.size:
                raise SystemExit(f"{name}: gguf-py and libggml differ at {bad.size} values, "
                                 f"first {bad[0]}: {py[bad[0]]:08x} vs {ref[bad[0]]:08x}")
        cases.append({"type": name, "n": int(ref.size), "hex": raw.tobytes().hex(),
                      "source": "libggml" if name == "Q8_K" else "gguf-py (= libggml)",
                      "bits": "".join(f"{int(v):08x}" for v in ref)})
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
        "tensors": None,
        "blocks": blocks(rng),
        "convert": conversions(rng),
    }
    doc["edge_blocks"] = edge_blocks(np.random.default_rng(20261204))
    import os
    if os.path.exists(model):
        doc["tensors"] = model_tensors(model)
    else:   # keep what an earlier run read from the model
        with open(out) as f:
            old = json.load(f)
        doc["model"], doc["tensors"] = old["model"], old["tensors"]
    with open(out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


def _dist_version(name):
    from importlib.metadata import version
    return version(name)


if __name__ == "__main__":
    main()
