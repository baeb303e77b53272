#!/usr/bin/env python3
"""make_chat_golden.py — golden renderings of the chat templates sr renders in code.

For each family, a real Jinja template is rendered with Jinja2 the way transformers' apply_chat_template does (sandboxed
environment, trim_blocks, lstrip_blocks, raise_exception, strftime_now fixed to
26 Jul 2024 so that Llama 3.2's and Mistral Small 3.2's dates are reproducible), for several
conversations, with add_generation_prompt true (prompts, what
sr_chat_render_ids is asked for at generation) and false (whole conversations).
The text is then tokenized by llama.cpp's llama-tokenize with special tokens
parsed and no BOS added beyond what the template writes. Output:
tests/golden/chat/FAMILY.jsonl, one object per rendering:
  {"format", "template", "vocab", "messages", "gen_prompt", "text", "ids"}

The templates are read at generation time, never copied here: a file name
is one of llama.cpp's models/templates/*.jinja; "test-chat-template.cpp:NAME"
is the C string literal with that model name in llama.cpp's
tests/test-chat-template.cpp; "llama_chat_format.py:VAR" is the Python string
constant in llama-cpp-python's llama_cpp/llama_chat_format.py; and
"test_chat.c:VAR" is the C literal in tests/unit/test_chat.c (Meta's Llama 2
template, which neither llama.cpp file carries unmodified).
v7-tekken's rows also carry "default_system", the system prompt its template
writes when there is no system turn (what sr reads from the template text).
No vocabulary here has Gemma's, DeepSeek R1's or tekken's special tokens:
their rows name a stand-in ("llama-spm+gemma", "llama-bpe+deepseek3",
"llama-bpe+tekken"), a vocabulary of ../shared patched as
tests/golden/chat/standins.json says, written to a temporary directory by
vocab_patch.py and tokenized there. A conversation the template refuses
(Gemma 2 raises on a system turn) is left out.

Needs: python3 -m venv /work/venv-chat && /work/venv-chat/bin/pip install jinja2 numpy
(jinja2 3.1.x; numpy for llama.cpp's gguf-py). Run from the repository root:
  /work/venv-chat/bin/python tests/golden/make_chat_golden.py
"""
import ast
import atexit
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vocab_patch  # noqa: E402

LLAMA = "/root/.cache/sr-peers/llama_cpp_python-0.3.36/vendor/llama.cpp"
TEMPLATES = LLAMA + "/models/templates"
TOKENIZE = LLAMA + "/build/bin/llama-tokenize"
TEST_CHAT_TEMPLATE = LLAMA + "/tests/test-chat-template.cpp"
LLAMA_CHAT_FORMAT = os.path.dirname(LLAMA) + "/../llama_cpp/llama_chat_format.py"
VOCAB = os.environ.get("SR_SHARED", "/work/shared") + "/data/vocab"

