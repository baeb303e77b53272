#!/usr/bin/env python3
"""vocab_patch.py — the stand-in vocabularies of tests/golden/chat/standins.json.

A stand-in is one of ../shared's vocab-only GGUFs with some tokens renamed
(or appended: an id one past the end) and given a type (and score), and some
metadata keys set. No vocabulary here has Gemma's, DeepSeek R1's or tekken's
special tokens; a stand-in has them at fixed ids so that llama.cpp and sr can
be compared on the special tokens and the text between them. test_chat.c
applies the same patch in C; this writes it with llama.cpp's gguf-py for
llama-tokenize.

  patched_vocab(name, vocab_dir, out_dir) -> path of the patched GGUF
  python tests/golden/vocab_patch.py NAME OUT.gguf   (for a look with llama-tokenize)
"""
import json
import os
import sys

LLAMA = "/root/.cache/sr-peers/llama_cpp_python-0.3.36/vendor/llama.cpp"
sys.path.insert(0, LLAMA + "/gguf-py")
import gguf  # noqa: E402
from gguf import GGUFValueType as VT  # noqa: E402

STANDINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chat", "standins.json")


def standin(name):
    for s in json.load(open(STANDINS, encoding="utf-8")):
        if s["name"] == name:
            return s
    return None


def field_value(f):
    """A reader field as (value, type, sub_type) for GGUFWriter.add_key_value."""
    t = f.types[0]
    if t == VT.ARRAY:
        return list(f.contents()), t, f.types[1]
    return f.contents(), t, None


def apply(s, kv):
    """Rename/append tokens and set keys in kv: {key: (value, type, sub_type)}."""
    toks, types = kv["tokenizer.ggml.tokens"][0], kv["tokenizer.ggml.token_type"][0]
    scores = kv["tokenizer.ggml.scores"][0] if "tokenizer.ggml.scores" in kv else None
    for e in s["tokens"]:
        i = e["id"]
        if i == len(toks):
            toks.append(""); types.append(0)
            if scores is not None:
                scores.append(0.0)
        toks[i], types[i] = e["text"], e["type"]
        if scores is not None and "score" in e:
            scores[i] = e["score"]
    for key, v in s["keys"].items():
        old = kv.get(key)
        if isinstance(v, bool):
            kv[key] = (v, VT.BOOL, None)
        elif isinstance(v, int):
            kv[key] = (v, old[1] if old else VT.UINT32, None)
        else:
            kv[key] = (v, VT.STRING, None)


def patched_vocab(name, vocab_dir, out_path):
    s = standin(name)
    r = gguf.GGUFReader(f"{vocab_dir}/ggml-vocab-{s['base']}.gguf")
    assert len(r.tensors) == 0, "a vocab-only GGUF"
    kv = {k: field_value(f) for k, f in r.fields.items() if not k.startswith("GGUF.")}
    apply(s, kv)
    w = gguf.GGUFWriter(out_path, arch=kv["general.architecture"][0])
    for k, (v, t, sub) in kv.items():
        if k != "general.architecture":
            w.add_key_value(k, v, t, sub_type=sub)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.close()
    return out_path


if __name__ == "__main__":
    print(patched_vocab(sys.argv[1], os.environ.get("SR_SHARED", "/work/shared") + "/data/vocab",
                        sys.argv[2]))
