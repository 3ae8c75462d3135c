"""Images reach the model through every dialect: a tiny llama model with a tiny LLaVA-style projector
(``corral.testing.write_tiny_projector``), served on llama.cpp with mtmd, driven by the real clients.

Each image becomes 4 prompt tokens (a 28-pixel image in 14-pixel patches). The projector's weights
are random, so what the model says is noise; what matters is that an image changes it, that the
same image gives the same answer, and that the image's tokens are counted.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anthropic
import httpx
import ollama
import openai
import pytest

from corral.testing import write_tiny_gguf
from corral.testing.tiny_projector import tiny_png, write_tiny_projector
from tests.conftest import LiveServer, _Servers

IMAGE_TOKENS = 4
GREEDY = {"temperature": 0, "top_k": 1, "seed": 1, "num_predict": 12}
"""``seed`` makes each request evaluate its whole prompt (no prefix reuse), so counts are comparable."""
RED = tiny_png(40, 30, (220, 30, 30))
NOISE = tiny_png(32, 32, seed=7)
TEMPLATE = "{{ range .Messages }}<|{{ .Role }}|>{{ .Content }}\n{{ end }}<|assistant|>"


def _blob(client: ollama.Client, path: Path) -> str:
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    client.create_blob(path)
    return digest


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module, with ``vision`` (model + projector) and ``text`` (the same model
    alone), both with a small chat template."""
    tmp = tmp_path_factory.mktemp("images")
    servers = _Servers(tmp)
    live = servers.start()
    client = ollama.Client(host=live.base_url)
    # A context that holds Ollama's estimate for an image (768 tokens) when fitting a chat, so
    # earlier messages are not dropped to make room for it.
    model = _blob(client, write_tiny_gguf(tmp / "m.gguf", seed=5, n_embd=64, context_length=2048))
    projector = _blob(client, write_tiny_projector(tmp / "p.gguf", text_embd=64, seed=2))
    both = {"m.gguf": model, "mmproj.gguf": projector}
    params = {"num_ctx": 2048, "num_parallel": 2}
    client.create("vision", files=both, template=TEMPLATE, parameters=params)
    client.create("text", files={"m.gguf": model}, template=TEMPLATE, parameters=params)
    yield live
    servers.stop_all()


@pytest.fixture(scope="module")
def oll(server: LiveServer) -> ollama.Client:
    return ollama.Client(host=server.base_url)


def test_model_with_projector_shows_vision(oll: ollama.Client) -> None:
    assert "vision" in (oll.show("vision").capabilities or [])
    assert "vision" not in (oll.show("text").capabilities or [])


def test_generate_image_changes_tokens_and_output(oll: ollama.Client) -> None:
    plain = oll.generate("vision", "describe it", options=GREEDY)
    red = oll.generate("vision", "describe it", images=[RED], options=GREEDY)
    red_again = oll.generate("vision", "describe it", images=[RED], options=GREEDY)
    noise = oll.generate("vision", "describe it", images=[NOISE], options=GREEDY)
    both = oll.generate("vision", "describe it", images=[RED, NOISE], options=GREEDY)
    assert red.response == red_again.response
    assert len({plain.response, red.response, noise.response}) == 3
    # The image's own user turn adds template text; each further image adds its tag's turn and 4 tokens.
    assert red.prompt_eval_count == noise.prompt_eval_count > (plain.prompt_eval_count or 0) + IMAGE_TOKENS
    turn = (red.prompt_eval_count or 0) - (plain.prompt_eval_count or 0) - IMAGE_TOKENS
    assert both.prompt_eval_count == (red.prompt_eval_count or 0) + turn + IMAGE_TOKENS


