"""llama.cpp's native log callback is installed once per process, even when threads race to it."""

from __future__ import annotations

import threading

from corral.backends.llamacpp import _lib


def test_racing_threads_keep_the_first_callback(llama_cpp_installed: None) -> None:
    module = _lib.llama_cpp()
    first = _lib._log_callback
    assert first is not None
    # Replacing the callback would free the one llama.cpp holds (a segfault at its next log line).
    start = threading.Barrier(8)

    def race() -> None:
        start.wait()
        _lib._route_native_logs(module)

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _lib._log_callback is first
