"""The plugin API is documented and typed: a plugin author needs nothing but hookspecs.py."""

from __future__ import annotations

import inspect

import pluggy
import pytest

from corral.plugins import hookimpl, hookspecs
from corral.plugins.manager import build_plugins

SPECS = [name for name in hookspecs.__all__]


@pytest.mark.parametrize("name", SPECS)
def test_every_hook_is_documented_with_its_parameters(name: str) -> None:
    fn = getattr(hookspecs, name)
    doc = inspect.getdoc(fn) or ""
    assert len(doc) > 80, f"{name} needs a real docstring"
    for param in inspect.signature(fn).parameters:
        assert f":param {param}:" in doc, f"{name} does not document {param}"
    hints = inspect.get_annotations(fn, eval_str=True)
    assert set(hints) == {*inspect.signature(fn).parameters, "return"}


def test_misspelled_hook_implementation_is_refused() -> None:
    class Typo:
        @hookimpl
        def corral_register_backend(self, register):  # type: ignore[no-untyped-def]  # missing "s"
            pass

    with pytest.raises(pluggy.PluginValidationError):
        build_plugins(entry_points=False, extra=[Typo()])


def test_observer_failure_never_reaches_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    from corral.core.events import ModelUnloaded

    class Broken:
        @hookimpl
        def corral_on_event(self, event):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom")

    plugins = build_plugins(entry_points=False, extra=[Broken()])
    plugins.emit(ModelUnloaded("m", "b", "unload"))
    assert "boom" in caplog.text


def test_duplicate_backend_name_keeps_the_first() -> None:
    class Dup:
        name = "llamacpp"

        def probe(self, model, host):  # type: ignore[no-untyped-def]
            return None

        def load(self, model, params):  # type: ignore[no-untyped-def]
            raise AssertionError

    class Plugin:
        @hookimpl
        def corral_register_backends(self, register):  # type: ignore[no-untyped-def]
            register(Dup())

    plugins = build_plugins(entry_points=False, extra=[Plugin()])
    assert not isinstance(plugins.backends["llamacpp"], Dup)
