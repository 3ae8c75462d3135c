"""A hostile GGUF chat template cannot exhaust memory when llama.cpp loads the model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from corral.testing import write_tiny_gguf

# Run in a child with a 3 GB address-space cap: if llama-cpp-python compiled the template again,
# its constant folding would ask for 10 GB and fail there instead of taking the test machine down.
LOAD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from corral.backends.llamacpp import _lib
llm = _lib.require().Llama(sys.argv[1], n_ctx=64, verbose=False)
print("loaded", sorted(k for k in llm.metadata if "chat_template" in k))
"""


def test_a_template_that_folds_to_10_gb_loads_harmlessly(tmp_path: Path) -> None:
    gguf = write_tiny_gguf(tmp_path / "hostile.gguf", chat_template="{{ 'x' * 10**10 }}")
    out = subprocess.run(
        [sys.executable, "-c", LOAD, str(gguf)], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "loaded []"
