#!/usr/bin/env python3
"""PyTorch + transformers references for sr's training gradients:
tests/golden/torchgrad/*.json, read by tests/unit/test_torch_grad.c.

For each case a tiny random model is built by transformers from its config
(LlamaConfig, Qwen2Config, Qwen3Config, Phi3Config, Gemma3TextConfig;
float64 throughout), and on a fixed
set of token sequences the script computes, exactly as sr defines them:

  sft   the mean negative log-likelihood over every target token of the
        step (lib/lm/train.c, sr_loss_sft): position p predicts token p + 1,
        and the targets are the tokens from the response start `resp` to the
        end (the response and its end-of-turn token); the prompt's
        predictions do not count;
  dpo   the sigmoid DPO loss (lib/sr/dpo.c, sr_dpo_pair with SR_DPO_DEFAULT:
        beta 0.1, no length normalisation, no RPO term): log pi(y) is the
        SUM of the response tokens' log-probs; h = (pw - rw) - (pl - rl);
        the step's loss is the mean of -log sigmoid(beta h) over the pairs.
        The reference is the policy with every norm weight perturbed, so
        the log-ratios are not 0. Cases with "variants" add IPO, hinge and
        sigmoid with length normalisation and RPO (DPO_VARIANTS);

and the gradient of each loss with respect to every parameter. The file
holds the weights as the GGUF sr loads has them (named and shaped as
llama.cpp's convert_hf_to_gguf.py writes them: for the llama architecture
the q and k rows of each head are reordered from Hugging Face's rotate-half
layout to the interleaved pairs of llama.cpp's NORM rope; qwen2/qwen3/phi3/
gemma3 keep them; phi3's attn_qkv and ffn_up are Hugging Face's fused
qkv_proj and gate_up_proj as they are; gemma3's norms are stored as
1 + w), the reference model's differing tensors, the data, the losses,
the logits of the first sequence, the log-probs the DPO loss sees, and
every gradient in the same GGUF layout (float32, base64). No GGUF file is
tracked: the C test writes each model again from these weights.

Adding an architecture: an entry in ARCHS (the transformers classes, the
GGUF architecture name, whether q/k rows are permuted, any norm shift, the
name map for any tensor beyond NAMES), its config keywords in
config_kwargs and its GGUF keys in metadata, and a case in CASES.

  python3 -m venv /work/venv-torch
  /work/venv-torch/bin/pip install torch transformers gguf numpy
  /work/venv-torch/bin/python tests/golden/make_torch_grad_golden.py
"""
import base64
import importlib.metadata
import json
import math
import os
import sys

import tempfile

import gguf
import numpy as np
import torch
import transformers

OUT = os.environ.get("SR_TORCHGRAD_OUT", "tests/golden/torchgrad")

# Hugging Face parameter names -> GGUF tensor names ({i}: the layer).
NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
    "model.layers.{i}.input_layernorm.weight": "blk.{i}.attn_norm.weight",
    "model.layers.{i}.self_attn.q_proj.weight": "blk.{i}.attn_q.weight",
    "model.layers.{i}.self_attn.q_proj.bias": "blk.{i}.attn_q.bias",
    "model.layers.{i}.self_attn.k_proj.weight": "blk.{i}.attn_k.weight",
    "model.layers.{i}.self_attn.k_proj.bias": "blk.{i}.attn_k.bias",
    "model.layers.{i}.self_attn.v_proj.weight": "blk.{i}.attn_v.weight",
    "model.layers.{i}.self_attn.v_proj.bias": "blk.{i}.attn_v.bias",
    "model.layers.{i}.self_attn.o_proj.weight": "blk.{i}.attn_output.weight",
    "model.layers.{i}.self_attn.o_proj.bias": "blk.{i}.attn_output.bias",
    "model.layers.{i}.self_attn.q_norm.weight": "blk.{i}.attn_q_norm.weight",
    "model.layers.{i}.self_attn.k_norm.weight": "blk.{i}.attn_k_norm.weight",
    "model.layers.{i}.post_attention_layernorm.weight": "blk.{i}.ffn_norm.weight",
    "model.layers.{i}.mlp.gate_proj.weight": "blk.{i}.ffn_gate.weight",
    "model.layers.{i}.mlp.up_proj.weight": "blk.{i}.ffn_up.weight",
    "model.layers.{i}.mlp.down_proj.weight": "blk.{i}.ffn_down.weight",
}