def test_chat_images_are_counted_and_placed(oll: ollama.Client) -> None:
    def chat(images: list[bytes], content: str = "what is this") -> ollama.ChatResponse:
        return oll.chat(
            "vision", messages=[{"role": "user", "content": content, "images": images}], options=GREEDY
        )

    none, one, two = chat([]), chat([RED]), chat([RED, NOISE])
    # The tags are prefixed to the text ("[img-0][img-1]what is this"); the text around them is
    # tokenized piece by piece, so the first image can shift a token or two, and the second, placed
    # between the first and the text, adds exactly its 4.
    assert (one.prompt_eval_count or 0) > (none.prompt_eval_count or 0)
    assert two.prompt_eval_count == (one.prompt_eval_count or 0) + IMAGE_TOKENS
    assert len({none.message.content, one.message.content, two.message.content}) == 3
    # "[img]" in the text says where the image goes: a different place, a different answer.
    placed = chat([RED], "what is this [img]")
    assert (placed.prompt_eval_count or 0) > (none.prompt_eval_count or 0)
    assert placed.message.content != one.message.content


def test_debug_render_shows_where_images_go(server: LiveServer) -> None:
    body = {
        "model": "vision",
        "messages": [
            {"role": "user", "content": "what is this [img]", "images": [base64.b64encode(RED).decode()]}
        ],
        "_debug_render_only": True,
    }
    info = server.client.post("/api/chat", json=body).json()["_debug_info"]
    assert info == {"rendered_template": "<|user|>what is this [img-0]\n<|assistant|>", "image_count": 1}


def test_prefix_cache_reuses_an_image_only_for_the_same_image(oll: ollama.Client) -> None:
    cached = {"temperature": 0, "top_k": 1, "num_predict": 4}
    first = oll.generate("vision", "tell me a story", images=[NOISE], options=cached)
    again = oll.generate("vision", "tell me a story", images=[NOISE], options=cached)
    other = oll.generate("vision", "tell me a story", images=[RED], options=cached)
    assert again.prompt_eval_count == 1  # everything but the last token came from the cache
    assert again.response == first.response
    # Only the text before the image is reused: the new image and all after it are evaluated.
    assert (other.prompt_eval_count or 0) > IMAGE_TOKENS
    assert (other.prompt_eval_count or 0) >= (first.prompt_eval_count or 0) - 8


def test_concurrent_requests_keep_their_own_images(oll: ollama.Client) -> None:
    """Two slots at once, each with its image decoded into its own sequence, say what each says alone."""
    opts = {**GREEDY, "num_predict": 40}
    alone = {
        img: oll.generate("vision", "go on", images=[img], options=opts).response for img in (RED, NOISE)
    }
    with ThreadPoolExecutor(4) as pool:
        futures = {
            pool.submit(oll.generate, "vision", "go on", images=[img], options=opts): img
            for img in (RED, NOISE) * 2
        }
        together = [(futures[f], f.result().response) for f in futures]
    assert alone[RED] != alone[NOISE]
    assert all(text == alone[img] for img, text in together)


def test_openai_image_url(server: LiveServer, oll: ollama.Client) -> None:
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="unused", max_retries=0)

    def ask(*images: bytes) -> openai.types.chat.ChatCompletion:
        content: list[dict[str, object]] = [{"type": "text", "text": "what is this"}]
        for image in images:
            url = "data:image/png;base64," + base64.b64encode(image).decode()
            content.append({"type": "image_url", "image_url": {"url": url}})
        return client.chat.completions.create(
            model="vision",
            messages=[{"role": "user", "content": content}],
            temperature=0,
            seed=1,
            max_tokens=12,  # type: ignore[misc, list-item]
        )

    plain, red, noise = ask(), ask(RED), ask(NOISE)
    assert (
        len(
            {
                plain.choices[0].message.content,
                red.choices[0].message.content,
                noise.choices[0].message.content,
            }
        )
        == 3
    )
    # Like Ollama, each content part becomes its own message: the same request in Ollama's dialect
    # evaluates the same tokens (image included) and says the same.
    native = oll.chat(
        "vision",
        messages=[
            {"role": "user", "content": "what is this"},
            {"role": "user", "content": "", "images": [RED]},
        ],
        options=GREEDY,
    )
    assert red.usage is not None and plain.usage is not None
    assert red.usage.prompt_tokens == native.prompt_eval_count > plain.usage.prompt_tokens + IMAGE_TOKENS
    assert red.choices[0].message.content == native.message.content


