"""``corral show MODEL``: one field of ``/api/show`` or Ollama's info table."""

from __future__ import annotations

import argparse
from typing import Any

from corral.cli.client import ShowResponse
from corral.cli.commands import Command, Context, UsageError
from corral.cli.format import render_table

__all__ = ["COMMAND", "format_info"]

_FIELDS = ("license", "modelfile", "parameters", "system", "template")


def _number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return str(int(value)) if float(value).is_integer() else str(value)


def _head(text: str, n: int) -> list[list[str]]:
    """The first ``n`` non-blank lines, then ``...`` when there are more."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    rows = [[line] for line in lines[:n]]
    if len(lines) > n:
        rows.append(["..."])
    return rows


def _metadata_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        shown = [str(v) for v in value[:3]]
        more = f" ...+{len(value) - 3} more" if len(value) > 3 else ""
        return "[" + " ".join(shown) + more + "]"
    return str(value)


def format_info(resp: ShowResponse, verbose: bool = False) -> str:
    """The sections Ollama prints: Model, Capabilities, (corral's Backend,) Parameters, (Metadata,)
    System, License."""
    sections: list[tuple[str, list[list[str]]]] = []
    info = resp.get("model_info") or {}
    details = resp.get("details") or {}
    model_rows: list[list[str]] = []
    arch = info.get("general.architecture") or details.get("family", "")
    if arch:
        model_rows.append(["architecture", str(arch)])
    params = details.get("parameter_size") or ""
    if params:
        model_rows.append(["parameters", params])
    for key, label in (("context_length", "context length"), ("embedding_length", "embedding length")):
        value = _number(info.get(f"{arch}.{key}"))
        if value is not None:
            model_rows.append([label, value])
    model_rows.append(["quantization", details.get("quantization_level", "")])
    sections.append(("Model", model_rows))
    if resp.get("capabilities"):
        sections.append(("Capabilities", [[c] for c in resp.get("capabilities", [])]))
    backend = resp.get("backend")
    if backend:  # corral's addition: which backend runs the model and why
        sections.append(("Backend", [[backend.get("name") or "none", backend.get("reason") or ""]]))
    if resp.get("parameters"):
        rows = []
        for line in resp.get("parameters", "").splitlines():
            if line.strip():
                key, _, value = line.strip().partition(" ")
                rows.append([key, value.strip()])
        sections.append(("Parameters", rows))
    if verbose and info:
        sections.append(("Metadata", [[k, _metadata_value(info[k])] for k in sorted(info)]))
    if resp.get("system"):
        sections.append(("System", _head(resp.get("system", ""), 2)))
    if resp.get("license"):
        sections.append(("License", _head(resp.get("license", ""), 2)))
    out = []
    for title, rows in sections:
        out.append(f"  {title}")
        if rows:
            out.append(render_table(None, rows, indent="    "))
        out.append("")
    return "\n".join(out) + "\n"


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL")
    for name in _FIELDS:
        parser.add_argument(f"--{name}", action="store_true", help=f"Show the model's {name}")
    parser.add_argument("-v", "--verbose", action="store_true", help="Show detailed model information")


def _run(args: argparse.Namespace, ctx: Context) -> int:
    chosen = [name for name in _FIELDS if getattr(args, name)]
    if len(chosen) > 1:
        raise UsageError(
            "only one of '--license', '--modelfile', '--parameters', '--system', "
            "or '--template' can be specified"
        )
    with ctx.client() as client:
        resp = client.show(args.model, verbose=args.verbose)
    if not chosen:
        print(format_info(resp, args.verbose), end="")
        return 0
    value = str(resp.get(chosen[0]) or "")
    # Ollama ends license, modelfile and parameters with a newline and prints the others verbatim.
    print(value, end="" if chosen[0] in ("system", "template") else "\n")
    return 0


COMMAND = Command(name="show", help="Show information for a model", configure=_configure, run=_run)
