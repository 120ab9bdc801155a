"""A checkpoint -> the predictor and the settings it implies for live input.

:func:`load_model` reads a checkpoint into a :class:`LoadedModel`; :func:`resolve` combines it with
the recognize config into :class:`Resolved`: the input transform the frame converter applies (the one
the checkpoint records, :mod:`vg4d_core.data.input_transform`, with the user's overrides), the window,
the scores; :func:`depth_only_scoring` is the point-cloud-only scoring for windows without colour.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vg4d_core.data.input_transform import InputTransform, transform_of_checkpoint
from vg4d_core.runtime.checkpoint import CheckpointError
from vg4d_core.runtime.fusion import FUSED
from vg4d_core.runtime.predictor import Predictor, _fusion_for, predictor_from_checkpoint, read_checkpoint, subset_key
from vg4d_ros.config import RecognizerConfig
from vg4d_ros.pipeline.window import WindowConfig


class RecognizerError(ValueError):
    """The recogniser cannot be configured (bad checkpoint, inconsistent settings)."""


@dataclass
class LoadedModel:
    """A predictor and what the checkpoint says about its training data.

    ``predictor``: callable ``batch -> {score: (B, K) probs}`` with ``class_names``,
    ``score_names`` and ``inputs`` attributes (a :class:`vg4d_core.runtime.predictor.Predictor`).
    """

    predictor: Any
    class_names: list[str]
    data_config: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    path: str = ""


def load_model(config: RecognizerConfig) -> LoadedModel:
    """Load ``config.inference.checkpoint``; a missing or unfitting file is a :class:`RecognizerError`."""
    inf = config.inference
    if not inf.checkpoint:
        raise RecognizerError("no checkpoint given (inference.checkpoint)")
    if inf.threads > 0:
        import torch
        torch.set_num_threads(inf.threads)
    try:
        ck = read_checkpoint(inf.checkpoint)
        wanted = inf.score_list()
        if wanted is None and not config.topics.rgb:
            # no camera: the point-cloud scores the checkpoint has (the VLM is then never loaded)
            if ck.arch.get("model") == "VLMClassifier":
                raise RecognizerError(f"{inf.checkpoint} is an RGB-only (vlm stage) checkpoint; set topics.rgb")
            wanted = ["pc"] + (["pc_text"] if ck.state.get("class_text_features") is not None else [])
        predictor, ck = predictor_from_checkpoint(ck, device=inf.device, amp=inf.amp, scores=wanted)
    except (CheckpointError, ValueError, KeyError, RuntimeError) as exc:
        raise RecognizerError(f"cannot load checkpoint {inf.checkpoint}: {exc}") from None
    state = {k: v for k, v in ck.state.items() if k not in ("model", "optimizer", "scheduler", "rng")}
    return LoadedModel(predictor, list(ck.class_names), dict(ck.data_config), state, str(ck.path))


@dataclass(frozen=True)
class Resolved:
    """Settings after the checkpoint filled in what the YAML left to it.

    ``transform``: the conversion the frame converter applies (the checkpoint's recorded
    :class:`~vg4d_core.data.input_transform.InputTransform` with the user's overrides resolved);
    ``window``: the clip and window settings; ``notes``: where the user's settings and the checkpoint's
    differ (info), ``warnings``: settings that make the input differ from the training input.
    """

    window: WindowConfig
    window_s_source: str  # "config", "checkpoint" or "fallback"
    transform: InputTransform
    use_rgb: bool
    use_mask: bool
    scores: tuple[str, ...]
    primary: str
    top_k: int
    warnings: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def point_scale(self) -> float:
        """Model units per metre."""
        return float(self.transform.point_scale or 1.0)


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def resolve_transform(config: RecognizerConfig, recorded: InputTransform) -> tuple[InputTransform, list[str], list[str]]:
    """The conversion to apply: the checkpoint's ``recorded`` transform, overridden where the user's
    recognize config says so; returns ``(transform, warnings, notes)``.

    Rules: the input kind and input limits are the user's (their sensor, their CPU); the foreground is
    the checkpoint's when it records one and ``foreground.from_checkpoint`` is true, else the user's;
    ``inference.point_scale`` / ``point_quantum`` override when set; the stored subset, its seed and the
    colour size are the checkpoint's only. Every difference from what the model was trained with is
    reported: a warning when the input then differs from the training input, a note when the user's
    setting is set aside.
    """
    warnings: list[str] = []
    notes: list[str] = []
    yours = config.foreground.conversion()
    foreground = yours
    if recorded.foreground:
        diff = recorded.differences(recorded.replace(foreground=yours), ("foreground",))
        if config.foreground.from_checkpoint:
            foreground = {**yours, **recorded.foreground}
            if diff:
                notes.append("the checkpoint's foreground is used (foreground.from_checkpoint: true); your "
                             "recognize config differs in " + "; ".join(diff))
        elif diff:
            warnings.append("foreground differs from the checkpoint's training conversion: " + "; ".join(diff))
    if recorded.input and recorded.input != config.input:
        warnings.append(f"input={config.input!r} but the checkpoint was trained from {recorded.input!r} messages")
    limits = config.input_limits
    for name in ("max_depth_pixels", "max_cloud_points"):
        theirs, mine = int(getattr(recorded, name) or 0), int(getattr(limits, name))
        if theirs and theirs != mine:
            notes.append(f"input_limits.{name}={mine} differs from the training conversion's {theirs}")
    scale = recorded.point_scale
    if config.inference.point_scale > 0:
        if scale and abs(scale - config.inference.point_scale) > 1e-12:
            warnings.append(f"inference.point_scale={config.inference.point_scale:g} overrides the checkpoint's "
                            f"{scale:g} point units per metre")
        scale = config.inference.point_scale
    elif not scale:
        scale = 1.0
        warnings.append(f"the checkpoint was trained on {recorded.source or 'data'} whose point units are not "
                        "metres; set inference.point_scale to match them")
    quantum = config.inference.point_quantum
    quantum = 0.0 if quantum < 0 else float(quantum) if quantum > 0 else float(recorded.quantum)
    transform = recorded.replace(input=config.input, foreground=foreground, point_scale=float(scale),
                                 quantum=quantum, max_depth_pixels=int(limits.max_depth_pixels),
                                 max_cloud_points=int(limits.max_cloud_points))
    return transform, warnings, notes


def resolve(config: RecognizerConfig, model: LoadedModel) -> Resolved:
    """Combine the YAML settings with the checkpoint (transform, T, N, seed, window length, scores)."""
    recorded = transform_of_checkpoint(model.state, model.data_config)
    transform, warnings, notes = resolve_transform(config, recorded)
    w = config.window
    t = w.num_frames or recorded.num_frames
    n = w.points_per_frame or recorded.points_per_frame
    if t < 1 or n < 1:
        raise RecognizerError(f"{model.path}: the checkpoint records no num_frames / points_per_frame; set "
                              "window.num_frames and window.points_per_frame")
    transform = transform.replace(num_frames=int(t), points_per_frame=int(n))
    seed = w.seed if w.seed >= 0 else recorded.seed
    if w.window_s > 0:
        window_s, source = w.window_s, "config"
    elif _positive(recorded.typical_video_s):
        window_s, source = float(recorded.typical_video_s), "checkpoint"
    else:
        window_s, source = w.fallback_window_s, "fallback"
    try:
        wcfg = WindowConfig(num_segments=int(t), points_per_frame=int(n), window_s=float(window_s),
                            max_frames=w.max_frames, min_frames=w.min_frames, hop_frames=w.hop_frames,
                            rate_hz=w.rate_hz, seed=int(seed), views=int(w.views or recorded.test_views or 1),
                            min_coverage=float(w.min_coverage),
                            trim_motion=float(config.motion.min_motion) if config.motion.trim else 0.0,
                            trim_still_s=float(config.motion.still_s),
                            trim_min_points=int(config.guards.min_points_per_frame))
    except ValueError as exc:
        raise RecognizerError(f"window: {exc}") from None
    inputs = tuple(getattr(model.predictor, "inputs", ("points",)))
    use_rgb = bool(config.topics.rgb)
    if use_rgb and "rgb" not in inputs:
        warnings.append(f"topics.rgb={config.topics.rgb!r} is configured but the checkpoint has no RGB score "
                        f"(scores: {', '.join(model.predictor.score_names)}); RGB is ignored")
        use_rgb = False
    names = tuple(model.predictor.score_names)
    wanted = config.inference.score_list()
    scores = tuple(s for s in names if wanted is None or s in wanted)
    if not scores:
        raise RecognizerError(f"none of the scores {wanted} is produced by {model.path} (it gives {list(names)})")
    primary = config.inference.primary
    if primary == "auto":
        primary = "fused" if "fused" in scores else scores[0]
    elif primary not in scores:
        raise RecognizerError(f"inference.primary={primary!r} is not among the scores {list(scores)}")
    k = config.inference.top_k
    if k < 1:
        raise RecognizerError(f"inference.top_k must be >= 1, got {k}")
    return Resolved(wcfg, source, transform, use_rgb, bool(config.topics.mask), scores, primary,
                    min(k, len(model.class_names)), tuple(warnings), tuple(notes))


@dataclass(frozen=True)
class DepthOnly:
    """How windows without colour are scored: a predictor over the point-cloud sources only.

    Attributes:
        predictor: the checkpoint's point-cloud score sources (shared modules, not a copy) with the
            fusion weights the checkpoint fitted for that subset; None when the checkpoint has none.
        scores: the score tables such a window gets.
        primary: the table its top-k ranks: ``fused`` when the subset has weights, else ``pc``.
        note: the above in words, for the log.
    """

    predictor: Any
    scores: tuple[str, ...]
    primary: str
    note: str


def depth_only_scoring(model: LoadedModel, settings: Resolved) -> DepthOnly:
    """The point-cloud-only scoring of ``model`` for windows whose colour is missing.

    Needs a :class:`vg4d_core.runtime.predictor.Predictor` (its ``sources``); anything else gets
    ``predictor=None`` (such windows are then not labelled).
    """
    full = model.predictor
    sources = [s for s in getattr(full, "sources", ()) if "rgb" not in s.inputs]
    names = [n for s in sources for n in s.names if n in settings.scores or FUSED in settings.scores]
    if not names:
        return DepthOnly(None, (), "", "the checkpoint has no point-cloud score to fall back on")
    fusion = _fusion_for(model.state, names) if len(names) > 1 else None
    predictor = Predictor(sources, list(full.class_names), full.device, full.amp_dtype, fusion)
    scores = tuple(n for n in predictor.score_names if n in names or n == FUSED)
    if settings.primary in scores:
        primary, note = settings.primary, f"scores {', '.join(scores)}"
    elif FUSED in scores:
        primary, note = FUSED, f"{'+'.join(names)} fused with the checkpoint's weights for that subset"
    else:
        primary = "pc" if "pc" in scores else scores[0]
        note = (f"ranked by {primary}: the checkpoint has no fusion weights for {subset_key(names)}"
                if len(names) > 1 else f"ranked by {primary}")
    return DepthOnly(predictor, scores, primary, note)


