"""Training stages: what a recipe's ``stage`` trains, and how.

A stage contributes its model wiring and its objective; the loop
(:func:`vg4d_core.training.loop.fit`) is the same for all of them.

* ``pretrain``: im-PSTNet with cross-entropy on its classifier. The
  projection head (used by cross-modal learning) gets no gradient from it, so
  the stage locks it: declared here, not discovered by a backward probe. With
  ``pretrained`` it starts from that pretrain run's weights (fine-tuning, e.g.
  with another augmentation).
* ``vlm``: fine-tune the VLM on the RGB videos
  (:class:`~vg4d_core.runtime.architecture.RGBVideoClassifier`, input
  ``rgb``) with :class:`~vg4d_core.losses.VideoTextObjective`: cross-entropy
  of the video-text logits over the class prompts plus that of the RGB
  head. The class-text bank is encoded once at the start (no gradient into
  the text tower, which is therefore frozen). Scores ``rgb``, ``rgb_text``.
* ``crossmodal``: the pre-trained im-PSTNet (all of it, projection
  included) aligned with the FROZEN fine-tuned VLM by
  :class:`~vg4d_core.losses.CrossModalObjective` (a L_pc,video + b
  L_pc,text + c L_pc). The VLM never enters the training module: its video
  features (``feature_views`` views per training item) and class-text
  features are computed once into ``RUN_DIR/feature_cache.pt``
  (:mod:`vg4d_core.training.feature_cache`). After the last epoch,
  :attr:`Stage.finalize` fits the fusion weights of every subset of the four
  scores on the validation videos and stores them in ``last.pt``.

``vlm`` and ``crossmodal`` hold out ``cfg.holdout`` of the training videos
as the validation split (:mod:`vg4d_core.training.validation`).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn
from torch.utils.data import Dataset

from vg4d_core.config import ConfigError
from vg4d_core.data.factory import build_split
from vg4d_core.losses.classification import ClassificationObjective
from vg4d_core.losses.contrastive import CrossModalObjective, VideoTextObjective, logit_scale_value
from vg4d_core.runtime import checkpoint as ckpt_io
from vg4d_core.runtime.architecture import (RGBVideoClassifier, build_point_encoder, build_rgb_model,
                                            point_encoder_arch, vlm_classifier_arch)
from vg4d_core.runtime.fusion import FIT_OBJECTIVE, fit_fusion_weights, fuse
from vg4d_core.runtime.metrics import topk_accuracy
from vg4d_core.runtime.predictor import PointScores, RGBScores, predictor_from_checkpoint, read_checkpoint, subset_key
from vg4d_core.runtime.scoring import score_dataset
from vg4d_core.training.config import STAGES, TrainConfig, model_config_dict, resolved_data_dict, vlm_config_of
from vg4d_core.training.feature_cache import CachedVideoFeatures, cache_key, get_feature_cache
from vg4d_core.training.validation import ItemSubset, split_items, validation_set


@dataclass
class Stage:
    """Everything the loop needs from a stage.

    ``model`` is what the optimizer trains (its unfrozen parameters),
    ``objective`` the loss over its outputs, ``arch`` the architecture dict
    stored in checkpoints, ``score_sources(model)`` the predictor sources of
    the per-epoch test pass, ``meta`` extra checkpoint entries.
    ``train_set`` (when set) replaces the split given to :func:`build_stage`
    (validation videos removed, cached features added); ``finalize(run_dir)``
    runs after training (fusion weights).
    """

    name: str
    model: nn.Module
    objective: nn.Module
    arch: dict[str, Any]
    score_sources: Callable[[nn.Module], Sequence[nn.Module]]
    meta: dict[str, Any] = field(default_factory=dict)
    train_set: Dataset | None = None
    finalize: Callable[[Path], dict[str, Any]] | None = None


def stage_arch(cfg: TrainConfig, num_classes: int) -> dict[str, Any]:
    """The architecture dict of the point encoder recipe ``cfg`` trains for ``num_classes`` classes."""
    return point_encoder_arch(model_config_dict(cfg), num_classes, cfg.embed_dim)


def build_stage(cfg: TrainConfig, train_set: Dataset, run_dir: str | Path | None = None) -> Stage:
    """Model, objective and scoring of ``cfg.stage`` for ``train_set``'s classes.

    The model's initial weights come from torch's global RNG: seed it the same
    in every process before calling this. ``run_dir`` holds the crossmodal
    feature cache.
    """
    if cfg.stage == "pretrain":
        return _pretrain(cfg, train_set)
    if cfg.stage == "vlm":
        return _vlm(cfg, train_set)
    if cfg.stage == "crossmodal":
        if run_dir is None:
            raise ValueError("the crossmodal stage needs a run directory (for its feature cache)")
        return _crossmodal(cfg, train_set, Path(run_dir))
    raise ValueError(f"unknown stage {cfg.stage!r}; choose from {list(STAGES)}")


def _pretrain(cfg: TrainConfig, train_set: Dataset) -> Stage:
    arch = stage_arch(cfg, train_set.num_classes)
    model = build_point_encoder(arch)
    meta: dict[str, Any] = {"val_fraction": cfg.holdout}
    if cfg.pretrained:  # fine-tune: start from another pretrain run's weights (same architecture, classes)
        if not Path(cfg.pretrained).is_file():
            raise ConfigError(f"pretrained: checkpoint not found: {cfg.pretrained}")
        pre = read_checkpoint(cfg.pretrained)
        ckpt_io.check_arch(pre.arch, arch, cfg.pretrained)
        if list(pre.class_names) != list(train_set.class_names):
            raise ConfigError(f"pretrained {cfg.pretrained} was trained on other classes "
                              f"({len(pre.class_names)}: {', '.join(pre.class_names[:3])}, ...)")
        model.load_state_dict(pre.state["model"])
        meta["pretrained"] = str(Path(cfg.pretrained).resolve())
    model.lock("projection")  # cross-entropy never reaches the projection head
    subset = _holdout(cfg, train_set)
    return Stage("pretrain", model, ClassificationObjective(cfg.label_smoothing), arch,
                 score_sources=lambda m: [PointScores(m)], train_set=subset, meta=meta)


def _holdout(cfg: TrainConfig, train_set: Dataset, extra=None) -> Dataset | None:
    """``train_set`` without its validation videos (None: nothing to change)."""
    if cfg.holdout <= 0 and extra is None:
        return None
    keep, _ = split_items(train_set, cfg.holdout)
    return ItemSubset(train_set, keep, extra)


def _require_rgb(train_set: Dataset, stage: str) -> None:
    if "rgb" not in train_set[0]:
        raise ConfigError(f"the {stage} stage needs RGB frames: set data_overrides.rgb=true "
                              "(the dataset must have RGB video)")


def _vlm(cfg: TrainConfig, train_set: Dataset) -> Stage:
    from vg4d_core.vlm import VLMClassifier, build_backend, class_prompts, load_prompt_templates

    _require_rgb(train_set, "vlm")
    vcfg = vlm_config_of(cfg)
    backend = build_backend(vcfg)
    names = list(train_set.class_names)
    with torch.no_grad():
        bank = backend.encode_class_texts(class_prompts(names, load_prompt_templates(vcfg.prompts)))
    model = RGBVideoClassifier(VLMClassifier(backend, len(names), bank))
    # the cached bank gives the text tower no gradient: freeze it so that DDP and the optimizer agree
    text_params = _text_tower_params(backend)
    for p in text_params:
        p.requires_grad_(False)
    objective = VideoTextObjective.from_config(cfg.vlm_loss)
    objective.logits_key = "rgb_logits"  # train_top1 of the loop's epoch record
    return Stage("vlm", model, objective, vlm_classifier_arch(backend, len(names)),
                 score_sources=lambda m: [RGBScores(m)], train_set=_holdout(cfg, train_set),
                 meta={"val_fraction": cfg.holdout})


def _text_tower_params(backend: nn.Module) -> list[nn.Parameter]:
    """Parameters that only the text side uses (X-CLIP: text_model, text_projection, prompt
    generator is video-conditioned so it stays; open_clip: transformer, token/positional
    embeddings, ln_final, text_projection)."""
    out = []
    for name, p in backend.named_parameters():
        n = name.split(".", 1)[1] if name.startswith("model.") else name
        if n.startswith(("text_model.", "text_projection", "transformer.", "token_embedding",
                         "positional_embedding", "ln_final", "text.")):
            out.append(p)
    return out


def _crossmodal(cfg: TrainConfig, train_set: Dataset, run_dir: Path) -> Stage:
    if cfg.crossmodal_loss.d > 0:  # also checked by TrainConfig; kept for configs built in code
        raise ConfigError("crossmodal_loss.d > 0: L_rgb is trained in the `vlm` stage; the crossmodal VLM is frozen")
    for name in ("pretrained", "vlm_checkpoint"):
        if not getattr(cfg, name):
            raise ConfigError(f"the crossmodal stage needs `{name}` (the last.pt of the "
                              f"{'pretrain' if name == 'pretrained' else 'vlm'} run)")
        if not Path(getattr(cfg, name)).is_file():
            raise ConfigError(f"{name}: checkpoint not found: {getattr(cfg, name)}")
    names = list(train_set.class_names)
    vlm_dim = int(read_checkpoint(cfg.vlm_checkpoint).state["model"]["vlm.head.weight"].shape[1])
    if cfg.embed_dim != vlm_dim:
        raise ConfigError(f"embed_dim={cfg.embed_dim} but the VLM's embeddings are {vlm_dim}-d: the point "
                          f"embedding is aligned with them, so set embed_dim: {vlm_dim} in every stage")

    # the pre-trained im-PSTNet, all of it trained now (the projection head included)
    arch = stage_arch(cfg, train_set.num_classes)
    pre = read_checkpoint(cfg.pretrained)
    ckpt_io.check_arch(pre.arch, arch, cfg.pretrained)
    model = build_point_encoder(arch)
    model.load_state_dict(pre.state["model"])

    vlm_ck = read_checkpoint(cfg.vlm_checkpoint)
    if vlm_ck.arch.get("model") != "VLMClassifier":
        raise ConfigError(f"vlm_checkpoint {cfg.vlm_checkpoint} is not a `vlm` stage checkpoint "
                          f"(model {vlm_ck.arch.get('model')!r})")
    if vlm_ck.class_names != names:
        raise ConfigError(f"vlm_checkpoint {cfg.vlm_checkpoint} was trained on other classes")

    def frozen_vlm():
        vlm = build_rgb_model(vlm_ck.arch, vlm_ck.state["model"]).eval()
        for p in vlm.parameters():
            p.requires_grad_(False)
        return vlm

    # the frozen VLM runs once: video features of every training item, `feature_views` views
    data_rgb = dict(resolved_data_dict(cfg), rgb=True)
    rgb_train = build_split(data_rgb, cfg.train_split)
    keep, _ = split_items(train_set, cfg.holdout)
    key = cache_key(cfg.vlm_checkpoint, data_rgb, cfg.feature_views, names, keep)
    device = "cuda" if cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available()) else "cpu"
    cache = get_feature_cache(run_dir / "feature_cache.pt", frozen_vlm, rgb_train, keep, key,
                              batch_size=cfg.eval_batch_size, device=device)
    text = cache["text_features"]
    objective = CrossModalObjective.from_config(cfg.crossmodal_loss, text)

    def sources(m: nn.Module):
        ls = objective.logit_scale
        if ls is None:
            return [PointScores(m)]
        return [PointScores(m, text, float(ls().detach()))]

    subset = ItemSubset(train_set, keep, CachedVideoFeatures(cache))
    meta = {"class_text_features": text.clone(), "vlm_checkpoint": str(Path(cfg.vlm_checkpoint).resolve()),
            "pretrained": str(Path(cfg.pretrained).resolve()), "val_fraction": cfg.holdout}
    return Stage("crossmodal", model, objective, arch, score_sources=sources, meta=meta, train_set=subset,
                 finalize=lambda rd: finalize_crossmodal(cfg, rd, train_set))


def finalize_crossmodal(cfg: TrainConfig, run_dir: str | Path, train_set: Dataset) -> dict[str, Any]:
    """Fit the fusion weights of every non-empty subset of the available scores on the
    validation videos (test-mode sampling) and store them, with ``logit_scale``, in ``last.pt``.

    Entries written: ``logit_scale`` (float), ``fusion_subsets`` (subset key -> weights),
    ``fusion_weights`` (all scores), ``fusion_weights_pc`` (pc + pc_text), ``fusion_validation``
    (val_fraction, number of validation videos, top-1 of each score and subset on them).
    """
    path = Path(run_dir) / "last.pt"
    state = ckpt_io.load_checkpoint(path)
    log_s = state.get("objective", {}).get("logit_scale.log_scale")
    if log_s is not None:
        state["logit_scale"] = logit_scale_value(log_s, float(cfg.crossmodal_loss.max_logit_scale))
        ckpt_io.atomic_save(state, path)

    val = validation_set(build_split(dict(resolved_data_dict(cfg), rgb=True), cfg.train_split), cfg.holdout)
    info: dict[str, Any] = {"val_fraction": cfg.holdout, "num_videos": 0}
    if val is None:
        print("[vg4d train] no validation videos (val_fraction 0): no fusion weights fitted", flush=True)
        return info
    predictor, _ = predictor_from_checkpoint(path, device=cfg.device, amp="off",
                                             vlm_checkpoint=cfg.vlm_checkpoint)
    predictor.fusion = None
    scores = score_dataset(predictor, val, batch_size=cfg.eval_batch_size)
    names = [n for n in scores.tables if n != "fused"]
    subsets: dict[str, dict[str, float]] = {}
    accs: dict[str, float] = {n: topk_accuracy(scores.tables[n], scores.labels, 1) for n in names}
    for r in range(2, len(names) + 1):
        for combo in itertools.combinations(names, r):
            w = fit_fusion_weights(scores.tables, scores.labels, combo)
            subsets[subset_key(combo)] = w
            accs[subset_key(combo)] = topk_accuracy(fuse(scores.tables, w), scores.labels, 1)
    state = ckpt_io.load_checkpoint(path)
    state["fusion_subsets"] = subsets
    state["fusion_weights"] = subsets.get(subset_key(names))
    state["fusion_weights_pc"] = subsets.get("pc+pc_text")
    info = {"val_fraction": cfg.holdout, "num_videos": len(scores.videos), "top1": accs,
            "objective": FIT_OBJECTIVE.format(step=0.1), "weights": subsets.get(subset_key(names))}
    state["fusion_validation"] = info
    ckpt_io.atomic_save(state, path)
    print(f"[vg4d train] fusion weights fitted on {len(scores.videos)} validation videos: "
          f"{state['fusion_weights']}", flush=True)
    return info
