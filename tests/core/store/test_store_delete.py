"""Reference-counted delete, copy and start-up pruning."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from ollama_layout import OllamaDir

from corral.core.errors import ModelNotFound
from corral.core.store import MEDIA_SYSTEM, Manifest, Store

LLAMA2_SHARED = ("cfg-llama2", "gguf-llama2", "tmpl-llama2", "lic-llama2")
MYCOOL_ONLY = ("cfg-mycool", "sys-mario", "msgs-mario")


def blob_names(o: OllamaDir, *labels: str) -> set[str]:
    return {o.digests[label].replace(":", "-") for label in labels}


def test_refcounted_delete_llama2_mycoolmodel(ollama_dir: OllamaDir) -> None:
    o = ollama_dir
    store = Store(o.root)
    llama2_own = blob_names(o, "cfg-llama2")
    shared = blob_names(o, "gguf-llama2", "tmpl-llama2", "lic-llama2")
    mine = blob_names(o, *MYCOOL_ONLY)

    store.delete_model("llama2")
    left = o.blob_files()
    assert shared <= left and mine <= left
    assert not llama2_own & left
    assert store.get_manifest("llama2") is None
    assert store.resolve("mycoolmodel").model_path is not None
    # The emptied llama2 directory is pruned; the namespace directory stays in use.
    assert not (o.root / "manifests/registry.ollama.ai/library/llama2").exists()

    store.delete_model("MyCoolModel")
    left = o.blob_files()
    assert not (shared | mine) & left
    assert [m.name.display_shortest() for m in store.list_models()] == [
        "llama3.2:latest",
        "localhost:5000/myns/tiny:v1",
    ]
    assert blob_names(o, "gguf-llama3.2", "gguf-tiny") <= left


def test_delete_other_order(ollama_dir: OllamaDir) -> None:
    o = ollama_dir
    store = Store(o.root)
    store.delete_model("mycoolmodel:latest")
    left = o.blob_files()
    assert blob_names(o, *LLAMA2_SHARED) <= left
    assert not blob_names(o, *MYCOOL_ONLY) & left
    store.delete_model("llama2")
    assert not blob_names(o, *LLAMA2_SHARED) & o.blob_files()


def test_delete_prunes_empty_dirs_up_to_manifests(ollama_dir: OllamaDir) -> None:
    store = Store(ollama_dir.root)
    store.delete_model("localhost:5000/myns/tiny:v1")
    assert not (ollama_dir.root / "manifests/localhost:5000").exists()
    assert (ollama_dir.root / "manifests").is_dir()


def test_delete_missing(ollama_dir: OllamaDir) -> None:
    with pytest.raises(ModelNotFound) as exc:
        Store(ollama_dir.root).delete_model("nope")
    assert str(exc.value) == "model 'nope:latest' not found"


def test_delete_corrupt_manifest(ollama_dir: OllamaDir) -> None:
    o = ollama_dir
    store = Store(o.root)
    orphan, _ = store.write_blob_bytes(b"orphan only referenced by a broken manifest")
    o.raw_manifest("registry.ollama.ai/library/broken/latest", b'{"layers":[{"digest":"' + orphan.encode())
    store.delete_model("broken")
    assert not store.has_blob(orphan)
    assert len(store.list_models()) == 4


def test_corrupt_manifest_still_protects_its_blobs(ollama_dir: OllamaDir) -> None:
    o = ollama_dir
    store = Store(o.root)
    # An unparsable manifest naming llama2's weights keeps them alive when both users are deleted.
    weights = o.digests["gguf-llama2"]
    o.raw_manifest("registry.ollama.ai/library/broken/latest", b"{garbage " + weights.encode())
    store.delete_model("llama2")
    store.delete_model("mycoolmodel")
    assert store.has_blob(weights)
    store.prune_unreferenced()
    assert store.has_blob(weights)


def test_copy_shares_blobs(ollama_dir: OllamaDir) -> None:
    o = ollama_dir
    store = Store(o.root)
    store.copy_model("llama2", "me/llama2-copy:v1")
    src = o.root / "manifests/registry.ollama.ai/library/llama2/latest"
    dst = o.root / "manifests/registry.ollama.ai/me/llama2-copy/v1"
    assert dst.read_bytes() == src.read_bytes()
    before = o.blob_files()
    store.copy_model("LLAMA2", "me/llama2-copy:v1")  # overwriting is fine
    assert o.blob_files() == before
    store.delete_model("llama2")
    store.delete_model("mycoolmodel")
    assert blob_names(o, *LLAMA2_SHARED) <= o.blob_files()
    assert store.resolve("me/llama2-copy:v1").template == "[INST] {{ .Prompt }} [/INST]"


def test_copy_missing_source(ollama_dir: OllamaDir) -> None:
    store = Store(ollama_dir.root)
    with pytest.raises(ModelNotFound) as exc:
        store.copy_model("nope", "other")
    assert str(exc.value) == 'model "nope:latest" not found'
    assert store.get_manifest("other") is None


def test_remove_if_unreferenced_after_replace(ollama_dir: OllamaDir) -> None:
    o = ollama_dir
    store = Store(o.root)
    old = store.get_manifest("llama3.2")
    assert old is not None
    system = store.add_layer(b"new system", MEDIA_SYSTEM)
    store.write_manifest("llama3.2", Manifest(config=old.config, layers=[old.layers[0], system]))
    removed = store.remove_if_unreferenced(old.digests())
    assert removed == 4  # template, two licenses, params
    assert store.has_blob(old.layers[0].digest) and store.has_blob(system.digest)
    assert store.resolve("llama3.2").system == "new system"


def test_prune_unreferenced(ollama_dir: OllamaDir, caplog: pytest.LogCaptureFixture) -> None:
    o = ollama_dir
    store = Store(o.root)
    blobs = o.root / "blobs"
    unreferenced, _ = store.write_blob_bytes(b"uploaded but never used")
    weights_hex = o.digests["gguf-tiny"][7:]
    (blobs / f"sha256-{'e' * 64}-partial").write_bytes(b"half")
    (blobs / f"sha256-{'e' * 64}-partial-0").write_text("{}")
    (blobs / ".corral-blob-abc.tmp").write_bytes(b"crashed write")
    (blobs / "sha256-12345678").write_bytes(b"ollama temp")
    tmp_manifest = o.raw_manifest("registry.ollama.ai/library/llama2/.corral-manifest-x.tmp", b"{}")
    # A blob with the legacy name is renamed rather than deleted.
    legacy_data = store.read_blob(o.digests["gguf-tiny"])
    store.blob_path(o.digests["gguf-tiny"]).rename(blobs / f"sha256:{weights_hex}")
    (o.root / "manifests/empty/dir/tree").mkdir(parents=True)

    before = o.blob_files()
    with caplog.at_level(logging.INFO):
        removed = store.prune_unreferenced()
    assert removed == 4
    assert not store.has_blob(unreferenced)
    assert not tmp_manifest.exists()
    assert not (o.root / "manifests/empty").exists()
    assert store.read_blob(o.digests["gguf-tiny"]) == legacy_data
    assert o.blob_files() == (before - {f"sha256:{weights_hex}"} | {f"sha256-{weights_hex}"}) - {
        ".corral-blob-abc.tmp",
        "sha256-12345678",
        unreferenced.replace(":", "-"),
    }
    assert len(store.list_models()) == 4
    for info in store.list_models():
        assert all(store.has_blob(d) for d in info.manifest.digests())
    # Partial downloads survive, so a pull interrupted before a restart resumes.
    assert (blobs / f"sha256-{'e' * 64}-partial").read_bytes() == b"half"
    assert store.prune_unreferenced() == 0
    assert (o.root.parent / "outside" / "sentinel").read_text() == "keep me"


def test_prune_empty_store(tmp_path: Path) -> None:
    assert Store(tmp_path / "none").prune_unreferenced() == 0
