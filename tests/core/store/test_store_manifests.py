"""Manifests: Ollama-layout listing, case-insensitive lookup, atomic writes, corrupt files, resolve."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import pytest
from ollama_layout import IMG, OllamaDir, go_json

from corral.core.errors import InvalidModelName, ModelNotFound
from corral.core.names import parse_name
from corral.core.store import (
    MEDIA_CONFIG,
    MEDIA_MODEL,
    InvalidManifest,
    Layer,
    Manifest,
    ModelConfig,
    Store,
    decode_config,
    decode_manifest,
    encode_manifest,
)


def test_lists_an_ollama_store(ollama_dir: OllamaDir) -> None:
    store = Store(ollama_dir.root)
    models = store.list_models()
    assert [m.name.display_shortest() for m in models] == [
        "llama3.2:latest",
        "mycoolmodel:latest",
        "llama2:latest",
        "localhost:5000/myns/tiny:v1",
    ]
    first = models[0]
    path = ollama_dir.root / "manifests/registry.ollama.ai/library/llama3.2/latest"
    raw = path.read_bytes()
    assert first.digest == hashlib.sha256(raw).hexdigest()
    assert first.modified_at.timestamp() == 1_700_000_300
    assert first.modified_ns == 1_700_000_300 * 10**9
    assert first.modified_at.tzinfo is not None
    layer_sizes = sum(layer.size for layer in first.manifest.layers)
    assert first.size == layer_sizes + first.manifest.config.size
    assert first.config["model_family"] == "llama"
    assert first.config["context_length"] == 131072
    assert decode_config(first.config).file_type == "Q4_K_M"


def test_resolve_reads_every_layer_kind(ollama_dir: OllamaDir) -> None:
    store = Store(ollama_dir.root)
    m = store.resolve("llama3.2")
    d = ollama_dir.digests
    assert m.name.display_full() == "registry.ollama.ai/library/llama3.2:latest"
    assert m.model_path == ollama_dir.root / "blobs" / d["gguf-llama3.2"].replace(":", "-")
    assert m.model_path.read_bytes() == b"GGUF llama3.2 weights"
    assert m.template == "{{ .System }}{{ .Prompt }}"
    assert m.system is None
    assert m.license == ["LLAMA 3.2 COMMUNITY LICENSE", "Acceptable Use Policy"]
    assert m.params == {"stop": ["<|eot_id|>"], "temperature": 0.6}
    assert m.config["model_type"] == "1.2B"

    cool = store.resolve("mycoolmodel:latest")
    assert cool.system == "You are Mario from Super Mario Bros."
    assert cool.messages == [{"role": "user", "content": "who are you?"}]
    assert cool.parent_model == "llama2"
    assert cool.params == {}

    tiny = store.resolve("localhost:5000/myns/tiny:v1")
    assert tiny.template == "legacy {{ .Prompt }}"  # legacy 'prompt' layer
    assert [p.read_bytes() for p in tiny.projectors] == [b"GGUF projector"]
    assert tiny.projector == tiny.projectors[0]
    assert m.projector is None
    assert [p.read_bytes() for p in tiny.adapters] == [b"GGUF lora"]


def test_resolve_missing_model(ollama_dir: OllamaDir) -> None:
    with pytest.raises(ModelNotFound) as exc:
        Store(ollama_dir.root).resolve("nope")
    assert str(exc.value) == "model 'nope:latest' not found"
    assert exc.value.status == 404


def test_case_insensitive_lookup_uses_disk_casing(ollama_dir: OllamaDir) -> None:
    store = Store(ollama_dir.root)
    name = store.existing_name("REGISTRY.Ollama.AI/Library/LLAMA3.2:LATEST")
    assert (name.host, name.namespace, name.model, name.tag) == (
        "registry.ollama.ai",
        "library",
        "llama3.2",
        "latest",
    )
    assert store.get_manifest("Llama3.2:Latest") == store.get_manifest("llama3.2")
    assert (
        store.resolve("LOCALHOST:5000/MyNs/Tiny:V1").name.display_shortest() == "localhost:5000/myns/tiny:v1"
    )
    # Writing under another casing replaces the existing file instead of adding a second one.
    manifest = store.get_manifest("llama2")
    assert manifest is not None
    store.write_manifest("LLAMA3.2:latest", manifest)
    tags = list((ollama_dir.root / "manifests/registry.ollama.ai/library").iterdir())
    assert sorted(p.name for p in tags) == ["llama2", "llama3.2", "mycoolmodel"]
    assert store.get_manifest("llama3.2") == manifest
    # Nothing on disk: the requested spelling is kept.
    assert store.existing_name("NewModel:V2").model == "NewModel"


def test_write_manifest_is_go_compatible(tmp_path: Path) -> None:
    store = Store(tmp_path)
    config = store.add_config(ModelConfig(model_family="llama", model_families=["llama"], file_type="F16"))
    weights = store.add_layer(b"GGUF", MEDIA_MODEL, from_="llama2:latest")
    manifest = Manifest(config=config, layers=[weights])
    digest = store.write_manifest("m", manifest)
    path = tmp_path / "manifests/registry.ollama.ai/library/m/latest"
    raw = path.read_bytes()
    assert digest == hashlib.sha256(raw).hexdigest()
    assert raw == go_json(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": MEDIA_CONFIG, "digest": config.digest, "size": config.size},
            "layers": [
                {"mediaType": IMG + "model", "digest": weights.digest, "size": 4, "from": "llama2:latest"}
            ],
        }
    )
    cfg = store.read_blob(config.digest)
    assert cfg.endswith(b"\n") and b'"architecture":"amd64","os":"linux"' in cfg
    assert b"context_length" not in cfg  # unset optional fields are left out
    assert store.resolve("m").config["file_type"] == "F16"


def test_write_manifest_rejects_bad_digests(tmp_path: Path) -> None:
    store = Store(tmp_path)
    bad = Manifest(config=Layer(MEDIA_CONFIG, "../../etc/passwd", 1), layers=[])
    with pytest.raises(Exception, match="invalid digest format"):
        store.write_manifest("m", bad)
    assert not (tmp_path / "manifests").exists()


def test_crash_during_manifest_write_keeps_old(
    ollama_dir: OllamaDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(ollama_dir.root)
    path = ollama_dir.root / "manifests/registry.ollama.ai/library/llama2/latest"
    before = path.read_bytes()
    replacement = store.get_manifest("mycoolmodel")
    assert replacement is not None

    def crash(src: object, dst: object) -> None:
        raise OSError("simulated crash")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        store.write_manifest("llama2", replacement)
    with pytest.raises(OSError, match="simulated crash"):
        store.write_manifest("brandnew", replacement)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["latest"]
    assert store.get_manifest("brandnew") is None
    assert "brandnew:latest" not in [m.name.display_shortest() for m in store.list_models()]


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b"",
        b'{"schemaVersion":2}',
        go_json(
            {
                "schemaVersion": 2,
                "mediaType": "x",
                "config": {"mediaType": "c", "digest": "sha256:" + "a" * 64, "size": 1},
                "layers": [{"mediaType": "m", "digest": "../../../outside/sentinel", "size": 1}],
            }
        ),
        go_json(
            {
                "schemaVersion": 2,
                "mediaType": "x",
                "config": {"mediaType": "c", "digest": "sha256:" + "a" * 64, "size": -1},
                "layers": [],
            }
        ),
    ],
)
def test_corrupt_manifest_is_skipped(
    ollama_dir: OllamaDir, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    ollama_dir.raw_manifest("registry.ollama.ai/library/broken/latest", content, mtime=1_800_000_000)
    store = Store(ollama_dir.root)
    with caplog.at_level(logging.WARNING):
        names = [m.name.display_shortest() for m in store.list_models()]
    assert "broken:latest" not in names
    assert len(names) == 4
    assert "broken" in caplog.text
    with pytest.raises(InvalidManifest):
        store.get_manifest("broken")
    with pytest.raises(InvalidManifest):
        store.resolve("broken")
    assert (ollama_dir.root.parent / "outside" / "sentinel").read_text() == "keep me"


def test_missing_config_blob_is_skipped_in_list(ollama_dir: OllamaDir) -> None:
    store = Store(ollama_dir.root)
    store.blob_path(ollama_dir.digests["cfg-llama2"]).unlink()
    names = [m.name.display_shortest() for m in store.list_models()]
    assert "llama2:latest" not in names and len(names) == 3


def test_invalid_names_on_disk_are_ignored(ollama_dir: OllamaDir) -> None:
    good = (ollama_dir.root / "manifests/registry.ollama.ai/library/llama2/latest").read_bytes()
    ollama_dir.raw_manifest("registry.ollama.ai/library/.hidden/latest", good)
    ollama_dir.raw_manifest("registry.ollama.ai/na.me/m/latest", good)
    ollama_dir.raw_manifest("too/deep/a/b/c", good)
    ollama_dir.raw_manifest("registry.ollama.ai/library/llama2/.corral-manifest-x.tmp", good)
    assert len(Store(ollama_dir.root).list_models()) == 4


def test_empty_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "nothing-here")
    assert store.list_models() == []
    assert store.get_manifest("m") is None
    assert store.manifest_info("m") is None
    store.ensure_dirs()
    assert sorted(p.name for p in (tmp_path / "nothing-here").iterdir()) == ["blobs", "manifests"]
    assert store.list_models() == []


@pytest.mark.parametrize("name", ["../../outside/sentinel", "a/../../b", "h/n/m:-t", ".x", "m:.."])
def test_invalid_names_raise_before_any_path(ollama_dir: OllamaDir, name: str) -> None:
    store = Store(ollama_dir.root)
    for call in (store.get_manifest, store.resolve, store.delete_model, store.manifest_path):
        with pytest.raises(InvalidModelName):
            call(name)
    with pytest.raises(InvalidModelName):
        store.copy_model("llama2", name)
    with pytest.raises(InvalidModelName):
        store.get_manifest(parse_name(name))
    assert (ollama_dir.root.parent / "outside" / "sentinel").read_text() == "keep me"


def test_manifest_round_trip_preserves_from_and_name() -> None:
    raw = go_json(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": MEDIA_CONFIG, "digest": "sha256:" + "a" * 64, "size": 3},
            "layers": [
                {"mediaType": IMG + "tensor", "digest": "sha256:" + "b" * 64, "size": 9, "name": "w.0"},
                {"mediaType": IMG + "model", "digest": "sha256:" + "c" * 64, "size": 9, "from": "x:y"},
            ],
        }
    )
    assert encode_manifest(decode_manifest(raw)) == raw
