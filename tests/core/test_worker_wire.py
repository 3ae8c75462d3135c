"""The worker protocol without processes: frames over a pipe, the runner contract's value types
crossing intact, and exit statuses in Ollama's words."""

from __future__ import annotations

import io
import os
import signal
from pathlib import Path

import pytest

from corral.core.engine import (
    GenerateParams,
    LoadParams,
    ModelSpec,
    PromptStats,
    SamplingOptions,
    TokenLogprob,
    TokenOut,
)
from corral.core.worker import describe_exit
from corral.core.worker.messages import Done, Generate, Load, Token, server_wire, worker_wire


def pipe() -> tuple[io.BufferedReader, io.BufferedWriter]:
    r, w = os.pipe()
    return os.fdopen(r, "rb"), os.fdopen(w, "wb")


def test_messages_cross_with_their_value_types_intact() -> None:
    server_reads, worker_writes = pipe()
    worker_reads, server_writes = pipe()
    server = server_wire(server_reads, server_writes)
    worker = worker_wire(worker_reads, worker_writes)

    spec = ModelSpec(
        name="registry.ollama.ai/library/tiny:latest",
        model_path=Path("/models/blobs/sha256-ab"),
        digest="sha256:ab",
        architecture="llama",
        tensor_types=frozenset({"F16", "Q8_0"}),
        adapters=(Path("/a.gguf"),),
        parameters={"stop": ["</s>"], "temperature": 0.5},
    )
    load = Load("corral.backends.llamacpp.plugin", "llamacpp", spec, LoadParams(num_ctx=512, num_parallel=2))
    params = GenerateParams(
        prompt_tokens=[1, 2, 3],
        sampling=SamplingOptions(temperature=0.0, seed=7),
        num_predict=20,
        json_schema={"type": "object", "properties": {"a": {"type": "integer"}}},
        logit_bias={5: -100.0},
        logprobs=True,
        top_logprobs=2,
    )
    server.send(load)
    server.send(Generate(4, params))
    assert worker.recv() == load
    got = worker.recv()
    assert isinstance(got, Generate) and got.rid == 4
    assert got.params.sampling == params.sampling and got.params.logit_bias == {5: -100.0}
    assert list(got.params.prompt_tokens) == [1, 2, 3] and got.params.json_schema == params.json_schema

    out = TokenOut(
        id=9,
        piece=b"\xe2\x82",  # half a UTF-8 character: bytes stay bytes
        logprob=TokenLogprob("a", -0.5, b"a"),
        top_logprobs=(TokenLogprob("a", -0.5, b"a"), TokenLogprob("b", -1.5, b"b")),
        prompt=PromptStats(evaluated=3, cached=1),
    )
    worker.send(Token(4, out))
    worker.send(Done(4, (10, 512)))
    assert server.recv() == Token(4, out)
    assert server.recv() == Done(4, (10, 512))

    worker_writes.close()
    assert server.recv() is None  # end of stream: the worker is gone


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (0, "exit status 0"),
        (2, "exit status 2"),
        (-signal.SIGKILL, "signal: killed"),
        (-signal.SIGABRT, "signal: aborted"),
        (-signal.SIGSEGV, "signal: segmentation fault"),
    ],
)
def test_exit_statuses_read_as_go_prints_them(code: int, text: str) -> None:
    assert describe_exit(code) == text
