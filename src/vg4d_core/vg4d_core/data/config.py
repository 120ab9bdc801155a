"""Dataset configuration: dataclasses filled from ``config/data/*.yaml``.

``DataConfig`` holds everything :func:`vg4d_core.data.factory.build_dataset`
needs; ``name`` picks the dataset. Fields that a dataset does not use are
ignored by it (e.g. ``protocol`` for MSR-Action3D) but still validated.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from vg4d_core.config import ConfigError, load_config
from vg4d_core.paths import resolve_named


@dataclass
class AugmentConfig:
    """Training-time point augmentation (never applied to the test split).

    One random transform per clip (the same for all T frames, so motion is
    not distorted): per-axis scaling, rotation about the camera's vertical
    (y) axis through the clip's centroid, then per-point Gaussian jitter.
    Units are those of the dataset's coordinates.
    """

    enabled: bool = True
    scale_range: tuple[float, float] = (0.9, 1.1)  # per-axis uniform factors (PSTNet: 0.9..1.1)
    rotate_y_deg: float = 0.0  # uniform in [-deg, deg]; 0 disables
    jitter_std: float = 0.0  # per-point Gaussian noise; 0 disables
    jitter_clip: float = 0.0  # |noise| clipped to this when > 0
    # RGB frames (the same draw for all T frames of a clip): a mirror image with probability 1/2, and a
    # random square crop whose side is uniform in [rgb_crop_min, 1] of the frame's, resized back.
    # Off by default: the point stages and the feature cache see the frames as stored.
    rgb_flip: bool = False
    rgb_crop_min: float = 1.0
    # time: the clip's T segments span a random contiguous part of the video, its length uniform in
    # [temporal_crop_min, 1] of the video's (segment sampling only). A live window rarely holds exactly
    # one whole action: it sees part of one, on its own time scale (README "Windows"). 1 = off (no draw)
    temporal_crop_min: float = 1.0
    # share of those crops that start at the video's first frame (a prefix): after a pause the live
    # window is the start of the next action, growing frame by frame (README "The still rule"). 0 = every
    # crop at a uniform start (and no extra draw)
    temporal_crop_prefix: float = 0.0

    def __post_init__(self) -> None:
        lo, hi = self.scale_range
        if not 0 < lo <= hi:
            raise ConfigError(f"augment.scale_range must satisfy 0 < low <= high, got {self.scale_range!r}")
        if not 0 <= self.rotate_y_deg <= 180:
            raise ConfigError(f"augment.rotate_y_deg must be in [0, 180], got {self.rotate_y_deg!r}")
        if self.jitter_std < 0 or self.jitter_clip < 0:
            raise ConfigError(f"augment.jitter_std/jitter_clip must be >= 0, "
                              f"got {self.jitter_std!r}/{self.jitter_clip!r}")
        if not 0 < self.rgb_crop_min <= 1:
            raise ConfigError(f"augment.rgb_crop_min must be in (0, 1], got {self.rgb_crop_min!r}")
        if not 0 < self.temporal_crop_min <= 1:
            raise ConfigError(f"augment.temporal_crop_min must be in (0, 1], got {self.temporal_crop_min!r}")
        if not 0 <= self.temporal_crop_prefix <= 1:
            raise ConfigError(f"augment.temporal_crop_prefix must be in [0, 1], got {self.temporal_crop_prefix!r}")


@dataclass
class SyntheticConfig:
    """The synthetic RGB-D action generator (see :mod:`vg4d_core.data.synthetic`)."""

    num_train: int = 160  # videos in the train split
    num_test: int = 80  # videos in the test split
    min_frames: int = 20  # video length is uniform in [min_frames, max_frames]
    max_frames: int = 32
    image_scale: float = 0.5  # of the Kinect v2 depth geometry (1.0 = 512 x 424)
    depth_noise_mm: float = 4.0  # Gaussian noise added to rendered depth
    # Unmasked "room" mode: the floor (under the figure's feet), a back wall and a side wall get depth and
    # colour too, like a live sensor's image (vg4d_core.data.synthetic.render.Room). Off: the masked figure
    # only, as NTU's masked depth.
    room: bool = False
    room_back_wall_m: float = 0.8  # back wall this far behind the subject's distance (3-4 m), metres
    room_side_wall_m: float = 1.6  # side wall at x = +this right of the optical axis, metres; 0 = none

    def __post_init__(self) -> None:
        if self.num_train < 0 or self.num_test < 0:
            raise ConfigError(f"synthetic.num_train/num_test must be >= 0, got {self.num_train}/{self.num_test}")
        if not 1 <= self.min_frames <= self.max_frames:
            raise ConfigError(f"synthetic frames need 1 <= min_frames <= max_frames, "
                              f"got {self.min_frames}/{self.max_frames}")
        if not 0.05 <= self.image_scale <= 2.0:
            raise ConfigError(f"synthetic.image_scale must be in [0.05, 2], got {self.image_scale!r}")
        if self.depth_noise_mm < 0:
            raise ConfigError(f"synthetic.depth_noise_mm must be >= 0, got {self.depth_noise_mm!r}")
        if not self.room_back_wall_m > 0:
            raise ConfigError(f"synthetic.room_back_wall_m must be > 0 metres, got {self.room_back_wall_m!r}")
        if not self.room_side_wall_m >= 0:
            raise ConfigError(f"synthetic.room_side_wall_m must be >= 0 metres (0 = none), "
                              f"got {self.room_side_wall_m!r}")


@dataclass
class BagDataSettings:
    """Videos cut from ROS 2 bags (``name: bag``; ``root`` = the ``vg4d bag2cache`` output)."""

    split_by: Literal["bag", "subject"] = "bag"  # what ``test`` names
    # bags (folder names) or subjects of the test split; plain YAML scalars (`[6, 7]` or `[alice]`), compared
    # as text with the labels file's subjects
    test: list[str | int] = field(default_factory=list)


@dataclass
class DataConfig:
    """One dataset, its sampling and augmentation.

    ``root``: MSR-Action3D - the folder of ``.mat`` files ("" = the shared
    copy); NTU - the cache written by ``vg4d preprocess ntu``; bag - the
    cache written by ``vg4d bag2cache`` (split settings under ``bag``); synthetic -
    unused. ``cache_dir``: MSR-Action3D only, optional folder for ``.npz``
    copies of the converted videos (in-memory caching is always on).
    """

    name: Literal["msr_action3d", "ntu", "synthetic", "bag"] = "msr_action3d"
    root: str = ""
    protocol: Literal["ntu60_cs", "ntu60_cv", "ntu120_csub", "ntu120_cset"] = "ntu60_cs"
    convention: Literal["kinect_v2", "pstnet"] = "kinect_v2"  # NTU: coordinates the cache must hold
    num_frames: int = 24  # T, frames per clip
    sampling: Literal["segment", "dense"] = "segment"
    frame_interval: int = 1  # dense only: gap between a clip's frames
    train_clip_step: int = 1  # dense only: gap between clip starts (train)
    test_clip_step: int = 1  # dense only: gap between clip starts (test)
    test_views: int = 1  # segment only: test clips per video, scores averaged per video (TSN-style views)
    points_per_frame: int = 2048  # N
    max_cached_points: int = 0  # MSR: keep at most this many points per frame in memory (0 = all)
    preload: bool = False  # MSR: convert the split when the dataset is built (shared by forked workers)
    max_videos: int = 0  # use an evenly spread subset of this many videos (0 = all)
    # class subset (e.g. an open-set study: train without some classes): keep the videos of ``classes``
    # (class names; empty = all) minus ``exclude_classes``; kept classes are renumbered in the dataset's order
    classes: list[str] = field(default_factory=list)
    exclude_classes: list[str] = field(default_factory=list)
    rgb: bool = False  # NTU / synthetic: also return "rgb" frames
    rgb_size: int = 224  # side of the square RGB frames
    # how frames become square (vg4d_core.data.rgb); "person": a square around the depth foreground (colour
    # registered to depth: the synthetic set, live cameras publishing aligned depth; not NTU's raw videos)
    rgb_fit: Literal["crop", "stretch", "pad", "person"] = "crop"
    cache_dir: str = ""
    seed: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    bag: BagDataSettings = field(default_factory=BagDataSettings)

    def __post_init__(self) -> None:
        for name in ("num_frames", "frame_interval", "train_clip_step", "test_clip_step", "points_per_frame",
                     "rgb_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"data.{name} must be a positive integer, got {value!r}")
        for name in ("max_cached_points", "max_videos", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"data.{name} must be a non-negative integer, got {value!r}")
        for name in ("classes", "exclude_classes"):
            value = getattr(self, name)
            if not isinstance(value, (list, tuple)) or not all(isinstance(c, str) and c for c in value):
                raise ConfigError(f"data.{name} must be a list of class names, got {value!r}")
        if 0 < self.max_cached_points < self.points_per_frame:
            raise ConfigError(
                f"data.max_cached_points ({self.max_cached_points}) must be 0 or >= points_per_frame "
                f"({self.points_per_frame})")

    @property
    def root_path(self) -> Path | None:
        return Path(self.root).expanduser() if self.root else None


def load_data_config(name_or_path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> DataConfig:
    """Load a :class:`DataConfig` from ``config/data/<name>.yaml`` or a path.

    ``load_data_config("msr_action3d")``, ``load_data_config("data/ntu60_cs.yaml")``
    and a file path all work.
    """
    try:
        path = resolve_named(name_or_path, "data")
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    return load_config(DataConfig, path, overrides)
