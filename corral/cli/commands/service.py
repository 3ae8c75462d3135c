"""``corral service install|uninstall``: run corral as a systemd service (Linux).

What Ollama's Linux installer does, for corral: a system user and group ``corral`` whose home
``/var/lib/corral`` holds the models, an environment file ``/etc/corral/corral.env`` for settings,
the unit ``/etc/systemd/system/corral.service`` (restarts on failure, graceful stop on SIGTERM),
then ``systemctl enable --now corral``. ``--dry-run`` prints every step without doing it;
``--root DIR`` writes the files under ``DIR`` and only prints the system commands (for packaging
and tests).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from corral.cli.commands import Command, Context, UsageError

__all__ = ["COMMAND", "ENV_FILE", "MODELS_DIR", "UNIT_PATH", "Step", "env_text", "plan", "unit_text"]

USER = "corral"
HOME = Path("/var/lib/corral")
MODELS_DIR = HOME / "models"
ENV_FILE = Path("/etc/corral/corral.env")
UNIT_PATH = Path("/etc/systemd/system/corral.service")


def unit_text(exec_start: str) -> str:
    """The systemd unit; ``exec_start`` is the absolute command line that runs ``corral serve``."""
    return f"""\
[Unit]
Description=corral, an Ollama-compatible local LLM server
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
User={USER}
Group={USER}
# Defaults; {ENV_FILE} (optional) overrides them.
Environment=CORRAL_HOST=127.0.0.1:11434
Environment=CORRAL_MODELS={MODELS_DIR}
EnvironmentFile=-{ENV_FILE}
ExecStart={exec_start}
WorkingDirectory={HOME}
# SIGTERM drains in-flight requests for up to CORRAL_SHUTDOWN_TIMEOUT (30s), then corral exits.
KillSignal=SIGTERM
TimeoutStopSec=45
Restart=always
RestartSec=3
NoNewPrivileges=true
ProtectSystem=full
ProtectHome=true
PrivateTmp=true
ReadWritePaths={HOME}
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
"""


def env_text() -> str:
    """The initial ``/etc/corral/corral.env``: every setting is documented in docs/configuration.md."""
    return f"""\
# corral settings (docs/configuration.md); restart after editing: systemctl restart corral
CORRAL_HOST=127.0.0.1:11434
CORRAL_MODELS={MODELS_DIR}
# CORRAL_KEEP_ALIVE=5m
# CORRAL_MAX_LOADED_MODELS=3
# CORRAL_NUM_PARALLEL=1
# CORRAL_SHUTDOWN_TIMEOUT=30s
# CORRAL_DEBUG=0
"""


@dataclass(frozen=True)
class Step:
    """One action of an install or uninstall: write a file, make a folder, or run a command."""

    kind: str  # "write", "mkdir", "remove", "run"
    target: str
    content: str = ""
    mode: int = 0o644
    keep_existing: bool = False
    check: bool = True
    """For ``run``: fail the command when this step fails."""

    def describe(self) -> str:
        """How ``--dry-run`` prints the step."""
        if self.kind == "write":
            suffix = " (unless it exists)" if self.keep_existing else ""
            return f"write {self.target} (mode {self.mode:o}){suffix}"
        if self.kind == "run":
            return "run   " + self.target
        return f"{self.kind:5} {self.target}"


def default_exec_start() -> str:
    """``<corral> serve`` with the absolute path of the installed ``corral`` script, else this Python."""
    script = shutil.which("corral")
    if script:
        return f"{Path(script).resolve()} serve"
    return f"{Path(sys.executable).resolve()} -m corral serve"


def plan(
    action: str, exec_start: str, *, purge: bool = False, invoking_user: str | None = None
) -> list[Step]:
    """The steps of ``install`` or ``uninstall`` (``purge`` also removes models, settings and the user)."""
    cmd = shlex.join
    if action == "install":
        steps = [
            Step("run", f"getent group {USER} >/dev/null || groupadd --system {USER}"),
            Step(
                "run",
                f"id -u {USER} >/dev/null 2>&1 || "
                + cmd(
                    [
                        "useradd",
                        "--system",
                        "--gid",
                        USER,
                        "--home-dir",
                        str(HOME),
                        "--shell",
                        "/bin/false",
                        USER,
                    ]
                ),
            ),
            Step("mkdir", str(MODELS_DIR)),
            Step("run", cmd(["chown", "-R", f"{USER}:{USER}", str(HOME)])),
            Step("write", str(ENV_FILE), env_text(), 0o640, keep_existing=True),
            Step("write", str(UNIT_PATH), unit_text(exec_start)),
        ]
        if invoking_user and invoking_user != "root":
            # As Ollama's installer does: let the installing user read the models.
            steps.append(Step("run", cmd(["usermod", "-a", "-G", USER, invoking_user])))
        steps += [
            Step("run", "systemctl daemon-reload"),
            Step("run", "systemctl enable --now corral"),
        ]
        return steps
    steps = [
        Step("run", "systemctl disable --now corral", check=False),
        Step("remove", str(UNIT_PATH)),
        Step("run", "systemctl daemon-reload"),
    ]
    if purge:
        steps += [
            Step("remove", str(ENV_FILE.parent)),
            Step("remove", str(HOME)),
            Step("run", f"userdel {USER}"),
        ]
    return steps


def execute(steps: list[Step], root: Path, *, run_commands: bool) -> None:
    """Carry out ``steps`` with file paths under ``root``; commands run only if ``run_commands``."""
    for step in steps:
        if step.kind == "run":
            if run_commands:
                subprocess.run(["sh", "-c", step.target], check=step.check)
                print("ran   " + step.target)
            else:
                print("skip  " + step.target)
            continue
        path = root / step.target.lstrip("/")
        if step.kind == "write":
            if step.keep_existing and path.exists():
                print(f"keep  {path} (exists)")
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(step.content)
            path.chmod(step.mode)
        elif step.kind == "mkdir":
            path.mkdir(parents=True, exist_ok=True)
        elif path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        print(f"{step.kind:5} {path}")


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["install", "uninstall"], help="install or remove the service")
    parser.add_argument("--dry-run", action="store_true", help="print what would be done, change nothing")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path("/"),
        help="write files under this folder; system commands are only printed",
    )
    parser.add_argument("--exec-start", default=None, help="the command the unit runs (default: this corral)")
    parser.add_argument(
        "--purge", action="store_true", help="uninstall: also remove models, settings and the user"
    )


def _run(args: argparse.Namespace, ctx: Context) -> int:
    del ctx
    steps = plan(
        args.action,
        args.exec_start or default_exec_start(),
        purge=args.purge,
        invoking_user=os.environ.get("SUDO_USER"),
    )
    if args.dry_run:
        for step in steps:
            print(step.describe())
            if step.kind == "write" and step.target == str(UNIT_PATH):
                print("      " + step.content.rstrip().replace("\n", "\n      "))
        return 0
    system = args.root.resolve() == Path("/")
    if system and (not sys.platform.startswith("linux") or shutil.which("systemctl") is None):
        raise UsageError("corral service needs Linux with systemd (see docs/operations.md)")
    if system and os.geteuid() != 0:
        raise UsageError("corral service install|uninstall must run as root (try: sudo corral service ...)")
    execute(steps, args.root, run_commands=system)
    if args.action == "install" and system:
        print("corral is running: systemctl status corral; logs: journalctl -u corral -f")
    return 0


COMMAND = Command(
    name="service",
    help="Install or remove corral as a systemd service",
    description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    configure=_configure,
    run=_run,
)
