"""Cross-modal objectives of VG4D (paper eq. 3-6) and of the VLM fine-tuning stage.

Both follow the contract of :mod:`vg4d_core.losses`:
``objective(outputs, batch) -> {"loss": scalar, "loss_<term>": detached, ...}``.

Notation: N samples, K classes, D the shared embedding size; ``s`` the
logit scale (inverse temperature).

* L_pc,text = mean_i -log( exp(s f_i^T.f_i^P) / sum_{j in K} exp(s f_j^T.f_i^P) )
  - the point embedding f_i^P against the K class-text features, f_i^T the
  text feature of sample i's class: cross-entropy of ``s P T^T`` (N, K).
* L_pc,video = mean_i -log( exp(s f_i^V.f_i^P) / sum_{j in N} exp(s f_j^V.f_i^P) )
  - the point embedding against the batch's frozen video features: cross-
  entropy of ``s P V^T`` (N, N) with target i (one direction, as printed).
* L_final = a L_pc,video + b L_pc,text + c L_pc + d L_rgb.

Embeddings are re-normalised here (a no-op for the unit vectors the models
emit), so every dot product is a cosine. The text features are the
*unconditioned* ones (:mod:`vg4d_core.vlm.base` says why).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

CLIP_INIT_TEMPERATURE = 0.07  # CLIP's initial temperature: s0 = 1 / 0.07 ~ 14.29
CLIP_MAX_LOGIT_SCALE = 100.0  # CLIP's cap on s, which keeps training stable


def logit_scale_value(log_scale: float | Tensor, max_scale: float = CLIP_MAX_LOGIT_SCALE) -> float:
    """The scale training used for a stored ``log_scale``: ``exp(min(log_scale, log(max_scale)))``, exactly
    :meth:`LogitScale.forward` (the clamp on the log, in float32), for checkpoints and the predictor."""
    log_s = torch.as_tensor(log_scale, dtype=torch.float32).detach().cpu()
    return float(log_s.clamp(max=math.log(max_scale)).exp())


class LogitScale(nn.Module):
    """Learnable logit scale ``s = exp(log_scale)``, CLIP's parameterisation.

    Initialised to ``1 / init_temperature`` (CLIP: 1/0.07). The forward value
    is clamped to ``max_scale`` (CLIP: 100): the clamp acts on the log, so
    while the cap binds the gradient of ``s`` is zero, the same effect as
    CLIP's in-place clamp of the parameter after each step.
    """

    def __init__(self, init_temperature: float = CLIP_INIT_TEMPERATURE, max_scale: float = CLIP_MAX_LOGIT_SCALE):
        super().__init__()
        if init_temperature <= 0 or max_scale <= 0:
            raise ValueError(f"LogitScale: init_temperature ({init_temperature}) and max_scale ({max_scale}) "
                             f"must be positive")
        if 1.0 / init_temperature > max_scale:
            raise ValueError(f"LogitScale: initial scale 1/{init_temperature} exceeds max_scale {max_scale}")
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / init_temperature), dtype=torch.float32))
        self.max_log_scale = math.log(max_scale)

    def forward(self) -> Tensor:
        """The scalar ``s`` (float32, differentiable)."""
        return self.log_scale.clamp(max=self.max_log_scale).exp()


def _unit(x: Tensor, name: str) -> Tensor:
    if x.dim() != 2:
        raise ValueError(f"{name} must be (N, D), got shape {tuple(x.shape)}")
    return F.normalize(x.float(), dim=-1)


def pc_text_loss(embedding: Tensor, text_features: Tensor, labels: Tensor, scale: Tensor | float,
                 label_smoothing: float = 0.0) -> Tensor:
    """L_pc,text: embedding (N, D), text_features (K, D), labels (N,) int64 in [0, K)."""
    p, t = _unit(embedding, "embedding"), _unit(text_features, "text_features")
    if p.shape[1] != t.shape[1]:
        raise ValueError(f"L_pc,text: embedding D={p.shape[1]} but text_features D={t.shape[1]}")
    if labels.numel() and (labels.min() < 0 or labels.max() >= t.shape[0]):
        raise ValueError(f"L_pc,text: labels must lie in [0, {t.shape[0]}), got {labels.tolist()}")
    return F.cross_entropy(scale * p @ t.t(), labels, label_smoothing=label_smoothing)


def pc_video_loss(embedding: Tensor, video_features: Tensor, scale: Tensor | float) -> Tensor:
    """L_pc,video: embedding (N, D) vs the batch's video_features (N, D); sample i's positive is video i."""
    p, v = _unit(embedding, "embedding"), _unit(video_features, "video_features")
    if p.shape != v.shape:
        raise ValueError(f"L_pc,video: embedding {tuple(p.shape)} and video_features {tuple(v.shape)} differ")
    return F.cross_entropy(scale * p @ v.t(), torch.arange(p.shape[0], device=p.device))


def _get(mapping: Mapping[str, Any], key: str, where: str, why: str) -> Any:
    if key not in mapping:
        raise KeyError(f"{where}[{key!r}] is missing; it is needed for {why} (keys present: {sorted(mapping)})")
    return mapping[key]


@dataclass
class CrossModalLossConfig:
    """Weights of L_final = a L_pc,video + b L_pc,text + c L_pc + d L_rgb and the scale.

    The paper publishes none of these; the defaults weigh the three
    point-cloud terms equally and leave L_rgb off (the RGB head trains in
    the ``vlm`` stage, with the VLM frozen afterwards).
    """

    a: float = 1.0
    b: float = 1.0
    c: float = 1.0
    d: float = 0.0
    label_smoothing: float = 0.0
    init_temperature: float = CLIP_INIT_TEMPERATURE
    max_logit_scale: float = CLIP_MAX_LOGIT_SCALE


class CrossModalObjective(nn.Module):
    """L_final of the cross-modal stage.

    Reads ``outputs["embedding"]`` (N, D), ``outputs["logits"]`` (N, K),
    ``outputs["rgb_logits"]`` (N, K), ``batch["video_features"]`` (N, D),
    ``batch["label"]`` (N,) - each only when its term's weight is non-zero.
    A zero-weight term is neither computed nor reported. ``label_smoothing``
    applies to the class cross-entropies (L_pc,text, L_pc, L_rgb), not to
    the instance discrimination L_pc,video. One learnable :class:`LogitScale`
    serves both contrastive terms (as CLIP's one temperature).

    Returns ``{"loss", "loss_pc_video", "loss_pc_text", "loss_pc", "loss_rgb"}``
    (the computed ones; term values unweighted and detached).
    """

    def __init__(self, a: float, b: float, c: float, d: float, text_features: Tensor | None = None,
                 label_smoothing: float = 0.0, logit_scale: LogitScale | None = None):
        super().__init__()
        for name, w in (("a", a), ("b", b), ("c", c), ("d", d)):
            if w < 0:
                raise ValueError(f"CrossModalObjective: weight {name}={w} must be >= 0")
        if a == b == c == d == 0:
            raise ValueError("CrossModalObjective: all weights are 0; nothing to train")
        if b > 0 and text_features is None:
            raise ValueError("CrossModalObjective: b > 0 needs text_features (K, D)")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"CrossModalObjective: label_smoothing {label_smoothing} not in [0, 1)")
        self.a, self.b, self.c, self.d = float(a), float(b), float(c), float(d)
        self.label_smoothing = float(label_smoothing)
        # frozen class-text features: a buffer (moves with .to(), saved, never trained)
        self.register_buffer("text_features", None if text_features is None else
                             F.normalize(text_features.detach().float(), dim=-1))
        self.logit_scale = logit_scale if logit_scale is not None else (
            LogitScale() if (a > 0 or b > 0) else None)

    @classmethod
    def from_config(cls, cfg: CrossModalLossConfig, text_features: Tensor | None = None) -> "CrossModalObjective":
        return cls(cfg.a, cfg.b, cfg.c, cfg.d, text_features, cfg.label_smoothing,
                   LogitScale(cfg.init_temperature, cfg.max_logit_scale) if (cfg.a > 0 or cfg.b > 0) else None)

    def forward(self, outputs: Mapping[str, Tensor], batch: Mapping[str, Any]) -> dict[str, Tensor]:
        terms: dict[str, tuple[float, Tensor]] = {}
        ls = self.label_smoothing
        if self.a > 0 or self.b > 0:
            emb = _get(outputs, "embedding", "outputs", "L_pc,video / L_pc,text")
            s = self.logit_scale()
            if self.a > 0:
                video = _get(batch, "video_features", "batch", "L_pc,video (weight a)")
                terms["loss_pc_video"] = (self.a, pc_video_loss(emb, video.to(emb.device), s))
            if self.b > 0:
                labels = _get(batch, "label", "batch", "L_pc,text (weight b)")
                terms["loss_pc_text"] = (self.b, pc_text_loss(emb, self.text_features, labels, s, ls))
        if self.c > 0:
            logits = _get(outputs, "logits", "outputs", "L_pc (weight c)")
            labels = _get(batch, "label", "batch", "L_pc (weight c)")
            terms["loss_pc"] = (self.c, F.cross_entropy(logits.float(), labels, label_smoothing=ls))
        if self.d > 0:
            logits = _get(outputs, "rgb_logits", "outputs", "L_rgb (weight d)")
            labels = _get(batch, "label", "batch", "L_rgb (weight d)")
            terms["loss_rgb"] = (self.d, F.cross_entropy(logits.float(), labels, label_smoothing=ls))
        loss = sum(w * v for w, v in terms.values())
        return {"loss": loss, **{k: v.detach() for k, (_, v) in terms.items()}}


@dataclass
class VideoTextLossConfig:
    """Weights of the ``vlm`` stage: video_text * CE(video-text logits) + rgb * CE(RGB head)."""

    video_text: float = 1.0
    rgb: float = 1.0
    label_smoothing: float = 0.0


class VideoTextObjective(nn.Module):
    """VLM fine-tuning objective over the class prompts.

    ``loss = video_text * CE(outputs["video_text_logits"] (N, K), label)
    + rgb * CE(outputs["rgb_logits"] (N, K), label)``. The video-text logits
    already carry the VLM's own logit scale (X-CLIP's learnt one), so no
    extra temperature is added. Returns ``{"loss", "loss_video_text", "loss_rgb"}``
    (zero-weight terms left out).
    """

    def __init__(self, video_text: float = 1.0, rgb: float = 1.0, label_smoothing: float = 0.0):
        super().__init__()
        if video_text < 0 or rgb < 0 or video_text == rgb == 0:
            raise ValueError(f"VideoTextObjective: weights video_text={video_text}, rgb={rgb} must be >= 0, "
                             f"not both 0")
        self.video_text, self.rgb, self.label_smoothing = float(video_text), float(rgb), float(label_smoothing)

    @classmethod
    def from_config(cls, cfg: VideoTextLossConfig) -> "VideoTextObjective":
        return cls(cfg.video_text, cfg.rgb, cfg.label_smoothing)

    def forward(self, outputs: Mapping[str, Tensor], batch: Mapping[str, Any]) -> dict[str, Tensor]:
        labels = _get(batch, "label", "batch", "the VLM stage's cross-entropies")
        terms: dict[str, tuple[float, Tensor]] = {}
        for key, name, w in (("video_text_logits", "loss_video_text", self.video_text),
                             ("rgb_logits", "loss_rgb", self.rgb)):
            if w > 0:
                logits = _get(outputs, key, "outputs", name)
                terms[name] = (w, F.cross_entropy(logits.float(), labels, label_smoothing=self.label_smoothing))
        loss = sum(w * v for w, v in terms.values())
        return {"loss": loss, **{k: v.detach() for k, (_, v) in terms.items()}}
