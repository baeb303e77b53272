#!/usr/bin/env python3
"""Golden vectors for sr's tokenizer and model core (issue 3).

Produces, next to this file:
  tokenizer.jsonl  {"text", "ids"}  text -> token ids, no BOS/EOS, special tokens NOT parsed
  prompts.jsonl    {"name", "messages", "text", "ids"}  chat template rendered with
                   add_generation_prompt=True, tokenized WITH special tokens parsed
  logprobs.jsonl   {"name", "ids", "argmax", "top_ids", "top_lp"}  log-softmax of the next-token
                   logits at every prompt position, top 20, fp32, Hugging Face transformers
  greedy.jsonl     {"name", "prompt_ids", "continuation", "text"}  64 greedy tokens (fewer if
                   <|im_end|> comes first, which is then the last id), transformers fp32

Reference implementations (independent of sr):
  tokenization: llama.cpp's tokenizer through llama-cpp-python (it implements the GGUF's
                tokenizer.ggml.pre = "smollm" pre-tokenizer: each digit alone, then the GPT-2
                byte-level split); cross-checked against transformers' tokenizer and against a
                `tokenizers` pipeline built like SmolLM2's original tokenizer.json.
  numbers:      transformers, weights dequantized from the GGUF to fp32, eager attention, torch
                CPU, fp32; cross-checked against a float64 numpy forward written here from the GGUF
                layout (shares no code with transformers), and against llama.cpp (which is not
                fp32-exact: it multiplies with quantized activations).

Package versions used (Python 3.11.7, x86_64 Linux, 2 cores):
  llama_cpp_python 0.3.36 (built from the PyPI sdist with cmake; its vendored llama.cpp is at
  commit 0c1e57098bba43ac29e6e3b677cdceebdd22334f)
  torch 2.15.0 (PyPI wheel, +cu132 build, run on CPU), transformers 5.24.0, tokenizers 0.23.3,
  accelerate 1.15.0 (transformers requires it to load GGUF), gguf 0.19.0, numpy 2.4.6, Jinja2 3.1.6

Rerun (from the repository root; nothing here is committed but the outputs):
  python3 -m venv /tmp/venv-golden
  /tmp/venv-golden/bin/pip install llama-cpp-python==0.3.36 torch==2.15.0 transformers==5.24.0 \
      tokenizers==0.23.3 accelerate==1.15.0 gguf==0.19.0 \
      numpy==2.4.6 jinja2==3.1.6
  /tmp/venv-golden/bin/python tests/golden/make_golden.py
It takes about 12 minutes on 2 cores (most of it the llama.cpp cross-check); building
llama-cpp-python from source takes about 8 more. It loads the model only from models/ (no network).
"""

import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "models"))
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_PATH = os.path.join(MODEL_DIR, MODEL_FILE)
TOP_K = 20
N_GREEDY = 64


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Corpus for tokenizer.jsonl. Every text here was written for this file.
# --------------------------------------------------------------------------------------------

PROSE_LIGHTHOUSE = (
    "The lighthouse on the northern cape was built in 1871, when the shipping lanes still ran close "
    "to the reefs and a lost cargo could ruin a family. Its keeper kept a logbook in a neat, slanted "
    "hand: wind direction, the state of the sea, the number of vessels that passed before midnight, "
    "and, on quieter evenings, a line or two about the gulls. For forty years the light turned every "
    "night without fail. The lamp burned paraffin at first; later it was converted to electricity, and "
    "the keeper's cottage gained a telephone that rang perhaps twice a year.\n\n"
    "Visitors often ask why the tower is painted in red and white bands. The answer is simple: in "
    "daylight a sailor must be able to tell one lighthouse from another, and each station along the "
    "coast has its own pattern. At night the same job is done by the rhythm of the flashes. This one "
    "shows two white flashes every ten seconds, which sailors write as Fl(2) W 10s. A chart lists these "
    "characteristics next to every light, so a navigator who counts the seconds between flashes knows "
    "exactly where he is, even if the coast itself is invisible.\n\n"
    "Today the light is automatic. A small computer in the base of the tower switches the lamp on at "
    "dusk and off at dawn, reports faults over a radio link, and keeps a record that nobody reads unless "
    "something goes wrong. The cottage has become a museum. Its rooms hold the old logbooks, a brass "
    "telescope, oil cans, a barometer that still works, and photographs of the families who lived "
    "there. Children like the spiral staircase best: one hundred and twelve steps, narrow and steep, "
    "ending at a gallery where the wind is strong enough to lean on.\n\n"
    "If you climb it on a clear day you can see the islands to the west, the fishing harbour to the "
    "south, and, far out, the grey line where the container ships wait for the tide. It is easy to "
    "forget how much work the old keepers did. They trimmed wicks, polished lenses, wound the clockwork "
    "that turned the optic, painted the railings against salt, and rowed out in storms when a boat was "
    "in trouble. Their names are carved on a board by the door, and the last of them, who retired in "
    "1983, still visits every summer to tell the story of the night the generator failed and he turned "
    "the lens by hand until morning."
)

