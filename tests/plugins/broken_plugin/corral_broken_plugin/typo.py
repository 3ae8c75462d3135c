"""A plugin implementing a hook that does not exist (a misspelling)."""

from corral.plugins import hookimpl


@hookimpl
def corral_register_backend(register):  # type: ignore[no-untyped-def]  # missing "s"
    raise AssertionError("never called")
