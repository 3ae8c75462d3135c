"""Media types of manifests, config blobs and layers, as Ollama and Docker Distribution name them."""

from __future__ import annotations

__all__ = [
    "MEDIA_ADAPTER",
    "MEDIA_CONFIG",
    "MEDIA_EMBED",
    "MEDIA_LICENSE",
    "MEDIA_MANIFEST",
    "MEDIA_MESSAGES",
    "MEDIA_MODEL",
    "MEDIA_PARAMS",
    "MEDIA_PROJECTOR",
    "MEDIA_PROMPT",
    "MEDIA_SYSTEM",
    "MEDIA_TEMPLATE",
]

MEDIA_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_CONFIG = "application/vnd.docker.container.image.v1+json"

_PREFIX = "application/vnd.ollama.image."
MEDIA_MODEL = _PREFIX + "model"  #: GGUF weights
MEDIA_ADAPTER = _PREFIX + "adapter"  #: LoRA GGUF
MEDIA_PROJECTOR = _PREFIX + "projector"  #: multimodal projector GGUF
MEDIA_TEMPLATE = _PREFIX + "template"  #: Go template text
MEDIA_PROMPT = _PREFIX + "prompt"  #: legacy name of the template layer
MEDIA_SYSTEM = _PREFIX + "system"  #: system prompt text
MEDIA_PARAMS = _PREFIX + "params"  #: JSON object of options
MEDIA_MESSAGES = _PREFIX + "messages"  #: JSON array of {role, content}
MEDIA_LICENSE = _PREFIX + "license"  #: license text, one layer per license
MEDIA_EMBED = _PREFIX + "embed"  #: deprecated, ignored