# format, template file, vocabulary, bos text, eos text, whether ids are made
FAMILIES = [
    ("chatml", "Qwen-Qwen2.5-7B-Instruct.jinja", "qwen2", "", "<|im_end|>", True),
    ("llama3.1", "meta-llama-Llama-3.1-8B-Instruct.jinja", "llama-bpe",
     "<|begin_of_text|>", "<|eot_id|>", True),
    ("llama3.1", "meta-llama-Llama-3.2-3B-Instruct.jinja", "llama-bpe",
     "<|begin_of_text|>", "<|eot_id|>", True),
    ("llama3.1", "meta-llama-Llama-3.3-70B-Instruct.jinja", "llama-bpe",
     "<|begin_of_text|>", "<|eot_id|>", True),
    ("phi3", "microsoft-Phi-3.5-mini-instruct.jinja", "phi-3", "<s>", "<|endoftext|>", True),
    # No vocabulary here has Gemma's, DeepSeek R1's or tekken's special
    # tokens: "BASE+NAME" is a stand-in, a vocabulary of ../shared patched as
    # tests/golden/chat/standins.json says (vocab_patch.py).
    ("gemma", "google-gemma-2-2b-it.jinja", "llama-spm+gemma", "<bos>", "<eos>", True),
    ("deepseek3", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", "llama-bpe+deepseek3",
     "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", True),
    ("mistral-v3-tekken", "mistralai-Mistral-Nemo-Instruct-2407.jinja", "llama-bpe+tekken", "<s>",
     "</s>", True),
    # Meta's Llama-2-chat template; the 32000-piece SentencePiece vocabulary,
    # where [INST] and <<SYS>> are plain text.
    ("llama2", "test_chat.c:LLAMA2_TMPL", "llama-spm", "<s>", "</s>", True),
    # Meta-Llama-3-8B-Instruct as updated (the generation prompt behind
    # add_generation_prompt), and as first released (always added: only the
    # prompts are comparable).
    ("llama3", "llama_chat_format.py:LLAMA3_INSTRUCT_CHAT_TEMPLATE", "llama-bpe",
     "<|begin_of_text|>", "<|eot_id|>", True),
    ("llama3", "test-chat-template.cpp:Llama-3", "llama-bpe",
     "<|begin_of_text|>", "<|eot_id|>", True, [True]),
    # Mistral's v1, v3 and v7 templates; Mistral 7B v0.1/v0.2's vocabulary is
    # the same SentencePiece 32000 as Llama 2's (v3's and v7's own have
    # [INST] etc. as control tokens; no such vocabulary here, so text there).
    ("mistral-v1", "test-chat-template.cpp:mistralai/Mistral-7B-Instruct-v0.2 (mistralai 'v1' "
     "template with a system prompt)", "llama-spm", "<s>", "</s>", True),
    ("mistral-v3", "test-chat-template.cpp:Mistral-Large-Instruct-2407 (mistralai 'v3' template; "
     "modified to have system prompt at start)", "llama-spm", "<s>", "</s>", True),
    ("mistral-v7", "test-chat-template.cpp:mistralai/Mistral-Large-Instruct-2411 (mistralai 'v7' "
     "template)", "llama-spm", "<s>", "</s>", True),
    ("deepseek2", "test-chat-template.cpp:DeepSeek-V2", "deepseek-llm",
     "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", True),
    # v7-tekken: a dated default system prompt (Small 3.2), or an undated
    # one (Devstral).
    ("mistral-v7-tekken", "Mistral-Small-3.2-24B-Instruct-2506.jinja", "llama-bpe+tekken", "<s>",
     "</s>", True),
    ("mistral-v7-tekken", "unsloth-mistral-Devstral-Small-2507.jinja", "llama-bpe+tekken", "<s>",
     "</s>", True),
]


def c_literal(src, start):
    """The C string literal(s) at src[start:] (adjacent literals joined),
    unescaped."""
    out, i = [], start
    while True:
        m = re.compile(r'\s*(?:U8C\()?"((?:[^"\\]|\\.)*)"').match(src, i)
        if not m:
            break
        out.append(m.group(1))
        i = m.end()
    esc = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "'": "'"}
    return re.sub(r'\\(.)', lambda e: esc[e.group(1)], "".join(out))


def load_template(name):
    if name.startswith("test-chat-template.cpp:"):
        src = open(TEST_CHAT_TEMPLATE, encoding="utf-8").read()
        key = '/* .name= */ "' + name.split(":", 1)[1] + '"'
        i = src.index(key)
        tag = "/* .template_str= */"
        return c_literal(src, src.index(tag, i) + len(tag))
    if name.startswith("llama_chat_format.py:"):
        var = name.split(":", 1)[1]
        tree = ast.parse(open(LLAMA_CHAT_FORMAT, encoding="utf-8").read())
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == var for t in node.targets):
                return ast.literal_eval(node.value)
        raise KeyError(name)
    if name.startswith("test_chat.c:"):
        src = open("tests/unit/test_chat.c", encoding="utf-8").read()
        m = re.search(r"static const char " + re.escape(name.split(":", 1)[1]) + r"\[\] =", src)
        return c_literal(src, m.end())
    with open(f"{TEMPLATES}/{name}", encoding="utf-8") as f:
        return f.read()


