"""Batching dataset items without dropping a modality.

Items are dicts (see :class:`vg4d_core.data.point_video.PointVideoDataset`):
``points`` (T, N, 3) float32, ``label`` int, ``video`` str, and optionally
``rgb`` (T, H, W, 3) uint8, ``frame_indices`` (T,) int64, cached
``video_features`` (D,) float32 ... Every array-valued field that all items
carry is stacked along a new batch axis; a field that only some items carry,
or that differs in shape between items, is an error naming the field (a
silently dropped RGB stream would turn a four-score model into a one-score
model without a word).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

# fields with a fixed meaning and dtype
_REQUIRED = ("points", "label", "video")


def collate_clips(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Batch items: ``points`` (B, T, N, 3) float32, ``label`` (B,) int64,
    ``video`` list of B ids, every other shared array field stacked (B, ...)
    in its own dtype, other shared scalar fields as lists."""
    if not items:
        raise ValueError("cannot collate an empty batch")
    for key in _REQUIRED:
        missing = [i for i, it in enumerate(items) if key not in it]
        if missing:
            raise ValueError(f"batch items {missing[:5]} have no {key!r} field")
    points = torch.stack([torch.as_tensor(it["points"], dtype=torch.float32) for it in items])
    if points.ndim != 4 or points.shape[-1] != 3:
        raise ValueError(f"points must be (T, N, 3) per clip, got batch shape {tuple(points.shape)}")
    batch: dict[str, Any] = {
        "points": points,
        "label": torch.tensor([int(it["label"]) for it in items], dtype=torch.int64),
        "video": [str(it["video"]) for it in items],
    }
    keys = set(items[0])
    for it in items[1:]:
        if set(it) != keys:
            diff = sorted(set(it) ^ keys)
            raise ValueError(f"batch items carry different fields ({', '.join(diff)}): a modality present in "
                             "some items only cannot be batched")
    for key in sorted(keys - set(_REQUIRED)):
        values = [it[key] for it in items]
        if isinstance(values[0], (torch.Tensor, np.ndarray)):
            tensors = [torch.as_tensor(v) for v in values]
            shapes = {tuple(t.shape) for t in tensors}
            if len(shapes) > 1:
                raise ValueError(f"field {key!r} differs in shape across the batch: {sorted(shapes)[:3]}")
            batch[key] = torch.stack(tensors)
        else:
            batch[key] = values
    return batch


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """Move every tensor of a collated batch to ``device`` (non-blocking)."""
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
