"""Command line: ``python -m conformance --url URL [--only PATTERN] [--record DIR] ...``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from conformance.report import print_report
from conformance.runner import run
from conformance.transcripts import KINDS

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m conformance",
        description="Replay recorded Ollama API transcripts against a server and compare its answers.",
    )
    p.add_argument("--url", default="http://127.0.0.1:11434", help="server base URL (default: %(default)s)")
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PATTERN",
        help="run transcripts whose name matches (glob, or substring); repeatable",
    )
    p.add_argument(
        "--kind", action="append", default=[], choices=KINDS, help="run only this kind; repeatable"
    )
    p.add_argument(
        "--record", type=Path, metavar="DIR", help="also save each exchange as a transcript in DIR"
    )
    p.add_argument("--chat-model", help="local chat model (default from models.toml: gemma3:270m)")
    p.add_argument("--embed-model", help="local embedding model (default: all-minilm)")
    p.add_argument("--pull-model", help="a model the server can pull (default: gemma3:270m)")
    p.add_argument(
        "--code-model", help="a local model with fill-in-the-middle (insert) (default: the chat model)"
    )
    p.add_argument("--vision-model", help="a local model that accepts images (default: none)")
    p.add_argument("--thinking-model", help="a local model that can think (default: none)")
    p.add_argument(
        "--num-predict",
        type=int,
        default=64,
        help="cap generated tokens per request (0 sends requests unchanged; default %(default)s)",
    )
    p.add_argument(
        "--tiny-models",
        action="store_true",
        help="create tiny random-weight stand-ins for the chat, code and thinking models (fast)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show every problem and the comparison notes")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; exit status 1 when a transcript failed."""
    args = _parser().parse_args(argv)
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    report = run(
        args.url,
        only=args.only,
        kinds=args.kind,
        chat_model=args.chat_model,
        embed_model=args.embed_model,
        pull_model=args.pull_model,
        code_model=args.code_model,
        vision_model=args.vision_model,
        thinking_model=args.thinking_model,
        num_predict=args.num_predict,
        tiny_models=args.tiny_models,
        record_dir=args.record,
    )
    print_report(report, console, verbose=args.verbose)
    return 1 if report.count("failed") else 0


if __name__ == "__main__":
    sys.exit(main())
