"""``corral push`` / ``corral pull --insecure`` against the registry, and the BytesTransferred events."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corral.cli.main import main
from corral.core.events import BytesTransferred, Event
from corral.core.names import validate_name
from corral.core.registry import RegistryOptions, pull_model, push_model
from corral.core.sources import Progress
from corral.core.store import Store
from tests.conftest import LiveServer
from tests.registry.conftest import Registry, create_tiny


@pytest.mark.usefixtures("cli_live_server")
def test_registry_cli_push_and_pull(
    live_server: LiveServer, registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"{registry.host}/{registry.repo('cli')}:latest"
    gguf = create_tiny(live_server, name, tmp_path, seed=11)
    assert main(["push", "--insecure", name]) == 0
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "retrieving manifest"
    assert re.search(rf"^pushing {gguf[7:19]} 100% ", err, re.M)
    assert err.splitlines()[-2:] == ["pushing manifest", "success"]

    assert main(["rm", name]) == 0
    assert main(["pull", "--insecure", name]) == 0
    err = capsys.readouterr().err
    assert re.search(rf"^pulling {gguf[7:19]} 100% ", err, re.M)
    assert err.splitlines()[-1] == "success"
    # Without --insecure the registry is spoken to over https, which it does not serve.
    assert main(["pull", name]) == 1
    assert "\nError: pull model manifest: " in capsys.readouterr().err


def test_registry_transfers_emit_byte_events(
    live_server: LiveServer, registry: Registry, tmp_path: Path
) -> None:
    name = validate_name(f"{registry.host}/{registry.repo('events')}:latest")
    create_tiny(live_server, name.display_shortest(), tmp_path, seed=12)
    store = live_server.services.store
    manifest = store.get_manifest(name)
    assert manifest is not None
    total = manifest.total_size()
    events: list[Event] = []
    options = RegistryOptions(insecure=True)
    push_model(name, store, lambda p: None, options=options, emit=events.append)
    pushed = [e for e in events if isinstance(e, BytesTransferred)]
    assert {e.direction for e in pushed} == {"push"} and sum(e.bytes for e in pushed) == total
    assert {e.model for e in pushed} == {name.display_shortest()}

    events.clear()
    progress: list[Progress] = []
    pull_model(name, Store(tmp_path / "fresh"), progress.append, options=options, emit=events.append)
    pulled = [e for e in events if isinstance(e, BytesTransferred)]
    assert {e.direction for e in pulled} == {"pull"} and sum(e.bytes for e in pulled) == total
    # Pulling into a store that has everything moves nothing.
    events.clear()
    pull_model(name, Store(tmp_path / "fresh"), progress.append, options=options, emit=events.append)
    assert events == []
