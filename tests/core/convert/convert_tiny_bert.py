"""A tiny random BERT in Hugging Face layout (safetensors + config.json + tokenizer.json) and a numpy
forward pass of it, for the converter tests."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
from safetensors.numpy import save_file

HIDDEN, HEADS, LAYERS, FF, MAX_POS = 32, 4, 2, 64, 64
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["the", "cat", "##s", "sat", "on", "mat", ".", "dog", "ran", "##ning", "a", "hello", "world", "!"]
VOCAB = SPECIALS + WORDS
ID = {tok: i for i, tok in enumerate(VOCAB)}

Array = npt.NDArray[np.float32]


def write_tiny_bert(directory: Path, *, seed: int = 0, pooling: str | None = "mean") -> dict[str, Array]:
    """Write the model files into ``directory``; return the tensors by Hugging Face name."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)

    def rand(*shape: int, scale: float = 0.2) -> Array:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    t: dict[str, Array] = {
        "embeddings.word_embeddings.weight": rand(len(VOCAB), HIDDEN),
        "embeddings.position_embeddings.weight": rand(MAX_POS, HIDDEN),
        "embeddings.token_type_embeddings.weight": rand(2, HIDDEN),
        "embeddings.LayerNorm.weight": 1 + rand(HIDDEN, scale=0.05),
        "embeddings.LayerNorm.bias": rand(HIDDEN, scale=0.05),
        "pooler.dense.weight": rand(HIDDEN, HIDDEN),
        "pooler.dense.bias": rand(HIDDEN),
    }
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for part in ("query", "key", "value"):
            t[p + f"attention.self.{part}.weight"] = rand(HIDDEN, HIDDEN)
            t[p + f"attention.self.{part}.bias"] = rand(HIDDEN, scale=0.05)
        t[p + "attention.output.dense.weight"] = rand(HIDDEN, HIDDEN)
        t[p + "attention.output.dense.bias"] = rand(HIDDEN, scale=0.05)
        t[p + "attention.output.LayerNorm.weight"] = 1 + rand(HIDDEN, scale=0.05)
        t[p + "attention.output.LayerNorm.bias"] = rand(HIDDEN, scale=0.05)
        t[p + "intermediate.dense.weight"] = rand(FF, HIDDEN)
        t[p + "intermediate.dense.bias"] = rand(FF, scale=0.05)
        t[p + "output.dense.weight"] = rand(HIDDEN, FF)
        t[p + "output.dense.bias"] = rand(HIDDEN, scale=0.05)
        t[p + "output.LayerNorm.weight"] = 1 + rand(HIDDEN, scale=0.05)
        t[p + "output.LayerNorm.bias"] = rand(HIDDEN, scale=0.05)
    save_file(
        {"embeddings.position_ids": np.arange(MAX_POS, dtype=np.int64)[None], **t},
        directory / "model.safetensors",
    )
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": HIDDEN,
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "intermediate_size": FF,
        "max_position_embeddings": MAX_POS,
        "type_vocab_size": 2,
        "vocab_size": len(VOCAB),
        "layer_norm_eps": 1e-12,
        "hidden_act": "gelu",
    }
    (directory / "config.json").write_text(json.dumps(config))
    tokenizer = {
        "version": "1.0",
        "added_tokens": [
            {
                "id": ID[s],
                "content": s,
                "special": True,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
            }
            for s in SPECIALS
        ],
        "normalizer": {"type": "BertNormalizer", "lowercase": True, "clean_text": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "model": {
            "type": "WordPiece",
            "unk_token": "[UNK]",
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": ID,
        },
    }
    (directory / "tokenizer.json").write_text(json.dumps(tokenizer))
    if pooling is not None:
        modules = [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        ]
        (directory / "modules.json").write_text(json.dumps(modules))
        (directory / "1_Pooling").mkdir(exist_ok=True)
        pool = {"pooling_mode_mean_tokens": pooling == "mean", "pooling_mode_cls_token": pooling == "cls"}
        (directory / "1_Pooling" / "config.json").write_text(json.dumps(pool))
    return t


def _layer_norm(x: Array, w: Array, b: Array) -> Array:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return ((x - mu) / np.sqrt(var + 1e-12)) * w + b


def _gelu(x: Array) -> Array:
    erf = np.vectorize(math.erf)
    return (0.5 * x * (1 + erf(x / math.sqrt(2)))).astype(np.float32)


def forward_mean(t: dict[str, Array], ids: list[int]) -> Array:
    """BertModel's last hidden state for ``ids`` (one sequence, token type 0), mean-pooled."""
    n = len(ids)
    x = t["embeddings.word_embeddings.weight"][ids] + t["embeddings.position_embeddings.weight"][:n]
    x = x + t["embeddings.token_type_embeddings.weight"][0]
    x = _layer_norm(x, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
    d = HIDDEN // HEADS
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."

        def lin(name: str, v: Array, p: str = p) -> Array:
            return v @ t[p + name + ".weight"].T + t[p + name + ".bias"]

        q, k, v = (
            lin(f"attention.self.{s}", x).reshape(n, HEADS, d).transpose(1, 0, 2)
            for s in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        att = np.exp(scores - scores.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        ctx = (att @ v).transpose(1, 0, 2).reshape(n, HIDDEN)
        x = _layer_norm(
            lin("attention.output.dense", ctx) + x,
            t[p + "attention.output.LayerNorm.weight"],
            t[p + "attention.output.LayerNorm.bias"],
        )
        h = lin("output.dense", _gelu(lin("intermediate.dense", x)))
        x = _layer_norm(h + x, t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"])
    return x.mean(0)
