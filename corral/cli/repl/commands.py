"""The REPL's slash commands: ``/set``, ``/show``, ``/load``, ``/save``, ``/clear``, ``/list``, help."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from corral.cli.client import ClientError, ResponseError
from corral.cli.commands.listing import format_models
from corral.cli.commands.show import format_info
from corral.cli.repl.display import waiting
from corral.core.errors import ModelfileError
from corral.core.options import format_params, go_quote, go_value_str

if TYPE_CHECKING:
    from corral.cli.repl.loop import Repl

__all__ = ["run_command"]

_HELP = """Available Commands:
  /set            Change a session setting (/? set)
  /show           Show information about the model (/? show)
  /load <model>   Switch to another model, starting a new conversation
  /save <model>   Save this conversation and its settings as a new model
  /clear          Forget the conversation (the system message stays)
  /list           List local models
  /bye            Leave (also /exit or Ctrl + d)
  /?, /help       This help; /? set, /? show, /? shortcuts for more

Use \"\"\" to begin a multi-line message and \"\"\" again to end it.
"""

_HELP_SET = """Available Commands:
  /set parameter <name> <value>   Set a model parameter (/set parameter lists common ones)
  /set system <text>              Set the system message (\"\"\" for several lines)
  /set history                    Remember input lines
  /set nohistory                  Stop remembering input lines
  /set wordwrap                   Wrap long answers at word boundaries
  /set nowordwrap                 Print answers as they come
  /set format json                Ask for JSON answers
  /set noformat                   Ask for free-form answers again
  /set verbose                    Print timings after each answer
  /set quiet                      Stop printing timings
  /set think [level]              Let the model think first (levels: low, medium, high)
  /set nothink                    Turn thinking off
"""

_HELP_SHOW = """Available Commands:
  /show info         Model details
  /show license      The model's license
  /show modelfile    The Modelfile that would recreate the model
  /show parameters   Parameters of the model and of this session
  /show system       The system message in effect
  /show template     The prompt template
"""

_HELP_SHORTCUTS = """Available keyboard shortcuts:
  Ctrl + a      Go to the start of the line
  Ctrl + e      Go to the end of the line
  Alt + b       Back one word
  Alt + f       Forward one word
  Ctrl + k      Delete to the end of the line
  Ctrl + u      Delete to the start of the line
  Ctrl + w      Delete the word before the cursor
  Ctrl + l      Clear the screen
  Ctrl + c      Stop the answer being written
  Ctrl + d      Leave (/bye)
"""

_HELP_PARAMETERS = """Common parameters:
  /set parameter seed <int>               Seed of the random sampler
  /set parameter num_predict <int>        Most tokens to generate
  /set parameter top_k <int>              Sample from the k likeliest tokens
  /set parameter top_p <float>            Sample from tokens within this total probability
  /set parameter min_p <float>            Drop tokens less likely than min_p times the best one
  /set parameter num_ctx <int>            Context window size
  /set parameter temperature <float>      Randomness of sampling
  /set parameter repeat_penalty <float>   How hard to penalize repeats
  /set parameter repeat_last_n <int>      How far back to look for repeats
  /set parameter num_gpu <int>            Layers to offload to the GPU
  /set parameter stop <string> ...        Stop sequences (several allowed)
"""


def _say(repl: Repl, text: str, stream: TextIO | None = None) -> None:
    print(text, file=stream or repl.out, flush=True)


def _help(repl: Repl, args: list[str]) -> None:
    topic = args[1].lstrip("/") if len(args) > 1 else ""
    texts = {"set": _HELP_SET, "show": _HELP_SHOW, "shortcut": _HELP_SHORTCUTS, "shortcuts": _HELP_SHORTCUTS}
    if not topic:
        _say(repl, _HELP, repl.err)
    elif topic in texts:
        _say(repl, texts[topic], repl.err)


def _set_parameter(repl: Repl, args: list[str]) -> None:
    if len(args) < 4:
        _say(repl, _HELP_PARAMETERS, repl.err)
        return
    name, values = args[2], args[3:]
    warnings: list[str] = []
    try:
        typed = format_params({name: values}, warnings=warnings)
    except ModelfileError as exc:
        _say(repl, f"Couldn't set parameter: {go_quote(str(exc))}")
        return
    if name not in typed:  # deprecated: accepted and ignored
        _say(repl, f"Couldn't set parameter: {go_quote('; '.join(warnings))}")
        return
    repl.session.options[name] = typed[name]
    _say(repl, f"Set parameter '{name}' to '{', '.join(values)}'")


def _warn_if_no_thinking(repl: Repl) -> None:
    try:
        capabilities = repl.client.show(repl.session.model).get("capabilities") or []
    except ClientError:
        return
    if "thinking" not in capabilities:
        _say(
            repl, f"warning: model {go_quote(repl.session.model)} does not support thinking output", repl.err
        )


def _set(repl: Repl, args: list[str], line: str) -> None:
    session = repl.session
    if len(args) < 2:
        _say(repl, _HELP_SET, repl.err)
        return
    what = args[1]
    if what in ("history", "nohistory"):
        repl.reader.history.enabled = what == "history"
    elif what in ("wordwrap", "nowordwrap"):
        session.word_wrap = what == "wordwrap"
        _say(repl, f"Set '{what}' mode.")
    elif what in ("verbose", "quiet"):
        session.verbose = what == "verbose"
        _say(repl, f"Set '{what}' mode.")
    elif what == "think":
        session.think = args[2] if len(args) > 2 else True
        _warn_if_no_thinking(repl)
        _say(repl, f"Set 'think' mode to '{args[2]}'." if len(args) > 2 else "Set 'think' mode.")
    elif what == "nothink":
        session.think = False
        _warn_if_no_thinking(repl)
        _say(repl, "Set 'nothink' mode.")
    elif what == "format":
        if len(args) < 3 or args[2] != "json":
            _say(repl, "Invalid or missing format. For 'json' mode use '/set format json'")
        else:
            session.format = "json"
            _say(repl, "Set format to 'json' mode.")
    elif what == "noformat":
        session.format = ""
        _say(repl, "Disabled format.")
    elif what == "parameter":
        _set_parameter(repl, args)
    elif what == "system":
        if len(args) < 3:
            _say(repl, _HELP_SET, repl.err)
            return
        # Keep the text as typed after "/set system " (inner spacing included).
        text = line.split(None, 2)[2]
        if text.startswith('"""'):
            text = text[3:]
            if not text.endswith('"""'):
                repl.begin_system_block(text)
                return
            text = text[:-3]
        session.set_system(text)
        _say(repl, "Set system message.")
    else:
        _say(repl, f"Unknown command '/set {what}'. Type /? for help")


def _show(repl: Repl, args: list[str]) -> None:
    if len(args) < 2:
        _say(repl, _HELP_SHOW, repl.err)
        return
    session = repl.session
    info = repl.client.show(session.model)
    what = args[1]
    if what == "info":
        _say(repl, format_info(info), repl.err)
    elif what == "license":
        _say(repl, info.get("license") or "No license was specified for this model.")
    elif what == "modelfile":
        _say(repl, info.get("modelfile") or "")
    elif what == "parameters":
        lines = ["Model defined parameters:"]
        params = (info.get("parameters") or "").strip("\n")
        if params:
            lines += [f"  {line}" for line in params.splitlines()]
        else:
            lines.append("  No additional parameters were specified for this model.")
        lines.append("")
        if session.options:
            lines.append("User defined parameters:")
            lines += [f"  {k:<30} {go_value_str(v)}" for k, v in session.options.items()]
            lines.append("")
        _say(repl, "\n".join(lines))
    elif what == "system":
        system = session.system or info.get("system") or ""
        _say(repl, system + "\n" if system else "No system message was specified for this model.")
    elif what == "template":
        _say(repl, info.get("template") or "No prompt template was specified for this model.")
    else:
        _say(repl, f"Unknown command '/show {what}'. Type /? for help")


def _load(repl: Repl, args: list[str]) -> None:
    if len(args) != 2:
        _say(repl, "Usage:\n  /load <modelname>")
        return
    name = args[1]
    _say(repl, f"Loading model '{name}'")
    try:
        with waiting():
            repl.client.show(name)
            repl.client.load(name, keep_alive=repl.session.keep_alive, think=repl.session.think)
    except ResponseError as exc:
        if exc.status == 404 or "not found" in exc.message:
            _say(repl, f"Couldn't find model '{name}'")
            return
        raise
    repl.session.switch(name)


def _save(repl: Repl, args: list[str]) -> None:
    if len(args) != 2:
        _say(repl, "Usage:\n  /save <modelname>")
        return
    name = args[1]
    try:
        for _ in repl.client.create(repl.session.create_request(name)):
            pass
    except ResponseError as exc:
        if "invalid model name" in exc.message:
            _say(repl, f"error: The model name '{name}' is invalid")
            return
        raise
    _say(repl, f"Created new model '{name}'")


def _clear(repl: Repl, args: list[str]) -> None:
    repl.session.clear()
    _say(repl, "Cleared session context")


def _list(repl: Repl, args: list[str]) -> None:
    prefix = args[1] if len(args) > 1 else None
    _say(repl, format_models(repl.client.list_models(), prefix))


_SIMPLE: dict[str, Callable[[Repl, list[str]], None]] = {
    "/show": _show,
    "/load": _load,
    "/save": _save,
    "/clear": _clear,
    "/list": _list,
    "/help": _help,
    "/?": _help,
}


def run_command(repl: Repl, line: str) -> bool:
    """Carry out the slash command ``line``; False when the REPL should end (``/bye``, ``/exit``).

    Errors from the server are reported and the REPL goes on.
    """
    args = line.split()
    name = args[0]
    if name in ("/bye", "/exit"):
        return False
    try:
        if name == "/set":
            _set(repl, args, line)
        elif name in _SIMPLE:
            _SIMPLE[name](repl, args)
        else:
            _say(repl, f"Unknown command '{name}'. Type /? for help")
    except ClientError as exc:
        _say(repl, f"Error: {exc}", repl.err)
    return True
