"""Ollama API conformance: replay recorded transcripts against a server, and fuzz it with OpenAPI."""

from __future__ import annotations

from conformance.runner import Outcome, Report, run
from conformance.transcripts import TRANSCRIPTS_DIR, Transcript, load_transcripts

__all__ = ["TRANSCRIPTS_DIR", "Outcome", "Report", "Transcript", "load_transcripts", "run"]
