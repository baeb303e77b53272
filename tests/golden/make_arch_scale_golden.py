#!/usr/bin/env python3
"""llama.cpp's log-probabilities at scale (sr issue 15's check) for random
models of each architecture with its real vocabulary: tests/golden/arch/scale.json
(the prompts and the case list) and tests/golden/arch/scale/NAME.json (a case each),
read by tests/unit/test_arch_scale.c.

  1. PROMPTS: for each vocabulary, LENGTHS (8 prompts of 20 to 700 tokens)
     cut from real text (messages of ../shared/data/real's oasst1 validation
     set, joined until long enough) tokenized by llama-tokenize with that
     vocabulary (BOS as the vocabulary asks);
  2. sr-tiny-model writes each case's F32 model with the vocabulary's
     tokenizer and a context of 800; "quantize" cases go through
     llama-quantize with the token embedding and output kept F32 (so the
     blocks kept here stay small: a real vocabulary's embedding would be
     megabytes), and the raw bytes of every tensor it quantized are kept
     (base64, "blocks"; the test rebuilds the file from the F32 one), with
     the type each tensor got ("types");
  3. tests/golden/llama_logprobs.c, built here against libllama, runs each
     prompt as one batch (CPU, one thread, F32 KV cache, no flash attention)
     and writes every position's top TOP ids and log-probs (log-softmax in
     double), then for the prompts in GREEDY 64 greedy tokens;
  4. per case and prompt, "top_ids" (int32) and "top_lp" (float32, from the
     double), little-endian, [positions][TOP], base64; greedy: the 64 ids
     and the two likeliest (id, log-prob) at each step.

No GGUF is committed. Needs no Python package.

  make -j2 NVCC= build/rel/tests/sr-tiny-model
  python3 tests/golden/make_arch_scale_golden.py

LLAMA_CPP names the llama.cpp tree, SR_SHARED the shared data (../shared).
"""
import base64
import json
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_arch_golden as ag  # noqa: E402

BIN, TINY, run = ag.BIN, ag.TINY, ag.run
SHARED = os.environ.get("SR_SHARED", "../shared")
OUT = "tests/golden/arch/scale.json"
LENGTHS = [20, 27, 40, 64, 110, 190, 350, 700]
GREEDY = [0, 3]     # the prompts continued 64 tokens
STEPS = 64
TOP = 20
CTX = 800
TEXT = "data/real/oasst1_en_validation.messages.jsonl"
VOCABS = {"llama-spm": "data/vocab/ggml-vocab-llama-spm.gguf",
          "llama-bpe": "data/vocab/ggml-vocab-llama-bpe.gguf",
          "qwen2": "data/vocab/ggml-vocab-qwen2.gguf",
          "phi-3": "data/vocab/ggml-vocab-phi-3.gguf",
          "gemma-4": "data/vocab/ggml-vocab-gemma-4.gguf"}
SMALL = {"dim": 64, "ffn_dim": 128, "layers": 2}
ARCHS = {"llama": {"args": [], "vocab": "llama-spm", "seed": 31},
         "llama_rope_freqs": {"args": ["--rope-freqs"], "vocab": "llama-bpe", "seed": 32},
         "qwen2": {"args": ["--arch", "qwen2"], "vocab": "qwen2", "seed": 33},
         "qwen3": {"args": ["--arch", "qwen3", "--head-dim", "24"], "vocab": "qwen2", "seed": 34},
         "phi3": {"args": ["--arch", "phi3", "--untied"], "vocab": "phi-3", "seed": 35},
         # 7 blocks: 0-4 and 6 local (window 16), 5 global with linear RoPE scaling
         "gemma3": {"args": ["--arch", "gemma3", "--head-dim", "24", "--window", "16", "--softcap", "0.3",
                             "--rope-scale", "8"], "vocab": "gemma-4", "seed": 36, "layers": 7}}
# Q4_K needs rows of 256: dim and ffn 256, heads of 64 (dim / heads), 2 blocks;
# --pure makes every block tensor Q4_K (Q4_K_M's mixture would put some in
# Q6_K); the first 6 prompts (20 to 190 tokens) keep the blocks and the
# test's time small
Q4K = {"dim": 256, "ffn_dim": 256, "layers": 2, "n_prompts": 6}
QUANT = {"Q8_0": {}, "Q4_K": Q4K}
QUANT_ARCHS = {"Q8_0": list(ARCHS), "Q4_K": ["llama", "qwen2", "phi3", "gemma3"]}
PRESET = {"Q8_0": ["Q8_0"], "Q4_K": ["--pure", "Q4_K_M"]}

# block sizes (bytes, elements) of the types llama-quantize may write
ag.TYPES.update({2: ("Q4_0", 18, 32), 3: ("Q4_1", 20, 32), 6: ("Q5_0", 22, 32), 7: ("Q5_1", 24, 32),
                 10: ("Q2_K", 84, 256), 11: ("Q3_K", 110, 256), 12: ("Q4_K", 144, 256),
                 13: ("Q5_K", 176, 256), 14: ("Q6_K", 210, 256)})


def cases():
    out = {}
    for name, a in ARCHS.items():
        base = dict(SMALL) | {k: v for k, v in a.items()}
        out[name] = base
        for q, over in QUANT.items():
            if name not in QUANT_ARCHS[q]:
                continue
            c = dict(base) | over | {"quantize": q}
            if q == "Q4_K":   # heads of dim / heads, so that attn_output's rows are 256 too
                c["args"] = [a for i, a in enumerate(c["args"]) if a != "--head-dim" and
                             (i == 0 or c["args"][i - 1] != "--head-dim")]
            out[name + "_" + q.lower()] = c
    return out


