"""OpenAI ``logit_bias`` through the real openai SDK, on every built-in backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ollama
import openai
import pytest

from corral.core.templates import builtin_template
from corral.core.tokenizer import GGUFTokenizer
from corral.testing import write_tiny_gguf
from tests.api.openai.conftest import add_model
from tests.conftest import LiveServer, _Servers

BACKENDS = ("llamacpp", "cpu-ref", "onnx")
PROMPT = "the quick brown fox"


@pytest.fixture(scope="module")
def biased(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, GGUFTokenizer]]:
    """One tiny model per backend (``PARAMETER backend``), and the tokenizer to read token ids with."""
    servers = _Servers(tmp_path_factory.mktemp("bias"))
    try:
        server = servers.start()
        gguf = write_tiny_gguf(tmp_path_factory.mktemp("tiny") / "tiny.gguf", seed=5)
        chatml = builtin_template("chatml").template
        for backend in BACKENDS:
            add_model(server.client, gguf, f"tiny-{backend}", chatml, {"backend": backend})
        yield server, GGUFTokenizer.from_gguf(Path(gguf))
    finally:
        servers.stop_all()


def greedy_token(server: LiveServer, model: str) -> int:
    """The token id greedy decoding picks after the templated ``PROMPT`` (from Ollama's ``context``)."""
    out = ollama.Client(host=server.base_url).generate(
        model, PROMPT, options={"temperature": 0, "top_k": 1, "num_predict": 1}
    )
    assert out.context is not None and out.eval_count == 1
    return out.context[-1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_bias_bans_the_greedy_token_and_forces_another(
    biased: tuple[LiveServer, GGUFTokenizer], backend: str
) -> None:
    server, tok = biased
    model = f"tiny-{backend}"
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="unused")
    top = greedy_token(server, model)

    def complete(bias: dict[str, int], n: int = 1) -> str:
        r = client.completions.create(
            model=model, prompt=PROMPT, max_tokens=n, temperature=0, seed=1, logit_bias=bias
        )
        return r.choices[0].text

    plain = complete({})
    assert plain.encode() == tok.piece(top)
    banned = complete({str(top): -100})
    assert banned != plain
    # A word piece (not a byte token, which alone is not valid UTF-8) other than the greedy pick.
    forced_id = next(
        t for t in range(tok.vocab_size // 2, tok.vocab_size)
        if t != top and tok.piece(t).strip().isalpha() and len(tok.piece(t).strip()) > 2
    )  # fmt: skip
    assert complete({str(forced_id): 100}, n=4).encode() == tok.piece(forced_id) * 4

    chat = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "hello"}],
        max_tokens=3,
        temperature=0,
        logit_bias={str(forced_id): 100},
    )
    assert (chat.choices[0].message.content or "").encode() == tok.piece(forced_id) * 3


@pytest.mark.parametrize(
    ("bias", "needle"),
    [
        ({"999999": 5}, "out of range: 999999"),
        ({"-1": 5}, "out of range: -1"),
        ({"ten": 5}, 'invalid logit_bias key "ten"'),
        ({"7": 101}, "between -100 and 100"),
        ({"7": "high"}, "between -100 and 100"),
    ],
)
def test_bad_logit_bias_is_a_400_before_running(
    biased: tuple[LiveServer, GGUFTokenizer], bias: dict[str, object], needle: str
) -> None:
    server, _ = biased
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="unused", max_retries=0)
    for call in (
        lambda: client.completions.create(model="tiny-cpu-ref", prompt="hi", logit_bias=bias),  # type: ignore[arg-type]
        lambda: client.chat.completions.create(
            model="tiny-cpu-ref",
            messages=[{"role": "user", "content": "hi"}],
            logit_bias=bias,  # type: ignore[arg-type]
        ),
    ):
        with pytest.raises(openai.BadRequestError) as err:
            call()
        assert err.value.status_code == 400
        assert needle in str(err.value)
