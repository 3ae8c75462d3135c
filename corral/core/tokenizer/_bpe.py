"""GPT-2 style byte-level BPE (``tokenizer.ggml.model == "gpt2"``), as llama.cpp runs it.

The text is split by the pre-tokenizer regexes of ``tokenizer.ggml.pre``, each word is mapped
byte by byte to GPT-2's printable characters, then merged pair by pair in merge-rank order.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass

from corral.core.tokenizer._unicode import (
    BYTE_TO_UNICODE,
    GPT2_PATTERN,
    LLAMA3_PATTERNS,
    check_patterns,
    regex_split,
)

__all__ = ["PRE_TOKENIZERS", "BpeModel", "PreTokenizer", "pre_tokenizer"]

_LLAMA3 = LLAMA3_PATTERNS[1]
_QWEN2 = (
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
)
# The following are llama.cpp's C string literals, copied verbatim (same escapes in Python).
_QWEN35 = (
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}"
    "| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
)
_TEKKEN = (
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+"
    "((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
)
_CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
_GPT4O = (
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+" + _CONTRACTIONS + "?"
    "|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*" + _CONTRACTIONS + "?"
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
)
_DEEPSEEK_CODER = ("[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}")
_DEEPSEEK3 = (
    "\\p{N}{1,3}",
    "[一-龥぀-ゟ゠-ヿ]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
    "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
)
_PORO = (" ?[^(\\s|.,!?…。，、।۔،)]+",)
_SEED_CODER = (
    _CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+"
    "|\\s+(?!\\S)|\\s+"
)
_BAILINGMOE = (
    "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"
)
_DEFAULT = ("[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2_PATTERN, "\\p{N}+", "[0-9][0-9][0-9]")
_STARCODER = ("\\p{N}", GPT2_PATTERN)
_FALCON = ("[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2_PATTERN, "[0-9][0-9][0-9]")


@dataclass(frozen=True)
class PreTokenizer:
    """What a ``tokenizer.ggml.pre`` value selects in llama.cpp (``llama_vocab::impl::load``)."""

    regexes: tuple[str, ...]
    ignore_merges: bool = False
    """A word that is itself a token is not merged (Llama 3)."""
    add_bos: bool = False
    """Default of ``add_bos_token`` before the metadata key is read."""
    no_bos: bool = False
    """The default BOS id is cleared (ChatGLM)."""


_GROUPS: tuple[tuple[tuple[str, ...], PreTokenizer], ...] = (
    (("default",), PreTokenizer(_DEFAULT)),
    (
        ("llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
         "jina-v5-nano"),
        PreTokenizer((_LLAMA3,), ignore_merges=True, add_bos=True),
    ),
    (("dbrx", "smaug-bpe"), PreTokenizer((_LLAMA3,))),
    (("glm4", "chatglm-bpe"), PreTokenizer((_LLAMA3,), no_bos=True)),
    (("qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2"), PreTokenizer((_QWEN2,))),
    (
        ("gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
         "modern-bert", "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4"),
        PreTokenizer((GPT2_PATTERN,)),
    ),
    (("starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2"),
     PreTokenizer(_STARCODER)),
    (("falcon",), PreTokenizer(_FALCON)),
    (("qwen35",), PreTokenizer((_QWEN35,))),
    (("tekken",), PreTokenizer((_TEKKEN,), ignore_merges=True, add_bos=True)),
    (("gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"), PreTokenizer((_GPT4O,))),
    (("deepseek-coder",), PreTokenizer(_DEEPSEEK_CODER)),
    (("deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4"), PreTokenizer(_DEEPSEEK3)),
    (("poro-chat", "bloom", "gpt3-finnish"), PreTokenizer(_PORO)),
    (("seed-coder",), PreTokenizer((_SEED_CODER,))),
    (("bailingmoe", "bailingmoe2", "llada-moe"), PreTokenizer((_BAILINGMOE,))),
    (("grok-2", "hunyuan", "solar-open"), PreTokenizer((_QWEN2,))),
)  # fmt: skip

PRE_TOKENIZERS: Mapping[str, PreTokenizer] = {name: pre for names, pre in _GROUPS for name in names}
"""Supported ``tokenizer.ggml.pre`` values (a missing value means ``default``)."""


def pre_tokenizer(name: str | None) -> PreTokenizer | None:
    """The pre-tokenizer for a ``tokenizer.ggml.pre`` value, ``None`` if it is not supported."""
    return PRE_TOKENIZERS.get(name or "default")


class BpeModel:
    """Merges and the per-word merge loop (``llm_tokenizer_bpe_session``)."""

    def __init__(self, token_to_id: Mapping[str, int], merges: list[str], pre: PreTokenizer) -> None:
        self._token_to_id = token_to_id
        self._pre = pre
        check_patterns(pre.regexes)
        self._ranks: dict[tuple[str, str], int] = {}
        for rank, merge in enumerate(merges):
            pos = merge.find(" ", 1)
            pair = (merge[:pos], merge[pos + 1 :]) if pos != -1 else ("", "")
            self._ranks.setdefault(pair, rank)
        self._cache: dict[str, tuple[int, ...]] = {}

    def encode(self, text: str, out: list[int]) -> None:
        """Append the tokens of a raw-text fragment to ``out``."""
        for word in regex_split(text, self._pre.regexes):
            cached = self._cache.get(word)
            if cached is None:
                cached = tuple(self._encode_word(word))
                if len(self._cache) < 100_000:
                    self._cache[word] = cached
            out.extend(cached)

    def _encode_word(self, word: str) -> list[int]:
        encoded = "".join(BYTE_TO_UNICODE[b] for b in word.encode("utf-8"))
        token_to_id = self._token_to_id
        if self._pre.ignore_merges and encoded in token_to_id:
            return [token_to_id[encoded]]
        symbols = list(encoded)
        n = len(symbols)
        prev = list(range(-1, n - 1))
        nxt = [*range(1, n), -1]
        ranks = self._ranks
        heap: list[tuple[int, int, int, str]] = []

        def add(left: int, right: int) -> None:
            if left == -1 or right == -1:
                return
            rank = ranks.get((symbols[left], symbols[right]))
            if rank is not None:
                heapq.heappush(heap, (rank, left, right, symbols[left] + symbols[right]))

        for i in range(1, n):
            add(i - 1, i)
        while heap:
            _, left, right, text = heapq.heappop(heap)
            if not symbols[left] or not symbols[right] or symbols[left] + symbols[right] != text:
                continue
            symbols[left] = text
            symbols[right] = ""
            nxt[left] = nxt[right]
            if nxt[right] >= 0:
                prev[nxt[right]] = left
            add(prev[left], left)
            add(left, nxt[left])

        out: list[int] = []
        for sym in symbols:
            if not sym:
                continue
            token = token_to_id.get(sym)
            if token is not None:
                out.append(token)
                continue
            # llama.cpp looks each UTF-8 byte of the symbol up as a one-byte token: only ASCII
            # bytes can match, the others are dropped.
            for b in sym.encode("utf-8"):
                token = token_to_id.get(chr(b)) if b < 0x80 else None
                if token is not None:
                    out.append(token)
        return out
