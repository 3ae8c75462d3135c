"""The interactive ``corral run`` chat, driven through a pseudo-terminal with pexpect."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect  # type: ignore[import-untyped]
import pytest
from test_cli_run import add_tiny, cli_env

from tests.conftest import LiveServer

READY = r"Send a message \(/\? for help\)"  # the placeholder of an empty ">>> " line


class Chat:
    """A ``corral run MODEL`` process on a pty, with helpers that wait for the next empty prompt."""

    def __init__(self, server: LiveServer, home: Path, model: str = "tiny") -> None:
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "corral", "run", model],
            env=cli_env(server.base_url, home),
            encoding="utf-8",
            timeout=60,
            dimensions=(40, 120),
        )
        self.child.expect(READY)

    def say(self, line: str, *expect: str) -> str:
        """Type ``line``; wait for each of ``expect`` in turn and then for the next prompt.

        Returns what was printed between the echoed line and the next prompt.
        """
        self.child.sendline(line)
        for pattern in expect:
            self.child.expect(pattern)
        self.child.expect(READY)
        return str(self.child.before)


@pytest.fixture
def tiny(live_server: LiveServer, tmp_path: Path) -> LiveServer:
    add_tiny(live_server, tmp_path)
    return live_server


@pytest.fixture
def chat(tiny: LiveServer, tmp_path: Path) -> Iterator[Chat]:
    session = Chat(tiny, tmp_path / "home")
    yield session
    session.child.close(force=True)


def show(server: LiveServer, model: str) -> dict[str, Any]:
    r = server.client.post("/api/show", json={"model": model})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_settings_show_and_save(chat: Chat, tiny: LiveServer) -> None:
    chat.say("/set parameter num_predict 3", "Set parameter 'num_predict' to '3'")
    chat.say("/set parameter stop <a> <b>", "Set parameter 'stop' to '<a>, <b>'")
    chat.say("/set parameter num_predict many", r'Couldn\'t set parameter: "invalid int value \[many\]"')
    chat.say("/set parameter bogus 1", r'Couldn\'t set parameter: "unknown parameter \'bogus\'"')
    out = chat.say(
        "/show parameters", "Model defined parameters:", "num_predict +6", "User defined parameters:"
    )
    assert "num_predict" in out and "[<a> <b>]" in out

    chat.say("/show system", "No system message was specified for this model.")
    chat.say("/set system You are a terse llama.", "Set system message.")
    chat.say("/show system", "You are a terse llama.")
    chat.say("/show template", r"<\|im_start\|>")
    chat.say("/show license", "No license was specified for this model.")
    chat.say("/show info", "architecture +llama")
    chat.say("/show modelfile", "FROM ")
    chat.say("/show nonsense", r"Unknown command '/show nonsense'. Type /\? for help")
    chat.say("/set nonsense", r"Unknown command '/set nonsense'. Type /\? for help")
    chat.say("/nonsense", r"Unknown command '/nonsense'. Type /\? for help")
    chat.say("/set format yaml", "Invalid or missing format")
    chat.say("/set format json", "Set format to 'json' mode.")
    chat.say("/set noformat", "Disabled format.")
    chat.say("/?", "Available Commands:", "/load <model>")
    chat.say("/? set", "/set parameter")

    chat.say("hello there")
    chat.child.sendline('"""first line')  # a multi-line message: sent when a line ends with """
    chat.child.expect(r"\.\.\. .*Press Enter to send")
    chat.say('second line"""')
    chat.say("/save saved", "Created new model 'saved'")
    saved = show(tiny, "saved")
    assert saved["system"] == "You are a terse llama."
    assert "num_predict                    3" in saved["parameters"]
    roles = [m["role"] for m in saved["messages"]]
    assert roles == ["system", "user", "assistant", "user", "assistant"]
    assert [m["content"] for m in saved["messages"] if m["role"] == "user"] == [
        "hello there",
        "first line\nsecond line",
    ]

    chat.say("/clear", "Cleared session context")  # the system message stays
    chat.say("/save saved2", "Created new model 'saved2'")
    assert show(tiny, "saved2")["messages"] == [{"role": "system", "content": "You are a terse llama."}]
    chat.say("/save bad:name:x", "error: The model name 'bad:name:x' is invalid")

    chat.child.sendline("/bye")
    chat.child.expect(pexpect.EOF)
    chat.child.close()
    assert chat.child.exitstatus == 0


def test_load_switches_model_and_replays_stored_messages(tiny: LiveServer, tmp_path: Path) -> None:
    r = tiny.client.post(
        "/api/create",
        json={
            "model": "remembers",
            "from": "tiny",
            "messages": [
                {"role": "user", "content": "hi llama"},
                {"role": "assistant", "content": "hi human"},
            ],
            "stream": False,
        },
    )
    assert r.status_code == 200, r.text
    chat = Chat(tiny, tmp_path / "home", model="remembers")
    try:
        assert ">>> hi llama" in chat.child.before and "hi human" in chat.child.before
        chat.say("/load nope", "Loading model 'nope'", "Couldn't find model 'nope'")
        chat.say("/load tiny", "Loading model 'tiny'")
        chat.say("/show modelfile", "FROM ")
        chat.say("/list", "NAME +ID +SIZE +MODIFIED", "remembers:latest")
        chat.child.sendeof()  # Ctrl-D on an empty line leaves
        chat.child.expect(pexpect.EOF)
    finally:
        chat.child.close(force=True)
    assert chat.child.exitstatus == 0


def test_ctrl_c_stops_an_answer_and_the_chat_goes_on(chat: Chat, tiny: LiveServer) -> None:
    chat.say("/set parameter num_predict 100000")
    chat.say("/set verbose", "Set 'verbose' mode.")
    chat.child.sendline("tell me a long story")
    time.sleep(1.5)
    started = time.monotonic()
    chat.child.sendintr()
    chat.child.expect(READY)
    assert time.monotonic() - started < 5
    chat.say("/set parameter num_predict 2")
    chat.say("hi", "eval count: +2 token\\(s\\)", r"eval rate: +\d+\.\d\d tokens/s")
    chat.child.sendintr()  # at an empty prompt: a hint, not an exit
    chat.child.expect(r"Use Ctrl \+ d or /bye to exit.")
    chat.child.expect(READY)
    chat.say("/save story", "Created new model 'story'")
    users = [m["content"] for m in show(tiny, "story")["messages"] if m["role"] == "user"]
    assert users == ["tell me a long story", "hi"]
    chat.child.sendline("/exit")
    chat.child.expect(pexpect.EOF)


@pytest.mark.slow
@pytest.mark.integration
def test_gemma_answers_in_the_chat(live_server: LiveServer, tmp_path: Path) -> None:
    r = live_server.client.post("/api/pull", json={"model": "gemma3:270m", "stream": False})
    assert r.status_code == 200, r.text
    chat = Chat(live_server, tmp_path / "home", model="gemma3:270m")
    try:
        chat.say("/set parameter temperature 0")
        chat.say("/set parameter num_predict 24")
        shown = chat.say("Say hello.").replace("\r\n", "\n")
        chat.say("/save hello", "Created new model 'hello'")
    finally:
        chat.child.close(force=True)
    messages = show(live_server, "hello")["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    answer = messages[1]["content"]
    assert answer.strip() and "<end_of_turn>" not in answer
    assert answer.strip().splitlines()[0] in shown  # what was streamed to the terminal is what was kept
