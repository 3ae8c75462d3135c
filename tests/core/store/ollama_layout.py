"""A model directory laid out byte for byte the way Ollama writes ``$OLLAMA_MODELS``."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
IMG = "application/vnd.ollama.image."


def go_json(value: Any) -> bytes:
    """What Go's json.Encoder writes: compact, trailing newline."""
    return json.dumps(value, separators=(",", ":")).encode() + b"\n"


@dataclass
class OllamaDir:
    """Writes blobs and manifests directly, without corral's code."""

    root: Path
    digests: dict[str, str] = field(default_factory=dict)  # label -> sha256:<hex>

    def blob(self, label: str, data: bytes) -> dict[str, Any]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.root / "blobs" / digest.replace(":", "-")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.digests[label] = digest
        return {"digest": digest, "size": len(data)}

    def layer(self, label: str, kind: str, data: bytes, **extra: str) -> dict[str, Any]:
        return {"mediaType": IMG + kind, **self.blob(label, data), **extra}

    def config(self, label: str, family: str, **extra: Any) -> dict[str, Any]:
        body = {
            "model_format": "gguf",
            "model_family": family,
            "model_families": [family],
            "model_type": "1.2B",
            "file_type": "Q4_K_M",
            **extra,
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []},
        }
        return {"mediaType": CONFIG_TYPE, **self.blob(label, go_json(body))}

    def manifest(
        self, relpath: str, config: dict[str, Any], layers: list[dict[str, Any]], mtime: float
    ) -> Path:
        doc = {"schemaVersion": 2, "mediaType": MANIFEST_TYPE, "config": config, "layers": layers}
        return self.raw_manifest(relpath, go_json(doc), mtime)

    def raw_manifest(self, relpath: str, data: bytes, mtime: float = 1_700_000_000) -> Path:
        path = self.root / "manifests" / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (mtime, mtime))
        return path

    def blob_files(self) -> set[str]:
        return {p.name for p in (self.root / "blobs").iterdir()}


def build_ollama_store(root: Path) -> OllamaDir:
    """llama3.2 (library), llama2 + mycoolmodel FROM llama2 (shared blobs), a host:port model."""
    o = OllamaDir(root)
    o.manifest(
        "registry.ollama.ai/library/llama3.2/latest",
        o.config("cfg-llama3.2", "llama", context_length=131072),
        [
            o.layer("gguf-llama3.2", "model", b"GGUF llama3.2 weights"),
            o.layer("tmpl-llama3", "template", b"{{ .System }}{{ .Prompt }}"),
            o.layer("lic-llama3", "license", b"LLAMA 3.2 COMMUNITY LICENSE"),
            o.layer("lic-aup", "license", b"Acceptable Use Policy"),
            o.layer("params-llama3", "params", go_json({"stop": ["<|eot_id|>"], "temperature": 0.6})),
        ],
        mtime=1_700_000_300,
    )
    o.manifest(
        "registry.ollama.ai/library/llama2/latest",
        o.config("cfg-llama2", "llama"),
        [
            o.layer("gguf-llama2", "model", b"GGUF llama2 weights"),
            o.layer("tmpl-llama2", "template", b"[INST] {{ .Prompt }} [/INST]"),
            o.layer("lic-llama2", "license", b"LLAMA 2 LICENSE"),
        ],
        mtime=1_700_000_100,
    )
    o.manifest(
        "registry.ollama.ai/library/mycoolmodel/latest",
        o.config("cfg-mycool", "llama", model_type="6.7B"),
        [
            o.layer("gguf-llama2", "model", b"GGUF llama2 weights", **{"from": "llama2"}),
            o.layer("tmpl-llama2", "template", b"[INST] {{ .Prompt }} [/INST]"),
            o.layer("lic-llama2", "license", b"LLAMA 2 LICENSE"),
            o.layer("sys-mario", "system", b"You are Mario from Super Mario Bros."),
            o.layer("msgs-mario", "messages", go_json([{"role": "user", "content": "who are you?"}])),
        ],
        mtime=1_700_000_200,
    )
    o.manifest(
        "localhost:5000/myns/tiny/v1",
        o.config("cfg-tiny", "gemma3"),
        [
            o.layer("gguf-tiny", "model", b"GGUF tiny"),
            o.layer("proj-tiny", "projector", b"GGUF projector"),
            o.layer("adapter-tiny", "adapter", b"GGUF lora"),
            o.layer("prompt-tiny", "prompt", b"legacy {{ .Prompt }}"),
        ],
        mtime=1_700_000_000,
    )
    return o
