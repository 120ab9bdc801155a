"""The interface every vision-language backend implements.

Which embedding feeds which score and loss (decided here, once):

* **RGB-Text score** and the VLM fine-tuning loss use
  :meth:`VLMBackend.video_text_logits`. For X-CLIP these are the logits of
  the *video-conditioned* text embeddings (the prompt generator adds
  video-specific context to each class text), exactly
  ``XCLIPModel.forward().logits_per_video``: it is what X-CLIP was trained
  and evaluated with, so fine-tuning optimises the very score used at test
  time. For open_clip there is no conditioning; it is the scaled cosine.
* **PC-Text score** and **L_pc,text** use :meth:`VLMBackend.encode_text`
  (via :attr:`TextBank.features`): the *unconditioned* text features. A
  depth-only prediction has no video to condition on, and a fixed (K, D)
  bank is computed once per class list and cached.
* **L_pc,video** uses :meth:`VLMBackend.encode_video` of the frozen backend
  (the X-CLIP video embedding after the multi-frame integration
  transformer; open_clip's frame mean), precomputed as ``batch["video_features"]``.

Prompt ensembles: a class's text feature over M templates is the mean of
the M unit embeddings, re-normalised (CLIP's zero-shot recipe). For X-CLIP's
conditioned logits the same rule is applied after conditioning each template.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vg4d_core.config import to_dict
from vg4d_core.vlm.config import VLMConfig
from vg4d_core.vlm.preprocess import PreprocessSpec, preprocess_frames


class BackendMismatchError(ValueError):
    """A checkpoint of one backend kind was loaded into another."""


def ensemble_unit(embeddings: Tensor) -> Tensor:
    """``(M, K, D)`` embeddings -> ``(K, D)`` unit vectors: mean of the unit vectors, re-normalised."""
    unit = F.normalize(embeddings.float(), dim=-1)
    if unit.shape[0] == 1:
        return unit[0]
    return F.normalize(unit.mean(dim=0), dim=-1)


@dataclass
class TextBank:
    """Class-text embeddings for K classes under M prompt templates.

    ``raw`` (M, K, D) float32: the projected text embeddings *before*
    normalisation (X-CLIP's prompt generator conditions these, so they are
    kept as they are); :attr:`features` is the (K, D) unit ensemble.
    """

    raw: Tensor

    def __post_init__(self) -> None:
        if self.raw.dim() != 3:
            raise ValueError(f"TextBank: raw must be (M, K, D), got shape {tuple(self.raw.shape)}")

    @property
    def num_classes(self) -> int:
        return self.raw.shape[1]

    @property
    def features(self) -> Tensor:
        """(K, D) float32 unit vectors: the unconditioned class-text features."""
        return ensemble_unit(self.raw)


@dataclass
class VideoEncoding:
    """What one backend pass over a clip yields.

    ``embedding`` (B, D) float32 unit vectors; ``prompt_context`` (B, P, D)
    the per-patch visual tokens X-CLIP's prompt generator attends to (None
    for backends without one).
    """

    embedding: Tensor
    prompt_context: Tensor | None = None


class VLMBackend(nn.Module, ABC):
    """A frozen-or-tunable video/text model with unit-sphere outputs.

    Attributes set by subclasses: ``config`` (:class:`VLMConfig`),
    ``embed_dim`` (D), ``num_frames`` (T expected by :meth:`encode_video`),
    ``preprocess_spec`` (:class:`PreprocessSpec`).

    ``state_dict()`` carries ``_extra_state = {"backend": kind, "config": ...}``;
    loading a state dict of another kind raises :class:`BackendMismatchError`
    naming both.
    """

    kind: ClassVar[str]
    config: VLMConfig
    embed_dim: int
    num_frames: int
    preprocess_spec: PreprocessSpec

    # ---- pixels -------------------------------------------------------------
    def preprocess(self, frames: Tensor) -> Tensor:
        """``uint8 (B, T, H, W, 3)`` RGB -> ``float32 (B, T, 3, S, S)`` on this backend's device."""
        return preprocess_frames(frames.to(self.device), self.preprocess_spec)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def check_pixels(self, pixels: Tensor) -> None:
        """Raise naming the problem unless ``pixels`` is (B, num_frames, 3, S, S) float."""
        s = self.preprocess_spec.crop
        if not isinstance(pixels, Tensor) or not pixels.is_floating_point():
            raise ValueError(f"{self.kind}: pixels must be a float tensor (use preprocess() on uint8 frames)")
        if pixels.dim() != 5 or tuple(pixels.shape[2:]) != (3, *s):
            raise ValueError(f"{self.kind}: pixels must be (B, T, 3, {s[0]}, {s[1]}), got {tuple(pixels.shape)}")
        if pixels.shape[1] != self.num_frames:
            raise ValueError(f"{self.kind}: expected T={self.num_frames} frames, got {pixels.shape[1]}")

    # ---- model-specific -----------------------------------------------------
    @property
    @abstractmethod
    def logit_scale(self) -> Tensor:
        """The model's own temperature, exponentiated: a scalar tensor (CLIP: ~100)."""

    @abstractmethod
    def encode_video_outputs(self, pixels: Tensor) -> VideoEncoding:
        """(B, T, 3, S, S) pixels -> :class:`VideoEncoding`."""

    @abstractmethod
    def embed_texts(self, texts: Sequence[str]) -> Tensor:
        """K texts -> (K, D) projected, *un-normalised* text embeddings."""

    @abstractmethod
    def _conditioned_logits(self, video: VideoEncoding, bank: TextBank) -> Tensor:
        """(B, K) scaled video-text logits for this backend's RGB-Text score."""

    # ---- shared -------------------------------------------------------------
    def encode_video(self, pixels: Tensor) -> Tensor:
        """(B, T, 3, S, S) float pixels -> (B, D) float32 unit vectors."""
        return self.encode_video_outputs(pixels).embedding

    def encode_text(self, texts: Sequence[str]) -> Tensor:
        """K texts -> (K, D) float32 unit vectors (unconditioned; cacheable)."""
        return F.normalize(self.embed_texts(texts).float(), dim=-1)

    def encode_class_texts(self, prompts: Sequence[Sequence[str]]) -> TextBank:
        """M x K prompt texts (see :func:`vg4d_core.vlm.class_prompts`) -> :class:`TextBank`."""
        if not prompts or any(len(p) != len(prompts[0]) for p in prompts) or not prompts[0]:
            raise ValueError("encode_class_texts: prompts must be a non-empty M x K list of lists")
        flat = [t for row in prompts for t in row]
        raw = self.embed_texts(flat).float()
        return TextBank(raw.view(len(prompts), len(prompts[0]), -1))

    def video_text_logits(self, video: Tensor | VideoEncoding, text: TextBank | Sequence[str]) -> Tensor:
        """RGB-Text logits (B, K) = logit_scale * cos(video, text).

        ``video``: pixels (B, T, 3, S, S) or a :class:`VideoEncoding` from
        :meth:`encode_video_outputs`; ``text``: a :class:`TextBank` or K
        texts (one template). X-CLIP conditions the text on the video first
        (module docstring).
        """
        if not isinstance(video, VideoEncoding):
            video = self.encode_video_outputs(video)
        if not isinstance(text, TextBank):
            if isinstance(text, str) or not len(text):
                raise ValueError("video_text_logits: text must be a TextBank or a non-empty list of strings")
            text = TextBank(self.embed_texts(list(text)).float().unsqueeze(0))
        return self._conditioned_logits(video, text)

    # ---- checkpoints --------------------------------------------------------
    def get_extra_state(self) -> dict[str, Any]:
        return {"backend": self.kind, "config": to_dict(self.config)}

    def set_extra_state(self, state: Any) -> None:
        kind = state.get("backend") if isinstance(state, dict) else None
        if kind != self.kind:
            raise BackendMismatchError(
                f"checkpoint holds a {kind!r} backend ({(state or {}).get('config', {}).get('model')!r}) "
                f"but it is being loaded into the {self.kind!r} backend ({self.config.model!r}); "
                f"build the matching backend with vg4d_core.vlm.backend_from_state_dict()"
            )
