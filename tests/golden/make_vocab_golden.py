#!/usr/bin/env python3
"""make_vocab_golden.py — generated strings with llama.cpp's token ids, for
every vocabulary in ../shared/data/vocab (sr issue 14).

Writes tests/golden/vocab/NAME.jsonl, one {"text": str, "ids": [int]} per
line, for each ggml-vocab-NAME.gguf. The ids are what llama.cpp's
llama_tokenize gives with add_special = false and parse_special = false: no
BOS/EOS added, special-token text read as plain text, which is how
sr_tok_encode encodes (tests/unit/test_vocab.c compares the two).

The strings are the same for every vocabulary: about 2,500 short ones, made
deterministically from a fixed seed (only Python's standard library is
used), in the categories of CATEGORIES below, duplicates dropped. The ids come from
tests/golden/vocab_ref.c, compiled here against llama.cpp's libllama and run
once per vocabulary. A string on which llama.cpp fails (an error return, or
the process dying) is left out of that vocabulary's file and counted.

A line gets "roundtrip": false when the pieces of its ids (llama.cpp's
llama_token_to_piece, one after the other, less the one space a
SentencePiece vocabulary puts in front) are not the text itself: e.g. U+2581
in the text of a SentencePiece vocabulary comes back as a space. The test
then skips its decode(encode(s)) == s check.

A line gets "unicode": 15 when its text holds a code point assigned in
Unicode 15.0 or 15.1 (UNICODE15 below). llama.cpp's character classes know
them; a regex library built with older tables does not, and the test counts
a difference on such a line apart (see tests/unit/test_vocab.c).

Run from the repository root:
    python3 tests/golden/make_vocab_golden.py \
        [--shared /work/shared] [--llama DIR_OF_LLAMA_CPP]
DIR_OF_LLAMA_CPP is llama.cpp's source tree with its build in build/bin (by
default llama-cpp-python 0.3.36's vendored copy under
/root/.cache/sr-peers). Python 3.8 or newer; no packages needed.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import unicodedata

SEED = 14  # sr issue 14
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_LLAMA = ("/root/.cache/sr-peers/llama_cpp_python-0.3.36/vendor/llama.cpp")

# ---- building blocks -------------------------------------------------------

WORDS = ("the of and to in is you that it he was for on are as with his they at be this have "
         "from or one had by word but not what all were we when your can said there use an each "
         "which she do how their if will up other about out many then them these so some her "
         "would make like him into time has look two more write go see number no way could people "
         "my than first water been call who oil its now find long down day did get come made may "
         "part hello world token vocabulary tokenizer GPU CUDA llama Hello World OpenAI I").split()

CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]
APOSTROPHES = ["'", "\u2019", "\u2018", "`", "\u00b4", "\u02bc", "\u2032", "\uff07"]

SPACES = [" ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2028", "\u2029", "\u2009",
          "\u200b", "\u000b", "\u000c", "\u0085", "\u202f", "\u2003", "\ufeff"]

DIGIT_SETS = {
    "ascii": "0123456789",
    "arabic-indic": "".join(chr(0x660 + i) for i in range(10)),
    "ext-arabic-indic": "".join(chr(0x6f0 + i) for i in range(10)),
    "devanagari": "".join(chr(0x966 + i) for i in range(10)),
    "bengali": "".join(chr(0x9e6 + i) for i in range(10)),
    "thai": "".join(chr(0xe50 + i) for i in range(10)),
    "fullwidth": "".join(chr(0xff10 + i) for i in range(10)),
    "superscript": "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079",
    "subscript": "".join(chr(0x2080 + i) for i in range(10)),
    "roman": "".join(chr(0x2160 + i) for i in range(16)) + "".join(chr(0x2170 + i) for i in range(12)),
    "fractions": "\u00bd\u2153\u00bc\u2155\u2159\u215b\u2154\u00be\u215e\u2189",
    "circled": "".join(chr(0x2460 + i) for i in range(20)),
    "math-bold": "".join(chr(0x1d7ce + i) for i in range(10)),
}

CJK = [
    "你好世界", "我爱北京天安门", "机器学习模型", "自然语言处理", "今天天气很好。", "中华人民共和国",
    "繁體中文測試", "漢字", "一二三四五六七八九十", "你好，世界！", "「引用」和『书名』",
    "こんにちは世界", "ありがとうございます", "カタカナとひらがな", "東京都渋谷区", "日本語の文章です。",
    "ｶﾀｶﾅ半角", "ラーメン", "ー〜・", "ゔぁ", "安全第一", "私はトークナイザーです",
    "안녕하세요", "대한민국", "한국어 텍스트", "감사합니다!", "ㄱㄴㄷㄹ", "각", "서울특별시 강남구",
    "𠀀𠀁𪚥", "𡘙", "〇", "々", "〆", "㊙", "㍿",
]

EMOJI = [
    "😀", "😂", "🤖", "🦙", "🔥", "✨", "👍", "👍🏻", "👍🏽", "👍🏿", "👋🏾", "🙏🏼",
    "👨\u200d👩\u200d👧\u200d👦", "👩\u200d💻", "👩🏾\u200d💻", "🧑\u200d🚀", "👨\u200d❤️\u200d👨",
    "🏳️\u200d🌈", "🏴\u200d☠️", "🇺🇸", "🇯🇵", "🇩🇪", "🇫🇷", "🇺🇳", "🇦", "🇿🇿",
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "1\ufe0f\u20e3", "#\ufe0f\u20e3", "*\ufe0f\u20e3", "0\u20e3", "🔟",
    "❤", "❤\ufe0f", "❤\ufe0e", "☺\ufe0f", "✌\ufe0f", "☀", "⭐", "©\ufe0f", "™", "↔\ufe0f",
    "🫠", "🫶🏽", "🪿", "\U0001faaf", "🧔\u200d♀️", "🏃\u200d➡️",
]

COMBINING_WORDS = [
    "café", "naïve", "Ångström", "résumé", "façade", "jalapeño", "Zürich", "São Paulo", "Øresund",
    "Tiếng Việt", "Việt Nam", "Hà Nội", "người", "phở", "đường", "Nguyễn",
    "नमस्ते", "क्षत्रिय", "हिन्दी", "संस्कृतम्", "प्रौद्योगिकी",
    "مَرْحَبًا", "بِسْمِ ٱللَّٰهِ", "الْعَرَبِيَّة", "كِتَابٌ",
    "שָׁלוֹם", "בְּרֵאשִׁית", "עִבְרִית", "תּוֹרָה",
    "Ελληνικά", "ἀρχὴ", "Ὀδυσσεύς", "Ёлка", "й", "ǅ", "ﬁ", "ﬀ", "Ǆ", "ŉ",
]

COMBINING_MARKS = ["\u0301", "\u0300", "\u0308", "\u0303", "\u0327", "\u030a", "\u0323", "\u0336",
                   "\u0489", "\u20dd", "\u093c", "\u064e", "\u05b7", "\u0e31", "\u1ab0", "\ufe20"]

RARE = [
    "\ue000", "\ue123", "\uf8ff", "\U000f0000", "\U000ffffd", "\U00100000", "\U0010fffd",
    "\U0010ffff", "\uffff", "\ufffe", "\ufdd0", "\ufffd", "\u0378", "\u0380", "\u05ff", "\u2fff",
    "\U0001ffff", "\U0002fffe", "\U00030000", "\U000e0001", "\U000e0020", "\U00010000",
    "\U00012000", "\U00013000", "\U0001d11e", "\U0001f0a1", "\U00016800", "\u2e3b", "\ua9c1",
    "\u1680", "\u180e", "\u0001", "\u0002", "\u0007", "\u0008", "\u001b", "\u001f", "\u007f",
    "\u0080", "\u0090", "\u009f", "\u00ad", "\u034f", "\u061c", "\u200e", "\u200f", "\u202e",
    "\u2066", "\u2069", "\u206f", "\u1160", "\u3164", "\uffa0", "\U0001f3fb", "\u0e3f",
]

SPECIALS = [
    "<s>", "</s>", "<unk>", "<pad>", "<mask>", "<|endoftext|>", "<|im_start|>", "<|im_end|>",
    "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>",
    "<|end_header_id|>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>", "[INST]", "[/INST]",
    "<<SYS>>", "<</SYS>>", "<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "<0x0A>",
    "<0x00>", "<0xFF>", "<0x20>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
    "<fim_prefix>", "<|padding|>", "<|START_OF_TURN_TOKEN|>", "<|END_OF_TURN_TOKEN|>",
    "<|USER_TOKEN|>", "<|CHATBOT_TOKEN|>", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>",
    "<|channel|>", "<|message|>", "<|return|>", "<turn|>", "<|turn>", "<think>", "</think>",
    "<tool_call>", "▁", "▁▁", "Ġ", "Ċ", "<|reserved_special_token_0|>", ">>ABSTRACT<<",
]

CODE = [
    "int main(void) {\n    return 0;\n}\n",
    "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}",
    "def f(x):\n    return x ** 2\n",
    "if __name__ == \"__main__\":\n    main()",
    "    \n        \n",
    "#include <stdio.h>\n",
    "printf(\"%d\\n\", x);",
    "const x = () => { return [1, 2, 3].map(v => v * 2); };",
    "SELECT * FROM users WHERE id = 42;",
    "<div class=\"a\"><span>hi</span></div>",
    "{\"key\": [1, 2.5, -3e10, null, true]}",
    "x <<= 3; y >>= 2; z &&= w || !v;",
    "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
    "$ ls -la | grep '\\.c$' > out.txt 2>&1",
    "a_b_c = __init__; __dunder__ ___",
    "// comment\n/* block */\n# hash",
    "\t\tif (x) {\n\t\t\ty();\n\t\t}",
    "std::vector<std::string> v{\"a\", \"b\"};",
    "lambda: None  # noqa",
    "x=1;y=2;z=x+y",
    "@decorator\nclass Foo(Bar):\n    pass",
    "```python\nprint('hi')\n```",
    "\\begin{equation} E = mc^2 \\end{equation}",
    "0x1F, 0b1010, 1e-9, 3.14159f, 1_000_000",
]

URLS = [
    "https://example.com/path?q=1&r=two#frag", "http://localhost:8080/", "ftp://ftp.gnu.org/gnu/",
    "https://github.com/ggml-org/llama.cpp/blob/master/src/llama-vocab.cpp",
    "mailto:someone@example.org", "user.name+tag@sub.domain.co.uk", "www.wikipedia.org/wiki/Ünicode",
    "https://例子.测试/路径", "/usr/local/lib/libllama.so", "C:\\Users\\Admin\\Desktop\\file.txt",
    "../../etc/passwd", "~/.config/sr/config.toml", "s3://bucket/key/with spaces.txt",
    "https://en.wikipedia.org/wiki/%E2%82%AC", "192.168.0.1:443", "[::1]:8080", "data:text/plain;base64,SGVsbG8=",
]

MIXED = [
    "Hello 世界 مرحبا नमस्ते", "The word 'Straße' is German.", "Москва — столица России.",
    "Python3.11 和 C11 的区别", "I ❤️ NY", "東京 Tokyo 도쿄", "Ελλάδα and Türkiye", "ภาษาไทยง่ายนิดเดียว",
    "ქართული ენა", "Հայերեն", "አማርኛ", "ᠮᠣᠩᠭᠣᠯ", "ཀཁགང", "ᏣᎳᎩ", "ⴰⵎⴰⵣⵉⵖ", "தமிழ் மொழி",
    "తెలుగు", "ಕನ್ನಡ", "മലയാളം", "සිංහල", "ગુજરાતી", "ਪੰਜਾਬੀ", "ଓଡ଼ିଆ", "বাংলা ভাষা", "اردو زبان",
    "فارسی", "ייִדיש", "Lorem ipsum dolor sit amet", "Ünïcödé ïs fün", "ÀÉÎÕÜ àéîõü",
    "Ŀŀ Ħħ Ŋŋ Ŧŧ", "İstanbul ı I i İ", "ß ẞ ſ", "Ⅸ ⅸ", "µ μ Ω Ω K K Å Å",
]

SPACE_WORDS = ["", "a", "hello", "Hello", "12", "!", "x", "世界", "é", "\u0301"]


# ---- generators, one per category -----------------------------------------

def gen_whitespace(r, n):
    out = []
    for k in range(1, 18):
        out += [" " * k, "a" + " " * k + "b", " " * k + "x", "x" + " " * k]
    for _ in range(n - len(out)):
        run = "".join(r.choice(SPACES[:8]) * r.randint(1, 4) for _ in range(r.randint(1, 4)))
        w1, w2 = r.choice(SPACE_WORDS), r.choice(SPACE_WORDS)
        out.append(r.choice([run, w1 + run, run + w1, w1 + run + w2, w1 + run + w2 + run]))
    return out


def case_variants(s, r):
    return r.choice([s, s.upper(), s.lower(), s.title(), "".join(r.choice([c.upper(), c.lower()]) for c in s)])


def gen_contractions(r, n):
    out = []
    for c in CONTRACTIONS:
        for v in (c, c.upper(), c[0] + c[1:].title()):
            out += [v, "I" + v, "it" + v + " ok", "don" + v]
    for _ in range(n - len(out)):
        w = case_variants(r.choice(WORDS), r)
        c = r.choice(CONTRACTIONS)
        c = r.choice([c, c.upper(), c.lower(), c.title()])
        out.append(r.choice(["%s%s" % (w, c), "%s%s %s" % (w, c, r.choice(WORDS)),
                             " %s%s" % (w, c), "%s %s" % (w, c), "%s%s%s" % (w, c, c),
                             "'%s'" % w, "%s''%s" % (w, c[1:])]))
    return out


def gen_apostrophes(r, n):
    out = []
    for _ in range(n):
        a = r.choice(APOSTROPHES)
        w = r.choice(WORDS)
        suf = r.choice(["s", "t", "re", "ve", "m", "ll", "d", "S", "T", "LL", "VE"])
        out.append(r.choice(["%s%s%s" % (w, a, suf), "%s%s%s%s" % (a, w, a, suf), a * r.randint(1, 4),
                             "%s %s%s" % (w, a, suf), "rock %s n %s roll" % (a, a)]))
    return out


def gen_digits(r, n):
    out = []
    sets = list(DIGIT_SETS.values())
    for ds in sets:
        out.append(ds)
    for _ in range(n - len(out)):
        ds = r.choice(sets)
        run = "".join(r.choice(ds) for _ in range(r.randint(1, 12)))
        w = r.choice(WORDS)
        out.append(r.choice([run, " " + run, w + run, run + w, w + " " + run, run + " " + run,
                             run + "." + run, "$" + run + ",99", run + "%", "v" + run + "-rc" + run,
                             "".join(r.choice(r.choice(sets)) for _ in range(r.randint(2, 10)))]))
    return out


def gen_cjk(r, n):
    out = list(CJK)
    for _ in range(n - len(out)):
        parts = [r.choice(CJK) for _ in range(r.randint(1, 3))]
        sep = r.choice(["", " ", "、", "。", "\n", ", "])
        out.append(sep.join(parts))
    return out


def gen_emoji(r, n):
    out = list(EMOJI)
    for _ in range(n - len(out)):
        parts = [r.choice(EMOJI) for _ in range(r.randint(1, 4))]
        out.append(r.choice(["", " ", "x"]).join(parts) + r.choice(["", " ok", "!", "\n"]))
    return out


def gen_combining(r, n):
    out = []
    for w in COMBINING_WORDS:
        out += [unicodedata.normalize("NFC", w), unicodedata.normalize("NFD", w)]
    for _ in range(n - len(out)):
        k = r.randint(0, 4)
        if k == 0:  # a letter with a stack of marks, or marks with no base
            base = r.choice(["a", "e", "o", "Z", " ", "", "1", "क", "ب", "ש"])
            out.append(base + "".join(r.choice(COMBINING_MARKS) for _ in range(r.randint(1, 6))))
        else:
            w = r.choice(COMBINING_WORDS)
            form = r.choice(["NFC", "NFD", "NFKC", "NFKD"])
            out.append(unicodedata.normalize(form, w) + r.choice(["", " ", " " + r.choice(WORDS)]))
    return out


def gen_rare(r, n):
    out = list(RARE)
    for _ in range(n - len(out)):
        parts = [r.choice(RARE) for _ in range(r.randint(1, 3))]
        w = r.choice(WORDS + [""])
        out.append(r.choice(["".join(parts), w + "".join(parts), "".join(parts) + " " + w,
                             " ".join(parts)]))
    return out


def near_miss(s, r):
    k = r.randint(0, 7)
    if len(s) < 2:
        return s + s
    i = r.randrange(len(s))
    if k == 0: return s[:i] + s[i + 1:]
    if k == 1: return s[:i] + " " + s[i:]
    if k == 2: return s.upper() if s != s.upper() else s.lower()
    if k == 3: return s[:i] + s[i] + s[i:]
    if k == 4: return s.replace("|", "｜") if "|" in s else s.replace("<", "＜")
    if k == 5: return s[1:]
    if k == 6: return s[:-1]
    return s + s


def gen_specials(r, n):
    out = list(SPECIALS)
    for _ in range(n - len(out)):
        s = r.choice(SPECIALS)
        if r.random() < 0.5:
            s = near_miss(s, r)
        w = r.choice(WORDS)
        out.append(r.choice([s, " " + s, s + " ", w + s + w, s + "\n" + w, "\n" + s + "\n",
                             s + s, "%s %s %s" % (w, s, r.choice(SPECIALS))]))
    return out


def gen_code(r, n):
    out = list(CODE)
    for _ in range(n - len(out)):
        c = r.choice(CODE)
        lines = c.split("\n")
        i = r.randrange(len(lines))
        j = r.randint(i, min(len(lines), i + 3))
        ind = r.choice(["", "    ", "\t", "        ", "  "])
        out.append(ind + "\n".join(lines[i:j + 1]))
    return out


def gen_urls(r, n):
    out = list(URLS)
    for _ in range(n - len(out)):
        u = r.choice(URLS)
        out.append(r.choice(["see " + u, "<" + u + ">", "(" + u + ")", u + ".", "[link](" + u + ")"]))
    return out


def gen_mixed(r, n):
    out = list(MIXED)
    for _ in range(n - len(out)):
        out.append(" ".join(r.choice(MIXED).split()[:r.randint(1, 3)]) + r.choice(["", ".", "!", "?", "\n"]))
    return out


def gen_single(r, n):
    out = [chr(c) for c in range(0x20, 0x7f)]
    out += [chr(c) for c in (0x1, 0x9, 0xa, 0xd, 0xa0, 0xe9, 0x100, 0x3b1, 0x416, 0x5d0, 0x627, 0x905,
                             0xe01, 0x4e00, 0xac00, 0x1f600)]
    out += [" " + chr(c) for c in range(0x21, 0x7f, 3)]
    return out[:n] if len(out) > n else out


def real_lines(shared):
    texts = []
    real = os.path.join(shared, "data", "real")
    for name in ("oasst1_en_validation.messages.jsonl", "oasst1_en_100.trees.jsonl",
                 "mt_bench_question.jsonl", "mt_bench_reference_answer_gpt-4.jsonl"):
        path = os.path.join(real, name)
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            for line in f:
                collect_texts(json.loads(line), texts)
    return texts


def collect_texts(o, texts):
    """Every string under a "text" key, or in a "turns" list, of a record."""
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "text" and isinstance(v, str):
                texts.append(v)
            elif k == "turns" and isinstance(v, list):
                texts += [t for t in v if isinstance(t, str)]
            else:
                collect_texts(v, texts)
    elif isinstance(o, list):
        for v in o:
            collect_texts(v, texts)


def gen_real(r, n, texts):
    if not texts:
        return []
    out = []
    while len(out) < n:
        t = r.choice(texts)
        lines = t.split("\n")
        i = r.randrange(len(lines))
        chunk = "\n".join(lines[i:i + r.choice([1, 1, 1, 2, 3])])
        if len(chunk) > 160:  # a window, cut at spaces where possible
            s = r.randrange(len(chunk) - 120)
            chunk = chunk[s:s + r.randint(40, 160)]
        if chunk.strip():
            out.append(chunk)
    return out


# Code points assigned in Unicode 14-16, where a regex library's tables and
# llama.cpp's own may disagree about letter / number / other.
NEWER = [
    "\U0001fae8", "\U0001faea", "\U0001fa89", "\U0001f7f0",          # emoji 15-16
    "\U00011f04\U00011f05\U00011f06", "\U0001e4d0\U0001e4d1",       # Kawi, Nag Mundari letters
    "\U00031350\U00031351", "\U0002ebf0\U0002ebf1",                # CJK extensions H, I
    "\U00010d4a\U00010d4b", "\U00016d43\U00016d44", "\U0001e5d0\U0001e5d1",  # Garay, Kirat Rai, Ol Onal
    "\U00010d40\U00010d41\U00010d42", "\U00016d70\U00016d71", "\U0001e5f1\U0001e5f2",  # their digits
    "\U00011bf0\U00011bf1", "\U000116d0\U000116d1", "\U0001ccf0\U0001ccf1\U0001ccf2",   # Sunuwar, Pa-O, outlined
    "\U0001e4f0\U0001e4f1", "\U00011f50\U00011f51", "\u0c5d", "\u0cf3", "\U0001df25",
]


# The code points assigned in Unicode 15.0 and 15.1: those llama.cpp's table
# (src/unicode-data.cpp, made from UCD 15.1) defines and Python 3.11's
# unicodedata (UCD 14.0.0) does not, found once by comparing the two (no
# code point assigned in 14.0 differs in category between them). A regex
# library with Unicode 14 tables (PCRE2 10.42) takes these for unassigned.
UNICODE15 = [
    (0xCF3, 0xCF3), (0xECE, 0xECE), (0x2FFC, 0x2FFF), (0x31EF, 0x31EF), (0x10EFD, 0x10EFF),
    (0x1123F, 0x11241), (0x11B00, 0x11B09), (0x11F00, 0x11F10), (0x11F12, 0x11F3A),
    (0x11F3E, 0x11F59), (0x1342F, 0x1342F), (0x13439, 0x13455), (0x1B132, 0x1B132),
    (0x1B155, 0x1B155), (0x1D2C0, 0x1D2D3), (0x1DF25, 0x1DF2A), (0x1E030, 0x1E06D),
    (0x1E08F, 0x1E08F), (0x1E4D0, 0x1E4F9), (0x1F6DC, 0x1F6DC), (0x1F774, 0x1F776),
    (0x1F77B, 0x1F77F), (0x1F7D9, 0x1F7D9), (0x1FA75, 0x1FA77), (0x1FA87, 0x1FA88),
    (0x1FAAD, 0x1FAAF), (0x1FABB, 0x1FABD), (0x1FABF, 0x1FABF), (0x1FACE, 0x1FACF),
    (0x1FADA, 0x1FADB), (0x1FAE8, 0x1FAE8), (0x1FAF7, 0x1FAF8), (0x2B739, 0x2B739),
    (0x2EBF0, 0x2EE5D), (0x31350, 0x323AF),
]


def needs_unicode15(s):
    return any(lo <= ord(c) <= hi for c in s for lo, hi in UNICODE15)


def gen_newer(r, n):
    out = list(NEWER)
    for _ in range(n - len(out)):
        a, b = r.choice(NEWER), r.choice(NEWER)
        w = r.choice(WORDS)
        out.append(r.choice([a + b, " " + a, w + a, a + w, a + " " + b, "1" + a + "2", a + "'s"]))
    return out


REPEAT_UNITS = ["a", "A", " ", "\n", "\t", "!", "-", "=", ".", "0", "1", "_", "*", "#", "é", "世", "😀",
                "ab", "the ", " a", "\r\n", "aA", "12", "e\u0301", "ー", "\u00a0", "'s"]


def gen_repeats(r, n):
    """One unit many times: ties between equal merges, long runs of one byte."""
    out = []
    for _ in range(n):
        u = r.choice(REPEAT_UNITS)
        out.append(u * r.choice([2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, r.randint(2, 80)]))
    return out


def gen_long(r, n, texts):
    """A few long texts (0.4-1.5 KB), where a quadratic merge loop would show."""
    out = []
    for _ in range(n):
        t = "\n\n".join(r.choice(texts) for _ in range(4)) if texts else "lorem ipsum " * 100
        out.append(t[:r.randint(400, 1500)])
    return out


def gen_concat(r, n, pools):
    out = []
    for _ in range(n):
        parts = [r.choice(r.choice(pools)) for _ in range(r.randint(2, 4))]
        out.append(r.choice(["", " ", "\n", ""]).join(parts)[:200])
    return out


CATEGORIES = [  # name, count
    ("whitespace", 220), ("contractions", 170), ("apostrophes", 60), ("digits", 300), ("cjk", 150),
    ("emoji", 180), ("combining", 170), ("rare", 130), ("specials", 170), ("code", 110),
    ("urls", 60), ("mixed", 120), ("single", 160), ("repeats", 150), ("newer", 80), ("real", 400), ("long", 12), ("concat", 380),
]


def corpus(shared):
    r = random.Random(SEED)
    texts = real_lines(shared)
    made = {}
    gens = {"whitespace": gen_whitespace, "contractions": gen_contractions, "apostrophes": gen_apostrophes,
            "digits": gen_digits, "cjk": gen_cjk, "emoji": gen_emoji, "combining": gen_combining,
            "rare": gen_rare, "specials": gen_specials, "code": gen_code, "urls": gen_urls,
            "mixed": gen_mixed, "single": gen_single, "repeats": gen_repeats, "newer": gen_newer}
    for name, count in CATEGORIES:
        if name == "real":
            made[name] = gen_real(r, count, texts)
        elif name == "long":
            made[name] = gen_long(r, count, texts)
        elif name == "concat":
            made[name] = gen_concat(r, count, [v for v in made.values() if v])
        else:
            made[name] = gens[name](r, count)
    seen, out = set(), []
    for name, _ in CATEGORIES:
        for s in made[name]:
            # Only valid UTF-8 (no lone surrogates) and no NUL; empty is kept once.
            s.encode("utf-8")
            if "\0" in s or s in seen:
                continue
            seen.add(s)
            out.append(s)
    return out, {k: len(v) for k, v in made.items()}


# ---- running llama.cpp -------------------------------------------------------

def build_ref(llama, tmp):
    exe = os.path.join(tmp, "vocab_ref")
    lib = os.path.join(llama, "build", "bin")
    cmd = ["cc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror",
           "-I" + os.path.join(llama, "include"), "-I" + os.path.join(llama, "ggml", "include"),
           os.path.join(HERE, "vocab_ref.c"), "-o", exe, "-L" + lib, "-lllama", "-Wl,-rpath," + lib]
    subprocess.run(cmd, check=True)
    return exe


def run_ref(exe, gguf, strings):
    """ids (or None where llama.cpp failed) and detokenized bytes per string.
    When the process dies, the string it was on is marked failed and the run
    goes on from the next one in a new process."""
    res = [None] * len(strings)
    start = 0
    while start < len(strings):
        data = b"".join(b"%d\n" % len(s.encode()) + s.encode() for s in strings[start:])
        p = subprocess.run([exe, gguf], input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        lines = p.stdout.decode().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for k, line in enumerate(lines):
            if line.startswith("OK"):
                ids_s, hexs = line[2:].split("\t")
                res[start + k] = ([int(x) for x in ids_s.split()], bytes.fromhex(hexs))
        start += len(lines)
        if p.returncode != 0 and start < len(strings):
            sys.stderr.write("  llama.cpp died (rc %d) on string %d: %r\n"
                             % (p.returncode, start, strings[start][:60]))
            start += 1
        elif p.returncode != 0:
            break
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.environ.get("SR_SHARED", "/work/shared"))
    ap.add_argument("--llama", default=DEFAULT_LLAMA)
    ap.add_argument("--out", default=os.path.join(HERE, "vocab"))
    a = ap.parse_args()
    strings, counts = corpus(a.shared)
    sys.stderr.write("%d strings (%s)\n" % (len(strings), ", ".join("%s %d" % kv for kv in counts.items())))
    vdir = os.path.join(a.shared, "data", "vocab")
    names = sorted(f[len("ggml-vocab-"):-len(".gguf")] for f in os.listdir(vdir)
                   if f.startswith("ggml-vocab-") and f.endswith(".gguf"))
    os.makedirs(a.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_ref(a.llama, tmp)
        for name in names:
            res = run_ref(exe, os.path.join(vdir, "ggml-vocab-%s.gguf" % name), strings)
            kept = failed = lossy = newer = 0
            with open(os.path.join(a.out, name + ".jsonl"), "w", encoding="utf-8", newline="\n") as f:
                for s, rr in zip(strings, res):
                    if rr is None:
                        failed += 1
                        continue
                    ids, back = rr
                    rec = {"text": s, "ids": ids}
                    if needs_unicode15(s):
                        rec["unicode"] = 15
                        newer += 1
                    if back != s.encode() and back != b" " + s.encode():
                        rec["roundtrip"] = False
                        lossy += 1
                    f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
                    kept += 1
            size = os.path.getsize(os.path.join(a.out, name + ".jsonl"))
            sys.stderr.write("%-16s %5d kept, %3d failed in llama.cpp, %4d with roundtrip false, "
                             "%3d with unicode 15, %7d bytes\n" % (name, kept, failed, lossy, newer, size))


if __name__ == "__main__":
    main()
