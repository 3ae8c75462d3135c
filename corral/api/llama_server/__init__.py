"""llama-server's (llama.cpp ``tools/server``) tokenizer endpoints, ``/tokenize`` and ``/detokenize``.

llama-server holds one model; corral holds many, so ``model`` names it, and may be left out when
exactly one model is loaded. Defaults are llama-server's: ``add_special`` false, ``parse_special``
true, ``with_pieces`` false (a piece is a string when its bytes are valid UTF-8, else the list of
its bytes).
"""