PROSE_BREAD = (
    "Bread needs only four things: flour, water, salt and time. Yeast is already in the air and on the "
    "grain, which is why a mixture of flour and water left on the counter will, after a few days, start "
    "to bubble and smell sour. Bakers call this a starter. Feed it every day with fresh flour and water "
    "and it becomes strong enough to raise a loaf.\n"
    "A basic recipe: 500 g flour, 350 g water, 100 g active starter, 10 g salt. Mix the flour and water "
    "and let them rest for an hour; this rest, the autolyse, lets the flour absorb the water and the "
    "gluten begin to form on its own. Add the starter and the salt, squeeze them through the dough with "
    "wet hands, then fold it over itself every half hour for two hours. Leave it covered until it has "
    "grown by about half - four to eight hours, depending on the warmth of the kitchen.\n"
    "Shape it into a tight round, put it seam-side up in a floured basket, and leave it in the fridge "
    "overnight. The cold slows the yeast but lets the bacteria keep working, which gives the crumb its "
    "flavour. In the morning, heat the oven to 250 degrees with a heavy pot inside. Turn the dough onto "
    "a sheet of paper, cut a slash across the top with a razor, lower it into the pot and put the lid "
    "on. Bake 20 minutes covered and 25 uncovered, until the crust is deep brown and the loaf sounds "
    "hollow when you knock on its base. Then comes the hardest step: wait an hour before cutting it.\n"
    "Don't worry if the first loaves are flat. Every flour behaves differently, every kitchen has its "
    "own temperature, and you'll learn more from three failures than from one lucky success. Keep notes: "
    "the time you fed the starter, the temperature, how long each rise took. After a month you'll know "
    "your dough the way a gardener knows the soil."
)

CODE_C_LONG = r'''#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growable array of ints: the capacity doubles so appends stay amortized O(1). */
struct intvec {
	int *data;
	size_t len, cap;
};

static int intvec_push(struct intvec *v, int x)
{
	if (v->len == v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 16;
		int *nd = realloc(v->data, ncap * sizeof *nd);
		if (!nd)
			return -1;
		v->data = nd;
		v->cap = ncap;
	}
	v->data[v->len++] = x;
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct intvec v = {0};
	char line[256];
	FILE *f = argc > 1 ? fopen(argv[1], "r") : stdin;

	if (!f) {
		perror(argv[1]);
		return 1;
	}
	while (fgets(line, sizeof line, f)) {
		char *end;
		long x = strtol(line, &end, 10);
		if (end == line || x < -2147483648L || x > 2147483647L) {
			fprintf(stderr, "skipping bad line: %s", line);
			continue;
		}
		if (intvec_push(&v, (int)x) != 0) {
			fprintf(stderr, "out of memory after %zu values\n", v.len);
			return 1;
		}
	}
	qsort(v.data, v.len, sizeof v.data[0], cmp_int);
	for (size_t i = 0; i < v.len; i++)
		printf("%d%c", v.data[i], i + 1 == v.len ? '\n' : ' ');
	if (v.len > 0) {
		double sum = 0.0;
		for (size_t i = 0; i < v.len; i++)
			sum += v.data[i];
		printf("n=%zu min=%d max=%d mean=%.3f median=%d\n", v.len, v.data[0],
		       v.data[v.len - 1], sum / (double)v.len, v.data[v.len / 2]);
	}
	free(v.data);
	if (f != stdin)
		fclose(f);
	return 0;
}
'''