# One entry per architecture. permute_qk: llama.cpp's llama converter
# reorders q/k rows (and biases) for its NORM rope; the NEOX families do not.
# norm_shift: what the converter adds to every "*norm.weight" (Gemma's
# RMSNorm multiplies by 1 + w, and convert_hf_to_gguf.py stores 1 + w, so
# the GGUF's norms are plain x·w; the gradient of the stored weight is the
# gradient of w).
ARCHS = {
    "llama": {"config": "LlamaConfig", "model": "LlamaForCausalLM", "gguf": "llama", "gguf_arch": "LLAMA", "permute_qk": True,
              "names": {}},
    "qwen2": {"config": "Qwen2Config", "model": "Qwen2ForCausalLM", "gguf": "qwen2", "gguf_arch": "QWEN2", "permute_qk": False,
              "names": {}},
    "qwen3": {"config": "Qwen3Config", "model": "Qwen3ForCausalLM", "gguf": "qwen3", "gguf_arch": "QWEN3", "permute_qk": False,
              "names": {}},
    # Hugging Face's Phi-3 is fused already (q|k|v rows, gate|up rows) and the
    # converter maps both tensors as they are, unpermuted (NEOX rope).
    "phi3": {"config": "Phi3Config", "model": "Phi3ForCausalLM", "gguf": "phi3", "gguf_arch": "PHI3", "permute_qk": False,
             "names": {"model.layers.{i}.self_attn.qkv_proj.weight": "blk.{i}.attn_qkv.weight",
                       "model.layers.{i}.mlp.gate_up_proj.weight": "blk.{i}.ffn_up.weight"}},
    # Gemma 3 (text): a norm after each branch; the pre-FFN norm is ffn_norm.
    "gemma3": {"config": "Gemma3TextConfig", "model": "Gemma3ForCausalLM", "gguf": "gemma3", "gguf_arch": "GEMMA3",
               "permute_qk": False, "norm_shift": 1.0,
               "names": {"model.layers.{i}.post_attention_layernorm.weight": "blk.{i}.post_attention_norm.weight",
                         "model.layers.{i}.pre_feedforward_layernorm.weight": "blk.{i}.ffn_norm.weight",
                         "model.layers.{i}.post_feedforward_layernorm.weight": "blk.{i}.post_ffw_norm.weight"}},
}

# Llama 3.1's rope scaling on a head of 8 (4 frequencies, wavelengths about
# 6, 63, 628 and 6283 positions) with an original context of 128: the first
# pair is kept, the second smoothed, the last two divided by 8.
LLAMA3_ROPE = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 128}

# The data: (prompt length, response length) per SFT example and, per DPO
# pair, the prompt's length and the chosen and rejected responses' lengths.
# A case may give its own ("sft", "dpo").
SFT_SHAPES = [(5, 7), (3, 6), (8, 8), (2, 5)]
DPO_SHAPES = [(4, 6, 3), (6, 2, 7), (3, 5, 5)]

# dim 32, 4 query heads of 8 over 2 kv heads (grouped), 2 blocks, vocab 128.
BASE = {"vocab": 128, "dim": 32, "ffn_dim": 48, "layers": 2, "heads": 4, "kv_heads": 2, "head_dim": None,
        "tied": False, "bias": False, "theta": 10000.0, "eps": 1e-5, "rope": None, "variants": False,
        "sft": SFT_SHAPES, "dpo": DPO_SHAPES}
