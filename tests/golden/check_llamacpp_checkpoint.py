#!/usr/bin/env python3
"""Does llama.cpp run a checkpoint sr-sft wrote, and agree with sr's own greedy decoding?

  check_llamacpp_checkpoint.py CHECKPOINT.gguf OURS.jsonl [PROMPTS.jsonl]

Loads the checkpoint in llama-cpp-python (CPU, F32 weights as written),
greedy-decodes the token ids of each golden prompt for as many tokens as
sr did (OURS.jsonl, from sr_greedy), stopping at end of generation, and
compares token by token. Prints one line per prompt and a summary; exits 1
when any continuation differs."""
import json, sys

import numpy as np
from llama_cpp import Llama

ckpt, ours_path = sys.argv[1], sys.argv[2]
prompts_path = sys.argv[3] if len(sys.argv) > 3 else 'tests/golden/prompts.jsonl'
prompts = {}
for line in open(prompts_path):
    p = json.loads(line)
    prompts[p['name']] = p['ids']
ours = [json.loads(l) for l in open(ours_path)]

llm = Llama(model_path=ckpt, n_ctx=1024, n_threads=2, logits_all=True, verbose=False)
eog = llm.token_eos()
same = total = 0
for o in ours:
    ids = prompts[o['name']]
    llm.reset()
    llm.eval(ids)
    out = []
    for _ in range(len(o['out'])):
        nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        out.append(nxt)
        if nxt == eog:
            break
        llm.eval([nxt])
    agree = 0
    while agree < min(len(out), len(o['out'])) and out[agree] == o['out'][agree]:
        agree += 1
    ok = out == o['out']
    same += ok
    total += 1
    text = llm.detokenize(out).decode('utf-8', 'replace').replace('\n', '\\n')
    print(f"{'same' if ok else 'DIFF'} {o['name']}: {len(out)} tokens, {agree} agree; llama.cpp: {text[:70]!r}")
print(f'{same}/{total} greedy continuations identical (llama.cpp vs sr, F32 checkpoint {ckpt})')
sys.exit(0 if same == total else 1)
