"""Fixtures for the store tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from ollama_layout import OllamaDir, build_ollama_store


@pytest.fixture
def ollama_dir(tmp_path: Path) -> OllamaDir:
    """An Ollama-layout store under ``tmp_path/models`` (a sibling ``outside/`` holds sentinels)."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "sentinel").write_text("keep me")
    return build_ollama_store(tmp_path / "models")
