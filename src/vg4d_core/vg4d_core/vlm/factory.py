"""Build a backend from its config or from a checkpoint's state dict."""
from __future__ import annotations

from typing import Any, Mapping

from vg4d_core.config import from_dict
from vg4d_core.vlm.base import VLMBackend
from vg4d_core.vlm.config import VLMConfig


def build_backend(config: VLMConfig) -> VLMBackend:
    """The backend ``config.backend`` names, loaded offline from ``config.model``."""
    if config.backend == "xclip":
        from vg4d_core.vlm.xclip import XCLIPBackend

        return XCLIPBackend.from_config(config)
    if config.backend == "open_clip":
        from vg4d_core.vlm.openclip import OpenCLIPBackend

        return OpenCLIPBackend.from_config(config)
    raise ValueError(f"backend: {config.backend!r} is not one of ['xclip', 'open_clip']")


def backend_from_state_dict(state_dict: Mapping[str, Any], prefix: str = "") -> VLMBackend:
    """Rebuild the backend a ``state_dict()`` came from and load its weights.

    ``prefix``: where the backend sits in a bigger module's state dict (e.g.
    ``"backend."`` for :class:`~vg4d_core.vlm.VLMClassifier`). The pretrained
    files named by the saved config must be available offline (tokenizer,
    architecture); the weights come from ``state_dict``.
    """
    key = f"{prefix}_extra_state"
    if key not in state_dict:
        raise KeyError(f"state dict has no {key!r}: not saved from a vg4d VLM backend")
    extra = state_dict[key]
    config = from_dict(VLMConfig, extra["config"], where="checkpoint vlm config")
    backend = build_backend(config)
    own = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    backend.load_state_dict(own)
    return backend
