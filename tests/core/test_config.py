"""Settings: CORRAL_* over OLLAMA_* over defaults, Ollama's host parsing, generated docs."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.core.config import HostURL, load_config, parse_host, settings_markdown
from corral.core.durations import FOREVER_NS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", HostURL("http", "127.0.0.1", 11434)),
        ("0.0.0.0", HostURL("http", "0.0.0.0", 11434)),
        ("0.0.0.0:8080", HostURL("http", "0.0.0.0", 8080)),
        (":8080", HostURL("http", "", 8080)),
        ("http://example.com", HostURL("http", "example.com", 80)),
        ("https://example.com", HostURL("https", "example.com", 443)),
        ("ollama.com", HostURL("https", "ollama.com", 443)),
        ("[::1]:1234", HostURL("http", "::1", 1234)),
        ("'localhost:99'", HostURL("http", "localhost", 99)),
        ("example.com:99999", HostURL("http", "example.com", 11434)),
        ("http://h:5/path", HostURL("http", "h", 5, "path")),
    ],
)
def test_host_parsing_follows_ollama(raw: str, expected: HostURL) -> None:
    assert parse_host(raw) == expected


def test_corral_vars_win_over_ollama_vars_over_defaults() -> None:
    cfg = load_config(
        {
            "OLLAMA_HOST": "0.0.0.0:1",
            "CORRAL_HOST": "127.0.0.1:2",
            "OLLAMA_MODELS": "/x/models",
            "OLLAMA_KEEP_ALIVE": "10m",
            "OLLAMA_NUM_PARALLEL": "4",
            "OLLAMA_DEBUG": "1",
        }
    )
    assert cfg.host.port == 2
    assert cfg.models == Path("/x/models")
    assert cfg.keep_alive_ns == 600 * 10**9
    assert cfg.num_parallel == 4 and cfg.debug == 1
    assert cfg.sources["HOST"] == "CORRAL_HOST" and cfg.sources["MODELS"] == "OLLAMA_MODELS"
    defaults = load_config({})
    assert defaults.host == HostURL("http", "127.0.0.1", 11434)
    assert defaults.keep_alive_ns == 300 * 10**9 and defaults.max_queue == 512
    assert defaults.models == Path("~/.corral/models").expanduser()


def test_keep_alive_env_forms_and_bad_values() -> None:
    assert load_config({"OLLAMA_KEEP_ALIVE": "-1"}).keep_alive_ns == FOREVER_NS
    assert load_config({"OLLAMA_KEEP_ALIVE": "30"}).keep_alive_ns == 30 * 10**9
    bad = load_config({"CORRAL_KEEP_ALIVE": "soon", "CORRAL_MAX_QUEUE": "many"})
    assert bad.keep_alive_ns == 300 * 10**9 and bad.max_queue == 512
    assert bad.sources["KEEP_ALIVE"] == "default"
    # Ollama: a boolean that does not parse counts as true.
    assert load_config({"OLLAMA_NOPRUNE": "yes please"}).noprune is True
    assert load_config({"OLLAMA_NOPRUNE": "false"}).noprune is False


def test_configuration_doc_is_generated_from_the_table() -> None:
    doc = Path(__file__).parents[2] / "docs" / "configuration.md"
    assert doc.read_text() == settings_markdown(), "run: python -m corral.core.config > docs/configuration.md"
