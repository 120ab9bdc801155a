"""The NTU training cache: one ``.npz`` per video, written by ``vg4d preprocess ntu``.

Layout::

    CACHE/cache.json           settings every video was made with (a run with others refuses to mix)
    CACHE/index.tsv            name, frames, has_rgb of every finished video (rewritten after each run)
    CACHE/report.json          failures and warnings of the last run
    CACHE/videos/<name>.npz    one video (uncompressed; written to a temp name, then renamed)

A video file holds:

* ``points`` int16 (F, P, 3): up to P points per depth frame (a uniform
  random subset of the frame's valid pixels, raster order), coordinates in
  units of ``quantum`` (1 mm for the default metres convention); rows past
  ``counts[f]`` are zero;
* ``counts`` int32 (F,): points stored per frame (0 = empty frame);
* ``valid_pixels`` int32 (F,): valid pixels before subsampling;
* with RGB: ``rgb_jpeg`` uint8 (B,) and ``rgb_offsets`` int64 (F + 1,):
  one square JPEG per *depth* frame (RGB frame aligned in time, see
  :func:`vg4d_core.data.rgb.align_to_depth`), so one index selects both;
* ``meta``: JSON string (name, frame counts, settings).

Size (P = 2048, RGB 224 x 224 JPEG at quality 90), measured with
``vg4d bench preprocess --rgb`` on the real NTU clip (71 depth frames):
12.3 KB per frame for the points (0.875 MB per video) and 6.7 KB more for
RGB (19.0 KB per frame, 1.35 MB per video). NTU120 (114,480 videos, ~70
frames on average: "about 8 million frames") is then ~99 GB depth-only and
~152 GB with RGB, versus ~1.3 TB raw; ``--points 1024`` halves the points.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vg4d_core.data.depth import CONVENTIONS
from vg4d_core.data.rgb import FITS, decode_jpeg_frame

FORMAT_VERSION = 1
VIDEOS_DIR = "videos"
SETTINGS_FILE = "cache.json"
INDEX_FILE = "index.tsv"
REPORT_FILE = "report.json"


@dataclass(frozen=True)
class CacheSettings:
    """What every video of one cache was made with."""

    convention: str = "kinect_v2"  # vg4d_core.data.depth.CONVENTIONS
    points_per_frame: int = 2048  # P, points stored per frame
    quantum: float = 1e-3  # coordinate units per int16 step
    rgb: bool = True
    rgb_size: int = 224
    rgb_fit: str = "crop"
    jpeg_quality: int = 90
    seed: int = 0
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.convention not in CONVENTIONS:
            raise ValueError(f"convention must be one of {sorted(CONVENTIONS)}, got {self.convention!r}")
        if self.points_per_frame < 1:
            raise ValueError(f"points_per_frame must be >= 1, got {self.points_per_frame!r}")
        if not self.quantum > 0:
            raise ValueError(f"quantum must be > 0, got {self.quantum!r}")
        if self.rgb_fit not in FITS:
            raise ValueError(f"rgb_fit must be one of {FITS}, got {self.rgb_fit!r}")
        if self.rgb_fit == "person":  # NTU's 1920 x 1080 colour is another camera than its depth
            raise ValueError("rgb_fit 'person' needs colour registered to the depth image; NTU's RGB videos "
                             "are not: use crop, stretch or pad")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, got {self.jpeg_quality!r}")
        if self.rgb_size < 1:
            raise ValueError(f"rgb_size must be >= 1, got {self.rgb_size!r}")


def video_path(cache: str | Path, name: str) -> Path:
    return Path(cache) / VIDEOS_DIR / f"{name}.npz"


def read_settings(cache: str | Path) -> CacheSettings | None:
    path = Path(cache) / SETTINGS_FILE
    if not path.is_file():
        return None
    try:
        return CacheSettings(**json.loads(path.read_text(encoding="utf-8")))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: not a valid cache settings file ({exc})") from exc


def write_settings(cache: str | Path, settings: CacheSettings) -> None:
    path = Path(cache) / SETTINGS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_video(cache: str | Path, name: str, arrays: dict[str, np.ndarray], meta: dict) -> Path:
    """Write one video atomically (temp file + rename): a killed run never leaves a readable half file."""
    path = video_path(cache, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, path)
    return path


def read_video_meta(path: str | Path) -> dict:
    with np.load(path) as data:
        return json.loads(str(data["meta"]))


@dataclass(frozen=True)
class IndexEntry:
    name: str
    num_frames: int
    has_rgb: bool


def write_index(cache: str | Path, entries: list[IndexEntry]) -> Path:
    path = Path(cache) / INDEX_FILE
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    lines = ["name\tframes\trgb"] + [f"{e.name}\t{e.num_frames}\t{int(e.has_rgb)}"
                                    for e in sorted(entries, key=lambda e: e.name)]
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_index(cache: str | Path) -> list[IndexEntry]:
    """Entries of ``index.tsv``; FileNotFoundError with advice when the cache has none."""
    path = Path(cache) / INDEX_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {INDEX_FILE} in {cache}: run `vg4d preprocess ntu --root RAW --out {cache}` "
                                f"(it writes the index at the end of every run)")
    entries = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise ValueError(f"{path}:{i}: expected 3 tab-separated fields, got {line!r}")
        entries.append(IndexEntry(parts[0], int(parts[1]), parts[2] == "1"))
    return entries


class CachedVideo:
    """One cached video, loaded in memory; a FrameSource for :class:`PointVideoDataset`."""

    def __init__(self, path: str | Path, *, load_rgb: bool = False) -> None:
        path = Path(path)
        try:
            with np.load(path) as data:
                self.points = data["points"]
                self._counts = data["counts"].astype(np.int64)
                self.meta = json.loads(str(data["meta"]))
                self.rgb_jpeg = data["rgb_jpeg"] if load_rgb and "rgb_jpeg" in data else None
                self.rgb_offsets = data["rgb_offsets"] if load_rgb and "rgb_offsets" in data else None
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"{path}: unreadable cache file ({type(exc).__name__}: {exc})") from exc
        if load_rgb and self.rgb_jpeg is None:
            raise ValueError(f"{path}: has no RGB frames (the cache was made with --no-rgb)")
        self.quantum = float(self.meta["quantum"])
        self.path = path

    @property
    def num_frames(self) -> int:
        return int(self._counts.shape[0])

    @property
    def counts(self) -> np.ndarray:
        return self._counts

    def gather(self, frame: int, idx: np.ndarray) -> np.ndarray:
        return self.points[frame, idx].astype(np.float32) * np.float32(self.quantum)

    def rgb(self, frame: int) -> np.ndarray:
        if self.rgb_jpeg is None:
            raise ValueError(f"{self.path}: RGB frames were not loaded")
        return decode_jpeg_frame(self.rgb_jpeg, self.rgb_offsets, frame)
