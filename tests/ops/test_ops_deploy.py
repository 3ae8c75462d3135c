"""deploy/: the systemd unit, ``corral service``, the scrape config, the dashboard, docs/metrics.md."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from corral.cli.commands.service import ENV_FILE, UNIT_PATH, unit_text
from corral.cli.main import main
from corral.plugins.metrics import CorralMetrics

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"


def tool(name: str) -> str | None:
    path = shutil.which(name)
    if path is None and os.environ.get("CORRAL_CI"):
        pytest.fail(f"{name} is not installed but CORRAL_CI is set")
    return path


def corral_metric_names() -> set[str]:
    registry = CollectorRegistry()
    CorralMetrics(registry)
    return {family.name for family in registry.collect() if family.name.startswith("corral_")}


def test_ops_deploy_unit_is_the_one_the_installer_writes() -> None:
    assert (DEPLOY / "corral.service").read_text() == unit_text("/usr/local/bin/corral serve")


def test_ops_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    if analyze is None:
        pytest.skip("SKIPPED LOUDLY: systemd-analyze is missing (apt-get install systemd)")
    # verify checks that ExecStart's binary exists: point it at this Python, a real path.
    unit = tmp_path / "corral.service"
    unit.write_text(unit_text(f"{Path(sys.executable).resolve()} -m corral serve"))
    r = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "corral.service" not in r.stderr, r.stderr  # unknown keys and bad values only warn
    # ... and the check does catch mistakes.
    unit.write_text(
        unit_text(f"{Path(sys.executable).resolve()} -m corral serve").replace(
            "Restart=always", "Restart=sometimes"
        )
    )
    r = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert "Restart" in r.stderr or "restart" in r.stderr


def test_ops_service_install_into_a_temp_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root"
    assert (
        main(["service", "install", "--root", str(root), "--exec-start", "/opt/corral/bin/corral serve"]) == 0
    )
    unit = root / UNIT_PATH.relative_to("/")
    env = root / ENV_FILE.relative_to("/")
    assert unit.read_text() == unit_text("/opt/corral/bin/corral serve")
    assert "User=corral" in unit.read_text() and "EnvironmentFile=-/etc/corral/corral.env" in unit.read_text()
    assert "CORRAL_MODELS=/var/lib/corral/models" in env.read_text()
    assert oct(env.stat().st_mode & 0o777) == "0o640"
    assert (root / "var/lib/corral/models").is_dir()
    out = capsys.readouterr().out
    assert "skip  systemctl enable --now corral" in out  # system commands are not run under --root
    assert "useradd --system --gid corral" in out

    env.write_text("CORRAL_KEEP_ALIVE=1h\n")  # a reinstall keeps the operator's settings
    assert main(["service", "install", "--root", str(root), "--exec-start", "/x serve"]) == 0
    assert env.read_text() == "CORRAL_KEEP_ALIVE=1h\n"

    assert main(["service", "uninstall", "--root", str(root)]) == 0
    assert not unit.exists() and env.exists()
    assert main(["service", "uninstall", "--purge", "--root", str(root)]) == 0
    assert not env.exists() and not (root / "var/lib/corral").exists()


def test_ops_service_dry_run_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["service", "install", "--dry-run", "--root", str(tmp_path), "--exec-start", "/x serve"]) == 0
    assert list(tmp_path.iterdir()) == []
    out = capsys.readouterr().out
    assert "write /etc/systemd/system/corral.service" in out and "ExecStart=/x serve" in out
    assert "systemctl enable --now corral" in out


def test_ops_prometheus_config_is_valid() -> None:
    promtool = tool("promtool")
    if promtool is None:
        pytest.skip("SKIPPED LOUDLY: promtool is missing (apt-get install prometheus)")
    r = subprocess.run(
        [promtool, "check", "config", str(DEPLOY / "prometheus.yml")], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_ops_dashboard_queries_parse_and_name_real_metrics(tmp_path: Path) -> None:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    known = corral_metric_names()
    used = {
        re.sub(r"_(bucket|sum|count|total|info)$", "", m)
        for e in exprs
        for m in re.findall(r"\bcorral_[a-z_]+", e)
    }
    assert used <= known, used - known  # (family names: counters without _total, info without _info)
    assert known - used <= {"corral_build"}, f"metrics missing from the dashboard: {known - used}"
    promtool = tool("promtool")
    if promtool is None:
        return
    rules = tmp_path / "rules.yml"
    concrete = [e.replace("$job", "corral").replace("$__rate_interval", "1m") for e in exprs]
    rules.write_text(
        "groups:\n  - name: dashboard\n    rules:\n"
        + "".join(
            f"      - record: dashboard:q{i}\n        expr: {json.dumps(e)}\n" for i, e in enumerate(concrete)
        )
    )
    r = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ops_every_metric_is_documented() -> None:
    doc = (ROOT / "docs" / "metrics.md").read_text()
    missing = {
        name
        for name in corral_metric_names()
        if not any(f"`{name}{suffix}`" in doc for suffix in ("", "_total", "_info"))
    }
    assert not missing, missing
