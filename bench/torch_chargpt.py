#!/usr/bin/env python3
"""The chargpt lesson's model and training loop in PyTorch, to compare speed and loss with ember.

    python3 bench/torch_chargpt.py --config=lessons/chargpt/configs/cpu.conf
    python3 bench/torch_chargpt.py --config=lessons/chargpt/configs/train_hca.conf --max_iters=20
    python3 bench/torch_chargpt.py --config=... --json=runs/torch-cpu.json   # results as JSON too

The same thing as build/bin/chargpt (lessons/chargpt/train.cpp), written the way nanoGPT writes it:
- the same settings: the lesson's config files and --key=value overrides, the same defaults;
- the same text: --data=FILE, data/NAME/input.txt for dataset = 'NAME', else the default corpus
  (Debian's fortunes files, read exactly as datasets/text.cpp reads them); the vocabulary is the
  sorted set of the text's code points; the first 90% of the tokens is train, the rest val;
- the same model (nanoGPT's model.py): token + position embeddings, pre-LayerNorm blocks with a
  fused c_attn, causal scaled dot-product attention (F.scaled_dot_product_attention where this
  PyTorch has it, else nanoGPT's explicit softmax(q k^T / sqrt(D)) v), exact GELU, a final LayerNorm,
  the head tied to wte; nanoGPT's initialisation (N(0, 0.02), c_proj N(0, 0.02 / sqrt(2 n_layer)));
- the same training: AdamW (beta1, beta2; weight decay on the 2-D weights only), linear warmup and
  cosine decay to min_lr, gradient clipping, gradient accumulation, eval_iters batches per split at
  every eval_interval iterations and at the end (with fixed windows, as the lesson);
- torch.set_num_threads(threads), 2 by default (this machine's cores).

Random numbers differ (PyTorch's generator, not ember's), so the two runs see different batches and
initial weights: compare the losses at the same iterations, not bit for bit. tokens/s counts the
training iterations only (batch, forward, backward, clipping, AdamW), as the lesson does.
"""
import ast
import json
import math
import os
import sys
import time

DEBIAN_PYTHON = "/usr/bin/python3"
FORTUNES_DIR = "/usr/share/games/fortunes"

# ---- settings: the lesson's keys and defaults (lessons/chargpt/settings.cpp, add_settings) -------------
DEFAULTS = dict(
    out_dir="runs/chargpt", init_from="scratch", eval_interval=250, eval_iters=20, log_interval=10,
    dataset="", data="", gradient_accumulation_steps=1, batch_size=64, block_size=256,
    n_layer=3, n_head=3, n_embd=192, dropout=0.2, bias=False,
    learning_rate=1e-3, max_iters=5000, weight_decay=0.1, beta1=0.9, beta2=0.99, grad_clip=1.0,
    decay_lr=True, warmup_iters=100, lr_decay_iters=5000, min_lr=1e-4,
    seed=1337, threads=2,
    sample=False, start="\n", num_samples=10, max_new_tokens=500, temperature=0.8, top_k=200,
)


def parse_value(key, text, where):
    text = text.strip()
    default = DEFAULTS[key]
    if isinstance(default, bool):
        if text in ("True", "true"):
            return True
        if text in ("False", "false"):
            return False
        sys.exit(f"{where}: {key} must be True or False, got {text}")
    if isinstance(default, str):
        if text[:1] in ("'", '"'):
            return ast.literal_eval(text)
        return text
    value = ast.literal_eval(text)
    return int(value) if isinstance(default, int) else float(value)


def strip_comment(line):
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == "\\":
                continue
            if c == quote:
                quote = None
        elif c in ("'", '"'):
            quote = c
        elif c == "#":
            return line[:i]
    return line


def load_settings(argv):
    cfg = dict(DEFAULTS)
    extra = {}
    files = [a[len("--config="):] for a in argv if a.startswith("--config=")]
    for path in files:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = strip_comment(line).strip()
                if not line:
                    continue
                key, _, value = line.partition("=")
                key = key.strip()
                if key not in DEFAULTS:
                    sys.exit(f"{path}, line {n}: unknown key '{key}'; known: {', '.join(DEFAULTS)}")
                cfg[key] = parse_value(key, value, f"{path}, line {n}")
    for arg in argv:
        if arg.startswith("--config="):
            continue
        key, eq, value = arg[2:].partition("=")
        if key == "json":
            extra["json"] = value
            continue
        if key not in DEFAULTS:
            sys.exit(f"unknown key '{key}'; known: {', '.join(DEFAULTS)}, json")
        cfg[key] = parse_value(key, value, "command line") if eq else True
    return cfg, extra