CASES = {
    "llama": {"arch": "llama", "seed": 1, "variants": True},
    "llama_tied_mha": {"arch": "llama", "seed": 2, "tied": True, "kv_heads": 4, "eps": 1e-6},
    "llama_bias": {"arch": "llama", "seed": 3, "bias": True},
    "llama_rope_freqs": {"arch": "llama", "seed": 4, "theta": 10000.0, "rope": LLAMA3_ROPE},
    "qwen2": {"arch": "qwen2", "seed": 5, "tied": True, "theta": 1000000.0, "eps": 1e-6},
    "qwen3": {"arch": "qwen3", "seed": 6, "head_dim": 12, "theta": 1000000.0, "eps": 1e-6, "variants": True},
    # sequences beyond sr's attention block of 128 queries, padded beside short ones
    "llama_long": {"arch": "llama", "seed": 7, "sft": [(5, 7), (20, 130)], "dpo": [(10, 125, 8), (4, 6, 3)]},
    # fused attn_qkv and ffn_up, GQA 4/2, untied
    "phi3": {"arch": "phi3", "seed": 8},
    # a sequence past the attention block of 128 queries, 4/4 heads, tied
    "phi3_long_mha": {"arch": "phi3", "seed": 9, "kv_heads": 4, "tied": True, "eps": 1e-6,
                      "sft": [(5, 7), (10, 140)], "dpo": [(6, 4, 9), (3, 5, 2)]},
    # Gemma 3: window 4 (sequences of up to 16), blocks local then global
    # (pattern 2), heads of 12 where dim / heads is 8, soft-capped logits, tied
    "gemma3": {"arch": "gemma3", "seed": 10, "head_dim": 12, "theta": 1000000.0, "theta_swa": 10000.0,
               "eps": 1e-6, "tied": True, "window": 4, "pattern": 2, "softcap": 5.0},
    # local, local, global (pattern 3); the global block's RoPE linear x8 as
    # Gemma 3 4B has it; no cap, untied; sequences of up to 45 against window 5
    "gemma3_scaled": {"arch": "gemma3", "seed": 11, "layers": 3, "theta": 1000000.0, "theta_swa": 10000.0,
                      "eps": 1e-6, "window": 5, "pattern": 3, "rope_linear": 8.0,
                      "sft": [(5, 7), (12, 33)], "dpo": [(10, 25, 8), (4, 6, 3)]},
    # a local block's window (16) inside the second block of 128 queries,
    # whose first key is then past 0; untied, no cap
    "gemma3_long": {"arch": "gemma3", "seed": 12, "theta": 1000000.0, "theta_swa": 10000.0, "eps": 1e-6,
                    "window": 16, "pattern": 2, "sft": [(5, 7), (10, 140)], "dpo": [(8, 132, 6), (4, 6, 3)]},
}

