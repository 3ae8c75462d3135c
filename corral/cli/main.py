"""The ``corral`` command line: argument parsing, the subcommand registry, error reporting."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import corral
from corral.cli.client import Client, ClientError, client_base_url
from corral.cli.commands import Command, Context, UsageError
from corral.cli.commands import backends as backends_cmd
from corral.cli.commands import cluster as cluster_cmd
from corral.cli.commands import copy as copy_cmd
from corral.cli.commands import create as create_cmd
from corral.cli.commands import delete as delete_cmd
from corral.cli.commands import listing as list_cmd
from corral.cli.commands import ps as ps_cmd
from corral.cli.commands import pull as pull_cmd
from corral.cli.commands import push as push_cmd
from corral.cli.commands import run as run_cmd
from corral.cli.commands import serve as serve_cmd
from corral.cli.commands import service as service_cmd
from corral.cli.commands import show as show_cmd
from corral.cli.commands import stop as stop_cmd
from corral.core.errors import CorralError

__all__ = ["COMMANDS", "build_parser", "client_version", "main"]

#: Every subcommand, in the order ``--help`` lists them. A new command is a module plus a line here.
COMMANDS: tuple[Command, ...] = (
    serve_cmd.COMMAND,
    create_cmd.COMMAND,
    show_cmd.COMMAND,
    run_cmd.COMMAND,
    stop_cmd.COMMAND,
    pull_cmd.COMMAND,
    push_cmd.COMMAND,
    list_cmd.COMMAND,
    ps_cmd.COMMAND,
    backends_cmd.COMMAND,
    copy_cmd.COMMAND,
    delete_cmd.COMMAND,
    service_cmd.COMMAND,
    cluster_cmd.COMMAND,
)


def client_version() -> str:
    """This program's version."""
    return str(getattr(corral, "__version__", "0.0.0"))


def build_parser(commands: Sequence[Command] = COMMANDS) -> argparse.ArgumentParser:
    """The top-level parser with one subparser per command (``args.command`` holds the Command)."""
    parser = argparse.ArgumentParser(prog="corral", description="Large language model runner")
    parser.add_argument("-v", "--version", action="store_true", help="Show version information")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in commands:
        p = sub.add_parser(
            command.name,
            aliases=list(command.aliases),
            help=command.help,
            description=command.description or command.help,
            epilog=command.epilog() if command.epilog else None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.configure(p)
        p.set_defaults(command=command)
    return parser


def _print_version(ctx: Context) -> int:
    mine = client_version()
    with Client(ctx.base_url, connect_timeout=2.0) as client:
        try:
            server = client.version()
        except ClientError:
            server = ""
    if not server:
        print("Warning: could not connect to a running corral server", file=sys.stderr)
    print(f"corral version is {server or mine}")
    if server and server != mine:
        print(f"Warning: client version is {mine}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error: argparse has already printed it
        return exc.code if isinstance(exc.code, int) else 2
    ctx = Context(base_url=client_base_url())
    try:
        if args.version:
            return _print_version(ctx)
        command: Command | None = getattr(args, "command", None)
        if command is None:
            parser.print_help()
            return 0
        return command.run(args, ctx)
    except (ClientError, UsageError, CorralError, OSError) as exc:
        # OSError: a local file (Modelfile, weights) could not be read.
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
