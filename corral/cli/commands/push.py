"""``corral push MODEL``: upload a model to the registry its name points at, with progress bars."""

from __future__ import annotations

from corral.cli.commands.transfer import transfer_command

__all__ = ["COMMAND"]

COMMAND = transfer_command(
    "push",
    "Push a model to a registry",
    lambda client, model, insecure: client.push(model, insecure=insecure),
)