CFG, EXTRA = load_settings(sys.argv[1:])

# PyTorch and the BLAS under it read these when they load: set them before importing torch.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(CFG["threads"])
try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    # Debian's python3-torch lives in the system Python; a pyenv or venv python3 does not see it.
    if os.path.exists(DEBIAN_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON):
        os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON] + sys.argv)
    sys.exit("PyTorch is not installed for %s: apt-get install python3-torch" % sys.executable)


# ---- the text: the same bytes, vocabulary and split as datasets/text.cpp ----------------------------
def default_corpus(directory=FORTUNES_DIR):
    files = []
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        ext = os.path.splitext(name)[1]
        if os.path.islink(path) or not os.path.isfile(path) or ext in (".dat", ".u8"):
            continue
        files.append(path)
    corpus = b""
    for path in sorted(files):  # byte order of the paths, as std::sort on std::string
        with open(path, "rb") as f:
            corpus += f.read()
        if corpus and not corpus.endswith(b"\n"):
            corpus += b"\n"
        if not corpus.endswith(b"%\n"):
            corpus += b"%\n"
    return corpus


def training_text(cfg):
    if cfg["data"]:
        with open(cfg["data"], "rb") as f:
            return f.read(), cfg["data"]
    if cfg["dataset"]:
        path = os.path.join("data", cfg["dataset"], "input.txt")
        if os.path.exists(path):
            with open(path, "rb") as f:
                return f.read(), path
        print(f"dataset = '{cfg['dataset']}': {path} is not there; training on the default corpus instead")
    return default_corpus(), "the default corpus (Debian's fortunes)"


# ---- the model: nanoGPT's model.py ---------------------------------------------------------------------
class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (PyTorch 1.13's nn.LayerNorm has no bias=False)."""

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C = cfg["n_embd"]
        self.n_head, self.n_embd, self.dropout = cfg["n_head"], C, cfg["dropout"]
        self.c_attn = nn.Linear(C, 3 * C, bias=cfg["bias"])
        self.c_proj = nn.Linear(C, C, bias=cfg["bias"])
        self.attn_dropout = nn.Dropout(cfg["dropout"])
        self.resid_dropout = nn.Dropout(cfg["dropout"])
        self.flash = hasattr(F, "scaled_dot_product_attention")
        if not self.flash:
            T = cfg["block_size"]
            self.register_buffer("mask", torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # [B, H, T, D]
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        if self.flash:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=None,
                                               dropout_p=self.dropout if self.training else 0, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            att = self.attn_dropout(att)
            y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C = cfg["n_embd"]
        self.c_fc = nn.Linear(C, 4 * C, bias=cfg["bias"])
        self.gelu = nn.GELU()  # exact (erf) form
        self.c_proj = nn.Linear(4 * C, C, bias=cfg["bias"])
        self.dropout = nn.Dropout(cfg["dropout"])

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = LayerNorm(cfg["n_embd"], cfg["bias"])
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = LayerNorm(cfg["n_embd"], cfg["bias"])
        self.mlp = MLP(cfg)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, cfg, vocab_size):
        super().__init__()
        self.block_size = cfg["block_size"]
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, cfg["n_embd"]),
            wpe=nn.Embedding(cfg["block_size"], cfg["n_embd"]),
            drop=nn.Dropout(cfg["dropout"]),
            h=nn.ModuleList([Block(cfg) for _ in range(cfg["n_layer"])]),
            ln_f=LayerNorm(cfg["n_embd"], cfg["bias"]),
        ))
        self.lm_head = nn.Linear(cfg["n_embd"], vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg["n_layer"]))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets):
        B, T = idx.size()
        pos = torch.arange(0, T, dtype=torch.long)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def lr_at(it, cfg):
    """nanoGPT's get_lr, as optim/lr_schedule.cpp WarmupCosine."""
    if not cfg["decay_lr"]:
        return cfg["learning_rate"]
    if it < cfg["warmup_iters"]:
        return cfg["learning_rate"] * (it + 1) / (cfg["warmup_iters"] + 1)
    if it >= cfg["lr_decay_iters"]:
        return cfg["min_lr"]
    ratio = (it - cfg["warmup_iters"]) / (cfg["lr_decay_iters"] - cfg["warmup_iters"])
    return cfg["min_lr"] + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (cfg["learning_rate"] - cfg["min_lr"])


