"""The interactive chat of ``corral run``: session state, input, slash commands, streamed answers."""

from corral.cli.repl.display import Answer, AnswerWriter, format_stats, go_duration, show_answer
from corral.cli.repl.loop import Repl
from corral.cli.repl.reader import LineReader, default_history_path
from corral.cli.repl.session import Session

__all__ = [
    "Answer",
    "AnswerWriter",
    "LineReader",
    "Repl",
    "Session",
    "default_history_path",
    "format_stats",
    "go_duration",
    "show_answer",
]
