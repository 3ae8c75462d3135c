"""Ollama's native API (``/api/*``): an adapter over the core, in the same shape as the others.

Modules: ``protocol`` (every request and response type, on one request base and one response
base), ``from_ollama`` (requests → core inputs), ``to_ollama`` (chunks, embeddings and loaded
models → response objects), and thin handlers: ``routes`` (model management and ``/api/ps``),
``inference`` (generate, chat), ``embed`` (embed, embeddings), ``tokenize`` (tokenize,
detokenize). Model-management bodies (``/api/tags`` entries, ``/api/show``) are plain objects the
core's catalog shapes.
"""