def loaded_blas():
    """The BLAS library this process loaded (Debian's PyTorch calls libblas.so.3, whichever the
    system's alternative points to; LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp
    makes it OpenBLAS's OpenMP build, as ember uses)."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line.split()[-1]}
    libs = sorted(p for p in paths if "libblas" in p or "libopenblas" in p)
    return ", ".join(libs) if libs else "none found"


def main(cfg):
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(cfg["seed"])
    raw, source = training_text(cfg)
    text = raw.decode("utf-8")
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    tokens = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n_train = int(0.9 * len(tokens))
    splits = {"train": tokens[:n_train], "val": tokens[n_train:]}
    B, T = cfg["batch_size"], cfg["block_size"]

    def get_batch(split, generator=None):
        data = splits[split]
        ix = torch.randint(len(data) - T, (B,), generator=generator)
        x = torch.stack([data[i:i + T] for i in ix])
        y = torch.stack([data[i + 1:i + 1 + T] for i in ix])
        return x, y

    model = GPT(cfg, len(chars))
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg["weight_decay"]},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=cfg["learning_rate"], betas=(cfg["beta1"], cfg["beta2"]))
    n_params = sum(p.numel() for p in params)
    accumulation = cfg["gradient_accumulation_steps"]
    tokens_per_iter = B * T * accumulation
    print(f"torch {torch.__version__}: {n_params:,} parameters, {len(chars)} characters, {n_train:,} train / "
          f"{len(tokens) - n_train:,} val tokens from {source}; {torch.get_num_threads()} threads; "
          f"attention: {'F.scaled_dot_product_attention' if model.transformer.h[0].attn.flash else 'explicit softmax'}; "
          f"BLAS: {loaded_blas()}")

    @torch.no_grad()
    def estimate_loss():
        model.eval()
        out = {}
        for split in ("train", "val"):
            gen = torch.Generator().manual_seed(cfg["seed"] + 1)  # the same windows at every evaluation
            out[split] = sum(model(*get_batch(split, gen)).item() for _ in range(cfg["eval_iters"])) / cfg["eval_iters"]
        model.train()
        return out

    history, train_seconds, trained = [], 0.0, 0
    interval_seconds, interval_tokens = 0.0, 0
    max_iters = cfg["max_iters"]
    model.train()
    for it in range(max_iters + 1):
        if it % cfg["eval_interval"] == 0 or it == max_iters:
            losses = estimate_loss()
            history.append(dict(iter=it, train_loss=losses["train"], val_loss=losses["val"], lr=lr_at(it, cfg)))
            print(f"iter {it}: train loss {losses['train']:.5g}, val loss {losses['val']:.5g}", flush=True)
        if it == max_iters:
            break
        t0 = time.perf_counter()
        lr = lr_at(it, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss_sum = 0.0
        for _ in range(accumulation):
            x, y = get_batch("train")
            loss = model(x, y)
            loss_sum += loss.item()
            (loss / accumulation).backward()
        if cfg["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        seconds = time.perf_counter() - t0
        train_seconds += seconds
        interval_seconds += seconds
        interval_tokens += tokens_per_iter
        trained += 1
        if (it + 1) % cfg["log_interval"] == 0 or it + 1 == max_iters:
            print(f"iter {it + 1}/{max_iters}  loss {loss_sum / accumulation:.4g}  lr {lr:.3g}  "
                  f"{interval_tokens / interval_seconds:,.0f} tok/s", flush=True)
            interval_seconds, interval_tokens = 0.0, 0

    tokens_per_second = trained * tokens_per_iter / train_seconds if train_seconds > 0 else 0.0
    result = dict(iters=max_iters, train_loss=history[-1]["train_loss"], val_loss=history[-1]["val_loss"],
                  best_val_loss=min(h["val_loss"] for h in history), tokens_per_second=tokens_per_second,
                  params=n_params, threads=torch.get_num_threads(), torch=torch.__version__, history=history)
    print(f"done: {max_iters} iterations, val loss {result['val_loss']:.5g}, {tokens_per_second:,.0f} tokens/s")
    if EXTRA.get("json"):
        with open(EXTRA["json"], "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main(CFG)