CODE_PY_LONG = '''"""Word frequency report for a directory of text files."""

import argparse
import collections
import os
import re
import sys

WORD = re.compile(r"[A-Za-z']+")


def iter_files(root, suffixes=(".txt", ".md")):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in sorted(filenames):
            if name.endswith(suffixes):
                yield os.path.join(dirpath, name)


def count_words(paths, lower=True):
    counts = collections.Counter()
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    words = WORD.findall(line)
                    if lower:
                        words = [w.lower() for w in words]
                    counts.update(words)
        except OSError as exc:
            print(f"warning: {path}: {exc}", file=sys.stderr)
    return counts


class Report:
    def __init__(self, counts, top=20):
        self.counts = counts
        self.top = top

    def lines(self):
        total = sum(self.counts.values()) or 1
        for rank, (word, n) in enumerate(self.counts.most_common(self.top), start=1):
            yield f"{rank:>3}. {word:<20} {n:>8} {100.0 * n / total:6.2f}%"

    def __str__(self):
        return "\\n".join(self.lines())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("root", nargs="?", default=".")
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--keep-case", action="store_true")
    args = ap.parse_args(argv)
    counts = count_words(iter_files(args.root), lower=not args.keep_case)
    if not counts:
        print("no words found", file=sys.stderr)
        return 1
    print(Report(counts, top=args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

MULTILINGUAL_LONG = (
    "Русский: Вчера вечером мы гуляли по набережной, а потом долго пили чай и говорили о книгах. "
    "Погода была холодная, но ясная, и над рекой висела огромная луна.\n"
    "中文：昨天晚上我们沿着河边散步，然后喝了很久的茶，聊了很多关于书的话题。天气很冷，但是很晴朗，月亮挂在河的上方。\n"
    "日本語：昨日の夜、私たちは川沿いを散歩して、それから長い間お茶を飲みながら本の話をしました。\n"
    "한국어: 어제 저녁에 우리는 강변을 산책하고 차를 마시며 책에 대해 오랫동안 이야기했습니다.\n"
    "العربية: مشينا أمس على ضفة النهر، ثم شربنا الشاي طويلاً وتحدثنا عن الكتب. كان الجو بارداً لكنه صافٍ.\n"
    "हिन्दी: कल शाम हम नदी के किनारे टहले, फिर देर तक चाय पी और किताबों के बारे में बातें कीं।\n"
    "Ελληνικά: Χθες το βράδυ περπατήσαμε δίπλα στο ποτάμι και μετά ήπιαμε τσάι μιλώντας για βιβλία.\n"
    "עברית: אתמול בערב טיילנו לאורך הנהר ואחר כך שתינו תה ודיברנו על ספרים.\n"
    "ไทย: เมื่อวานตอนเย็นเราเดินเล่นริมแม่น้ำ แล้วนั่งดื่มชาคุยเรื่องหนังสือกันนาน\n"
    "Tiếng Việt: Tối qua chúng tôi đi dạo dọc bờ sông, rồi uống trà rất lâu và nói chuyện về sách.\n"
    "Français : Hier soir, nous nous sommes promenés le long du fleuve, puis nous avons bu du thé en "
    "parlant de livres. Il faisait froid, mais le ciel était dégagé.\n"
    "Deutsch: Gestern Abend sind wir am Fluss spazieren gegangen und haben danach lange Tee getrunken "
    "und über Bücher gesprochen. Es war kalt, aber klar, und über dem Fluss hing ein riesiger Mond.\n"
    "Español: Anoche paseamos por la orilla del río y después tomamos té durante mucho tiempo, "
    "hablando de libros. Hacía frío, pero el cielo estaba despejado.\n"
    "Türkçe: Dün akşam nehir kenarında yürüdük, sonra uzun uzun çay içip kitaplar hakkında konuştuk.\n"
    "Polski: Wczoraj wieczorem spacerowaliśmy nad rzeką, a potem długo piliśmy herbatę i rozmawialiśmy "
    "o książkach. Było zimno, ale pogodnie.\n"
    "Emoji: 🌙🌊☕📚 👩‍👩‍👧‍👦 🇫🇷🇯🇵🇧🇷 🏳️‍🌈 👍🏽 ❤️\n"
)


def corpus():
    """The strings for tokenizer.jsonl, deduplicated in order."""
    c = []
    add = c.append

    # --- empty and single characters -------------------------------------------------------
    add("")
    for ch in "aZ0 \t\n\r.,!?'\"-_()[]{}<>|/\\@#$%^&*+=~`:;":
        add(ch)
    for ch in ["é", "ß", "ñ", "ø", "Ω", "ж", "中", "あ", "한", "ع", "ह", "€", "£", "°", "…", "—",
               "’", "“", "🙂", "😀", "🚀", "\u00a0", "\u3000", "\u200b", "\ufeff", "\x0b", "\x0c",
               "\x01", "\x7f", "\u0301", "\U0001F1FA"]:
        add(ch)

    # --- English prose ---------------------------------------------------------------------
    for s in [
        "Hello world",
        "Hello, world!",
        " Hello world",
        "hello world ",
        "The quick brown fox jumps over the lazy dog.",
        "It was a bright cold day in April, and the clocks were striking the hour.",
        "Tokenizers split text into pieces; models read the pieces, not the letters.",
        "She sells sea shells by the sea shore, and the shells she sells are sea shells for sure.",
        "A small model can still be surprisingly useful when it runs on a laptop without a GPU.",
        "Please find attached the report for Q3. Let me know if anything is unclear.",
        "UPPER CASE TEXT SHOULD ALSO WORK, EVEN WHEN IT IS SHOUTED.",
        "MixedCase camelCase PascalCase snake_case kebab-case SCREAMING_SNAKE_CASE",
        "Mr. and Mrs. Smith went to Washington, D.C., on Jan. 5th at 3 p.m.",
        "e.g. i.e. etc. vs. cf. a.k.a. U.S.A. Ph.D.",
        "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopic",
        "The word 'quoted' and the word \"double-quoted\" and the word `backticked`.",
        "Line one.\nLine two.\nLine three.",
        PROSE_LIGHTHOUSE.split("\n\n")[0],
        PROSE_BREAD.split("\n")[1],
    ]:
        add(s)

    # --- contractions, lower and upper case --------------------------------------------------
    for s in [
        "it's", "don't", "you're", "we've", "I'm", "they'll", "he'd",
        "IT'S", "DON'T", "YOU'RE", "WE'VE", "I'M", "THEY'LL", "HE'D",
        "It'S", "Don'T", "You'Re",
        "I'm sure you're right, but we've tried and it's not working; they'll say he'd know.",
        "I'M SURE YOU'RE RIGHT, BUT WE'VE TRIED AND IT'S NOT WORKING; THEY'LL SAY HE'D KNOW.",
        "'s 't 're 've 'm 'll 'd",
        "'S 'T 'RE 'VE 'M 'LL 'D",
        "rock'n'roll o'clock y'all ma'am",
        "the dog's bone, the dogs' bones, James's book",
        "can’t won’t it’s (curly apostrophes)",
        "''quoted twice'' and '''three'''",
        "don't\ncan't\n'tis",
    ]:
        add(s)

    # --- numbers and dates -------------------------------------------------------------------
    digits = "31415926535897932384626433832795028841971693993751"
    for n in range(1, 21):
        add(digits[:n])
    for s in [
        "0", "00", "007", "1000000", "1,000,000", "1.000.000,50", "3.14159", "-42", "+1", "1e10",
        "6.022e23", "0x1F", "0xDEADBEEF", "0b1010", "1_000_000", "99.9%", "$12.50", "€9,99",
        "12345678901234567890123456789012345678901234567890",
        "2024-01-15", "2024-01-15T13:45:30Z", "15/01/2024", "01.15.2024", "Jan 15, 2024",
        "13:45", "1:05 pm", "in 1999 and 2000 and 2001", "v1.2.3", "version 10.0.19045.3930",
        "192.168.0.1", "+1 (555) 123-4567", "ISBN 978-3-16-148410-0", "3/4 + 1/4 = 1",
        "a1b2c3", "abc123def456", "x86_64", "SHA256: 9f86d081884c7d659a2feaa0c55ad015",
        "Room 101, floor 3, building 22B",
        "١٢٣٤٥٦٧٨٩٠", "१२३४५", "一二三 123 ４５６", "²³¹ ½ ¼ ⅓ Ⅻ",
    ]:
        add(s)

    # --- whitespace --------------------------------------------------------------------------
    for n in [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 64]:
        add("a" + " " * n + "b")
    for n in [1, 2, 3, 4, 8]:
        add(" " * n)
        add("\t" * n)
        add("\n" * n)
    for s in [
        "  leading spaces", "trailing spaces  ", "   both   ", "\tleading tab", "trailing tab\t",
        "a\tb\tc", "a \t b", "\t \t \t", "col1\tcol2\tcol3\n1\t2\t3\n", "\n\nleading newlines",
        "trailing newlines\n\n", "a\nb", "a\r\nb", "a\rb", "a\n\nb", "a\n\n\nb", "a\n\n\n\n\nb",
        "line1\r\nline2\r\nline3\r\n", "\r\n\r\n", "\r\r\n\n", "a \nb", "a  \n  b", "a\n b",
        "a\n  b", "trailing space \nnext line", "x \n \n \ny", "  \n", " \n ", "end with space ",
        "end with two spaces  ", "a\u00a0b", "a\u3000b", "a\u2028b", "a\u2009b", "a\x0bb", "a\x0cb",
        "a\u200bb", "\ufeffBOM at start",
        "word    \t\t   word",
        "    indented four\n        indented eight\n\tindented tab\n",
    ]:
        add(s)

    # --- source code -------------------------------------------------------------------------
    for s in [
        "int main(void) { return 0; }",
        "#include <stdio.h>\n\nint main(void)\n{\n\tprintf(\"hello, world\\n\");\n\treturn 0;\n}\n",
        "for (int i = 0; i < n; i++) {\n    sum += a[i] * b[i];\n}",
        "if (x != NULL && x->next) x = x->next;",
        "static inline uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }",
        "#define MAX(a, b) ((a) > (b) ? (a) : (b))",
        "/* block comment */ // line comment",
        "ptr->field[idx]++; --count; a <<= 2; b >>= 3; c ^= d; e |= f; g &= ~h;",
        "def f(x):\n    return x * 2\n",
        "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
        "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
        "    if x:\n        if y:\n            return z\n",
        "print(f\"{name!r:>10} = {value:.3f}\")",
        "lambda x: [i**2 for i in range(x) if i % 2 == 0]",
        "import numpy as np\nx = np.zeros((3, 4), dtype=np.float32)\n",
        "async def main():\n    await asyncio.sleep(1)\n",
        "@decorator\ndef wrapped(*args, **kwargs):\n    ...\n",
        "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
        "<div class=\"box\"><p>Hello</p></div>",
        "{\"key\": \"value\", \"list\": [1, 2, 3], \"nested\": {\"a\": null}}",
        "fn main() {\n    println!(\"Hello, {}!\", name);\n}",
        "const add = (a, b) => a + b;",
        "$ ls -la | grep '\\.c$' && echo done",
        "x = 1  # comment\ny = 2\t# tab comment",
        "if x == 1:\n\tpass\n",
        "<<<EOF>>> === !== >= <= => -> :: ... ?? ?. ||= &&=",
        CODE_C_LONG[:600],
        CODE_PY_LONG[:600],
    ]:
        add(s)

    # --- emoji -------------------------------------------------------------------------------
    for s in [
        "😀😃😄😁", "I love it ❤️", "👍", "👍🏻👍🏼👍🏽👍🏾👍🏿", "👨‍👩‍👧‍👦", "👩‍💻 coding", "🧑‍🚀",
        "🏳️‍🌈", "🏴‍☠️", "🇺🇸", "🇯🇵🇰🇷🇨🇳", "🇩🇪 Germany 🇫🇷 France", "❤", "❤️", "☺️", "1️⃣2️⃣3️⃣",
        "#️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "emoji at end 🎉", "🎉 emoji at start", "mid🎉dle", "🐍🦀🐹☕",
    ]:
        add(s)

    # --- scripts -----------------------------------------------------------------------------
    for s in [
        "你好，世界！", "我爱自然语言处理。", "中文文本没有空格分词", "東京は日本の首都です。",
        "ひらがな カタカナ 漢字", "안녕하세요 세계", "한국어 텍스트입니다.",
        "مرحبا بالعالم", "اللغة العربية جميلة.", "مرحبا 123 world",
        "नमस्ते दुनिया", "हिन्दी में लिखा गया वाक्य।", "क्षत्रिय ज्ञान",
        "Привет, мир!", "Съешь же ещё этих мягких французских булок, да выпей чаю.",
        "ПРИВЕТ МИР", "Україна, Київ, їжак, ґанок", "Ελληνικά: Γειά σου Κόσμε", "שלום עולם",
        "สวัสดีชาวโลก", "Xin chào thế giới", "ሰላም ለዓለም", "Բարեւ աշխարհ", "გამარჯობა",
        MULTILINGUAL_LONG.split("\n")[0],
    ]:
        add(s)

    # --- accented Latin: precomposed (NFC) and combining (NFD) --------------------------------
    for s in [
        "café", "cafe\u0301", "naïve", "nai\u0308ve", "résumé", "re\u0301sume\u0301",
        "Ångström", "A\u030angstro\u0308m", "jalapeño", "jalapen\u0303o", "Zürich Straße",
        "ÀÉÎÕÜ àéîõü", "A\u0300E\u0301I\u0302O\u0303U\u0308", "façade crème brûlée", "Łódź Kraków Gdańsk",
        "Dvořák Škoda Čapek", "Þór Ægir Øresund", "ǅ ǈ ǋ ﬁ ﬂ", "ｆｕｌｌｗｉｄｔｈ", "e\u0301\u0301\u0301",
    ]:
        add(s)

    # --- punctuation runs --------------------------------------------------------------------
    for s in [
        "...", "!!!", "???", "?!?!", "!!!???...", "---", "----------", "==========", "**bold**",
        "__init__", "~~~", "'''", "\"\"\"", "(((nested)))", "[[[x]]]", "{{{y}}}", "<<<>>>",
        "a...b", "wait—what?", "«quotes» „German“ “curly” ‘single’", "#hashtag @mention",
        "***\n---\n___", "* item\n- item\n+ item", "1. first\n2. second", "| a | b |\n|---|---|\n| 1 | 2 |",
        "…", "¡Hola! ¿Qué tal?", "x!=y", "a+b=c", "50% off!!!", "C++ C# F# .NET", ":-) ;-) :D xD <3",
    ]:
        add(s)

    # --- URLs, paths, identifiers -----------------------------------------------------------
    for s in [
        "https://example.com", "https://example.com/path/to/page?query=1&other=two#frag",
        "http://localhost:8080/api/v1/items/42", "ftp://files.example.org/pub/file.tar.gz",
        "www.example.co.uk", "user@example.com", "mailto:someone@example.org",
        "/usr/local/bin/python3", "C:\\Users\\Name\\Documents\\file.txt", "../relative/path.txt",
        "~/.config/app/settings.json", "git@github.com:owner/repo.git", "sha-256:abcdef0123456789",
        "https://example.com/search?q=hello%20world&lang=en-US",
    ]:
        add(s)

    # --- special-token lookalikes (must NOT be parsed as special) ----------------------------
    for s in [
        "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start|>user\nhello<|im_end|>\n",
        "<|im_start|>assistant\n", "text before <|im_end|> text after", "<|im_start", "im_start|>",
        "<|im_", "|>", "<|", "<|endoftext", "endoftext|>", "<|im_end|><|im_end|>",
        "<|endoftext|><|im_start|>system", "< |im_start| >", "<|IM_START|>", "<||>", "<|>",
        "<filename>main.c", "<file_sep>", "<repo_name>", "<jupyter_code>x = 1", "<empty_output>",
        "<gh_stars>100", "<issue_start>", "<s></s>", "[INST] hi [/INST]", "<unk>", "<pad>",
    ]:
        add(s)

    # --- mixtures ----------------------------------------------------------------------------
    for s in [
        "Price: 1234.56 USD (≈ 1100 €) on 2023-12-31 🎉",
        "He said: \"It's 5 o'clock!\" — and left. 😅",
        "日本語とEnglishのmixed文章123です。",
        "Mélange of English, français, 中文 and русский.",
        "tab\there, newline\nthere, and  double  spaces",
        "id=42&name=O'Brien&tags=[a,b,c]",
        "Temperature: -3.5°C at 06:00, +12°C at 14:00",
        "12 apples, 7 oranges and 100 grapes cost $3.99.",
        "Call me at 555-0199 or +44 20 7946 0958.",
        "The year 2000 problem (Y2K) affected systems storing years as 2 digits: 99 -> 00.",
        "αβγ δεζ 123 abc",
        "C'est l'été, n'est-ce pas? J'aime l'eau.",
        "Don't 'quote' me: it's \"fine\".",
        "a'b c'd e'f",
        "   ' s",
        "x's y'S Z'll",
        "😀 hello 😀 world 😀",
        "Ünïcödé ëvérÿwhérë",
    ]:
        add(s)

    # --- long texts (2-5 KB) -----------------------------------------------------------------
    for s in [PROSE_LIGHTHOUSE, PROSE_BREAD, CODE_C_LONG, CODE_PY_LONG, MULTILINGUAL_LONG,
              PROSE_BREAD.replace("\n", "\r\n") + "\r\n",
              (PROSE_BREAD[:1200] + "\n\n" + CODE_PY_LONG[:1200] + "\n\t\t\n" + MULTILINGUAL_LONG[:800])]:
        add(s)

    out, seen = [], set()
    for s in c:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


