"""peer_common.py — what the PyTorch peers share: the device and precision
options, the model (the GGUF dequantized to fp32, or a random-init llama of
the shapes bench_common.h builds for sr's --random), and the FLOPs count
bench_train.c uses for its MFU, so both sides are measured the same way.

Precision mirrors sr's --precision: fp32 weights (the master copy) always;
bf16 runs the forward under torch.autocast(bfloat16) (matmuls in bf16 with
fp32 accumulation, as sr's bf16 matmuls); tf32 allows TF32 matmuls; fp32
neither. On the CPU only fp32 is used, as in bench/RESULTS.md's figures."""
import contextlib
import os

DEFAULT_MODEL = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

# The same shapes as sr_hparams_preset() in lib/lm/model.c.
SHAPES = {
    # SmolLM2-135M
    "smol": dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                 num_attention_heads=9, num_key_value_heads=3, head_dim=64,
                 max_position_embeddings=2048, rms_norm_eps=1e-5, rope_theta=100000.0,
                 tie_word_embeddings=True),
    # TinyLlama-1.1B
    "1b": dict(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
               num_attention_heads=32, num_key_value_heads=4, head_dim=64,
               max_position_embeddings=2048, rms_norm_eps=1e-5, rope_theta=10000.0,
               tie_word_embeddings=False),
}


def prompt_ids(i, plen, vocab):
    """Decoding prompt i: the token ids bench_decode.c draws (bench_next_token
    with lo = 17, seeded 1000 + i), so both sides decode the same prompts.
    Imports nothing, so the llama.cpp peer can use it without torch."""
    s = 1000 + i
    out = []
    for _ in range(plen):
        s = (s * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out.append(17 + (s >> 33) % (vocab - 17))
    return out


def add_decode_args(ap, seqs="1,8"):
    """The decoding benchmark's shape, as bench_decode.c takes it: the model,
    the sequence counts, and prompt / new tokens per sequence."""
    ap.add_argument("-m", "--model", default=DEFAULT_MODEL)
    ap.add_argument("--seqs", default=seqs, help="comma-separated sequence counts")
    ap.add_argument("--prompt", type=int, default=64, help="prompt tokens per sequence")
    ap.add_argument("--new", type=int, default=128, help="new tokens per sequence")


def add_args(ap, threads_default=None):
    """The options every PyTorch peer takes (beside its own)."""
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--random", choices=sorted(SHAPES),
                    help="a random-init llama of this shape instead of the GGUF")
    ap.add_argument("--precision", choices=["bf16", "tf32", "fp32"], default=None,
                    help="CUDA matmuls (default bf16 on cuda; the CPU is always fp32)")
    ap.add_argument("--threads", type=int, default=threads_default or os.cpu_count())


def setup(a):
    """Apply the device options: threads, precision. Returns the torch module."""
    import torch
    torch.set_num_threads(a.threads)
    if a.device == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("--device cuda: torch sees no CUDA device")
        if a.precision is None:
            a.precision = "bf16"
        tf32 = a.precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
    else:
        if a.precision not in (None, "fp32"):
            raise SystemExit("--precision: the CPU peers compute in fp32 only")
        a.precision = "fp32"
    return torch


def load_model(a, path=None):
    """The GGUF at path (dequantized to fp32) or, with --random, a random-init
    llama; fp32 weights on a.device. Returns (model, label)."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM
    if a.random:
        torch.manual_seed(1234)
        cfg = LlamaConfig(**SHAPES[a.random])
        with torch.device(a.device):   # initialised where it runs: 1.1e9 normals are slow on a CPU
            model = LlamaForCausalLM(cfg).to(torch.float32)
        label = f"random {a.random} ({sum(p.numel() for p in model.parameters())} parameters)"
    else:
        path = path or DEFAULT_MODEL
        d, f = os.path.split(os.path.abspath(path))
        model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32)
        label = path
    model.to(a.device)
    attn = getattr(model.config, "_attn_implementation", "?")
    return model, f"{label}, attention {attn}"


def autocast(a):
    """The context a forward runs in: bf16 autocast for --precision bf16."""
    import torch
    if a.device == "cuda" and a.precision == "bf16":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def sync(a):
    """Wait for the device before reading the clock (CUDA is asynchronous)."""
    if a.device == "cuda":
        import torch
        torch.cuda.synchronize()


def describe(a):
    """How the peer runs, for its summary lines."""
    import torch
    import transformers
    where = (f"cuda {a.precision} ({torch.cuda.get_device_name()})" if a.device == "cuda"
             else f"{a.threads} threads, fp32")
    return f"PyTorch {torch.__version__} + transformers {transformers.__version__}, {where}"


def train_flops(cfg, batch, seq):
    """Model FLOPs of one training step: bench_train.c's train_flops(), the
    same formula (see the comment there):
    6·(block matmul weights + vocab·dim)·B·T + 6·n_layer·q_dim·B·T(T+1)."""
    d = cfg.hidden_size
    hd = getattr(cfg, "head_dim", None) or d // cfg.num_attention_heads
    qd = cfg.num_attention_heads * hd
    kvd = (cfg.num_key_value_heads or cfg.num_attention_heads) * hd
    f = cfg.intermediate_size
    wm = cfg.num_hidden_layers * (d * (qd + 2 * kvd) + qd * d + 3 * d * f)
    head = cfg.vocab_size * d
    return 6 * (wm + head) * batch * seq + 6 * cfg.num_hidden_layers * qd * batch * seq * (seq + 1)
