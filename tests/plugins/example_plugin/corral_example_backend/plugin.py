"""Echo backend: generates the prompt's tokens back, one per step. Shows the whole plugin surface."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from corral.plugins import Fit, GenerateParams, HostInfo, LoadParams, ModelSpec, TokenOut, hookimpl

EVENTS: list[str] = []


class EchoRunner:
    backend = "echo"
    context_length = 2048
    memory_bytes = 1024
    vram_bytes = 0
    max_parallel = 4

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]:
        return list(text.encode())

    def detokenize(self, tokens: Sequence[int]) -> bytes:
        return bytes(tokens)

    def generate(self, params: GenerateParams, cancel: threading.Event) -> Iterator[TokenOut]:
        for t in params.prompt_tokens:
            if cancel.is_set():
                return
            yield TokenOut(id=t, piece=bytes([t]))
        yield TokenOut(id=0, piece=b"", eog=True)

    def embed(self, tokens: Sequence[int]) -> list[float]:
        return [float(len(tokens))]

    def close(self) -> None:
        pass


class EchoBackend:
    name = "echo"

    def probe(self, model: ModelSpec, host: HostInfo) -> Fit | None:
        return Fit(score=1.0, reason="echo backend: repeats the prompt (test plugin)")

    def load(self, model: ModelSpec, params: LoadParams) -> EchoRunner:
        return EchoRunner()


@hookimpl
def corral_register_backends(register):  # type: ignore[no-untyped-def]
    register(EchoBackend())


@hookimpl
def corral_on_event(event):  # type: ignore[no-untyped-def]
    EVENTS.append(type(event).__name__)
