#!/usr/bin/env python3
"""make_vocab_pre_golden.py — llama.cpp's ids for the byte-level BPE
pre-tokenizers that no vocabulary in ../shared/data/vocab uses (sr issue 14).

For each PRE in PRES below, a copy of BASE's vocabulary (ggml-vocab-BASE.gguf)
is written to a temporary folder with only tokenizer.ggml.pre changed (or
removed, for PRE = "default", which is what llama.cpp uses when the key is
absent); llama.cpp tokenizes a fixed list of strings with it (llama.cpp's own
.inp cases for BASE plus strings that stress each pattern: digit runs of 1-7,
CJK and kana, contractions in both cases, runs of spaces, tabs and newlines,
punctuation runs, emoji, combining marks, case changes), and
tests/golden/vocab/BASE@PRE.jsonl gets one {"text": str, "ids": [int]} per
string. tests/unit/test_vocab.c loads BASE with pre_override = PRE and
compares.

The ids come from tests/golden/vocab_ref.c (the reference runner of
make_vocab_golden.py), compiled here against llama.cpp's libllama: ids of
llama_tokenize with add_special = false and parse_special = false.

The GGUF copy is made by this script alone (no packages): a vocabulary file
has no tensors, so its metadata can be rewritten in place of the old.

Run from the repository root:
    python3 tests/golden/make_vocab_pre_golden.py \
        [--shared /work/shared] [--llama DIR_OF_LLAMA_CPP]
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_LLAMA = "/root/.cache/sr-peers/llama_cpp_python-0.3.36/vendor/llama.cpp"
BASE = "llama-bpe"
PRES = ["default", "deepseek-v3", "falcon3", "tekken", "phi-2", "roberta-bpe",
        "gpt-4o", "llama4", "dbrx", "stablelm2", "codeshell", "exaone"]

# ---- a GGUF's metadata, just enough to change one string ------------------

SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def skip_value(b, off, typ):
    if typ in SCALAR:
        return off + SCALAR[typ]
    if typ == 8:
        (n,) = struct.unpack_from("<Q", b, off)
        return off + 8 + n
    if typ == 9:
        et, n = struct.unpack_from("<IQ", b, off)
        off += 12
        if et in SCALAR:
            return off + n * SCALAR[et]
        for _ in range(n):
            off = skip_value(b, off, et)
        return off
    raise ValueError("unknown GGUF type %d" % typ)


def with_pre(src, dst, pre):
    """Copy src to dst with tokenizer.ggml.pre = pre (None: removed)."""
    b = open(src, "rb").read()
    magic, ver, n_t, n_kv = struct.unpack_from("<4sIQQ", b, 0)
    if magic != b"GGUF" or ver < 2 or n_t != 0:
        raise ValueError("%s: not a tensor-less GGUF v2+" % src)
    off, kvs = 24, []
    for _ in range(n_kv):
        start = off
        (kl,) = struct.unpack_from("<Q", b, off)
        key = b[off + 8:off + 8 + kl].decode()
        (typ,) = struct.unpack_from("<I", b, off + 8 + kl)
        off = skip_value(b, off + 12 + kl, typ)
        kvs.append((key, b[start:off]))

    def kv_str(key, val):
        k, v = key.encode(), val.encode()
        return struct.pack("<Q", len(k)) + k + struct.pack("<IQ", 8, len(v)) + v

    out = [raw for key, raw in kvs if key != "tokenizer.ggml.pre"]
    if pre is not None:
        out.append(kv_str("tokenizer.ggml.pre", pre))
    body = struct.pack("<4sIQQ", b"GGUF", ver, 0, len(out)) + b"".join(out)
    body += b"\0" * (-len(body) % 32)
    open(dst, "wb").write(body)


# ---- strings ---------------------------------------------------------------

def strings(shared):
    inp = os.path.join(shared, "data", "vocab", "ggml-vocab-%s.gguf.inp" % BASE)
    cases = open(inp, encoding="utf-8").read().split("\n__ggml_vocab_test__\n")
    out = [c for c in cases if c]
    for n in range(1, 8):
        d = "1234567"[:n]
        out += [d, "x" + d, " " + d, "a " + d + " b", d + "." + d, "v" + d + "px"]
    out += ["I'm", "I'M", "you'RE", "they'Ve", "we'LL", "he'd", "HE'D", "it's", "IT'S",
            "don't", "DON'T", "o'clock", "'s'", "''s", "rock'n'roll"]
    out += ["CamelCaseWord", "HTTPServer", "iPhone", "McDonald", "ÉcoleNormale", "straße",
            "ΑθήναΑθήνα", "ПриветМир", "ǅungla", "ÀÉÎõü", "aBcDeF", "ABCdef", "abcDEF"]
    out += ["中文分词测试", "日本語のテキストです", "カタカナとひらがな", "한국어 텍스트",
            "混合English和中文", "1２３４５", "ｆｕｌｌｗｉｄｔｈ", "、。「」",
            "日本語123かなカナ", "東京2024年", "中文,English.混合!", "ひらがな。カタカナ、漢字",
            "Hello世界!", "価格：１００円", "(注)テスト", "\"quoted\"words", "-dash_under"]
    out += ["a  b", "a   b", "  lead", "trail  ", "\t\ttab", "a\tb\t c", "\n", "\n\n",
            "a\n\nb", " \n \n ", "\r\n", "a\r\nb", "x \n\ty", "   \n   ", "\u3000\u3000ideo",
            "nbsp\u00a0here", "\u2003em space"]
    out += ["!!!", "...", "?!?!", "a,b;c", "(x)", "[[y]]", "{z}", "<tag>", "a->b", "x==y",
            "$100", "+-*/", "^_^", "~~~", "|pipe|", "`code`", "#hash", "@at", "50%", "a/b/c",
            "path/to/file.txt", "http://example.com/a?b=c&d=e", "x += 1;", "if (a && b) {"]
    out += ["😀", "😀😃", "👍🏽", "👨‍👩‍👧", "🇫🇷", "hello 🌍 world", "★☆", "→←", "∑∫"]
    out += ["e\u0301", "cafe\u0301 au lait", "\u0915\u094d\u0937", "\u0e01\u0e34", "Ω\u0308"]
    out += ["Hello, World!", "The quick brown fox jumps over the lazy dog.",
            "int main(void) { return 0; }", "def f(x):\n    return x * 2\n",
            "Price: $3.50 (20% off)", "2024-01-15T10:30:00Z", "v1.2.3-beta+build.45"]
    seen, uniq = set(), []
    for s in out:
        if s not in seen:
            seen.add(s)
            uniq.append(s)
    return uniq


# ---- llama.cpp ---------------------------------------------------------------

def build_ref(llama, tmp):
    exe = os.path.join(tmp, "vocab_ref")
    lib = os.path.join(llama, "build", "bin")
    subprocess.run(["cc", "-std=c11", "-O2", "-I" + os.path.join(llama, "include"),
                    "-I" + os.path.join(llama, "ggml", "include"),
                    os.path.join(HERE, "vocab_ref.c"), "-o", exe, "-L" + lib, "-lllama",
                    "-Wl,-rpath," + lib], check=True)
    return exe


def ref_ids(exe, gguf, strs):
    data = b"".join(b"%d\n" % len(s.encode()) + s.encode() for s in strs)
    p = subprocess.run([exe, gguf], input=data, stdout=subprocess.PIPE, check=True)
    lines = p.stdout.decode().split("\n")
    res = []
    for s, line in zip(strs, lines):
        if not line.startswith("OK"):
            raise RuntimeError("llama.cpp failed on %r: %s" % (s, line))
        res.append([int(x) for x in line[2:].split("\t")[0].split()])
    if len(res) != len(strs):
        raise RuntimeError("llama.cpp answered %d of %d strings" % (len(res), len(strs)))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="/work/shared")
    ap.add_argument("--llama", default=DEFAULT_LLAMA)
    a = ap.parse_args()
    strs = strings(a.shared)
    src = os.path.join(a.shared, "data", "vocab", "ggml-vocab-%s.gguf" % BASE)
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_ref(a.llama, tmp)
        for pre in PRES:
            gguf = os.path.join(tmp, "%s@%s.gguf" % (BASE, pre))
            with_pre(src, gguf, None if pre == "default" else pre)
            ids = ref_ids(exe, gguf, strs)
            path = os.path.join(HERE, "vocab", "%s@%s.jsonl" % (BASE, pre))
            with open(path, "w", encoding="utf-8") as f:
                for s, i in zip(strs, ids):
                    f.write(json.dumps({"text": s, "ids": i}, ensure_ascii=False) + "\n")
            print("%s: %d strings" % (path, len(strs)))


if __name__ == "__main__":
    sys.exit(main())
