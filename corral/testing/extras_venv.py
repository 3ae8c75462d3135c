"""A real venv holding corral with only some of its extras, built in seconds from the current one.

A user who runs ``pip install corral`` (or ``corral[onnx]``) meets an interpreter where the other
extras' packages are simply absent. :func:`venv_with_extras` reproduces that without a download:
it walks corral's declared requirements (base plus the chosen extras, recursively through each
dependency's own requirements, markers evaluated), and exposes exactly those distributions of the
running environment, by symlink, to a fresh ``venv --without-pip``. Whatever a module imports
beyond them fails there as it would on the user's machine. Plugin authors can point it at their
own distribution name.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote

from packaging.requirements import Requirement

__all__ = ["required_distributions", "venv_with_extras"]

_NORMALIZE = re.compile(r"[-_.]+")


def _norm(name: str) -> str:
    return _NORMALIZE.sub("-", name).lower()


def required_distributions(project: str, extras: Iterable[str] = ()) -> set[str]:
    """Normalized names of ``project`` and every distribution it needs with ``extras``.

    Requirements whose markers do not hold here (another platform, an extra not chosen) are left
    out, and so are requirements that are not installed (a package installed with ``--no-deps``):
    the venv then lacks them exactly as this environment does.
    """
    names: set[str] = set()
    visited: set[tuple[str, frozenset[str]]] = set()
    todo: list[tuple[str, frozenset[str]]] = [(project, frozenset(extras))]
    while todo:
        name, wanted = todo.pop()
        if (_norm(name), wanted) in visited:
            continue
        visited.add((_norm(name), wanted))
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        names.add(_norm(name))
        for text in requires:
            req = Requirement(text)
            if req.marker is not None:
                envs = [{"extra": e} for e in wanted] or [{"extra": ""}]
                if not any(req.marker.evaluate(env) for env in envs):
                    continue
            todo.append((req.name, frozenset(req.extras)))
    return names


def _top_level_entries(dist: metadata.Distribution) -> set[str]:
    """The first path components a distribution installs into site-packages (packages, modules,
    its ``.dist-info``), skipping scripts and data installed elsewhere."""
    entries: set[str] = set()
    for file in dist.files or []:
        first = file.parts[0]
        if first in ("..", "") or first.endswith(".pth") or first == "__pycache__":
            continue
        entries.add(first)
    return entries


def venv_with_extras(root: Path, extras: Iterable[str] = (), *, project: str = "corral") -> Path:
    """Create ``root/venv`` where ``project`` is importable with only its base requirements and
    ``extras``; returns that venv's ``python``.

    ``project`` itself must be installed in this environment (an editable install is exposed by
    putting its source directory on the new venv's path).
    """
    wanted = required_distributions(project, extras)
    site = Path(sysconfig.get_paths()["purelib"])
    exposed = root / "site"
    exposed.mkdir(parents=True)
    sources: list[Path] = []
    for dist in metadata.distributions():
        name = _norm(dist.metadata["Name"] or "")
        if name not in wanted:
            continue
        editable = _editable_source(dist)
        if editable is not None:
            sources.append(editable)
        for entry in _top_level_entries(dist):
            target = exposed / entry
            if (site / entry).exists() and not target.exists():
                target.symlink_to(site / entry)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    python = root / "venv" / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    paths = "\n".join(str(p) for p in [exposed, *sources])
    (Path(purelib) / "corral-extras-venv.pth").write_text(paths + "\n")
    return python


def _editable_source(dist: metadata.Distribution) -> Path | None:
    """The source tree of an editable install (PEP 610 ``direct_url.json``), else None."""
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        return None
    url = str(direct.get("url", ""))
    if direct.get("dir_info", {}).get("editable") and url.startswith("file://"):
        return Path(unquote(url.removeprefix("file://")))
    return None
