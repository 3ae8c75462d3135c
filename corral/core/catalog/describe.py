"""What ``/api/tags`` and ``/api/show`` say about a model: details, capabilities, model_info."""

from __future__ import annotations

import logging
from typing import Any

from corral.core.catalog.chat_template import load_template
from corral.core.errors import CorralError
from corral.core.gguf import GGUFInfo, model_info, read_model_file, tensors_for_show
from corral.core.modelfile_show import render_show_modelfile
from corral.core.options import format_parameters_for_show
from corral.core.store import LocalModel, ModelListing, Store
from corral.core.store.manifest import Manifest, decode_config
from corral.core.templates.jinja_template import ChatTemplate, template_kind
from corral.core.timefmt import rfc3339_local

__all__ = ["capabilities", "details", "list_entry", "load_template", "show_model"]

log = logging.getLogger("corral.catalog")

_CONFIG_MAX = 1 << 20


def details(store: Store, manifest: Manifest, parent_model: str = "") -> dict[str, Any]:
    """The ``details`` object, read from the config blob like Ollama does."""
    out: dict[str, Any] = {
        "parent_model": parent_model,
        "format": "gguf",
        "family": "",
        "families": None,
        "parameter_size": "",
        "quantization_level": "",
    }
    try:
        cfg = decode_config(store.read_blob(manifest.config.digest, _CONFIG_MAX))
    except (CorralError, OSError, ValueError):
        return out
    out["format"] = cfg.model_format or "gguf"
    out["family"] = cfg.model_family
    out["families"] = cfg.model_families
    out["parameter_size"] = cfg.model_type
    out["quantization_level"] = cfg.file_type
    return out


def list_entry(store: Store, item: ModelListing) -> dict[str, Any]:
    """One ``/api/tags`` entry."""
    short = item.name.display_shortest()
    return {
        "name": short,
        "model": short,
        "modified_at": rfc3339_local(item.modified_ns),
        "size": item.size,
        "digest": item.digest,
        "details": details(store, item.manifest),
    }


def capabilities(info: GGUFInfo | None, template: ChatTemplate | None, has_projector: bool) -> list[str]:
    """Ollama's capability strings, derived from the GGUF and the template."""
    caps: list[str] = []
    meta = info.metadata if info is not None else {}
    arch = info.architecture if info is not None else ""
    if any(k.endswith(".pooling_type") for k in meta):
        caps.append("embedding")
    else:
        caps.append("completion")
    if template is not None:
        if template.uses("Tools"):
            caps.append("tools")
        if template.uses("Suffix"):
            caps.append("insert")
        if template.uses("Think") or template.uses("ThinkLevel"):
            caps.append("thinking")
    if has_projector or f"{arch}.vision.block_count" in meta:
        caps.append("vision")
    return caps


def show_model(store: Store, local: LocalModel, *, verbose: bool) -> dict[str, Any]:
    """The full ``/api/show`` object."""
    info = read_model_file(local.model_path, keep_arrays=verbose) if local.model_path is not None else None
    template = load_template(local)
    kind = template_kind(template)
    parent = next((layer.from_ for layer in local.manifest.layers if layer.from_), "")
    out: dict[str, Any] = {}
    if local.license:
        out["license"] = "\n".join(local.license)
    out["modelfile"] = render_show_modelfile(
        display_name=local.name.display_shortest(),
        model_path=str(local.model_path) if local.model_path else "",
        adapters=[str(p) for p in local.adapters],
        projectors=[str(p) for p in local.projectors],
        # A Jinja chat template stays in the GGUF: re-creating from FROM alone brings it back.
        template=local.template if local.template is not None or kind == "jinja" else "{{ .Prompt }}",
        system=local.system,
        params=local.params,
        license=local.license,
        messages=local.messages,
    )
    params = format_parameters_for_show(local.params)
    if params:
        out["parameters"] = params
    if template is not None and template.text:
        out["template"] = template.text
    if kind is not None:
        out["template_kind"] = kind  # corral: "go" (Ollama template) or "jinja" (the GGUF's own)
    if local.system:
        out["system"] = local.system
    out["details"] = details(store, local.manifest, parent)
    if local.messages:
        out["messages"] = [{"role": m["role"], "content": m["content"]} for m in local.messages]
    out["model_info"] = model_info(info, verbose=verbose) if info is not None else {}
    if info is not None and verbose:
        out["tensors"] = tensors_for_show(info)
    out["capabilities"] = capabilities(info, template, local.projector is not None)
    out["modified_at"] = rfc3339_local(local.modified_ns)
    return out
