"""Display names: llama.cpp file types (``general.file_type``) and Ollama's human-readable numbers."""

from __future__ import annotations

__all__ = ["FILE_TYPE_NAMES", "file_type_name", "human_number"]

FILE_TYPE_NAMES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    4: "MXFP4",  # Ollama's own gpt-oss conversions
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4",
    39: "NVFP4",
}
"""llama.cpp's ``LLAMA_FTYPE_MOSTLY_*`` values by number, named the way Ollama shows them."""

# llama.cpp sets this bit when the file type was guessed from the tensors rather than chosen.
_FTYPE_GUESSED = 1024


def file_type_name(file_type: int) -> str | None:
    """The display name of a ``general.file_type`` value, or ``None`` when it is not a known one."""
    return FILE_TYPE_NAMES.get(file_type & ~_FTYPE_GUESSED if file_type >= 0 else file_type)


def _decimals(value: float, places: int) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.{places}f}"


def human_number(n: int) -> str:
    """Format a parameter count like Ollama: ``8030261248`` → ``"8.0B"``, ``268098176`` → ``"268.10M"``.

    Billions get one decimal and millions two, unless the value is whole; thousands get none.
    """
    if n >= 1_000_000_000:
        return _decimals(n / 1_000_000_000, 1) + "B"
    if n >= 1_000_000:
        return _decimals(n / 1_000_000, 2) + "M"
    if n >= 1_000:
        return f"{n / 1_000:.0f}K"
    return str(n)
