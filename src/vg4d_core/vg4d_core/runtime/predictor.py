"""Checkpoint -> models -> a predictor that turns batches into named score tables.

The same :class:`Predictor` serves ``vg4d evaluate``, the training loop's
per-epoch test pass, benchmarks, the ROS node and bag replay, so all of them
score a window the same way.

A predictor holds one or more *score sources*. Each source is a module that
reads what it needs from a collated batch and returns logits for one or
more named scores:

* :class:`PointScores` - im-PSTNet on ``points`` (B, T, N, 3): ``pc``
  (classifier) and, when class-text features are attached, ``pc_text``
  (``logit_scale * embedding @ text.T``);
* :class:`RGBScores` - the fine-tuned VLM on ``rgb`` (B, T, H, W, 3) uint8:
  ``rgb`` (its RGB classification head) and ``rgb_text`` (video-text logits
  over the class prompts).

The predictor turns every source's logits into probabilities (softmax) and,
when fusion weights are set and their scores are available, adds ``fused``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from vg4d_core.losses.contrastive import CLIP_MAX_LOGIT_SCALE, logit_scale_value
from vg4d_core.runtime.architecture import build_point_encoder, build_rgb_model
from vg4d_core.runtime.checkpoint import CheckpointError, load_checkpoint
from vg4d_core.runtime.device import amp_dtype_for, autocast, pick_device
from vg4d_core.runtime.fusion import FUSED, SCORE_NAMES, fuse


class PointScores(nn.Module):
    """Scores of an im-PSTNet: ``pc`` and, with class-text features, ``pc_text``.

    Args:
        encoder: ``forward(points (B, T, N, 3)) -> {"logits" (B, K), "embedding" (B, D) unit}``.
        text_features: (K, D) unit class-text features, or None.
        logit_scale: the (exp'd) temperature of ``pc_text``.
    """

    inputs: tuple[str, ...] = ("points",)

    def __init__(self, encoder: nn.Module, text_features: torch.Tensor | None = None,
                 logit_scale: float | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        if text_features is not None:
            if text_features.ndim != 2:
                raise ValueError(f"text_features must be (K, D), got {tuple(text_features.shape)}")
            if logit_scale is None:
                raise ValueError("text_features need a logit_scale")
            self.register_buffer("text_features", text_features.detach().float().clone())
        else:
            self.text_features = None
        self.logit_scale = None if logit_scale is None else float(logit_scale)

    @property
    def names(self) -> tuple[str, ...]:
        return ("pc", "pc_text") if self.text_features is not None else ("pc",)

    def forward(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        out = self.encoder(batch["points"])
        logits = {"pc": out["logits"].float()}
        if self.text_features is not None:
            logits["pc_text"] = self.logit_scale * out["embedding"].float() @ self.text_features.t()
        return logits


class RGBScores(nn.Module):
    """Scores of a fine-tuned VLM (:class:`~vg4d_core.runtime.architecture.RGBVideoClassifier`):
    ``rgb`` from ``rgb_logits`` and ``rgb_text`` from ``video_text_logits``, both (B, K)."""

    inputs: tuple[str, ...] = ("rgb",)
    names: tuple[str, ...] = ("rgb", "rgb_text")

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        out = self.model(batch["rgb"])
        return {"rgb": out["rgb_logits"].float(), "rgb_text": out["video_text_logits"].float()}


def subset_key(names: Sequence[str]) -> str:
    """Canonical name of a set of scores: ``pc+pc_text+rgb`` (in SCORE_NAMES order)."""
    order = {n: i for i, n in enumerate(SCORE_NAMES)}
    return "+".join(sorted(set(names), key=lambda n: (order.get(n, len(order)), n)))


@dataclass
class Predictor:
    """Named class-probability tables from collated batches.

    ``sources`` run in order; ``fusion`` (name -> weight) adds ``fused`` when
    every weighted score is available. ``class_names`` (K,) label the columns.
    """

    sources: list[nn.Module]
    class_names: list[str]
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    amp_dtype: torch.dtype | None = None
    fusion: dict[str, float] | None = None

    def __post_init__(self) -> None:
        if not self.sources:
            raise ValueError("a predictor needs at least one score source")
        for s in self.sources:
            s.to(self.device).eval()

    @property
    def score_names(self) -> tuple[str, ...]:
        names = tuple(n for s in self.sources for n in s.names)
        if self.fusion and all(n in names for n, w in self.fusion.items() if w > 0):
            names += (FUSED,)
        return names

    @property
    def inputs(self) -> tuple[str, ...]:
        """Batch fields some source reads (``points``, ``rgb`` ...)."""
        return tuple(dict.fromkeys(k for s in self.sources for k in s.inputs))

    @torch.no_grad()
    def __call__(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """batch (collated, any device) -> {score name: (B, K) float32 probabilities on CPU}."""
        probs: dict[str, torch.Tensor] = {}
        for source in self.sources:
            missing = [k for k in source.inputs if k not in batch]
            if missing:
                raise KeyError(f"{type(source).__name__} needs batch fields {missing}; got {sorted(batch)}")
            inputs = {k: batch[k].to(self.device, non_blocking=True) if isinstance(batch[k], torch.Tensor)
                      else batch[k] for k in source.inputs}
            with autocast(self.device, self.amp_dtype):
                logits = source(inputs)
            for name, value in logits.items():
                probs[name] = torch.softmax(value.float(), dim=1).cpu()
        if self.fusion and all(n in probs for n, w in self.fusion.items() if w > 0):
            probs[FUSED] = fuse(probs, self.fusion)
        return probs


@dataclass
class LoadedCheckpoint:
    """What a checkpoint carries, validated: the raw state and what the runtime reads of it."""

    path: Path
    state: dict[str, Any]
    arch: dict[str, Any]
    class_names: list[str]
    data_config: dict[str, Any]


def read_checkpoint(path: str | Path) -> LoadedCheckpoint:
    """Load and validate a checkpoint written by ``vg4d train`` (any stage)."""
    path = Path(path)
    state = load_checkpoint(path)
    arch = dict(state["arch"])
    names = [str(n) for n in state.get("class_names") or []]
    k = int(arch.get("num_classes", 0))
    if names and len(names) != k:
        raise CheckpointError(f"{path}: {len(names)} class names for a {k}-class model")
    return LoadedCheckpoint(path, state, arch, names or [str(i) for i in range(k)],
                            dict(state.get("data_config") or {}))


def _fusion_for(state: Mapping[str, Any], names: Sequence[str]) -> dict[str, float] | None:
    """The checkpoint's validation-fitted fusion weights for exactly the scores ``names``."""
    subsets = state.get("fusion_subsets") or {}
    key = subset_key(names)
    if key in subsets:
        return dict(subsets[key])
    for entry in ("fusion_weights", "fusion_weights_pc"):
        w = state.get(entry)
        if w and set(w) == set(names):
            return dict(w)
    return None


def predictor_from_checkpoint(path: str | Path | LoadedCheckpoint, *, device: str = "auto", amp: str = "auto",
                              scores: Sequence[str] | None = None,
                              vlm_checkpoint: str | Path | None = None) -> tuple[Predictor, LoadedCheckpoint]:
    """Rebuild the models of a checkpoint and wrap them in a :class:`Predictor`.

    * an im-PSTNet checkpoint gives ``pc`` (and ``pc_text`` when it carries
      ``class_text_features`` + ``logit_scale``: a crossmodal one). Its VLM
      (``rgb``, ``rgb_text``) is added from ``vlm_checkpoint``, else from
      the ``vlm_checkpoint`` path the checkpoint records when that file
      exists; absent, the predictor is point-cloud only.
    * a ``vlm`` stage checkpoint (``arch.model == "VLMClassifier"``) gives
      ``rgb`` and ``rgb_text``.

    ``scores`` restricts the sources to those producing the named scores
    (e.g. ``("pc", "pc_text")`` on a robot without a camera: the VLM is then
    never loaded); default: all available. ``fused`` is added with the
    validation-fitted weights the checkpoint holds for exactly that set of
    scores (``fusion_subsets`` / ``fusion_weights`` / ``fusion_weights_pc``).
    ``path`` may be a :class:`LoadedCheckpoint` already read.
    """
    ck = path if isinstance(path, LoadedCheckpoint) else read_checkpoint(path)
    path = ck.path
    want = None if scores is None else [n for n in scores if n != FUSED]
    sources: list[nn.Module] = []
    if ck.arch.get("model") == "VLMClassifier":
        sources.append(RGBScores(build_rgb_model(ck.arch, ck.state["model"])))
    else:
        encoder = build_point_encoder(ck.arch)
        try:
            encoder.load_state_dict(ck.state["model"])
        except RuntimeError as exc:
            raise CheckpointError(f"{path}: weights do not fit the architecture it records: {exc}") from None
        text = ck.state.get("class_text_features")
        scale = ck.state.get("logit_scale")
        if text is not None and scale is None and "objective" in ck.state:
            # an intermediate crossmodal checkpoint: the scale is the objective's, clamped as training clamped it

            log_s = ck.state["objective"].get("logit_scale.log_scale")
            cap = ((ck.state.get("config") or {}).get("crossmodal_loss") or {}).get("max_logit_scale",
                                                                                  CLIP_MAX_LOGIT_SCALE)
            scale = None if log_s is None else logit_scale_value(log_s, float(cap))
        if scale is None:
            text = None
        sources.append(PointScores(encoder, text, None if scale is None else float(scale)))
        vlm_path = vlm_checkpoint if vlm_checkpoint is not None else ck.state.get("vlm_checkpoint")
        need_rgb = want is None or any(n in ("rgb", "rgb_text") for n in want)
        if vlm_path and need_rgb:
            vlm_path = Path(vlm_path)
            # asked for explicitly (an argument, or RGB scores by name): a missing file is an error naming
            # where it was looked for; otherwise the predictor is point-cloud only, as documented above
            if not vlm_path.is_file() and (vlm_checkpoint is not None or want is not None):
                raise CheckpointError(
                    f"VLM checkpoint not found: {vlm_path}" + ("" if vlm_checkpoint is not None else
                    f" (recorded by {path}); copy the `vg4d train` vlm stage's last.pt there, pass its path, "
                    "or ask for the point-cloud scores only (pc, pc_text)"))
            if vlm_path.is_file():
                vck = read_checkpoint(vlm_path)
                if vck.class_names != ck.class_names:
                    raise CheckpointError(f"{vlm_path} was trained on other classes than {path}")
                try:
                    sources.append(RGBScores(build_rgb_model(vck.arch, vck.state["model"])))
                except CheckpointError as exc:
                    raise CheckpointError(f"{path}: its VLM checkpoint {vlm_path}: {exc}") from None
    available = [n for s in sources for n in s.names]
    if want is not None:
        unknown = [n for n in want if n not in available]
        if unknown:
            raise CheckpointError(f"{path} cannot produce scores {unknown}; it supports {sorted(available)}"
                                  + ("" if "rgb" in available else " (no VLM checkpoint available)"))
        sources = [s for s in sources if any(n in want for n in s.names)]
        available = [n for s in sources for n in s.names]
    names = want if want is not None else available
    dev = pick_device(device)
    fusion = _fusion_for(ck.state, names) if len(names) > 1 else None
    return Predictor(sources, ck.class_names, dev, amp_dtype_for(amp, dev), fusion), ck