# --------------------------------------------------------------------------------------------
# Chat prompts
# --------------------------------------------------------------------------------------------

def prompts():
    long_user = ("Here is a short article. Summarize it in three sentences, then list two questions "
                 "a visitor might ask.\n\n" + PROSE_LIGHTHOUSE +
                 "\n\n(Editor's note: the museum opens from April to October, 10:00-17:00, closed on "
                 "Mondays. Tickets cost 6 euros for adults and 3 for children under 12; the tower may be "
                 "closed in high winds. Groups of more than 15 people should book two weeks ahead.)")
    return [
        {"name": "minimal_nosys",
         "messages": [{"role": "user", "content": "Hi"}]},
        {"name": "capital_nosys",
         "messages": [{"role": "user", "content": "What is the capital of France?"}]},
        {"name": "sys_colors",
         "messages": [{"role": "system", "content": "You are a concise assistant. Answer in one line."},
                      {"role": "user", "content": "Name the three primary colors of light."}]},
        {"name": "multi_turn",
         "messages": [{"role": "system", "content": "You are a friendly tutor who explains things simply."},
                      {"role": "user", "content": "What is photosynthesis?"},
                      {"role": "assistant", "content": "Photosynthesis is how plants use sunlight, water and "
                       "carbon dioxide to make sugar and release oxygen."},
                      {"role": "user", "content": "Why are leaves green, then?"},
                      {"role": "assistant", "content": "Because chlorophyll absorbs red and blue light and "
                       "reflects green light."},
                      {"role": "user", "content": "And why do they turn red in autumn?"}]},
        {"name": "code_c",
         "messages": [{"role": "user", "content": "What does this C function do, and does it have a bug?\n\n"
                       "```c\nint count(const char *s, char c)\n{\n\tint n = 0;\n\twhile (*s)\n"
                       "\t\tif (*s++ == c)\n\t\t\tn++;\n\treturn n;\n}\n```"}]},
        {"name": "code_python",
         "messages": [{"role": "system", "content": "You are an expert Python programmer."},
                      {"role": "user", "content": "Write a Python function `is_prime(n)` that returns True "
                       "when n is a prime number. Keep it short."}]},
        {"name": "math_digits",
         "messages": [{"role": "user", "content": "What is 12345 + 67890? Then compute 2024 * 3."}]},
        {"name": "french",
         "messages": [{"role": "system", "content": "Tu es un assistant serviable qui répond en français."},
                      {"role": "user", "content": "Peux-tu m'expliquer pourquoi le ciel est bleu ?"}]},
        {"name": "chinese_nosys",
         "messages": [{"role": "user", "content": "请用一句话介绍一下长城。"}]},
        {"name": "emoji_list",
         "messages": [{"role": "user", "content": "Give me a packing list for a beach day 🏖️☀️ with emoji."}]},
        {"name": "long_summary",
         "messages": [{"role": "system", "content": "You summarize documents accurately."},
                      {"role": "user", "content": long_user}]},
    ]