def prompts(vocab):
    msgs = [json.loads(ln)["text"] for ln in open(os.path.join(SHARED, TEXT))]
    out = []
    for k, n in enumerate(LENGTHS):
        at, text = 41 * k, ""
        while True:
            text += msgs[at % len(msgs)] + "\n\n"
            at += 1
            if len(text) > 5 * n:
                ids = json.loads(run([os.path.join(BIN, "llama-tokenize"), "-m", os.path.join(SHARED, vocab),
                                      "--ids", "--log-disable", "-p", text]).strip().splitlines()[-1])
                if len(ids) >= n:
                    out.append(ids[:n])
                    break
    return out


def pack(fmt, rows):
    return base64.b64encode(b"".join(struct.pack("<%d%s" % (len(r), fmt), *r) for r in rows)).decode()


def logprobs(tool, path, ids, greedy):
    lines = run([tool, path, str(TOP), str(STEPS if greedy else 0)] + [str(t) for t in ids]).splitlines()
    pos = [ln.split() for ln in lines if ln[0] == "P"]
    gen = [ln.split() for ln in lines if ln[0] == "G"]
    assert len(pos) == len(ids)
    pairs = [[(int(x.split(":")[0]), float(x.split(":")[1])) for x in p[2:]] for p in pos]
    rec = {"top_ids": pack("i", [[i for i, _ in p] for p in pairs]),
           "top_lp": pack("f", [[lp for _, lp in p] for p in pairs])}
    assert all(int(p[1]) == q[0][0] for p, q in zip(pos, pairs))
    if greedy:
        # the first token is the prompt's last argmax; step s's line is after feeding token s
        steps = [pos[-1]] + gen[:STEPS - 1]
        rec["greedy"] = [int(s[1]) for s in steps]
        rec["greedy_top2"] = [[[int(x.split(":")[0]), float(x.split(":")[1])] for x in s[2:4]] for s in steps]
    return rec


def case_path(name):
    return os.path.join(os.path.splitext(OUT)[0], name + ".json")


def main():
    """Arguments: case names to make again, the others kept from OUT."""
    only = sys.argv[1:]
    old = json.load(open(OUT)) if only else {"cases": []}
    all_prompts = {v: prompts(p) for v, p in VOCABS.items()}
    if only:
        assert all_prompts == old["prompts"], "the prompts changed: make every case again"
    out_cases = {}
    with tempfile.TemporaryDirectory() as tmp:
        tool = os.path.join(tmp, "llama_logprobs")
        run(["cc", "-O2", "-I" + os.path.join(ag.LLAMA, "include"), "-I" + os.path.join(ag.LLAMA, "ggml", "include"),
             "tests/golden/llama_logprobs.c", "-L" + BIN, "-lllama", "-lm", "-Wl,-rpath," + BIN, "-o", tool])
        for name, c in cases().items():
            if only and name not in only:
                out_cases[name] = json.load(open(case_path(name)))
                continue
            path = os.path.join(tmp, name + ".gguf")
            run([TINY, "-o", path, "--seed", str(c["seed"]), "--dim", str(c["dim"]), "--ffn-dim", str(c["ffn_dim"]),
                 "--layers", str(c["layers"]), "--ctx", str(CTX), "--tokenizer-from",
                 os.path.join(SHARED, VOCABS[c["vocab"]])] + c["args"])
            rec = dict(c) | {"ctx": CTX}
            if "quantize" in c:
                q = os.path.join(tmp, name + ".q.gguf")
                pre = PRESET[c["quantize"]]
                run([os.path.join(BIN, "llama-quantize"), "--token-embedding-type", "f32",
                     "--output-tensor-type", "f32"] + pre[:-1] + [path, q, pre[-1]])
                orig, got = ag.gguf_tensors(path), ag.gguf_tensors(q)
                rec["types"], rec["blocks"] = {}, {}
                for t, (ty, raw) in got.items():
                    rec["types"][t] = ty
                    if ty == "F32":
                        assert raw == orig[t][1], t
                    else:
                        rec["blocks"][t] = [ty, base64.b64encode(raw).decode()]
                path = q
            use = all_prompts[c["vocab"]][:c.get("n_prompts", len(LENGTHS))]
            rec["prompts"] = [logprobs(tool, path, ids, k in GREEDY) for k, ids in enumerate(use)]
            out_cases[name] = rec
            print(name, "done", flush=True)
    head = {"source": "llama.cpp (libllama, CPU, 1 thread, one batch per prompt) via tests/golden/llama_logprobs.c",
            "top": TOP, "steps": STEPS, "lengths": LENGTHS, "greedy_prompts": GREEDY, "vocabs": VOCABS}
    body = [f' {json.dumps(v)}: {json.dumps(p, separators=(",", ":"))}' for v, p in all_prompts.items()]
    # one file a case (tests/golden/arch/scale/NAME.json), each well under the
    # repository's 2 MiB per file; the index names them in order
    os.makedirs(os.path.splitext(OUT)[0], exist_ok=True)
    for n, c in out_cases.items():
        with open(case_path(n), "w") as f:
            f.write(json.dumps(c, separators=(",", ":")) + "\n")
    with open(OUT, "w") as f:
        f.write(json.dumps(head)[:-1] + ', "prompts": {\n' + ",\n".join(body) + '\n}, "cases": ' +
                json.dumps(list(out_cases)) + "}\n")

if __name__ == "__main__":
    main()
