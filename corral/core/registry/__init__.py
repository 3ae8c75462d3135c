"""Pull and push over the OCI distribution (Docker Registry v2) API.

* :class:`RegistryClient` — the HTTP client (manifests, blobs, uploads, auth, redirects, retries).
* :func:`pull_model` / :func:`push_model` — the transfers, reporting Ollama's progress lines.
* :class:`RegistrySource` — the registry as a model source (priority 0).
"""

from __future__ import annotations

from corral.core.registry.auth import Credentials
from corral.core.registry.bodies import RegistryError
from corral.core.registry.client import RegistryClient, RegistryNotFound, RegistryOptions
from corral.core.registry.pull import pull_model
from corral.core.registry.push import push_model
from corral.core.registry.source import RegistrySource

__all__ = [
    "Credentials",
    "RegistryClient",
    "RegistryError",
    "RegistryNotFound",
    "RegistryOptions",
    "RegistrySource",
    "pull_model",
    "push_model",
]