# --------------------------------------------------------------------------------------------
# Third, independent check of the transformers numbers: a float64 numpy forward written straight
# from the GGUF layout (gguf-py dequantizes; Q/K stay as llama.cpp permuted them, so rope rotates
# adjacent pairs), sharing no code with transformers' GGUF loader or model.
# --------------------------------------------------------------------------------------------

def load_gguf_f64(path):
    from gguf import GGUFReader
    from gguf.quants import dequantize
    """All tensors dequantized by gguf-py, in GGUF's own layout (Q/K rows as llama.cpp permuted them)."""
    r = GGUFReader(path)
    w = {}
    for t in r.tensors:
        a = dequantize(t.data, t.tensor_type)
        w[t.name] = np.asarray(a, dtype=np.float64).reshape([int(x) for x in reversed(t.shape)])
    return w, r.fields


def numpy_logprobs(w, ids, n_layer=30, n_head=9, n_kv=3, eps=1e-5, theta=1e5):
    """Llama forward in float64 written from the GGUF layout, with llama.cpp's rope (adjacent pairs)."""
    emb = w["token_embd.weight"]                 # (vocab, dim)
    x = emb[ids]                                   # (T, dim)
    T, dim = x.shape
    hd = dim // n_head
    pos = np.arange(T)[:, None]
    inv = theta ** (-np.arange(0, hd, 2) / hd)     # (hd/2,)
    ang = pos * inv[None, :]
    cos, sin = np.cos(ang), np.sin(ang)

    def rms(v, g):
        return v / np.sqrt((v * v).mean(-1, keepdims=True) + eps) * g

    def rope(v):                                   # v: (T, H, hd), pairs (2i, 2i+1)
        a, b = v[..., 0::2], v[..., 1::2]
        c, s = cos[:, None, :], sin[:, None, :]
        out = np.empty_like(v)
        out[..., 0::2] = a * c - b * s
        out[..., 1::2] = a * s + b * c
        return out

    mask = np.triu(np.full((T, T), -np.inf), 1)
    for l in range(n_layer):
        p = f"blk.{l}."
        h = rms(x, w[p + "attn_norm.weight"])
        q = rope((h @ w[p + "attn_q.weight"].T).reshape(T, n_head, hd))
        k = rope((h @ w[p + "attn_k.weight"].T).reshape(T, n_kv, hd))
        v = (h @ w[p + "attn_v.weight"].T).reshape(T, n_kv, hd)
        o = np.empty((T, n_head, hd))
        for hh in range(n_head):
            kv = hh // (n_head // n_kv)
            s = q[:, hh] @ k[:, kv].T / np.sqrt(hd) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            o[:, hh] = s @ v[:, kv]
        x = x + o.reshape(T, dim) @ w[p + "attn_output.weight"].T
        h = rms(x, w[p + "ffn_norm.weight"])
        g = h @ w[p + "ffn_gate.weight"].T
        u = h @ w[p + "ffn_up.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * u) @ w[p + "ffn_down.weight"].T
    x = rms(x, w["output_norm.weight"])
    logits = x @ (w["output.weight"] if "output.weight" in w else emb).T
    logits -= logits.max(-1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


# --------------------------------------------------------------------------------------------

def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False, separators=(", ", ": ")) + "\n")
    log(f"wrote {path}: {len(rows)} lines, {os.path.getsize(path)} bytes")


