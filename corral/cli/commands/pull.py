"""``corral pull MODEL``: download (or install from a model source) with progress bars."""

from __future__ import annotations

from corral.cli.commands.transfer import transfer_command

__all__ = ["COMMAND"]

COMMAND = transfer_command(
    "pull",
    "Pull a model from a registry",
    lambda client, model, insecure: client.pull(model, insecure=insecure),
)
