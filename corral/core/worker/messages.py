"""The messages between the server and a model's worker process, and their wire format.

Every message is a tagged msgspec Struct; a frame on the wire is a 4-byte big-endian length followed
by the message in MessagePack. The value types of the runner contract (:mod:`corral.core.engine`)
travel as they are: they are frozen dataclasses of plain fields, which msgspec encodes natively
(``Path`` fields as strings).
"""

from __future__ import annotations

import struct
import threading
from pathlib import Path
from typing import IO, Any

import msgspec

from corral.core.engine import GenerateParams, LoadParams, ModelSpec, RunnerCapabilities, TokenOut

__all__ = [
    "Call",
    "Cancel",
    "Close",
    "Done",
    "Failed",
    "Generate",
    "Load",
    "LoadFailed",
    "Progress",
    "Ready",
    "Result",
    "RunnerInfo",
    "Token",
    "Wire",
]


# --- server -> worker ----------------------------------------------------------------------


class Load(msgspec.Struct, tag=True, array_like=True):
    """The first message: import ``module`` (a plugin module), take its backend ``backend`` and
    load ``spec``. ``spec.metadata`` is left empty: the worker reads the GGUF header itself."""

    module: str
    backend: str
    spec: ModelSpec
    params: LoadParams


class Generate(msgspec.Struct, tag=True, array_like=True):
    """Start generation ``rid``; the worker answers with :class:`Token` messages, then one
    :class:`Done` or :class:`Failed`."""

    rid: int
    params: GenerateParams


class Cancel(msgspec.Struct, tag=True, array_like=True):
    """Stop generation ``rid`` at the runner's next step (it still ends with :class:`Done`)."""

    rid: int


class Call(msgspec.Struct, tag=True, array_like=True):
    """A runner method other than ``generate``, answered by :class:`Result` or :class:`Failed`.

    ``method`` is one of ``tokenize``, ``detokenize``, ``embed``, ``embed_many``, ``kv_usage`` or
    ``logits``; ``args``/``kwargs`` are its arguments."""

    rid: int
    method: str
    args: list[Any] = []
    kwargs: dict[str, Any] = {}


class Close(msgspec.Struct, tag=True, array_like=True):
    """Close the runner and exit."""


# --- worker -> server ----------------------------------------------------------------------


class RunnerInfo(msgspec.Struct):
    """What the server's stand-in for the runner needs to know about it."""

    backend: str
    context_length: int
    memory_bytes: int
    vram_bytes: int
    capabilities: RunnerCapabilities
    methods: list[str]
    """The optional runner methods present (``kv_usage``, ``embed_many``, ``logits``)."""


class Progress(msgspec.Struct, tag=True, array_like=True):
    """How far the load has got (the backend's ``load_progress``), sent while it runs."""

    value: float


class Ready(msgspec.Struct, tag=True, array_like=True):
    """The load succeeded."""

    info: RunnerInfo


class LoadFailed(msgspec.Struct, tag=True, array_like=True):
    """The load raised; the worker exits after sending this."""

    message: str
    status: int


class Token(msgspec.Struct, tag=True, array_like=True):
    """One token of generation ``rid``."""

    rid: int
    out: TokenOut


class Done(msgspec.Struct, tag=True, array_like=True):
    """Generation ``rid`` ended normally. ``kv_usage`` is the runner's ``(used, capacity)`` at the
    end, when it reports one (saves a round trip per request)."""

    rid: int
    kv_usage: tuple[int, int] | None = None


class Result(msgspec.Struct, tag=True, array_like=True):
    """The return value of :class:`Call` ``rid``."""

    rid: int
    value: Any


class Failed(msgspec.Struct, tag=True, array_like=True):
    """Generation or call ``rid`` raised. ``status`` is the CorralError status (500 otherwise)."""

    rid: int
    message: str
    status: int


ToWorker = Load | Generate | Cancel | Call | Close
FromWorker = Progress | Ready | LoadFailed | Token | Done | Result | Failed

_HEADER = struct.Struct(">I")


def _enc_hook(obj: object) -> object:
    if isinstance(obj, Path):
        return str(obj)
    raise NotImplementedError(f"cannot send {type(obj).__name__} to a worker")


def _dec_hook(kind: type, obj: object) -> object:
    if kind is Path and isinstance(obj, str):
        return Path(obj)
    raise NotImplementedError(f"cannot decode {kind}")


class Wire:
    """Framed messages over a pair of byte streams. ``send`` may be called from many threads;
    ``recv`` from one."""

    def __init__(self, reader: IO[bytes], writer: IO[bytes], incoming: Any) -> None:
        self._reader = reader
        self._writer = writer
        self._lock = threading.Lock()
        self._encoder = msgspec.msgpack.Encoder(enc_hook=_enc_hook)
        self._decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(incoming, dec_hook=_dec_hook)

    def send(self, message: msgspec.Struct) -> None:
        """Write one message (raises OSError when the other side is gone)."""
        body = self._encoder.encode(message)
        with self._lock:
            self._writer.write(_HEADER.pack(len(body)) + body)
            self._writer.flush()

    def recv(self) -> Any:
        """The next message, or None at end of stream."""
        header = self._reader.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return None
        (size,) = _HEADER.unpack(header)
        body = self._reader.read(size)
        if len(body) < size:
            return None
        return self._decoder.decode(body)


def server_wire(reader: IO[bytes], writer: IO[bytes]) -> Wire:
    """The server's end: sends :data:`ToWorker`, receives :data:`FromWorker`."""
    return Wire(reader, writer, FromWorker)


def worker_wire(reader: IO[bytes], writer: IO[bytes]) -> Wire:
    """The worker's end: sends :data:`FromWorker`, receives :data:`ToWorker`."""
    return Wire(reader, writer, ToWorker)
