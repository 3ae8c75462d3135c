"""GGUFTokenizer: text <-> token ids from a GGUF file's tokenizer metadata, exactly as llama.cpp."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from corral.core.errors import BadRequest
from corral.core.tokenizer._bpe import BpeModel
from corral.core.tokenizer._special import SpecialMatcher
from corral.core.tokenizer._spm import SpmModel
from corral.core.tokenizer._vocab import Attr, UnsupportedTokenizer, Vocab, load_vocab
from corral.core.tokenizer._wpm import WpmModel

__all__ = ["GGUFTokenizer"]


def _valid_text(text: str) -> str:
    """Lone surrogates become U+FFFD, as the llama.cpp runner does before tokenizing."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


class GGUFTokenizer:
    """A GGUF model's tokenizer in pure Python, token-for-token identical to llama.cpp's.

    Supports ``tokenizer.ggml.model`` ``llama`` (SentencePiece BPE with byte fallback, e.g. Llama
    2, Gemma), ``gpt2`` (byte-level BPE; the ``tokenizer.ggml.pre`` values listed in
    :data:`corral.core.tokenizer.PRE_TOKENIZERS`) and ``bert`` (WordPiece). Anything else raises
    :class:`~corral.core.tokenizer.UnsupportedTokenizer` (a ``CorralError``) at construction.
    Building indexes the vocabulary once (about a second for a 262k-token vocabulary); encoding
    and decoding are then thread-safe.
    """

    def __init__(self, vocab: Vocab) -> None:
        """Use :meth:`from_gguf` or :meth:`from_metadata`."""
        self._vocab = vocab
        self.vocab_size: int = len(vocab.tokens)
        """Number of tokens."""
        self.bos_id: int | None = vocab.special["bos"]
        """Beginning-of-sequence token (``None`` when the model has none)."""
        self.eos_id: int | None = vocab.special["eos"]
        """End-of-sequence token (``None`` when the model has none)."""
        self.eog_ids: frozenset[int] = vocab.eog
        """Tokens that end a generation (EOS, EOT, EOM, FIM pad/repo/sep...), as llama.cpp lists them."""
        self.add_bos: bool = vocab.add_bos
        """Whether ``encode(add_special=True)`` prepends BOS."""
        self.add_eos: bool = vocab.add_eos
        """Whether ``encode(add_special=True)`` appends EOS."""
        attrs, texts = vocab.attrs, vocab.tokens
        order = vocab.special_cache
        self._special = SpecialMatcher(
            order,
            texts,
            [bool(attrs[t] & (Attr.CONTROL | Attr.UNKNOWN)) for t in order],
            [bool(attrs[t] & Attr.LSTRIP) for t in order],
            [bool(attrs[t] & Attr.RSTRIP) for t in order],
        )
        self._spm: SpmModel | None = None
        self._bpe: BpeModel | None = None
        self._wpm: WpmModel | None = None
        if vocab.model == "llama":
            self._spm = SpmModel(vocab.token_to_id, vocab.scores, vocab.byte_token)
        elif vocab.model == "gpt2":
            assert vocab.pre is not None
            self._bpe = BpeModel(vocab.token_to_id, vocab.merges, vocab.pre)
        else:
            self._wpm = WpmModel(
                vocab.token_to_id, vocab.special["unk"], vocab.lowercase, vocab.strip_accents
            )

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> GGUFTokenizer:
        """Build from GGUF key -> value (arrays as lists), e.g. ``read_gguf(path).metadata``."""
        return cls(load_vocab(metadata))

    @classmethod
    def from_gguf(cls, path: Path | str) -> GGUFTokenizer:
        """Build from a GGUF file's ``tokenizer.*`` keys (the tensors are not read).

        Raises :class:`~corral.core.errors.GGUFError` for a malformed file and
        :class:`UnsupportedTokenizer` for a tokenizer this package does not implement.
        """
        from corral.core.gguf import read_gguf

        return cls.from_metadata(read_gguf(Path(path)).metadata)

    @property
    def model(self) -> str:
        """``tokenizer.ggml.model``: ``llama``, ``gpt2`` or ``bert``."""
        return self._vocab.model

    def partition(self, text: str, *, parse_special: bool = True) -> list[str | int]:
        """``text`` cut where :meth:`encode` cuts it: raw-text fragments (``str``, never two in a row)
        and the ids of the special tokens between them. For backends that bring their own text
        tokenizer but not llama.cpp's special-token parsing (the ctransformers plugin)."""
        return list(self._special.partition(_valid_text(text), parse_special))

    def encode(
        self, text: str, *, add_special: bool = True, parse_special: bool = True, space_prefix: bool = True
    ) -> list[int]:
        """Text to token ids, like ``llama_tokenize(text, add_special, parse_special)``.

        ``add_special`` adds BOS/EOS (for WordPiece: CLS/SEP) as the metadata says;
        ``parse_special`` turns the text of control tokens (``<start_of_turn>``, ``</s>``...)
        into those tokens. User-defined tokens are always matched. ``space_prefix=False`` leaves
        out SentencePiece's leading space, for text that continues other text (grammar literals).
        """
        vocab = self._vocab
        fragments = self._special.partition(_valid_text(text), parse_special)
        out: list[int] = []
        if self._spm is not None:
            if add_special and vocab.add_bos:
                out.append(self._require("bos"))
            prev_special = True
            for frag in fragments:
                if isinstance(frag, int):
                    out.append(frag)
                    prev_special = True
                    continue
                if vocab.add_space_prefix and prev_special and space_prefix:
                    frag = " " + frag
                try:
                    self._spm.encode(frag.replace(" ", "\u2581"), out)
                except KeyError as exc:
                    raise BadRequest(f"the vocabulary has no token for byte {exc}") from None
                prev_special = False
            if add_special and vocab.add_eos:
                out.append(self._require("eos"))
        elif self._bpe is not None:
            if add_special and vocab.add_bos:
                out.append(self._require("bos"))
            for frag in fragments:
                if isinstance(frag, int):
                    out.append(frag)
                else:
                    self._bpe.encode(frag, out)
            if add_special and vocab.add_eos:
                out.append(self._require("eos"))
        else:
            assert self._wpm is not None
            if add_special:
                out.append(self._require("bos"))
            for frag in fragments:
                if isinstance(frag, int):
                    out.append(frag)
                else:
                    self._wpm.encode(frag, out)
            if add_special:
                out.append(self._require("sep"))
        return out

    def _require(self, name: str) -> int:
        token = self._vocab.special[name]
        if token is None:
            raise UnsupportedTokenizer(f"the model has no {name} token")
        return token

    def piece(self, token_id: int) -> bytes:
        """A token's bytes as generation streams them (control tokens as their text).

        Raises ``IndexError`` for an id outside the vocabulary.
        """
        return self._vocab.piece(token_id)

    def decode(self, ids: Sequence[int]) -> bytes:
        """Token ids to bytes: the concatenated pieces (may end inside a UTF-8 character).

        Raises :class:`~corral.core.errors.BadRequest` for an id outside the vocabulary.
        """
        piece = self._vocab.piece
        try:
            return b"".join([piece(int(i)) for i in ids])
        except (IndexError, TypeError, ValueError, OverflowError):
            n = self.vocab_size
            bad = next((i for i in ids if not isinstance(i, int) or not 0 <= i < n), None)
            raise BadRequest(f"invalid token id {bad}: the vocabulary has {n} tokens") from None

    def is_control(self, token_id: int) -> bool:
        """Whether the token is a control token (``<s>``, ``<start_of_turn>``...), not text."""
        return bool(self._vocab.attrs[token_id] & Attr.CONTROL)

    def is_eog(self, token_id: int) -> bool:
        """Whether the token ends a generation."""
        return token_id in self.eog_ids

    def token_text(self, token_id: int) -> str:
        """The token's text as stored in the vocabulary (``▁`` and GPT-2 byte characters kept)."""
        return self._vocab.tokens[token_id]

    # Runner-shaped aliases, so a GGUFTokenizer can be compared with a Runner directly.
    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]:
        """Same as :meth:`encode` (the :class:`~corral.core.engine.Runner` method name)."""
        return self.encode(text, add_special=add_special, parse_special=parse_special)

    def detokenize(self, ids: Sequence[int]) -> bytes:
        """Same as :meth:`decode` (the :class:`~corral.core.engine.Runner` method name)."""
        return self.decode(ids)