DPO = {"kind": "sigmoid", "beta": 0.1, "length_norm": False, "rpo_alpha": 0.0}
# The other losses of the family, for the cases with "variants": their
# gradients reach the model through the same dlp, with other weights.
DPO_VARIANTS = [{"kind": "ipo", "beta": 0.1, "length_norm": False, "rpo_alpha": 0.0},
                {"kind": "hinge", "beta": 0.5, "length_norm": False, "rpo_alpha": 0.0},
                {"kind": "sigmoid", "beta": 0.1, "length_norm": True, "rpo_alpha": 0.5}]


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def permute_rows(t, n_head):
    """HF rotate-half rows (j, j + hd/2) of each head -> llama.cpp's pairs (2j, 2j+1)."""
    shape = t.shape
    return t.reshape(n_head, 2, shape[0] // n_head // 2, *shape[1:]).swapaxes(1, 2).reshape(shape)


GEMMA3_RMSNORM = transformers.models.gemma3.modeling_gemma3.Gemma3RMSNorm.forward


def gemma3_rmsnorm_f64(self, x):
    """Gemma3RMSNorm.forward in the input's dtype: transformers' own computes
    in float32 (x.float()), which would make this float64 reference a
    float32 one; the math, x / rms(x) · (1 + w), is unchanged."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * (1.0 + self.weight)


def layer_local(c, l):
    """sr's and llama.cpp's rule for a local (sliding-window) block."""
    p = c["pattern"]
    return c.get("window", 0) > 0 and l % p < p - 1


def config_kwargs(c, hd):
    kw = dict(vocab_size=c["vocab"], hidden_size=c["dim"], intermediate_size=c["ffn_dim"],
              num_hidden_layers=c["layers"], num_attention_heads=c["heads"], num_key_value_heads=c["kv_heads"],
              head_dim=hd, rms_norm_eps=c["eps"], max_position_embeddings=256,
              tie_word_embeddings=c["tied"], attn_implementation="eager")
    rope = {"rope_type": "default", "rope_theta": c["theta"]}
    if c["rope"]:
        rope = dict(c["rope"], rope_theta=c["theta"])
    if c["arch"] == "gemma3":
        full = {"rope_type": "default", "rope_theta": c["theta"]}
        if c.get("rope_linear"):
            full = {"rope_type": "linear", "factor": c["rope_linear"], "rope_theta": c["theta"]}
        # sliding_window_pattern as the Hub's configs give it; the config
        # turns it into layer_types (checked in build against sr's rule)
        kw.update(rope_parameters={"full_attention": full,
                                   "sliding_attention": {"rope_type": "default", "rope_theta": c["theta_swa"]}},
                  hidden_activation="gelu_pytorch_tanh", query_pre_attn_scalar=hd,
                  sliding_window=c["window"], sliding_window_pattern=c["pattern"],
                  final_logit_softcapping=c.get("softcap"), pad_token_id=None)
        return kw
    kw.update(rope_parameters=rope, hidden_act="silu")
    if c["arch"] == "llama":
        kw["attention_bias"] = c["bias"]
    if c["arch"] == "phi3":
        # no LongRoPE, no window; Phi3Config's pad id 32000 would be a padding_idx outside the vocab
        # (and its eos id 32000 one outside it)
        kw.update(original_max_position_embeddings=256, sliding_window=None, pad_token_id=None, eos_token_id=None)
    return kw


def check_config(c, cfg, hd):
    """What the config turned the case into: what sr will compute."""
    if c["arch"] == "phi3":
        r = cfg.rope_parameters
        if r.get("rope_type") != "default" or r.get("partial_rotary_factor", 1.0) != 1.0 or cfg.sliding_window:
            raise SystemExit(f"{c['name']}: phi3 rope {r}, window {cfg.sliding_window}")
    if c["arch"] == "gemma3":
        want = ["sliding_attention" if layer_local(c, l) else "full_attention" for l in range(c["layers"])]
        if cfg.layer_types != want or len(set(want)) != 2:
            raise SystemExit(f"{c['name']}: layer_types {cfg.layer_types}, sr's rule {want}")
        if cfg.query_pre_attn_scalar != hd or cfg.hidden_activation != "gelu_pytorch_tanh":
            raise SystemExit(f"{c['name']}: attention scale or activation")


def build(c):
    a = ARCHS[c["arch"]]
    hd = c["head_dim"] or c["dim"] // c["heads"]
    cfg = getattr(transformers, a["config"])(**config_kwargs(c, hd))
    check_config(c, cfg, hd)
    if c["arch"] == "gemma3":
        transformers.models.gemma3.modeling_gemma3.Gemma3RMSNorm.forward = gemma3_rmsnorm_f64
    shift = a.get("norm_shift", 0.0)
    torch.manual_seed(c["seed"])
    model = getattr(transformers, a["model"])(cfg).to(torch.float64)
    model.eval()   # no dropout (there is none at 0 anyway)
    g = torch.Generator().manual_seed(1000 + c["seed"])
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or "layernorm" in name:
                # the stored weight is a float32 near 1; Gemma's parameter is it less 1
                s = (1.0 + 0.2 * torch.randn(p.shape, generator=g, dtype=torch.float64)).to(torch.float32)
                p.copy_(s.to(torch.float64) - shift)
                continue
            elif name.endswith(".bias"):
                p.copy_(0.3 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            elif "embed_tokens" in name:
                # tied, the embedding is the head too: smaller, so the logits stay moderate
                p.copy_((0.25 if c["tied"] else 0.5) * torch.randn(p.shape, generator=g, dtype=torch.float64))
            elif "lm_head" in name:
                p.copy_(0.2 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            else:
                p.copy_(0.15 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            # what the GGUF holds is float32: make the reference start from exactly it
            p.copy_(p.to(torch.float32).to(torch.float64))
    return cfg, model, hd


def gguf_name(hf, a, n_layer):
    parts = hf.split(".")
    i = next((int(x) for x in parts if x.isdigit()), None)
    key = hf if i is None else hf.replace(f".{i}.", ".{i}.", 1)
    names = dict(NAMES, **a["names"])
    if key not in names:
        raise SystemExit(f"no GGUF name for {hf}")
    name = names[key].format(i=i)
    # gguf-py's own map (what convert_hf_to_gguf.py uses) must say the same
    tmap = gguf.get_tensor_name_map(getattr(gguf.MODEL_ARCH, a["gguf_arch"]), n_layer)
    theirs = tmap.get_name(hf, try_suffixes=(".weight", ".bias"))
    if theirs != name:
        raise SystemExit(f"{hf}: the table says {name}, gguf-py {theirs}")
    return name


def to_gguf(model, c, hd, values, weights=False):
    """{GGUF name: (ne, float64 array)} of the parameters (values: name ->
    tensor); weights: they are the model's weights, so the norms get the
    converter's shift (gradients do not: d/d(1 + w) is d/dw)."""
    a = ARCHS[c["arch"]]
    out = {}
    for hf, v in values.items():
        name = gguf_name(hf, a, c["layers"])
        t = v.detach().to(torch.float64).numpy()
        if weights and hf.endswith("norm.weight"):
            t = t + a.get("norm_shift", 0.0)
        if a["permute_qk"] and (".q_proj." in hf or ".k_proj." in hf):
            t = permute_rows(t, c["heads"] if ".q_proj." in hf else c["kv_heads"])
        out[name] = (list(reversed(t.shape)), t)
    return out


def metadata(c, hd, model):
    a = ARCHS[c["arch"]]
    p = a["gguf"]
    md = [["general.architecture", "str", p], ["general.name", "str", "sr torchgrad " + c["name"]],
          [p + ".block_count", "u32", c["layers"]], [p + ".context_length", "u32", 256],
          [p + ".embedding_length", "u32", c["dim"]], [p + ".feed_forward_length", "u32", c["ffn_dim"]],
          [p + ".attention.head_count", "u32", c["heads"]], [p + ".attention.head_count_kv", "u32", c["kv_heads"]],
          [p + ".attention.key_length", "u32", hd], [p + ".attention.value_length", "u32", hd],
          [p + ".rope.dimension_count", "u32", hd], [p + ".rope.freq_base", "f32", c["theta"]],
          [p + ".attention.layer_norm_rms_epsilon", "f32", c["eps"]]]
    if c["arch"] == "phi3":
        # as the converter writes them: 0 is "no window"; the original
        # context only matters to LongRoPE, which these models do not have
        md += [[p + ".rope.scaling.original_context_length", "u32", 256], [p + ".attention.sliding_window", "u32", 0]]
    if c["arch"] == "gemma3":
        # the converter writes no pattern (llama.cpp's default is 6); a
        # pattern of 2 or 3 must be written, and llama.cpp reads it too
        md += [[p + ".attention.sliding_window", "u32", c["window"]],
               [p + ".attention.sliding_window_pattern", "u32", c["pattern"]],
               [p + ".rope.freq_base_swa", "f32", c["theta_swa"]]]
        if c.get("softcap"):
            md.append([p + ".final_logit_softcapping", "f32", c["softcap"]])
        if c.get("rope_linear"):
            md += [[p + ".rope.scaling.type", "str", "linear"], [p + ".rope.scaling.factor", "f32", c["rope_linear"]]]
    return md


def gguf_roundtrip(c, md, weights):
    """Write the model with gguf-py's GGUFWriter and read it back with its
    reader: each tensor's ne (GGUF's dimension order, fastest first) and
    bytes must be what the json says, so the C test's file is gguf-py's."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.gguf")
        w = gguf.GGUFWriter(path, ARCHS[c["arch"]]["gguf"])
        for key, ty, v in md:
            if key == "general.architecture":
                continue
            {"str": w.add_string, "u32": w.add_uint32, "f32": w.add_float32}[ty](key, v)
        for name, (ne, t) in weights.items():
            w.add_tensor(name, t.astype(np.float32))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        r = gguf.GGUFReader(path)
        seen = set()
        for t in r.tensors:
            ne, want = weights[t.name]
            if [int(x) for x in t.shape] != ne or t.data.tobytes() != want.astype("<f4").tobytes():
                raise SystemExit(f"{c['name']}: {t.name} does not read back from gguf-py's file")
            seen.add(t.name)
        if seen != set(weights):
            raise SystemExit(f"{c['name']}: gguf-py's file lacks {set(weights) - seen}")


def rope_factors(model, c, hd):
    """Llama 3.1's rope_freqs.weight as convert_hf_to_gguf.py derives it: the
    plain inverse frequencies over the scaled ones transformers uses."""
    inv = model.model.rotary_emb.inv_freq.to(torch.float64)
    plain = 1.0 / (c["theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    return (plain / inv).numpy()


def make_data(c):
    g = np.random.default_rng(2000 + c["seed"])
    tok = lambda n: [int(x) for x in g.integers(0, c["vocab"], n)]
    sft = []
    for p, r in c["sft"]:
        sft.append({"ids": tok(p + r), "resp": p})
    dpo = []
    for p, w, l in c["dpo"]:
        prompt = tok(p)
        dpo.append([{"ids": prompt + tok(w), "resp": p}, {"ids": prompt + tok(l), "resp": p}])
    return sft, dpo


def seq_logps(model, s):
    """Log-probs of each target token of sequence s: positions resp-1 .. len-2."""
    ids = torch.tensor([s["ids"]])
    logits = model(input_ids=ids).logits[0].to(torch.float64)
    lp = torch.log_softmax(logits, dim=-1)
    tgt = torch.tensor(s["ids"][s["resp"]:])
    return lp[s["resp"] - 1:len(s["ids"]) - 1].gather(1, tgt[:, None])[:, 0], logits


def grads(model, c, hd):
    g = {}
    for hf, p in model.named_parameters():
        if p.grad is None:
            raise SystemExit(f"{c['name']}: no gradient for {hf}")
        g[hf] = p.grad.clone()
    return to_gguf(model, c, hd, g)


def sft_case(model, c, hd, sft):
    model.zero_grad()
    total, n = 0, 0
    for s in sft:
        lp, _ = seq_logps(model, s)
        total = total - lp.sum()
        n += lp.numel()
    loss = total / n
    loss.backward()
    return float(loss.detach()), grads(model, c, hd)


def pair_loss(o, pw, pl, rw, rl, nw, nl):
    """One pair's loss as sr_dpo_pair has it, written from lib/sr/dpo.h."""
    sw, sl = (1.0 / nw, 1.0 / nl) if o["length_norm"] else (1.0, 1.0)
    h = (pw - rw) * sw - (pl - rl) * sl
    beta = o["beta"]
    if o["kind"] == "sigmoid":
        loss = torch.nn.functional.softplus(-beta * h)
    elif o["kind"] == "ipo":
        loss = (h - 1.0 / (2.0 * beta)) ** 2
    elif o["kind"] == "hinge":
        loss = torch.relu(1.0 - beta * h)
    else:
        raise SystemExit(f"unknown DPO loss {o['kind']}")
    return loss + o["rpo_alpha"] * (-pw / nw)


def dpo_case(model, ref, c, hd, dpo, o):
    with torch.no_grad():
        ref_lp = [[float(seq_logps(ref, s)[0].sum()) for s in pair] for pair in dpo]
    model.zero_grad()
    total, pol = 0, []
    for pair, r in zip(dpo, ref_lp):
        pw, pl = (seq_logps(model, s)[0].sum() for s in pair)
        pol.append([float(pw.detach()), float(pl.detach())])
        n = [len(s["ids"]) - s["resp"] for s in pair]
        total = total + pair_loss(o, pw, pl, r[0], r[1], n[0], n[1])
    loss = total / len(dpo)
    loss.backward()
    return float(loss.detach()), grads(model, c, hd), ref_lp, pol


def rel_l2(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def gemma3_checks(model, c, s, logits):
    """The two places this reference may depart from transformers' own
    numbers: its norms in float64 (transformers' differ by float32 rounding
    only), and the embedding scale, which transformers keeps as a float32
    sqrt(dim) cast to the weights' dtype, the value sr's sqrtf((float)dim) has."""
    mod = transformers.models.gemma3.modeling_gemma3
    mod.Gemma3RMSNorm.forward = GEMMA3_RMSNORM
    with torch.no_grad():
        _, theirs = seq_logps(model, s)
    mod.Gemma3RMSNorm.forward = gemma3_rmsnorm_f64
    scale = float(model.model.embed_tokens.embed_scale)
    r = rel_l2(theirs.numpy(), logits.numpy())
    if r > 1e-5 or scale != float(np.float32(math.sqrt(c["dim"]))):
        raise SystemExit(f"{c['name']}: transformers' float32 norms differ by {r:.1e}, embed scale {scale!r}")
    local = [l for l in range(c["layers"]) if layer_local(c, l)]
    print(f"{c['name']}: local blocks {local} (window {c['window']}), float32 norms rel L2 {r:.1e}, "
          f"embed scale {scale!r}", file=sys.stderr)


def one_case(name, spec):
    c = dict(BASE, **spec, name=name)
    cfg, model, hd = build(c)
    weights = to_gguf(model, c, hd, dict(model.named_parameters()), weights=True)
    if c["tied"]:
        weights.pop("output.weight", None)
    if c["rope"]:
        f = rope_factors(model, c, hd)
        weights["rope_freqs.weight"] = ([len(f)], f)
    # the reference: every norm weight scaled by 1 + 0.1 N(0, 1)
    ref = getattr(transformers, ARCHS[c["arch"]]["model"])(cfg).to(torch.float64)
    ref.load_state_dict(model.state_dict())
    ref.eval()
    g = torch.Generator().manual_seed(3000 + c["seed"])
    changed = {}
    shift = ARCHS[c["arch"]].get("norm_shift", 0.0)
    with torch.no_grad():
        for hf, p in ref.named_parameters():
            if hf.endswith("norm.weight") or "layernorm" in hf:
                # the stored weight (Gemma's 1 + w) scaled, rounded to float32
                s = (p + shift) * (1.0 + 0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64))
                p.copy_(s.to(torch.float32).to(torch.float64) - shift)
                changed[hf] = p
    ref_w = to_gguf(ref, c, hd, changed, weights=True)
    md = metadata(c, hd, model)
    gguf_roundtrip(c, md, weights)
    sft, dpo = make_data(c)
    with torch.no_grad():
        _, logits0 = seq_logps(model, sft[0])
    if c["arch"] == "gemma3":
        gemma3_checks(model, c, sft[0], logits0)
    sft_loss, sft_g = sft_case(model, c, hd, sft)
    dpo_loss, dpo_g, ref_lp, pol_lp = dpo_case(model, ref, c, hd, dpo, DPO)
    variants = []
    for o in DPO_VARIANTS if c["variants"] else []:
        v_loss, v_g, _, _ = dpo_case(model, ref, c, hd, dpo, o)
        variants.append(dict(o, loss=v_loss, grads={k: b64(v[1]) for k, v in v_g.items()}))
    # the float32 round trip of what is stored, as a measure of what the file can carry
    worst = max(rel_l2(v[1].astype(np.float32).astype(np.float64), v[1]) for v in sft_g.values())
    print(f"{name}: {sum(v[1].size for v in weights.values())} weights, sft loss {sft_loss:.6f}, "
          f"dpo loss {dpo_loss:.8f}, float32 storage rel L2 {worst:.1e}", file=sys.stderr)
    spec_out = {k: v for k, v in c.items() if k != "name"}
    return {
        "case": name, "spec": spec_out, "metadata": md,
        "tensors": {k: {"ne": v[0], "f32": b64(v[1])} for k, v in weights.items()},
        "ref_tensors": {k: {"ne": v[0], "f32": b64(v[1])} for k, v in ref_w.items()},
        "sft": {"data": sft, "loss": sft_loss, "logits0": b64(logits0.detach().numpy()),
                "grads": {k: b64(v[1]) for k, v in sft_g.items()}},
        "dpo": dict(DPO, data=dpo, loss=dpo_loss, ref_logps=ref_lp, policy_logps=pol_lp,
                    grads={k: b64(v[1]) for k, v in dpo_g.items()}),
        "dpo_variants": variants,
    }


def main():
    torch.set_grad_enabled(True)
    os.makedirs(OUT, exist_ok=True)
    index = []
    for name, spec in CASES.items():
        case = one_case(name, spec)
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(case, f, separators=(",", ":"))
            f.write("\n")
        index.append(name + ".json")
    with open(os.path.join(OUT, "index.json"), "w") as f:
        json.dump({"source": "tests/golden/make_torch_grad_golden.py",
                   "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                                "numpy": np.__version__, "gguf": importlib.metadata.version("gguf"),
                                "python": sys.version.split()[0]},
                   "cases": index}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
