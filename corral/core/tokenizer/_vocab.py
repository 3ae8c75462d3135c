"""The vocabulary as llama.cpp loads it from GGUF metadata (``llama_vocab::impl::load``).

Token attributes, special token ids, the end-of-generation set and every token's piece are
derived the way llama.cpp derives them, including its text-based detection of EOT/FIM tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.core.errors import CorralError
from corral.core.tokenizer._bpe import PreTokenizer, pre_tokenizer
from corral.core.tokenizer._unicode import UNICODE_TO_BYTE

__all__ = ["Attr", "UnsupportedTokenizer", "Vocab", "load_vocab"]


class UnsupportedTokenizer(CorralError):
    """The GGUF's tokenizer is one this package does not implement (or its metadata is invalid).

    Raised by :class:`GGUFTokenizer` construction, so a backend probe can catch it and decline the
    model with ``str(exc)`` as the reason. Status 400: the model, not the server, is at fault.
    """

    status = 400


class Attr:
    """``llama_token_attr`` bits."""

    UNDEFINED = 0
    UNKNOWN = 1 << 0
    UNUSED = 1 << 1
    NORMAL = 1 << 2
    CONTROL = 1 << 3
    USER_DEFINED = 1 << 4
    BYTE = 1 << 5
    LSTRIP = 1 << 7
    RSTRIP = 1 << 8


# tokenizer.ggml.token_type -> attribute
_TYPE_ATTR = {0: Attr.UNDEFINED, 1: Attr.NORMAL, 2: Attr.UNKNOWN, 3: Attr.CONTROL,
              4: Attr.USER_DEFINED, 5: Attr.UNUSED, 6: Attr.BYTE}  # fmt: skip

_P = "tokenizer.ggml."
_SPECIAL_KEYS = (
    "bos", "eos", "eot", "eom", "unk", "sep", "pad", "mask", "fim_pre", "fim_suf", "fim_mid",
    "fim_pad", "fim_rep", "fim_sep",
)  # fmt: skip
_KEY_NAMES = {
    "bos": ["bos_token_id"], "eos": ["eos_token_id"], "eot": ["eot_token_id"], "eom": ["eom_token_id"],
    "unk": ["unknown_token_id"], "sep": ["seperator_token_id"], "pad": ["padding_token_id"],
    "mask": ["mask_token_id"], "fim_pre": ["fim_pre_token_id", "prefix_token_id"],
    "fim_suf": ["fim_suf_token_id", "suffix_token_id"], "fim_mid": ["fim_mid_token_id", "middle_token_id"],
    "fim_pad": ["fim_pad_token_id"], "fim_rep": ["fim_rep_token_id"], "fim_sep": ["fim_sep_token_id"],
}  # fmt: skip

# Texts llama.cpp recognises when the metadata does not name the token.
_AUTO = {
    "eot": ("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
            "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"),
    "eom": ("<|eom_id|>",),
    "fim_pre": ("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
                "<|code_prefix|>", "<|prefix|>"),
    "fim_suf": ("<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
                "<|code_suffix|>", "<|suffix|>"),
    "fim_mid": ("<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
                "<|code_middle|>", "<|middle|>"),
    "fim_pad": ("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"),
    "fim_rep": ("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"),
    "fim_sep": ("<|file_sep|>",),
}  # fmt: skip
_EOG_TEXTS = frozenset((
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<｜end▁of▁sentence｜>", "[e~[",
))  # fmt: skip


@dataclass
class Vocab:
    """Everything the encoders and ``piece`` need, built once per model."""

    model: str
    tokens: list[str]
    scores: list[float]
    attrs: list[int]
    token_to_id: dict[str, int]
    special: dict[str, int | None]
    add_bos: bool
    add_eos: bool
    add_sep: bool
    add_space_prefix: bool
    pre: PreTokenizer | None
    merges: list[str] = field(default_factory=list)
    eog: frozenset[int] = frozenset()
    special_cache: list[int] = field(default_factory=list)
    """Control, user-defined and unknown tokens, longest (in bytes) first."""
    lowercase: bool = False
    strip_accents: bool = False
    _pieces: dict[int, bytes] = field(default_factory=dict, repr=False)

    def piece(self, token: int) -> bytes:
        """``token_to_piece(token, lstrip=0, special=true)`` (IndexError outside the vocabulary).

        Computed on first use: the LSTRIP/RSTRIP bits set after llama.cpp fills its piece cache
        do not change a piece.
        """
        piece = self._pieces.get(token)
        if piece is None:
            if not 0 <= token < len(self.tokens):
                raise IndexError(f"token id {token} is outside the vocabulary")
            piece = self._pieces[token] = _piece(self, token)
        return piece

    def byte_token(self, byte: int) -> int:
        """``llama_vocab::byte_to_token`` for SentencePiece vocabularies (KeyError if absent)."""
        token = self.token_to_id.get(f"<0x{byte:02X}>")
        return token if token is not None else self.token_to_id[chr(byte)]


def _list(metadata: Mapping[str, Any], key: str) -> list[Any] | None:
    value = metadata.get(key)
    if value is None:
        return None
    if isinstance(value, str | bytes):
        raise UnsupportedTokenizer(f"invalid GGUF value for {key}: not an array")
    try:
        return list(value)
    except TypeError:  # a scalar, or an array the reader skipped (keep_arrays=False)
        raise UnsupportedTokenizer(f"invalid GGUF value for {key}: not an array") from None


def _defaults(model: str) -> dict[str, int | None]:
    special: dict[str, int | None] = dict.fromkeys(_SPECIAL_KEYS)
    if model == "llama":
        special.update(bos=1, eos=2, unk=0)
    elif model == "gpt2":
        special.update(bos=11, eos=11)
    elif model == "bert":
        special.update(bos=101, unk=100, sep=102, pad=0, mask=103)
    return special


def load_vocab(metadata: Mapping[str, Any]) -> Vocab:
    """Build the vocabulary from GGUF metadata; raises :class:`UnsupportedTokenizer`."""
    model = metadata.get(_P + "model")
    if not isinstance(model, str):
        raise UnsupportedTokenizer("the GGUF file has no tokenizer.ggml.model")
    if model not in ("llama", "gpt2", "bert"):
        raise UnsupportedTokenizer(
            f"tokenizer model {model!r} is not supported "
            "(supported: llama/SentencePiece, gpt2/BPE, bert/WordPiece)"
        )
    pre_name = metadata.get(_P + "pre")
    pre: PreTokenizer | None = None
    add_bos, add_eos, add_sep, add_space_prefix = False, False, False, False
    if model == "gpt2":
        pre = pre_tokenizer(pre_name if isinstance(pre_name, str) else None)
        if pre is None:
            raise UnsupportedTokenizer(f"BPE pre-tokenizer {pre_name!r} is not supported")
        add_bos = pre.add_bos
    elif model == "llama":
        add_bos, add_space_prefix = True, True
    else:
        add_bos, add_sep = True, True

    tokens = _list(metadata, _P + "tokens")
    if not tokens:
        raise UnsupportedTokenizer("the GGUF file has no tokenizer.ggml.tokens")
    n = len(tokens)
    types = _list(metadata, _P + "token_type")
    try:
        scores = [float(s) for s in (_list(metadata, _P + "scores") or [0.0] * n)]
        type_ids = None if types is None else [int(t) for t in types[:n]]
    except (TypeError, ValueError):
        raise UnsupportedTokenizer("tokenizer.ggml.scores and token_type must hold numbers") from None
    if len(scores) < n or (type_ids is not None and len(type_ids) < n):
        raise UnsupportedTokenizer("tokenizer arrays are shorter than the token list")
    merges: list[str] = []
    if model == "gpt2":
        raw = _list(metadata, _P + "merges")
        if raw is None:
            raise UnsupportedTokenizer("the BPE tokenizer has no tokenizer.ggml.merges")
        merges = [str(m) for m in raw]

    texts = [t if isinstance(t, str) and t else str(t) or f"[EMPTY_{i}]" for i, t in enumerate(tokens)]
    token_to_id = {text: i for i, text in enumerate(texts)}
    if len(token_to_id) != n:
        seen: set[str] = set()
        duplicate = next(t for t in texts if t in seen or seen.add(t))  # type: ignore[func-returns-value]
        raise UnsupportedTokenizer(f"duplicate token in vocabulary: {duplicate!r}")
    if type_ids is None:
        attrs = [Attr.NORMAL] * n
    else:
        table = [_TYPE_ATTR[t] for t in range(7)]
        attrs = [table[t] if 0 <= t < 7 else Attr.UNDEFINED for t in type_ids]

    special = _defaults(model)
    if pre is not None and pre.no_bos:
        special["bos"] = None
    for name in _SPECIAL_KEYS:
        current = special[name]
        if current is not None and current >= n:
            special[name] = current = None
        for key in _KEY_NAMES[name]:
            value = metadata.get(_P + key)
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < n:
                special[name] = value

    flags: dict[str, bool] = {"add_bos_token": add_bos, "add_eos_token": add_eos, "add_sep_token": add_sep,
                              "add_space_prefix": add_space_prefix}  # fmt: skip
    for key in flags:
        value = metadata.get(_P + key)
        if isinstance(value, bool):
            flags[key] = value
    for flag, name in (("add_bos_token", "bos"), ("add_eos_token", "eos"), ("add_sep_token", "sep")):
        if flags[flag] and special[name] is None:
            raise UnsupportedTokenizer(f"{_P}{flag} is true, but the {name} token id is not set")
    lowercase = bool(metadata.get(_P + "normalizer.lowercase", True))
    strip_accents = bool(metadata.get(_P + "normalizer.strip_accents", lowercase))

    vocab = Vocab(
        model=model, tokens=texts, scores=scores, attrs=attrs, token_to_id=token_to_id, special=special,
        add_bos=flags["add_bos_token"], add_eos=flags["add_eos_token"], add_sep=flags["add_sep_token"],
        add_space_prefix=flags["add_space_prefix"], pre=pre, merges=merges,
        lowercase=lowercase, strip_accents=strip_accents,
    )  # fmt: skip
    _detect_special(vocab)
    vocab.special_cache = sorted(
        (i for i, a in enumerate(attrs) if a & (Attr.CONTROL | Attr.USER_DEFINED | Attr.UNKNOWN)),
        key=lambda i: -len(texts[i].encode("utf-8")),
    )
    _model_specific_attrs(vocab, metadata)
    return vocab


def _detect_special(vocab: Vocab) -> None:
    """EOT/EOM/FIM detection by text, unused tokens, and the end-of-generation set."""
    attrs, special, token_to_id = vocab.attrs, vocab.special, vocab.token_to_id
    for name, texts in _AUTO.items():
        if special[name] is not None:
            continue
        found = [token_to_id[t] for t in texts if t in token_to_id]
        if found:
            # llama.cpp takes the first match in hash-map order; the lowest id stands in for it.
            special[name] = min(found)
            attrs[min(found)] |= Attr.CONTROL
    for i, text in enumerate(vocab.tokens):
        if attrs[i] & Attr.CONTROL and "unused" in text:
            attrs[i] |= Attr.UNUSED
    eog: set[int] = {t for t in (special["fim_pad"], special["fim_rep"], special["fim_sep"]) if t is not None}
    for text in _EOG_TEXTS:
        found_id = token_to_id.get(text)
        if found_id is not None:
            eog.add(found_id)
            attrs[found_id] |= Attr.CONTROL
    for text in ("<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"):
        if text in token_to_id:
            attrs[token_to_id[text]] = Attr.USER_DEFINED
    eog.update(t for t in (special["eos"], special["eot"], special["eom"]) if t is not None)
    eog_texts = {vocab.tokens[i]: i for i in eog}
    end = eog_texts.get("<|end|>")
    if end is not None and (  # gpt-oss / solar-open: <|end|> ends a message, not the generation
        ("<|return|>" in eog_texts and ("<|call|>" in eog_texts or "<|calls|>" in eog_texts))
        or (("<|call|>" in eog_texts or "<|calls|>" in eog_texts) and "<|flush|>" in eog_texts)
    ):
        eog.discard(end)
        attrs[end] = Attr.USER_DEFINED
    s_id = eog_texts.get("</s>")
    if s_id is not None and "<|tool_response>" in eog_texts:
        eog.discard(s_id)
        attrs[s_id] = Attr.NORMAL
    vocab.eog = frozenset(eog)


def _model_specific_attrs(vocab: Vocab, metadata: Mapping[str, Any]) -> None:
    """LSTRIP/RSTRIP attributes llama.cpp sets by model name (after the pieces are cached)."""
    name = str(metadata.get("general.name") or "").lower()
    pre = str(metadata.get(_P + "pre") or "")
    arch = str(metadata.get("general.architecture") or "")
    ids = vocab.token_to_id
    if any(s in pre for s in ("jina-v2-de", "jina-v2-es", "jina-v2-code")) or any(
        s in arch for s in ("nomic-bert-moe", "jina-bert-v3")
    ):
        if "<mask>" in ids:
            vocab.attrs[ids["<mask>"]] |= Attr.LSTRIP
    elif "phi-3" in name or "phi3" in name:
        for i in vocab.special_cache:
            vocab.attrs[i] |= Attr.RSTRIP
        for text, on in (("</s>", True), ("<unk>", False), ("<s>", False), ("<|endoftext|>", False)):
            if text in ids:
                vocab.attrs[ids[text]] = (
                    (vocab.attrs[ids[text]] | Attr.RSTRIP) if on else (vocab.attrs[ids[text]] & ~Attr.RSTRIP)
                )
    elif "modern-bert" in name and "[MASK]" in ids:
        vocab.attrs[ids["[MASK]"]] |= Attr.LSTRIP


def _decode_bpe_text(text: str) -> bytes:
    """``llama_decode_text``: GPT-2 printable characters back to bytes."""
    out = bytearray()
    for ch in text:
        b = UNICODE_TO_BYTE.get(ch)
        if b is not None:
            out.append(b)
        else:
            out += b"[UNK_BYTE_0x" + ch.encode("utf-8").hex().encode() + text.encode("utf-8") + b"]"
    return bytes(out)


def _piece(vocab: Vocab, token: int) -> bytes:
    """``token_to_piece(token, lstrip=0, special=true)``."""
    attr, text = vocab.attrs[token], vocab.tokens[token]
    if attr & (Attr.UNKNOWN | Attr.CONTROL | Attr.USER_DEFINED):
        return text.encode("utf-8")
    if attr & Attr.NORMAL:
        if vocab.model == "gpt2":
            return _decode_bpe_text(text)
        return text.replace("\u2581", " ").encode("utf-8")
    if attr & Attr.BYTE:
        return bytes([_hex_byte(text[3:5])])
    return b""


def _hex_byte(digits: str) -> int:
    """``strtol(digits, NULL, 16)`` truncated to a byte: leading hex digits, 0 if none."""
    value = 0
    for ch in digits:
        if ch not in "0123456789abcdefABCDEF":
            break
        value = value * 16 + int(ch, 16)
    return value & 0xFF