def test_anthropic_image_block(server: LiveServer) -> None:
    client = anthropic.Anthropic(base_url=server.base_url, api_key="unused", max_retries=0)

    def ask(*images: bytes) -> anthropic.types.Message:
        content: list[dict[str, object]] = []
        for image in images:
            data = base64.b64encode(image).decode()
            content.append(
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}
            )
        content.append({"type": "text", "text": "what is this"})
        return client.messages.create(
            model="vision",
            max_tokens=12,
            messages=[{"role": "user", "content": content}],
            extra_body={"top_k": 1},  # type: ignore[typeddict-item, list-item]
        )

    plain, red, noise, both = ask(), ask(RED), ask(NOISE), ask(RED, NOISE)
    assert both.usage.input_tokens == red.usage.input_tokens + IMAGE_TOKENS
    texts = {m.content[0].text for m in (plain, red, noise) if m.content and m.content[0].type == "text"}
    assert len(texts) == 3


def test_responses_input_image(server: LiveServer) -> None:
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="unused", max_retries=0)

    def ask(image: bytes) -> openai.types.responses.Response:
        url = "data:image/png;base64," + base64.b64encode(image).decode()
        content = [{"type": "input_text", "text": "what is this"}, {"type": "input_image", "image_url": url}]
        return client.responses.create(
            model="vision",
            input=[{"role": "user", "content": content}],
            temperature=0,
            max_output_tokens=12,  # type: ignore[misc, list-item]
        )

    red, noise = ask(RED), ask(NOISE)
    assert red.output_text != noise.output_text


def test_refusals(server: LiveServer, oll: ollama.Client) -> None:
    # A model without a projector: Ollama's capability error, before anything loads.
    with pytest.raises(ollama.ResponseError) as no_projector:
        oll.chat("text", messages=[{"role": "user", "content": "x", "images": [RED]}])
    assert no_projector.value.status_code == 400
    assert no_projector.value.error == "registry.ollama.ai/library/text:latest does not support vision"
    # Bytes that are no image, and a raw prompt that does not place its image.
    for bad in (b"GIF89a not really", b"\x00" * 64):
        with pytest.raises(ollama.ResponseError) as junk:
            oll.generate("vision", "x", images=[bad])
        assert junk.value.status_code == 400
        assert "image 0: unsupported or corrupt image data" in junk.value.error
    with pytest.raises(ollama.ResponseError) as unplaced:
        oll.generate("vision", "no tag here", images=[RED], raw=True)
    assert unplaced.value.status_code == 400 and "[img-N]" in unplaced.value.error
    # A raw prompt that places it is served.
    raw = oll.generate("vision", "look: [img-0] and say", images=[RED], raw=True, options=GREEDY)
    assert raw.response and raw.done_reason in ("stop", "length")
    # The server is still fine.
    assert httpx.get(server.base_url + "/api/version").status_code == 200


def test_modelfile_with_a_projector_from_the_cli(
    cli_live_server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``FROM model.gguf`` then ``FROM projector.gguf``, as Ollama's Modelfiles for vision models."""
    from corral.cli.main import main

    write_tiny_gguf(tmp_path / "m.gguf", seed=5, n_embd=64)
    write_tiny_projector(tmp_path / "mmproj.gguf", text_embd=64)
    (tmp_path / "Modelfile").write_text("FROM ./m.gguf\nFROM ./mmproj.gguf\n")
    assert main(["create", "seer", "-f", str(tmp_path / "Modelfile")]) == 0
    assert main(["show", "seer", "--modelfile"]) == 0
    froms = [line for line in capsys.readouterr().out.splitlines() if line.startswith("FROM ")]
    assert len(froms) == 2  # the model, then the projector (Ollama's order)
    client = ollama.Client(host=cli_live_server.base_url)
    assert "vision" in (client.show("seer").capabilities or [])
    plain = client.generate("seer", "hello", options=GREEDY)
    seen = client.generate("seer", "hello", images=[RED], options=GREEDY)
    assert seen.response != plain.response
    assert (seen.prompt_eval_count or 0) > (plain.prompt_eval_count or 0) + IMAGE_TOKENS
