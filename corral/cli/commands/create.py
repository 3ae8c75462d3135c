"""``corral create MODEL [-f Modelfile] [-q QUANT]``: upload local files as blobs, then ``/api/create``."""

from __future__ import annotations

import argparse
import functools
from pathlib import Path
from typing import TYPE_CHECKING

from corral.cli.client import Client
from corral.cli.commands import Command, Context, UsageError
from corral.cli.progress import ProgressDisplay

if TYPE_CHECKING:
    from corral.cli.create_request import BlobFile

__all__ = ["COMMAND", "upload_blobs"]


def _read_modelfile(file: str | None) -> tuple[str, Path]:
    """The Modelfile text and its directory.

    ``-f`` names the file; without it ``./Modelfile`` is used, and when that does not exist either
    the current directory itself is the model (``FROM .``), as with Ollama.
    """
    path = Path(file).expanduser() if file else Path("Modelfile")
    try:
        return path.read_text(encoding="utf-8"), path.resolve().parent
    except FileNotFoundError:
        if file:
            raise UsageError(f"specified Modelfile wasn't found: {file}") from None
        return "FROM .\n", Path.cwd()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read Modelfile {path}: {exc}") from None


def upload_blobs(client: Client, blobs: list[BlobFile], display: ProgressDisplay) -> None:
    """Upload each blob the server does not have yet (``HEAD`` first; identical files once)."""
    seen: set[str] = set()
    for blob in blobs:
        if blob.digest in seen:
            continue
        seen.add(blob.digest)
        if client.blob_exists(blob.digest):
            continue
        key = f"copying file {blob.digest[7:19]}"
        display.set_bar(key, key, blob.size, 0)
        client.upload_blob(blob.digest, blob.path, on_progress=functools.partial(display.advance, key))


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("-f", "--file", help="Name of the Modelfile (default: Modelfile)")
    parser.add_argument("-q", "--quantize", help="Quantize model to this level (e.g. q4_K_M)")


def _run(args: argparse.Namespace, ctx: Context) -> int:
    # The Modelfile machinery is loaded only by the command that needs it.
    from corral.cli.create_request import CreateRequestError, build_create_request
    from corral.core.modelfile import parse_modelfile

    text, base_dir = _read_modelfile(args.file)
    modelfile = parse_modelfile(text)
    with ctx.client() as client, ProgressDisplay() as display:
        display.status("gathering model components")
        try:
            plan = build_create_request(modelfile, base_dir)
        except CreateRequestError as exc:
            raise UsageError(str(exc)) from None
        for warning in plan.warnings:
            display.console.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
        upload_blobs(client, plan.blobs, display)
        request = {"model": args.model, **plan.request}
        if args.quantize:
            request["quantize"] = args.quantize
        for event in client.create(request):
            display.update(event)
    return 0


COMMAND = Command(name="create", help="Create a model from a Modelfile", configure=_configure, run=_run)
