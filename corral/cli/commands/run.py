"""``corral run MODEL [PROMPT...]``: a one-shot answer, or the interactive chat on a terminal."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from corral.cli.autostart import ensure_server
from corral.cli.client import Client, ClientError, ResponseError, ShowResponse
from corral.cli.commands import Command, Context, UsageError
from corral.cli.progress import ProgressDisplay
from corral.cli.repl import (
    AnswerWriter,
    LineReader,
    Repl,
    Session,
    default_history_path,
    format_stats,
    show_answer,
)
from corral.cli.repl.display import waiting
from corral.cli.repl.embed import embed_loop, format_vector
from corral.core.durations import parse_go_duration

__all__ = ["COMMAND", "parse_think"]

_THINK_LEVELS = ("high", "medium", "low", "max")


def parse_think(value: str | None) -> bool | str | None:
    """The ``think`` request value for a ``--think[=VALUE]`` flag (None when the flag is absent)."""
    if value is None:
        return None
    if value in ("", "true"):
        return True
    if value == "false":
        return False
    if value in _THINK_LEVELS:
        return value
    raise UsageError(f'invalid value for --think: "{value}" (must be true, false, high, medium, low or max)')


def _allow_intermixed(parser: argparse.ArgumentParser) -> None:
    """Let flags sit between the words of the prompt (``run m --verbose why is the sky blue``).

    argparse parses a subcommand with ``parse_known_args``; this parser answers that call with
    ``parse_known_intermixed_args``, which itself calls ``parse_known_args`` (the plain one) twice.
    """
    plain = parser.parse_known_args
    busy = False

    def parse(
        args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        nonlocal busy
        if busy:
            return plain(args, namespace)
        busy = True
        try:
            return parser.parse_known_intermixed_args(args, namespace)
        finally:
            busy = False

    parser.parse_known_args = parse  # type: ignore[method-assign,assignment]


def _configure(parser: argparse.ArgumentParser) -> None:
    _allow_intermixed(parser)
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument(
        "prompt", metavar="PROMPT", nargs="*", help="answer this and exit (after piped stdin)"
    )
    parser.add_argument(
        "--keepalive", metavar="DURATION", help="how long the model stays loaded (e.g. 5m; negative: forever)"
    )
    parser.add_argument(
        "--verbose", action="store_true", help="print timings and token rates after the answer"
    )
    parser.add_argument("--insecure", action="store_true", help="allow an insecure registry when pulling")
    parser.add_argument("--nowordwrap", action="store_true", help="print answers without wrapping words")
    parser.add_argument("--format", default="", help='answer format: "json"')
    # Like Ollama's flag, a value must be attached with "=": in `--think "why?"` the text is the prompt.
    parser.add_argument(
        "--think",
        action="store_const",
        const="true",
        help="let the model think first; --think=false|low|medium|high|max to choose",
    )
    for value in ("true", "false", *_THINK_LEVELS):
        parser.add_argument(
            f"--think={value}", dest="think", action="store_const", const=value, help=argparse.SUPPRESS
        )
    parser.add_argument("--hidethinking", action="store_true", help="do not print the model's thinking")


def _show_or_pull(client: Client, model: str, insecure: bool) -> ShowResponse:
    """``/api/show`` of ``model``, pulling it first when the server does not have it."""
    try:
        return client.show(model)
    except ResponseError as exc:
        if exc.status != 404:
            raise
    with ProgressDisplay() as display:
        for event in client.pull(model, insecure=insecure):
            display.update(event)
    return client.show(model)


def _one_shot(client: Client, session: Session, prompt: str) -> int:
    body: dict[str, Any] = {"model": session.model, "prompt": prompt}
    if session.format:
        body["format"] = session.format
    if session.think is not None:
        body["think"] = session.think
    if session.keep_alive is not None:
        body["keep_alive"] = session.keep_alive
    writer = AnswerWriter(sys.stdout, wrap=session.word_wrap, hide_thinking=session.hide_thinking)
    try:
        answer = show_answer(client.generate(body), writer)
    except KeyboardInterrupt:
        print(flush=True)
        return 130
    except ClientError:
        if writer.wrote:  # the error message starts on a line of its own
            print(flush=True)
        raise
    if prompt:
        sys.stdout.write("\n\n")
        sys.stdout.flush()
    if session.verbose and answer.done:
        print(format_stats(answer.final), end="", file=sys.stderr, flush=True)
    return 0


def _embedding_only(info: ShowResponse) -> bool:
    """An embedding model that cannot complete text: ``run`` prints vectors (as Ollama does)."""
    capabilities = info.get("capabilities") or []
    return "embedding" in capabilities and "completion" not in capabilities


def _embed_one_shot(client: Client, session: Session, text: str) -> int:
    if not text.strip():
        raise UsageError(f'embedding models need input text: corral run {session.model} "your text here"')
    vectors = client.embed(session.model, [text], keep_alive=session.keep_alive)
    print(format_vector(vectors[0]), flush=True)
    return 0


def _interactive(client: Client, session: Session, info: ShowResponse) -> int:
    with waiting():
        client.load(session.model, keep_alive=session.keep_alive, think=session.think)
    # Replay the conversation stored in the model (its MESSAGE lines), as Ollama does.
    for message in info.get("messages") or []:
        if message.get("role") == "user":
            print(f">>> {message.get('content', '')}")
        elif message.get("role") == "assistant":
            AnswerWriter(sys.stdout, wrap=session.word_wrap).content(str(message.get("content", "")))
            print("\n", flush=True)
    return Repl(client, session, LineReader(default_history_path())).run()


def _run(args: argparse.Namespace, ctx: Context) -> int:
    think = parse_think(args.think)
    if args.keepalive is not None:
        parse_go_duration(args.keepalive)  # fail with Go's message before contacting anyone
    ensure_server(ctx.base_url)
    with ctx.client() as client:
        info = _show_or_pull(client, args.model, args.insecure)
        parts = list(args.prompt)
        interactive = not parts and sys.stdin.isatty() and sys.stdout.isatty()
        piped = "" if sys.stdin.isatty() else sys.stdin.read()
        if piped:
            parts.insert(0, piped)  # piped input comes first, then the arguments (as Ollama)
        session = Session(
            model=args.model,
            format=args.format,
            think=think,
            hide_thinking=args.hidethinking,
            keep_alive=args.keepalive,
            verbose=args.verbose,
            word_wrap=not args.nowordwrap,
        )
        if _embedding_only(info):
            if interactive:
                reader = LineReader(default_history_path())
                return embed_loop(client, args.model, reader, sys.stdout, keep_alive=args.keepalive)
            return _embed_one_shot(client, session, " ".join(parts))
        if interactive:
            return _interactive(client, session, info)
        return _one_shot(client, session, " ".join(parts))


COMMAND = Command(
    name="run",
    help="Run a model",
    description="Answer PROMPT (and piped stdin) with MODEL, or chat with it interactively on a terminal.",
    configure=_configure,
    run=_run,
)
