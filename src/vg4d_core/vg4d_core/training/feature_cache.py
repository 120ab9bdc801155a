"""The frozen VLM's features, computed once and cached on disk for the crossmodal stage.

The crossmodal stage never runs the VLM while training: before the first
epoch, :func:`build_feature_cache` encodes ``views`` sampled RGB views of
every training item (train-mode segment sampling, view ``v`` drawn from the
item's random stream of epoch ``v``, so view ``v`` holds the very frames the
point clip of epoch ``v`` is sampled from) and the class texts, and writes
them atomically. During training, epoch ``e`` reads view ``e mod views``
(:class:`CachedVideoFeatures`), so each epoch still sees a different view.

The file records what made it (:func:`cache_key`: the VLM checkpoint's
path, size and mtime, the data config, the views, the class names and the
items); :func:`load_feature_cache` refuses a cache whose record differs,
naming every difference.

File layout (``torch.save``, plain containers): ``key`` (dict),
``video_features`` (views, items, D) float32 unit vectors, ``items`` (I,)
base-dataset item indices, ``videos`` (I,) their video ids,
``text_features`` (K, D) float32 unit vectors.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Subset

from vg4d_core.runtime import checkpoint as ckpt_io
from vg4d_core.runtime.collate import collate_clips

CACHE_FORMAT = 1


class FeatureCacheError(ValueError):
    """A feature cache is unreadable or was made from other inputs."""


def cache_key(vlm_checkpoint: str | Path, data_config: Mapping[str, Any], views: int,
              class_names: Sequence[str], items: Sequence[int]) -> dict[str, Any]:
    """What a cache depends on, as a plain dict (compared field by field on load)."""
    p = Path(vlm_checkpoint).resolve()
    st = p.stat()
    return {"format": CACHE_FORMAT, "vlm_checkpoint": str(p), "vlm_size": int(st.st_size),
            "vlm_mtime_ns": int(st.st_mtime_ns), "data": dict(data_config), "views": int(views),
            "class_names": list(class_names), "items": [int(i) for i in items]}


@torch.no_grad()
def encode_views(model: torch.nn.Module, dataset: Dataset, items: Sequence[int], views: int, *,
                 batch_size: int = 16, workers: int = 0, device: torch.device | str = "cpu") -> torch.Tensor:
    """(views, len(items), D) float32 video features of ``dataset[items]`` at epochs 0 .. views-1.

    ``model`` is an :class:`~vg4d_core.runtime.architecture.RGBVideoClassifier`
    (``encode_video``); ``dataset`` a training split with ``rgb`` frames.
    """
    model = model.to(device).eval()
    out = []
    for v in range(views):
        dataset.set_epoch(v)
        loader = DataLoader(Subset(dataset, list(items)), batch_size=batch_size, shuffle=False,
                            num_workers=workers, collate_fn=collate_clips)
        rows = []
        for batch in loader:
            if "rgb" not in batch:
                raise FeatureCacheError("the feature cache needs RGB frames: the data config has rgb: false")
            rows.append(model.encode_video(batch["rgb"].to(device)).float().cpu())
        out.append(torch.cat(rows))
    return torch.stack(out)


def build_feature_cache(path: str | Path, model: torch.nn.Module, dataset: Dataset, items: Sequence[int],
                        key: Mapping[str, Any], *, batch_size: int = 16, workers: int = 0,
                        device: torch.device | str = "cpu") -> dict[str, Any]:
    """Encode ``views = key["views"]`` views of ``dataset[items]`` plus the class texts; write ``path``."""
    feats = encode_views(model, dataset, items, int(key["views"]), batch_size=batch_size, workers=workers,
                         device=device)
    cache = {"key": dict(key), "video_features": feats, "items": torch.as_tensor(list(items), dtype=torch.int64),
             "videos": [dataset.video_ids[dataset.video_of(i)] for i in items],
             "text_features": model.class_text_features().float().cpu()}
    # plain `format` entry so a cache is never mistaken for a training checkpoint
    ckpt_io.atomic_save(cache, path)
    return cache


def load_feature_cache(path: str | Path, key: Mapping[str, Any]) -> dict[str, Any]:
    """Read a cache and check it was made from ``key``; a stale one raises naming every difference."""
    path = Path(path)
    try:
        cache = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise FeatureCacheError(f"cannot read feature cache {path}: {exc}") from exc
    if not isinstance(cache, dict) or "key" not in cache:
        raise FeatureCacheError(f"{path} is not a vg4d feature cache")
    diffs = ckpt_io.diff(cache["key"], dict(key))
    if diffs:
        raise FeatureCacheError(f"feature cache {path} is stale (made from other inputs); delete it to "
                                "rebuild. Differences (cache vs now):\n  " + "\n  ".join(diffs))
    return cache


def get_feature_cache(path: str | Path, model_fn, dataset: Dataset, items: Sequence[int],
                      key: Mapping[str, Any], **kw) -> dict[str, Any]:
    """The cache at ``path`` if it exists (and matches ``key``), else built with ``model_fn()``."""
    path = Path(path)
    if path.exists():
        return load_feature_cache(path, key)
    return build_feature_cache(path, model_fn(), dataset, items, key, **kw)


class CachedVideoFeatures:
    """``(base_item_index, epoch) -> {"video_features": (D,) float32}``: view ``epoch mod views``."""

    def __init__(self, cache: Mapping[str, Any]) -> None:
        self.features = cache["video_features"]
        self.views = int(self.features.shape[0])
        self.row = {int(i): r for r, i in enumerate(cache["items"].tolist())}

    def __call__(self, index: int, epoch: int) -> dict[str, torch.Tensor]:
        if index not in self.row:
            raise FeatureCacheError(f"training item {index} has no cached video features")
        return {"video_features": self.features[epoch % self.views, self.row[index]]}
