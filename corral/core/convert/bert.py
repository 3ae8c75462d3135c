"""BERT (``BertModel``) safetensors → GGUF, following llama.cpp's ``convert_hf_to_gguf.py`` conventions.

Architecture ``bert``; tensors ``token_embd``, ``token_types``, ``position_embd``,
``token_embd_norm`` and per block ``attn_q/k/v``, ``attn_output``, ``attn_output_norm``,
``ffn_up``, ``ffn_down``, ``layer_output_norm``; the pooler and masked-LM heads are dropped.
Matrices are stored as F16 (or F32), vectors, norms, position and token-type embeddings as F32.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import numpy.typing as npt

from corral.core.convert.safetensors import read_safetensors
from corral.core.convert.vocab import read_wordpiece
from corral.core.errors import BadRequest

__all__ = ["convert_bert"]

_SKIP_PREFIXES = ("pooler.", "cls.", "embeddings.position_ids")
_ALWAYS_F32 = (gguf.MODEL_TENSOR.POS_EMBD, gguf.MODEL_TENSOR.TOKEN_TYPES)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"{path.name} could not be read: {exc}") from None
    return data if isinstance(data, dict) else {}


def _pooling(model_dir: Path) -> gguf.PoolingType:
    """The sentence-transformers pooling (modules.json → its Pooling module's config); MEAN by default."""
    modules: Any = []
    with contextlib.suppress(OSError, ValueError):
        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
    for module in modules if isinstance(modules, list) else []:
        if isinstance(module, dict) and str(module.get("type", "")).endswith(".Pooling"):
            cfg = _read_json(model_dir / str(module.get("path", "")) / "config.json")
            if cfg.get("pooling_mode_cls_token"):
                return gguf.PoolingType.CLS
            if cfg.get("pooling_mode_lasttoken"):
                return gguf.PoolingType.LAST
    return gguf.PoolingType.MEAN


def _require(cfg: dict[str, Any], key: str) -> int:
    value = cfg.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise BadRequest(f"config.json: {key} is missing or not a positive integer")
    return value


def _hf_name(name: str) -> str:
    return name[len("bert.") :] if name.startswith("bert.") else name


def convert_bert(
    model_dir: Path,
    out: Path,
    *,
    f16: bool = True,
    progress: Callable[[str], None] = lambda s: None,
) -> None:
    """Write ``out`` (a GGUF file) from the BERT model in ``model_dir``.

    ``model_dir`` holds ``config.json``, ``tokenizer.json`` (WordPiece) and ``*.safetensors``,
    and optionally sentence-transformers' ``modules.json`` + pooling config. Raises
    :class:`BadRequest` when the directory is not a BERT model this converter understands.
    """
    cfg = _read_json(model_dir / "config.json")
    archs = cfg.get("architectures") or []
    if cfg.get("model_type") != "bert" and "BertModel" not in archs:
        raise BadRequest(
            f"unsupported architecture {archs or cfg.get('model_type')!r}: only BERT can be converted"
        )
    n_block = _require(cfg, "num_hidden_layers")
    hidden = _require(cfg, "hidden_size")
    weights = sorted(model_dir.glob("*.safetensors"))
    if not weights:
        raise BadRequest("no safetensors files found")
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_block)
    always_f32 = {gguf.TENSOR_NAMES[t] for t in _ALWAYS_F32}

    writer = gguf.GGUFWriter(out, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
    n_vocab = 0
    seen: set[str] = set()
    for path in weights:
        progress(f"converting {path.name}")
        for raw_name, arr in read_safetensors(path):
            name = _hf_name(raw_name)
            if name.startswith(_SKIP_PREFIXES):
                continue
            new = names.get_name(name, try_suffixes=(".weight", ".bias"))
            if new is None:
                raise BadRequest(f"cannot map tensor {raw_name!r} to a llama.cpp BERT tensor")
            if new in seen:
                raise BadRequest(f"tensor {raw_name!r} appears twice")
            seen.add(new)
            if new == "token_embd.weight":
                n_vocab = int(arr.shape[0])
            data: npt.NDArray[Any] = np.asarray(arr, dtype=np.float32)
            as_f16 = (
                f16 and data.ndim >= 2 and name.endswith(".weight") and new.split(".")[0] not in always_f32
            )
            writer.add_tensor(new, data.astype(np.float16) if as_f16 else np.ascontiguousarray(data))
    missing = {"token_embd.weight", "position_embd.weight", "token_embd_norm.weight"} - seen
    if missing:
        raise BadRequest(f"the model has no {', '.join(sorted(missing))}")

    vocab = read_wordpiece(model_dir / "tokenizer.json", n_vocab)
    writer.add_name(str(cfg.get("_name_or_path") or model_dir.name).rsplit("/", 1)[-1] or "bert")
    writer.add_context_length(_require(cfg, "max_position_embeddings"))
    writer.add_embedding_length(hidden)
    writer.add_feed_forward_length(_require(cfg, "intermediate_size"))
    writer.add_block_count(n_block)
    writer.add_head_count(_require(cfg, "num_attention_heads"))
    writer.add_layer_norm_eps(float(cfg.get("layer_norm_eps", 1e-12)))
    writer.add_causal_attention(False)
    writer.add_pooling_type(_pooling(model_dir))
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if f16 else gguf.LlamaFileType.ALL_F32)
    writer.add_token_type_count(int(cfg.get("type_vocab_size", 1)))
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.types)
    setters: dict[str, Callable[[int], None]] = {
        "bos": writer.add_bos_token_id,
        "eos": writer.add_eos_token_id,
        "unk": writer.add_unk_token_id,
        "sep": writer.add_sep_token_id,
        "pad": writer.add_pad_token_id,
        "mask": writer.add_mask_token_id,
    }
    for role, token_id in vocab.special.items():
        if role in setters:  # "cls" is the BOS token in GGUF
            setters[role](token_id)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(True)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)

    progress("writing gguf")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