def M(role, content):
    return {"role": role, "content": content}


CONVERSATIONS = [
    [M("user", "Hello!")],
    [M("system", "You are a terse assistant."), M("user", "What is 2+2?")],
    [M("user", "Write a haiku\nabout the sea."), M("assistant", "Waves fold into foam,\nsalt wind."),
     M("user", "  Another one, please.  ")],
    [M("system", "  Answer in French.\n"), M("user", "Où est la gare ? ☕ 日本語"),
     M("assistant", " Elle est là-bas. "), M("user", "Merci — et le musée?")],
    [M("user", "First"), M("assistant", "One"), M("user", "Second\n\n"),
     M("assistant", "Two\ttabs"), M("user", "Third: 🙂 emoji and ñ")],
    [M("system", "Be kind."), M("user", "Hi"), M("assistant", "Hello! How can I help?")],
    [M("user", "Tell me a joke."), M("assistant", "Why did the chicken\ncross the road? 🐔")],
    [M("user", "List two colours"), M("assistant", "1. red\n2. blue"), M("user", "And one more?"),
     M("assistant", "3. green  ")],
]


def render(tmpl_text, messages, gen, bos, eos):
    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.date(2024, 7, 26).strftime(fmt)
    return env.from_string(tmpl_text).render(messages=messages, add_generation_prompt=gen,
                                             bos_token=bos, eos_token=eos)


def default_system(tmpl, bos, eos):
    """The system prompt a v7-tekken template writes when the conversation
    has no system turn, as Jinja evaluates it."""
    text = render(tmpl, [M("user", "x")], True, bos, eos)
    a = text.index("[SYSTEM_PROMPT]") + len("[SYSTEM_PROMPT]")
    return text[a:text.index("[/SYSTEM_PROMPT]")]


STANDIN_DIR = tempfile.mkdtemp(prefix="sr-standins-")
atexit.register(shutil.rmtree, STANDIN_DIR, True)


def vocab_path(vocab):
    """The GGUF for a golden's vocabulary: ../shared's, or a stand-in made once."""
    if "+" not in vocab:
        return f"{VOCAB}/ggml-vocab-{vocab}.gguf"
    path = f"{STANDIN_DIR}/{vocab}.gguf"
    if not os.path.exists(path):
        vocab_patch.patched_vocab(vocab, VOCAB, path)
    return path


def tokenize(vocab, text):
    r = subprocess.run([TOKENIZE, "-m", vocab_path(vocab), "--stdin", "--ids",
                        "--no-bos", "--log-disable"], input=text.encode(), capture_output=True,
                       env=dict(os.environ, LD_LIBRARY_PATH=os.path.dirname(TOKENIZE)), check=True)
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


def main():
    out = {}
    for fmt, tfile, vocab, bos, eos, with_ids, *gens in FAMILIES:
        tmpl = load_template(tfile)
        for msgs in CONVERSATIONS:
            ends_user = msgs[-1]["role"] == "user"
            for gen in ([True, False] if ends_user else [False]):
                if gens and gen not in gens[0]:
                    continue
                try:
                    text = render(tmpl, msgs, gen, bos, eos)
                except jinja2.exceptions.TemplateError as e:
                    print(f"{tfile}: left out ({e})", file=sys.stderr)
                    continue
                ids = tokenize(vocab, text) if with_ids else None
                row = {"format": fmt, "template": tfile, "vocab": vocab, "messages": msgs,
                       "gen_prompt": gen, "text": text, "ids": ids}
                if fmt == "mistral-v7-tekken":
                    row["default_system"] = default_system(tmpl, bos, eos)
                out.setdefault(fmt, []).append(row)
    for fmt, rows in out.items():
        with open(f"tests/golden/chat/{fmt}.jsonl", "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{fmt}: {len(rows)} renderings, {sum(len(r['ids'] or []) for r in rows)} tokens",
              file=sys.stderr)


if __name__ == "__main__":
    main()
