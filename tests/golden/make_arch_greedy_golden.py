#!/usr/bin/env python3
"""llama.cpp's greedy continuations on the tiny random models of
make_arch_golden.py (its CASES, written the same way by sr-tiny-model):
tests/golden/arch/greedy.json, read by tests/cli/gen-raw.bats, which asks
sr-gen for the same from prompt_ids.

For each case and each of PROMPTS (token ids of the fixture tokenizer, BOS
first), tests/golden/llama_greedy.c, built here against libllama, feeds the
prompt, then takes STEPS tokens by argmax, each fed back (end-of-turn tokens
too: sr-gen's --ignore-eos), and writes per step the chosen id, the gap
between the two largest logits, and the TOP likeliest ids with their
log-probabilities (softmax of the raw logits, as sr-gen --logprobs reports).
The smallest gap is kept as "min_margin": far above fp32 error, so the ids
must agree exactly. Needs no Python package.

  make -j2 NVCC= build/rel/tests/sr-tiny-model
  python3 tests/golden/make_arch_greedy_golden.py

LLAMA_CPP names the llama.cpp tree (source with build/bin beside it).
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_arch_golden import BIN, CASES, LLAMA, OUT, TINY, run  # noqa: E402

PROMPTS = [[267, 72, 101, 108, 111, 32, 116, 104, 101, 114, 101, 33, 256, 120],
           [267, 40, 50, 60, 70, 80, 90]]
STEPS = 64
TOP = 3


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tool = os.path.join(tmp, "llama_greedy")
        run(["cc", "-O2", "-I" + os.path.join(LLAMA, "include"), "-I" + os.path.join(LLAMA, "ggml", "include"),
             "tests/golden/llama_greedy.c", "-L" + BIN, "-lllama", "-lm", "-Wl,-rpath," + BIN, "-o", tool])
        cases = {}
        for name, c in CASES.items():
            path = os.path.join(tmp, name + ".gguf")
            run([TINY, "-o", path, "--seed", str(c["seed"]), "--dim", str(c["dim"]),
                 "--ffn-dim", str(c["ffn_dim"]), "--layers", str(c["layers"])] + c["args"])
            runs = []
            for p in PROMPTS:
                lines = run([tool, path, str(STEPS), str(TOP)] + [str(t) for t in p]).splitlines()
                assert len(lines) == STEPS
                steps = [ln.split() for ln in lines]
                runs.append({"prompt_ids": p, "ids": [int(s[0]) for s in steps],
                             "min_margin": min(float(s[1]) for s in steps),
                             "top": [[[int(x.split(":")[0]), float(x.split(":")[1])] for x in s[2:]]
                                     for s in steps]})
            cases[name] = {k: v for k, v in c.items()} | {"runs": runs}
    out = {"source": "llama.cpp (libllama, CPU, 1 thread) via tests/golden/llama_greedy.c",
           "steps": STEPS, "top": TOP, "cases": cases}
    # one line per case: small, and a diff shows which case changed
    body = ",\n".join(f" {json.dumps(n)}: {json.dumps(c, separators=(',', ':'))}" for n, c in cases.items())
    head = json.dumps({k: v for k, v in out.items() if k != "cases"})[:-1]
    with open(os.path.join(OUT, "greedy.json"), "w") as f:
        f.write(f'{head}, "cases": {{\n{body}\n}}}}\n')


if __name__ == "__main__":
    main()
