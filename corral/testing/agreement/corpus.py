"""A deterministic corpus of strings that stress tokenizers (no downloads, same list every run).

It mixes plain ASCII, accented Latin, Cyrillic, Greek, CJK, Korean, emoji (with skin tones, ZWJ
sequences and flags), whitespace runs (spaces, tabs, newlines, ``\\r\\n``, no-break and
ideographic spaces), code, numbers and contractions, text that looks like special tokens of
common models (``<start_of_turn>``, ``<bos>``, ``</s>``, ``<|im_start|>``...), text that looks
like byte tokens (``<0x41>``), the empty string and leading/trailing spaces. It never contains
``▁`` (U+2581), which SentencePiece vocabularies cannot round-trip, nor lone surrogates.
"""

from __future__ import annotations

import random

__all__ = ["SPECIAL_LOOKING", "tokenization_corpus"]

SPECIAL_LOOKING: tuple[str, ...] = (
    "<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "<pad>", "<unk>", "<mask>", "<s>", "</s>",
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|begin_of_text|>", "<unused0>",
    "<unused17>", "[multimodal]", "<table>", "</td>", "<tool>", "<start_of_image>", "[INST]", "[/INST]",
)  # fmt: skip
"""Special-token texts of common models (Gemma, Llama, Qwen, ChatML...)."""

_FIXED: tuple[str, ...] = (
    "", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\t\t\n\n  ", "a", "I", " a", "  a", "a ",
    "a  ",
    "hello", " hello", "  hello", "hello world", "Hello, World!", "hello\nworld", "hello\tworld",
    "The quick brown fox jumps over the lazy dog.", "Why is the sky blue?",
    "It's a dog's life; I'm sure we'll see, they've said you'd know. DON'T SHOUT, I'LL LISTEN.",
    "naïve café résumé über straße Ångström façade señor coöperate", "Ça va? Très bien, merci!",
    "Ελληνικά γράμματα", "Привет, мир! Как дела?", "日本語のテキストです。", "中文文本，你好世界！",
    "한국어 텍스트입니다", "ภาษาไทย", "עברית", "العربية", "हिन्दी", "🙂", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷🇯🇵",
    "emoji 🐑🐑🐑 in text ✓ ✗ ★", "math: ∑ x² ≤ ∞, π ≈ 3.14159", "€100 £50 ¥1000 $5.99",
    "<0x41>", "<0x0A>", "<0xFF><0x00>", "<0x4", "0x41", "<<0x41>>", "<s>", "</s>", "<s></s>",
    "<bos>", "<bos><bos>", "<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhello<|im_end|>",
    "text<eos>more", " <start_of_turn> ", "<start_of_turn", "start_of_turn>", "<<start_of_turn>>",
    "def f(x):\n    return x ** 2  # square\n", "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "if a == b and c != d:\n\tpass\nelif e >= f:\n\tprint('ok')", "<div class=\"x\">&amp;</div>",
    '{"key": [1, 2.5, -3e10, true, null], "nested": {"a": "b"}}', "SELECT * FROM t WHERE id=42;",
    "1234567890", "3.14159265358979", "1,000,000.00", "2024-01-15T12:34:56Z", "v1.2.3-rc.4",
    "    indented", "\t\tdouble tab", "trailing spaces    ", "x" * 200, "ab" * 150, "\n" * 40, " " * 40,
    "mixed \u00a0nbsp\u3000ideographic\u2003em space", "zero\u200bwidth", "soft\u00adhyphen",
    "e\u0301 combining acute", "ﬁ ligature", "Ａｂｃ fullwidth", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ǅ titlecase",
)  # fmt: skip

_WORDS = (
    "the", "of", "and", "to", "a", "in", "is", "it", "you", "that", "hello", "world", "llama",
    "model", "token", "Gemma", "sky", "blue", "why", "cat", "dog", "sun", "running", "unbelievable",
    "tokenization", "don't", "it's", "we'll", "I'm", "they're", "café", "naïve", "über", "日本",
    "中文", "한국", "мир", "γειά", "🙂", "🐑", "42", "3.14", "1000000", "x=1", "f(x)", "a[i]",
    "#include", "print()", "->", "=>", "::", "...", "?!", "--", "__init__", "CamelCase", "snake_case",
)  # fmt: skip

_SEPARATORS = (
    " ", " ", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\t\t", ", ", ". ", "", "\u00a0",
)  # fmt: skip


def _random_string(rng: random.Random) -> str:
    kind = rng.random()
    n = rng.randint(1, 12)
    parts: list[str] = []
    for _ in range(n):
        r = rng.random()
        if r < 0.08:
            parts.append(rng.choice(SPECIAL_LOOKING))
        elif r < 0.12:
            parts.append(f"<0x{rng.randrange(256):02X}>")
        elif r < 0.9:
            parts.append(rng.choice(_WORDS))
        else:
            parts.append("".join(chr(rng.randrange(0x20, 0x7F)) for _ in range(rng.randint(1, 8))))
    text = parts[0]
    for part in parts[1:]:
        text += rng.choice(_SEPARATORS) + part
    if kind < 0.15:
        text = " " * rng.randint(1, 4) + text
    elif kind < 0.25:
        text += rng.choice(_SEPARATORS)
    elif kind < 0.3:
        text = rng.choice(("\n", "\t", "\r\n")) + text
    return text


def tokenization_corpus(size: int = 1200, seed: int = 0) -> list[str]:
    """``size`` strings (at least the ~150 fixed edge cases), the same for the same arguments.

    The fixed edge cases come first, then random mixes of words, special-token-looking text,
    byte-token-looking text and separators drawn from ``seed``. Duplicates are skipped.
    """
    rng = random.Random(seed)
    out = list(dict.fromkeys(_FIXED))
    seen = set(out)
    while len(out) < size:
        text = _random_string(rng)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out
