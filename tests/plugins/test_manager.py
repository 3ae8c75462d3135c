"""The manager calls hooks through pluggy: ordering, wrappers, name ownership, disabling, failures."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import pytest
from litestar.testing import TestClient

from corral.api.app import create_app
from corral.core.config import load_config
from corral.core.engine import Backend, Fit, HostInfo, LoadParams, ModelSpec, Runner
from corral.core.events import ModelUnloaded
from corral.core.services import build_services
from corral.plugins import hookimpl
from corral.plugins.manager import BUILTIN_PLUGINS, build_plugins

EVENT = ModelUnloaded("m", "b", "unload")


class _Named:
    def __init__(self, name: str, tag: str) -> None:
        self.name = name
        self.tag = tag

    def probe(self, model: ModelSpec, host: HostInfo) -> Fit | None:
        return None

    def load(self, model: ModelSpec, params: LoadParams) -> Runner:
        raise AssertionError("not loaded in these tests")


def _observer(calls: list[str], tag: str, **opts: bool) -> object:
    class Observer:
        @hookimpl(**opts)
        def corral_on_event(self, event: object) -> None:
            calls.append(tag)

    return Observer()


def test_observers_run_in_pluggys_documented_order() -> None:
    """Last registered first; tryfirst before the rest and trylast after, whatever the registration order."""
    calls: list[str] = []
    plugins = build_plugins(
        builtins=(),
        entry_points=False,
        extra=[
            _observer(calls, "last", trylast=True),
            _observer(calls, "first-registered"),
            _observer(calls, "first", tryfirst=True),
            _observer(calls, "second-registered"),
        ],
    )
    plugins.emit(EVENT)
    assert calls == ["first", "second-registered", "first-registered", "last"]


def test_a_wrapper_runs_around_every_observer() -> None:
    calls: list[str] = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def corral_on_event(self, event: object) -> Generator[None, Any, Any]:
            calls.append("before")
            result = yield
            calls.append("after")
            return result

    plugins = build_plugins(
        builtins=(), entry_points=False, extra=[_observer(calls, "a"), Wrapper(), _observer(calls, "b")]
    )
    plugins.emit(EVENT)
    assert calls == ["before", "b", "a", "after"]


def test_a_failing_observer_does_not_silence_the_others(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    class Broken:
        @hookimpl
        def corral_on_event(self, event: object) -> None:
            raise RuntimeError("observer bug")

    plugins = build_plugins(builtins=(), entry_points=False, extra=[_observer(calls, "early"), Broken()])
    plugins.emit(EVENT)
    assert calls == ["early"] and "observer bug" in caplog.text


def test_a_backend_name_belongs_to_the_plugin_registered_first_even_against_tryfirst() -> None:
    def plugin(tag: str, **opts: bool) -> object:
        class P:
            @hookimpl(**opts)
            def corral_register_backends(self, register: Callable[[Backend], None]) -> None:
                register(_Named("same", tag))
                register(_Named(f"own-{tag}", tag))

        return P()

    plugins = build_plugins(
        builtins=(),
        entry_points=False,
        extra=[plugin("first"), plugin("pushy", tryfirst=True), plugin("late")],
    )
    same = plugins.backends["same"]
    assert isinstance(same, _Named) and same.tag == "first"
    # Every plugin's other backends are kept, in registration order.
    assert list(plugins.backends) == ["same", "own-first", "own-pushy", "own-late"]


def test_builtins_keep_their_names_against_a_later_tryfirst_plugin() -> None:
    class Takeover:
        @hookimpl(tryfirst=True)
        def corral_register_backends(self, register: Callable[[Backend], None]) -> None:
            register(_Named("cpu-ref", "takeover"))

    plugins = build_plugins(entry_points=False, extra=[Takeover()])
    assert not isinstance(plugins.backends["cpu-ref"], _Named)


def test_builtins_are_disabled_by_short_name_or_module() -> None:
    plugins = build_plugins(entry_points=False, disabled=["onnx", "corral.plugins.metrics"])
    assert "onnx" not in plugins.backends and "llamacpp" in plugins.backends
    assert plugins.disabled == ["onnx", "metrics"]
    assert "metrics" not in plugins.plugin_names


def test_disabled_list_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRAL_DISABLED_PLUGINS", "cpu-ref")
    assert "cpu-ref" not in build_plugins(entry_points=False).backends
    assert "cpu-ref" in build_plugins(entry_points=False, disabled=()).backends


def test_a_builtin_that_raises_on_import_is_skipped(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    (tmp_path / "corral_test_broken_builtin.py").write_text("raise RuntimeError('import-time bug')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins = build_plugins(builtins=(*BUILTIN_PLUGINS, "corral_test_broken_builtin"), entry_points=False)
    assert [(s.name, s.disabled) for s in plugins.skipped] == [("corral_test_broken_builtin", False)]
    assert plugins.skipped[0].reason == "RuntimeError: import-time bug"
    assert "llamacpp" in plugins.backends


def test_api_backends_and_the_cli_table_show_disabled_and_failed_plugins(tmp_path: Any) -> None:
    from corral.cli.commands.backends import format_backends

    config = load_config({}, models=tmp_path / "models")
    plugins = build_plugins(
        builtins=(*BUILTIN_PLUGINS, "corral_no_such_plugin"), entry_points=False, disabled=["onnx"]
    )
    with TestClient(create_app(build_services(config, plugins=plugins))) as client:
        body = client.get("/api/backends").json()
    assert body["disabled_plugins"] == ["onnx"]
    assert [f["name"] for f in body["failed_plugins"]] == ["corral_no_such_plugin"]
    assert "ModuleNotFoundError" in body["failed_plugins"][0]["reason"]
    table = format_backends(body)
    assert "disabled plugins (CORRAL_DISABLED_PLUGINS): onnx" in table
    assert "plugin corral_no_such_plugin failed to load: ModuleNotFoundError" in table
