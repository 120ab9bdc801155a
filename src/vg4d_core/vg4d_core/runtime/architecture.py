"""Architectures as plain dicts, so a checkpoint alone rebuilds its model.

``arch = {"model": "IMPSTNet", "num_classes": K, "embed_dim": D,
"model_config": <IMPSTNetConfig as a dict, defaults filled in>}``. The dict
is stored in every checkpoint and compared on resume and on load; a
mismatch names every differing field (:func:`~vg4d_core.runtime.checkpoint.check_arch`).

A fine-tuned VLM (``vlm`` stage) is ``{"model": "VLMClassifier", "num_classes": K,
"backend": "xclip" | "open_clip", "vlm_config": <VLMConfig dict>}``; its
weights carry the backend config too (:func:`build_rgb_model`).
"""
from __future__ import annotations

from typing import Any, Mapping

from torch import nn

from vg4d_core.config import from_dict, to_dict
from vg4d_core.runtime.checkpoint import CheckpointError

MODEL_KINDS: tuple[str, ...] = ("IMPSTNet",)  # point encoders; the VLM is "VLMClassifier" (below)


def point_encoder_arch(model_config: Mapping[str, Any], num_classes: int, embed_dim: int) -> dict[str, Any]:
    """The ``arch`` dict of an im-PSTNet with ``num_classes`` outputs and a ``embed_dim`` projection.

    ``model_config`` is a plain dict (a model YAML with overrides); it is
    round-tripped through :class:`~vg4d_core.models.IMPSTNetConfig` so that
    defaults are filled in and two descriptions of one network compare equal.
    """
    from vg4d_core.models import IMPSTNetConfig

    cfg = from_dict(IMPSTNetConfig, dict(model_config), where=f"model {model_config.get('name', '')}".strip())
    return {"model": "IMPSTNet", "num_classes": int(num_classes), "embed_dim": int(embed_dim),
            "model_config": to_dict(cfg)}


def build_point_encoder(arch: Mapping[str, Any]) -> nn.Module:
    """A freshly initialised im-PSTNet of the architecture ``arch``."""
    from vg4d_core.models import IMPSTNet, IMPSTNetConfig

    kind = arch.get("model")
    if kind not in MODEL_KINDS:
        raise CheckpointError(f"unknown model {kind!r} (this version builds {', '.join(MODEL_KINDS)})")
    for key in ("num_classes", "embed_dim", "model_config"):
        if key not in arch:
            raise CheckpointError(f"architecture has no {key!r} entry: {sorted(arch)}")
    cfg = from_dict(IMPSTNetConfig, arch["model_config"], where="arch.model_config")
    return IMPSTNet(cfg, int(arch["num_classes"]), embed_dim=int(arch["embed_dim"]))


# ---- the fine-tuned VLM of the ``vlm`` stage --------------------------------------------------

class RGBVideoClassifier(nn.Module):
    """A :class:`~vg4d_core.vlm.VLMClassifier` that reads raw frames: ``input_key = "rgb"``.

    ``forward(frames uint8 (B, T, H, W, 3))`` keeps ``backend.num_frames``
    of the T frames, evenly spread (the data clip may be longer than the
    VLM's input, e.g. 16 point-cloud frames vs X-CLIP's 8), runs the
    backend's own preprocessing and returns the classifier's dict:
    ``video_embedding`` (B, D) unit, ``rgb_logits`` (B, K),
    ``video_text_logits`` (B, K). Its state dict is the classifier's under
    ``vlm.`` (the backend's config in ``vlm.backend._extra_state``).
    """

    input_key = "rgb"

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.vlm = classifier

    @property
    def backend(self):
        return self.vlm.backend

    def pixels(self, frames):
        """uint8 (B, T, H, W, 3) -> float (B, F, 3, S, S), F = backend.num_frames."""
        import torch

        from vg4d_core.data.point_video import evenly_spread

        if frames.dim() != 5:
            raise ValueError(f"RGBVideoClassifier: frames must be (B, T, H, W, 3), got {tuple(frames.shape)}")
        t, f = frames.shape[1], self.backend.num_frames
        if t < f:
            raise ValueError(f"RGBVideoClassifier: clips have {t} RGB frames but the VLM needs {f}; "
                             f"raise data.num_frames")
        if t > f:
            frames = frames[:, torch.as_tensor(evenly_spread(t, f), device=frames.device)]
        return self.backend.preprocess(frames)

    def forward(self, frames):
        return self.vlm(self.pixels(frames))

    def encode_video(self, frames):
        """uint8 frames -> (B, D) float32 unit video embeddings (what L_pc,video aligns to)."""
        return self.backend.encode_video(self.pixels(frames))

    def class_text_features(self):
        """(K, D) float32 unit class-text features (unconditioned; see vlm.base)."""
        from vg4d_core.vlm.base import TextBank

        if self.vlm.class_text_raw is None:
            raise ValueError("RGBVideoClassifier: no class texts cached")
        return TextBank(self.vlm.class_text_raw).features


def vlm_classifier_arch(backend: Any, num_classes: int) -> dict[str, Any]:
    """The ``arch`` dict of a fine-tuned VLM: ``{"model": "VLMClassifier", "num_classes",
    "backend" (kind), "vlm_config"}``."""
    return {"model": "VLMClassifier", "num_classes": int(num_classes), "backend": backend.kind,
            "vlm_config": to_dict(backend.config)}


def build_rgb_model(arch: Mapping[str, Any], state_dict: Mapping[str, Any]) -> RGBVideoClassifier:
    """Rebuild an :class:`RGBVideoClassifier` from a ``vlm`` checkpoint's arch and weights.

    The backend kind recorded in ``arch`` must be the one inside the weights
    (``vlm.backend._extra_state``); the pretrained files its config names
    (tokenizer, model config) must be available offline.
    """
    from vg4d_core.vlm import BackendMismatchError, TextBank, VLMClassifier, backend_from_state_dict

    if arch.get("model") != "VLMClassifier":
        raise CheckpointError(f"not a fine-tuned VLM checkpoint (model {arch.get('model')!r}); "
                              "pass the checkpoint of a `stage: vlm` run")
    extra = state_dict.get("vlm.backend._extra_state")
    if not isinstance(extra, Mapping):
        raise CheckpointError("VLM checkpoint weights carry no vlm.backend._extra_state (backend config)")
    if extra.get("backend") != arch.get("backend"):
        raise CheckpointError(f"VLM checkpoint records backend {arch.get('backend')!r} but its weights are "
                              f"of a {extra.get('backend')!r} backend")
    try:
        backend = backend_from_state_dict(state_dict, prefix="vlm.backend.")
        clf = VLMClassifier(backend, int(arch["num_classes"]))
        if "vlm.class_text_raw" in state_dict:
            clf.set_class_texts(TextBank(state_dict["vlm.class_text_raw"].float()))
        model = RGBVideoClassifier(clf)
        model.load_state_dict(dict(state_dict))
    except BackendMismatchError as exc:
        raise CheckpointError(str(exc)) from None
    except FileNotFoundError as exc:  # ModelNotFoundError: names the directory and cache it looked in
        raise CheckpointError(f"the vision-language model's pretrained files are missing: {exc}") from None
    except RuntimeError as exc:
        raise CheckpointError(f"VLM weights do not fit the architecture they record: {exc}") from None
    return model
