"""The backend agreement kit: check a backend against another (tokenization, logits, greedy decoding).

Usable by plugin authors: every check takes two loaded :class:`corral.core.engine.Runner` objects (or
the pieces it needs) and returns a report with the figures, so a test can assert on tolerances.
Tokenization: :func:`corral.testing.agreement.tokens.compare_tokenization` over
:func:`corral.testing.agreement.corpus.tokenization_corpus`.
"""