def f9(x):
    # 9 significant digits round-trip any fp32 value exactly.
    return float(f"{float(x):.9g}")


def main():
    import jinja2
    import llama_cpp
    import torch
    import transformers
    from tokenizers import pre_tokenizers
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from gguf import GGUFReader

    torch.set_num_threads(os.cpu_count() or 1)
    versions = {
        "python": sys.version.split()[0], "llama_cpp_python": llama_cpp.__version__,
        "torch": torch.__version__, "transformers": transformers.__version__,
        "tokenizers": __import__("tokenizers").__version__, "numpy": np.__version__,
        "jinja2": jinja2.__version__, "gguf": __import__("importlib.metadata").metadata.version("gguf"),
    }
    log("versions:", versions)

    meta = GGUFReader(MODEL_PATH).fields
    chat_template = meta["tokenizer.chat_template"].contents()
    eos_id = int(meta["tokenizer.ggml.eos_token_id"].contents())
    bos_id = int(meta["tokenizer.ggml.bos_token_id"].contents())

    # ---------------- tokenizer ----------------
    ref = llama_cpp.Llama(model_path=MODEL_PATH, vocab_only=True, verbose=False)
    hf_tok = AutoTokenizer.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE)
    # Second pipeline shaped like SmolLM2's original tokenizer.json: digits split one by one,
    # then the GPT-2 byte-level regex split, then byte-level BPE with the GGUF's merges.
    import copy
    orig = copy.deepcopy(hf_tok.backend_tokenizer)
    orig.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    orig.encode_special_tokens = True  # the 17 control tokens stay ordinary text here

    texts = corpus()
    rows, n_hf, n_orig, bad_decode, diffs = [], 0, 0, [], []
    total_tok = 0
    for t in texts:
        ids = ref.tokenize(t.encode("utf-8"), add_bos=False, special=False)
        total_tok += len(ids)
        back = ref.detokenize(ids, special=False)
        if back != t.encode("utf-8"):
            bad_decode.append((t, back))
        hf_ids = hf_tok.encode(t, add_special_tokens=False, split_special_tokens=True)
        or_ids = orig.encode(t, add_special_tokens=False).ids
        n_hf += hf_ids == ids
        n_orig += or_ids == ids
        if or_ids != ids or hf_ids != ids:
            diffs.append({"text": t, "llama_cpp": ids, "transformers": hf_ids, "orig_pipeline": or_ids})
        rows.append({"text": t, "ids": ids})
    write_jsonl(os.path.join(HERE, "tokenizer.jsonl"), rows)
    log(f"tokenizer: {len(texts)} strings, {total_tok} tokens; llama.cpp vs transformers-GGUF agree "
        f"{n_hf}/{len(texts)}; llama.cpp vs original-style pipeline agree {n_orig}/{len(texts)}; "
        f"decode mismatches {len(bad_decode)}")
    for t, b in bad_decode:
        log("  decode mismatch:", repr(t)[:80], repr(b)[:80])
    with open("/tmp/golden_tok_diffs.json", "w") as fh:
        json.dump(diffs, fh, ensure_ascii=False, indent=1)

    # ---------------- prompts ----------------
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    tmpl = env.from_string(chat_template)
    prows = []
    for p in prompts():
        text = tmpl.render(messages=p["messages"], add_generation_prompt=True)
        hf_text = hf_tok.apply_chat_template(p["messages"], tokenize=False, add_generation_prompt=True,
                                             chat_template=chat_template)
        if hf_text != text:
            log(f"  template mismatch for {p['name']}")
        ids = ref.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        prows.append({"name": p["name"], "messages": p["messages"], "text": text, "ids": ids})
        log(f"  prompt {p['name']}: {len(ids)} tokens")
    write_jsonl(os.path.join(HERE, "prompts.jsonl"), prows)

    # ---------------- logprobs (transformers fp32) ----------------
    model = AutoModelForCausalLM.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE, dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()
    cfg = model.config
    log("config:", {k: getattr(cfg, k, None) for k in [
        "num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads",
        "num_key_value_heads", "head_dim", "rope_parameters", "rms_norm_eps", "tie_word_embeddings",
        "vocab_size", "max_position_embeddings", "bos_token_id", "eos_token_id", "pad_token_id"]})
    log("tokenizer specials:", hf_tok.bos_token_id, hf_tok.eos_token_id, hf_tok.pad_token_id,
        "gguf bos/eos:", bos_id, eos_id)

    lrows, hf_lp = [], {}
    with torch.no_grad():
        for p in prows:
            ids = p["ids"]
            logits = model(torch.tensor([ids])).logits[0].float()
            lp = torch.log_softmax(logits, dim=-1)
            hf_lp[p["name"]] = lp.numpy()
            top_v, top_i = torch.topk(lp, TOP_K, dim=-1)
            lrows.append({
                "name": p["name"], "ids": ids,
                "argmax": torch.argmax(logits, dim=-1).tolist(),
                "top_ids": top_i.tolist(),
                "top_lp": [[f9(v) for v in row] for row in top_v.tolist()],
            })
    write_jsonl(os.path.join(HERE, "logprobs.jsonl"), lrows)

    # ---------------- greedy (transformers fp32) ----------------
    grows = []
    with torch.no_grad():
        for p in prows:
            ids = p["ids"]
            out = model(torch.tensor([ids]), use_cache=True)
            cont = []
            while True:
                nxt = int(torch.argmax(out.logits[0, -1]))
                cont.append(nxt)
                if nxt == eos_id or len(cont) == N_GREEDY:
                    break
                out = model(torch.tensor([[nxt]]), past_key_values=out.past_key_values, use_cache=True)
            text = ref.detokenize(cont, special=True).decode("utf-8", errors="replace")
            grows.append({"name": p["name"], "prompt_ids": ids, "continuation": cont, "text": text})
            log(f"  greedy {p['name']}: {len(cont)} tokens: {text[:60]!r}")
    write_jsonl(os.path.join(HERE, "greedy.jsonl"), grows)

    # Margins: where the top-2 log-probs are close, a correct fp32 implementation may pick the
    # other token; C tests should know how close the golden argmaxes are.
    min_gap_prompt = min(float(np.min(np.sort(h, axis=1)[:, -1] - np.sort(h, axis=1)[:, -2]))
                         for h in hf_lp.values())
    min_gap_greedy = 1e9
    with torch.no_grad():
        for g in grows:
            full = g["prompt_ids"] + g["continuation"]
            lg = torch.log_softmax(model(torch.tensor([full])).logits[0], dim=-1)
            n = len(g["prompt_ids"])
            path = lg[n - 1 : len(full) - 1]
            rec = torch.argmax(path, dim=-1).tolist()
            if rec != g["continuation"]:
                log(f"  greedy {g['name']}: full recompute disagrees with the cached decode")
            t2 = torch.topk(path, 2, dim=-1).values
            min_gap_greedy = min(min_gap_greedy, float((t2[:, 0] - t2[:, 1]).min()))
    log(f"smallest top1-top2 log-prob gap: prompt positions {min_gap_prompt:.3g}, "
        f"greedy steps {min_gap_greedy:.3g}")

    log("numpy float64 reference ...")
    w64, _ = load_gguf_f64(MODEL_PATH)
    worst = 0.0
    am_ok = am_all = 0
    for r in lrows:
        lp64 = numpy_logprobs(w64, r["ids"], n_layer=cfg.num_hidden_layers,
                              n_head=cfg.num_attention_heads, n_kv=cfg.num_key_value_heads,
                              eps=cfg.rms_norm_eps, theta=cfg.rope_parameters["rope_theta"])
        got = np.take_along_axis(lp64, np.array(r["top_ids"]), 1)
        worst = max(worst, float(np.abs(got - np.array(r["top_lp"])).max()))
        am_ok += int((lp64.argmax(1) == np.array(r["argmax"])).sum())
        am_all += len(r["ids"])
    del w64
    log(f"numpy f64 vs transformers fp32: max |dlp| over all top-20 entries {worst:.3g}; "
        f"argmax agree {am_ok}/{am_all}")

    # ---------------- cross-check with llama.cpp ----------------
    del ref
    llm = llama_cpp.Llama(model_path=MODEL_PATH, n_ctx=2048, n_batch=2048, logits_all=True,
                          n_threads=os.cpu_count() or 1, verbose=False)
    tot_pos = agree_argmax = 0
    max_diff = 0.0
    g_agree = g_total = g_prefix_total = 0
    for p, g in zip(prows, grows):
        ids = p["ids"]
        llm.reset()
        llm.eval(ids)
        sc = np.asarray(llm.scores[: len(ids)], dtype=np.float64)
        sc = sc - sc.max(axis=1, keepdims=True)
        lpl = sc - np.log(np.exp(sc).sum(axis=1, keepdims=True))
        h = hf_lp[p["name"]]
        am_h = h.argmax(axis=1)
        am_l = lpl.argmax(axis=1)
        agree_argmax += int((am_h == am_l).sum())
        tot_pos += len(ids)
        # compare log-probs of the transformers top-1 token
        d = np.abs(h[np.arange(len(ids)), am_h] - lpl[np.arange(len(ids)), am_h]).max()
        max_diff = max(max_diff, float(d))
        # llama.cpp greedy
        cont = []
        while True:
            nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            cont.append(nxt)
            if nxt == eos_id or len(cont) == N_GREEDY:
                break
            llm.eval([nxt])
        same = sum(a == b for a, b in zip(cont, g["continuation"]))
        prefix = 0
        for a, b in zip(cont, g["continuation"]):
            if a != b:
                break
            prefix += 1
        g_agree += same
        g_prefix_total += prefix
        g_total += len(g["continuation"])
        log(f"  llama.cpp {p['name']}: argmax agree {(am_h == am_l).sum()}/{len(ids)}, "
            f"max |dlp(top1)| {d:.4f}, greedy common prefix {prefix}/{len(g['continuation'])} "
            f"(llama.cpp made {len(cont)})")
    log(f"cross-check: prompt-position argmax agree {agree_argmax}/{tot_pos}; max |dlp| of the top-1 "
        f"token {max_diff:.4f}; greedy common-prefix tokens {g_prefix_total}/{g_total}, "
        f"position-wise equal {g_agree}/{g_total}")


if __name__ == "__main__":
    main()
