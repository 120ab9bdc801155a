"""How a sensor frame became the model's input: recorded in every checkpoint, read by every consumer.

Training writes the :class:`InputTransform` of its training data into the checkpoint
(``state["input_transform"]``); ``vg4d replay``, the DDS transport and the rclpy node rebuild the
exact input from it (the frame converter of ``vg4d_ros.pipeline``), and ``vg4d bag2cache`` writes it
into the cache it makes, so a model trained on that cache carries it on. Any program can therefore
turn a message into what the model saw from the checkpoint alone, and report where a user setting
differs (:meth:`InputTransform.differences`).

The steps, in order (each one names its field)::

    depth image / PointCloud2 (``input``), read at a raster stride when larger than
      ``max_depth_pixels`` / ``max_cloud_points``
    -> points in metres (optical frame) -> foreground selection (``foreground``, metres)
    -> x ``point_scale`` (model units per metre; 1 = metres)
    -> at most ``stored_points_per_frame`` points, a sorted uniform subset drawn from
       :func:`frame_rng` (``subset_seed``, the frame's stamp) so the same frame gives the same subset
       in the cache and live
    -> rounded to the cache's grid (``quantum``, model units; 0 = not rounded)
    -> clip: T = ``num_frames`` frames x N = ``points_per_frame`` points by the clip sampler
       (``sampling``, ``test_views``, ``seed``), colour resized to ``rgb_size`` (``rgb_fit``).

Units: every length here is in metres except ``quantum``, which is in model units (metres times
``point_scale``). ``typical_video_s`` is the median training-video duration (seconds), the live
window's default length.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from vg4d_core.data.cache import CacheSettings
from vg4d_core.data.depth import convention

TRANSFORM_KEY = "input_transform"  # the checkpoint state / cache index key that holds it


@dataclass(frozen=True)
class InputTransform:
    """Conversion and sampling settings of a model's training input (see the module docstring).

    Attributes:
        source: data the model was trained on (``bag``, ``ntu``, ``msr_action3d``, ``synthetic``).
        input: ``depth`` or ``cloud`` for bag data; ``""`` when the data did not come from messages.
        max_depth_pixels, max_cloud_points: raster-stride limits the conversion used (0 = none).
        foreground: foreground settings (the recogniser's ``foreground`` section, metres); ``{}`` when
            the data came segmented (NTU's masked depth, synthetic actors).
        point_scale: model units per metre (0 = unknown: MSR-Action3D's own units).
        stored_points_per_frame: points kept per frame before clip sampling (0 = all).
        subset_seed: seed of that per-frame subset (:func:`frame_rng`).
        quantum: grid of stored points, model units (0 = not rounded).
        num_frames, points_per_frame: T and N of a clip.
        sampling: ``segment`` or ``dense``; test_views: test clips per video; seed: the clip stream.
        typical_video_s: median training-video duration (s), or None when unknown.
        rgb_size, rgb_fit: colour frames' square size (0 = not resized) and fit (``crop`` / ``stretch`` / ``pad``
            / ``person``: around the depth foreground of registered colour, :mod:`vg4d_core.data.rgb`).
    """

    source: str = ""
    input: str = ""
    max_depth_pixels: int = 0
    max_cloud_points: int = 0
    foreground: dict = field(default_factory=dict)
    point_scale: float = 1.0
    stored_points_per_frame: int = 0
    subset_seed: int = 0
    quantum: float = 0.0
    num_frames: int = 0
    points_per_frame: int = 0
    sampling: str = "segment"
    test_views: int = 1
    seed: int = 0
    typical_video_s: float | None = None
    rgb_size: int = 0
    rgb_fit: str = "crop"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON / YAML types (what checkpoints and cache indexes store)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "InputTransform":
        """Inverse of :meth:`to_dict`; unknown keys (a newer writer) are ignored, missing ones default."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in dict(data).items() if k in names})

    def replace(self, **changes: Any) -> "InputTransform":
        return dataclasses.replace(self, **changes)

    def differences(self, other: "InputTransform", fields: tuple[str, ...] | None = None) -> list[str]:
        """``"name: self -> other"`` for each field (or each of ``fields``) that differs; foreground
        settings are compared key by key."""
        out = []
        for f in dataclasses.fields(self):
            if fields is not None and f.name not in fields:
                continue
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name == "foreground":
                for key in sorted(set(a) | set(b)):
                    if a.get(key) != b.get(key):
                        out.append(f"foreground.{key}: {a.get(key)!r} -> {b.get(key)!r}")
            elif a != b:
                out.append(f"{f.name}: {a!r} -> {b!r}")
        return out

    # -- the per-frame storage rule (cache and live alike) ---------------------------------------
    def store_frame(self, points: np.ndarray, stamp_ns: int) -> np.ndarray:
        """Foreground points of one frame, model units -> the points a cache stores for it: (P', 3)
        float32, at most ``stored_points_per_frame`` (a sorted uniform subset, raster order kept),
        on the ``quantum`` grid exactly as a cached point reads back."""
        points = np.asarray(points, dtype=np.float32)
        cap = int(self.stored_points_per_frame)
        if cap and points.shape[0] > cap:
            rng = frame_rng(self.subset_seed, stamp_ns)
            points = points[np.sort(rng.choice(points.shape[0], size=cap, replace=False))]
        if self.quantum > 0:
            points = on_grid(points, self.quantum)
        return points


def frame_rng(seed: int, stamp_ns: int) -> np.random.Generator:
    """The generator of one frame's stored subset: a function of the seed and the frame's header stamp
    only, so a frame gives the same subset whichever program converts it and whatever came before."""
    stamp = int(stamp_ns)
    return np.random.default_rng(np.random.SeedSequence([int(seed), stamp & 0xFFFFFFFF, (stamp >> 32) & 0xFFFFFFFF]))


def on_grid(points: np.ndarray, quantum: float) -> np.ndarray:
    """(P, 3) points -> float32 rounded to the cache's int16 grid, exactly as a cached point reads back
    (:func:`vg4d_core.data.depth_sampling.quantise_points`' rint of float64 / quantum, then
    :meth:`vg4d_core.data.cache.CachedVideo.gather`'s ``q * float32(quantum)``). Values past the int16
    range are kept (a live cloud may reach farther than a cache can hold)."""
    q = np.rint(np.asarray(points, dtype=np.float64) / quantum).astype(np.float32)  # exact below 2**24
    return q * np.float32(quantum)


def transform_of_dataset(dataset: Any, data_config: Mapping[str, Any]) -> InputTransform:
    """The transform that made ``dataset``'s clips (its ``data_config``: the resolved ``data`` dict).

    A bag cache contributes the conversion ``vg4d bag2cache`` recorded (``dataset.recorded_transform``);
    an NTU cache its convention's units and grid; every dataset its clip settings and its typical
    video duration.
    """
    dc = dict(data_config)
    base = getattr(dataset, "recorded_transform", None)
    base = base if isinstance(base, InputTransform) else InputTransform(source=str(dc.get("name", "")))
    changes: dict[str, Any] = {}
    name = str(dc.get("name", ""))
    if name == "ntu":
        settings = getattr(dataset, "settings", None)
        changes.update(point_scale=float(convention(str(dc.get("convention", "kinect_v2")))[1]),
                       quantum=float(getattr(settings, "quantum", 0.0) or 0.0),
                       stored_points_per_frame=int(getattr(settings, "points_per_frame", 0) or 0))
    elif name == "msr_action3d":
        changes.update(point_scale=0.0)  # MSR-Action3D's points are in its own scaled units
    typical = dataset.typical_video_s() if hasattr(dataset, "typical_video_s") else None
    views = getattr(dataset, "views", None)
    changes.update(num_frames=int(getattr(dataset, "num_frames", dc.get("num_frames", 0)) or 0),
                   points_per_frame=int(getattr(dataset, "points_per_frame", dc.get("points_per_frame", 0)) or 0),
                   sampling=str(getattr(dataset, "sampling", dc.get("sampling", "segment"))),
                   test_views=int(dc.get("test_views", views or 1) or 1),
                   seed=int(dc.get("seed", getattr(dataset, "seed", 0)) or 0),
                   typical_video_s=None if typical is None else float(typical),
                   rgb_size=int(dc.get("rgb_size") or 0),
                   rgb_fit=str(dc.get("rgb_fit", "crop")))
    return base.replace(**changes)


def transform_of_checkpoint(state: Mapping[str, Any], data_config: Mapping[str, Any]) -> InputTransform:
    """The transform a checkpoint records, or, for a checkpoint written before it was recorded, what
    its ``data_config`` and ``typical_video_s`` tell."""
    recorded = state.get(TRANSFORM_KEY)
    if isinstance(recorded, Mapping):
        return InputTransform.from_dict(recorded)
    dc = dict(data_config)
    arch_cfg = (state.get("arch") or {}).get("model_config") or {}
    name = str(dc.get("name", ""))
    scale, quantum, stored = 1.0, 0.0, 0
    if name == "ntu":
        scale = float(convention(str(dc.get("convention", "kinect_v2")))[1])
    if name in ("ntu", "bag"):
        quantum = CacheSettings.quantum
    if name == "msr_action3d":
        scale = 0.0
    typical = None
    for where in (state, dc):
        value = where.get("typical_video_s")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            typical = float(value)
            break
    return InputTransform(source=name, input="depth" if name == "bag" else "", point_scale=scale,
                          stored_points_per_frame=stored, quantum=quantum,
                          num_frames=int(dc.get("num_frames") or arch_cfg.get("frames") or 0),
                          points_per_frame=int(dc.get("points_per_frame") or arch_cfg.get("points") or 0),
                          sampling=str(dc.get("sampling", "segment")), test_views=int(dc.get("test_views") or 1),
                          seed=int(dc.get("seed", 0) or 0), typical_video_s=typical,
                          rgb_size=int(dc.get("rgb_size") or 0),
                          rgb_fit=str(dc.get("rgb_fit", "crop")))
