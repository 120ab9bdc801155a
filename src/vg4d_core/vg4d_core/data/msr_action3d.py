"""MSR-Action3D: 20 actions, 10 subjects, depth videos as MATLAB ``.mat`` files.

Files: ``aXX_sYY_eZZ_sdepth.mat`` (action XX = label + 1, subject YY,
repetition ZZ), key ``depth``: uint16 (240, 320, F), background zeroed.

Conversion (the one of MeteorNet / PSTNet / P4Transformer, for comparable
numbers): focal 280 on both axes, principal point at the image centre
(160, 120), ``z`` = the raw depth value, then all three coordinates divided
by 300.

Units. The raw values are not millimetres: a person spans only ~60 raw units
in depth and the values on this copy lie in ~290..650. They are linear depth
in steps of about 5 mm (estimated on this copy, not documented by the
dataset): standing subjects span 300..365 raw units head to foot with focal
280 (1.5-1.8 m tall at 5 mm per unit), the median subject stands at ~519
raw units (~2.6 m), and the quantisation step grows with the square of the
value (2.7 units at 430, 3.8 at 520, 4.4 at 570), as it does for a
structured-light sensor's depth. Hence one unit of the ``/ 300``
coordinates is about 300 x 5 mm = 1.5 m: a person is ~1.1 units tall and
~1.7 units from the camera, and PSTNet's MSR radius 0.5 (its first layer)
is roughly 0.75 m.

Split (the literature's cross-subject protocol): subjects 1-5 train,
6-10 test; this copy has 556 of the 567 videos: 266 train / 290 test.

Short videos: 23 videos have fewer than 24 frames (as few as 13). They are
kept in both splits: in dense mode each gives one clip whose frame indices
are clamped to the last frame (the last frame repeats); in segment mode
their frames are stretched over the T segments (frames repeat in order).
PSTNet's loader drops them from train and test: 10 of the 290 test videos
here, so the literature scores 280. :meth:`MSRAction3D.literature_videos`
names the videos its protocol keeps, for figures comparable with it.

Caching: converted videos stay in memory (as :class:`SparseDepthVideo`,
6 bytes per valid pixel) after first use, so epochs after the first do not
reload or reconvert; with ``preload=True`` the whole split is converted at
construction, before data-loader workers fork and share it. ``cache_dir``
adds an ``.npz`` copy per video on disk that later runs reuse. With
``max_cached_points`` the fixed point subset of a video is seeded by the
seed and the video's name (:func:`subset_seed`), never by its position in
the file list, and the file name carries a digest of everything that
determines the cached points (:func:`cache_key`), so runs with other
settings can share one ``cache_dir``.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.io

from vg4d_core.data.config import AugmentConfig
from vg4d_core.data.depth import MSR_ACTION3D_DEPTH, SparseDepthVideo
from vg4d_core.data.point_video import PointVideoDataset, evenly_spread

CLASS_NAMES: tuple[str, ...] = (
    "high arm wave", "horizontal arm wave", "hammer", "hand catch", "forward punch", "high throw",
    "draw x", "draw tick", "draw circle", "hand clap", "two hand wave", "side boxing", "bend",
    "forward kick", "side kick", "jogging", "tennis swing", "tennis serve", "golf swing",
    "pickup and throw",
)
TRAIN_SUBJECTS = frozenset({1, 2, 3, 4, 5})
TEST_SUBJECTS = frozenset({6, 7, 8, 9, 10})
MSR_SCALE = 1.0 / 300.0  # coordinate units per raw depth unit (see module docstring)
_NAME = re.compile(r"^a(\d{2})_s(\d{2})_e(\d{2})_sdepth\.mat$")

# The literature's dense protocol (MeteorNet / PSTNet / P4Transformer on MSR-Action3D): clips of 24
# frames, one frame apart. Their loaders make the clips of a video with
# ``for t in range(0, F - frame_interval * (frames_per_clip - 1))``, i.e. none when
# F <= 23, so a video counts only with F >= (24 - 1) * 1 + 1 = 24 frames.
LITERATURE_CLIP_FRAMES = 24
LITERATURE_FRAME_INTERVAL = 1
LITERATURE_MIN_FRAMES = (LITERATURE_CLIP_FRAMES - 1) * LITERATURE_FRAME_INTERVAL + 1  # = 24
# Version of the rule that picks a cached point subset (bump when the draw changes, so that old files
# are not served).
_SUBSET_RULE = 2


@dataclass(frozen=True)
class MsrVideoName:
    action: int  # 1..20
    subject: int  # 1..10
    repetition: int

    @property
    def label(self) -> int:
        return self.action - 1

    @property
    def video_id(self) -> str:
        return f"a{self.action:02d}_s{self.subject:02d}_e{self.repetition:02d}"

    @property
    def split(self) -> str:
        return "train" if self.subject in TRAIN_SUBJECTS else "test"


def parse_name(filename: str) -> MsrVideoName:
    """``a01_s06_e02_sdepth.mat`` -> MsrVideoName(1, 6, 2); ValueError if it does not match."""
    m = _NAME.match(os.path.basename(filename))
    if not m:
        raise ValueError(f"not an MSR-Action3D depth file name (aXX_sYY_eZZ_sdepth.mat): {filename!r}")
    name = MsrVideoName(*(int(g) for g in m.groups()))
    if not 1 <= name.action <= len(CLASS_NAMES):
        raise ValueError(f"{filename!r}: action {name.action} outside 1..{len(CLASS_NAMES)}")
    if name.subject not in TRAIN_SUBJECTS | TEST_SUBJECTS:
        raise ValueError(f"{filename!r}: subject {name.subject} outside 1..10")
    return name


def list_videos(root: str | Path, split: str) -> list[Path]:
    """Sorted ``.mat`` files of one split under ``root``; files of other names are ignored."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"MSR-Action3D folder not found: {root}")
    out = []
    for path in sorted(root.iterdir()):
        if _NAME.match(path.name) and parse_name(path.name).split == split:
            out.append(path)
    return out


def load_depth_video(path: str | Path) -> np.ndarray:
    """Read one ``.mat`` file -> uint16 (F, 240, 320) depth frames.

    Raises ValueError naming the file when it is unreadable or not the
    expected layout.
    """
    path = Path(path)
    try:
        mat = scipy.io.loadmat(str(path), variable_names=["depth"])
    except Exception as exc:  # scipy raises several types for corrupt files
        raise ValueError(f"{path}: unreadable .mat file ({type(exc).__name__}: {exc})") from exc
    if "depth" not in mat:
        raise ValueError(f"{path}: no 'depth' variable")
    depth = mat["depth"]
    if depth.ndim != 3 or depth.shape[:2] != (240, 320):
        raise ValueError(f"{path}: 'depth' has shape {depth.shape}, expected (240, 320, F)")
    if not np.issubdtype(depth.dtype, np.integer):
        raise ValueError(f"{path}: 'depth' has dtype {depth.dtype}, expected an integer type")
    return np.ascontiguousarray(np.moveaxis(depth, 2, 0)).astype(np.uint16, copy=False)


def _mat5_dims(path: Path, variable: str) -> tuple[int, ...] | None:
    """Dimensions of one variable of a MATLAB v5 file, decompressing only its first bytes.

    ``scipy.io.whosmat`` inflates every variable (~20 ms per MSR file, 11 s
    for a split); this reads the array header only. Returns None when the
    file is not a little-endian v5 file this parser understands.
    """
    with open(path, "rb") as fh:
        header = fh.read(128)
        if len(header) < 128 or header[126:128] != b"IM":
            return None
        while True:
            tag = fh.read(8)
            if len(tag) < 8:
                return None
            dtype, nbytes = struct.unpack("<II", tag)
            if dtype == 15:  # miCOMPRESSED: a zlib stream holding one miMATRIX element
                head = zlib.decompressobj().decompress(fh.read(min(nbytes, 512)), 256)
                fh.seek(nbytes - min(nbytes, 512), os.SEEK_CUR)
            elif dtype == 14:  # miMATRIX, uncompressed
                head = tag + fh.read(min(nbytes, 248))
                fh.seek(nbytes - min(nbytes, 248) + (-nbytes % 8), os.SEEK_CUR)
            else:
                fh.seek(nbytes + (-nbytes % 8), os.SEEK_CUR)
                continue
            if len(head) < 40 or struct.unpack("<I", head[:4])[0] != 14:
                return None
            # miMATRIX body: array flags (16 bytes), dimensions, name
            dims_type, dims_bytes = struct.unpack("<II", head[24:32])
            if dims_type != 5 or dims_bytes % 4:
                return None
            dims = struct.unpack(f"<{dims_bytes // 4}i", head[32:32 + dims_bytes])
            pos = 32 + dims_bytes + (-dims_bytes % 8)
            first, = struct.unpack("<I", head[pos:pos + 4])
            if first >> 16:  # small data element: length in the upper half of the tag
                name = head[pos + 4:pos + 4 + (first >> 16)]
            else:
                name_len, = struct.unpack("<I", head[pos + 4:pos + 8])
                name = head[pos + 8:pos + 8 + name_len]
            if name.decode("latin-1") == variable:
                return tuple(int(d) for d in dims)


def video_length(path: str | Path) -> int:
    """Frames of one ``.mat`` file, read from its header only."""
    path = Path(path)
    try:
        dims = _mat5_dims(path, "depth")
    except (OSError, struct.error, zlib.error):
        dims = None
    if dims is not None and len(dims) == 3:
        return int(dims[2])
    try:
        info = {name: shape for name, shape, _ in scipy.io.whosmat(str(path))}
    except Exception as exc:
        raise ValueError(f"{path}: unreadable .mat file ({type(exc).__name__}: {exc})") from exc
    shape = info.get("depth")
    if shape is None or len(shape) != 3:
        raise ValueError(f"{path}: no 3-D 'depth' variable (found {info})")
    return int(shape[2])


def subset_seed(seed: int, video_id: str) -> np.random.SeedSequence:
    """Seed of the fixed point subset of video ``video_id`` (e.g. ``"a01_s06_e02"``).

    A function of the seed and the video's name only (crc32, not Python's
    salted ``hash()``), so the same video gets the same points whatever file
    list, split or process it is converted in.
    """
    return np.random.SeedSequence([int(seed), 0x4D5352, zlib.crc32(str(video_id).encode())])


def cache_key(max_cached_points: int, seed: int) -> dict:
    """Everything that determines a converted video's points, as a JSON-able dict.

    The conversion (intrinsics, raw depth unit, output scale), the subset
    size and, when there is a subset, its seed and the version of its rule.
    """
    key = {"intrinsics": MSR_ACTION3D_DEPTH.to_dict(), "depth_unit": 1.0, "scale": MSR_SCALE,
           "max_cached_points": int(max_cached_points)}
    if max_cached_points:
        key.update(seed=int(seed), subset_rule=_SUBSET_RULE)
    return key


def cache_file_name(video_id: str, max_cached_points: int, seed: int) -> str:
    """``msr_<video>[_max<N>_seed<S>]_<digest>.npz``: the digest covers all of :func:`cache_key`."""
    key = cache_key(max_cached_points, seed)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    cap = f"_max{max_cached_points}_seed{seed}" if max_cached_points else ""
    return f"msr_{video_id}{cap}_{digest}.npz"


def convert_video(depth: np.ndarray, *, max_points: int = 0, rng: np.random.Generator | None = None
                  ) -> SparseDepthVideo:
    """uint16 (F, 240, 320) depth -> points in the literature's ``/ 300`` units."""
    return SparseDepthVideo(depth, MSR_ACTION3D_DEPTH, depth_unit=1.0, scale=MSR_SCALE,
                            max_points=max_points, rng=rng)


class MSRAction3D(PointVideoDataset):
    """MSR-Action3D point-cloud clips (items: see :mod:`vg4d_core.data.point_video`).

    Args:
        root: folder of ``aXX_sYY_eZZ_sdepth.mat`` files.
        split: "train" (subjects 1-5) or "test" (subjects 6-10).
        max_cached_points: keep at most this many points per frame in memory
            (a fixed random subset per frame, seeded by ``seed`` and the
            video's name, :func:`subset_seed`); 0 keeps all (~7k per frame,
            ~0.45 GB for a split).
        preload: convert the whole split now.
        cache_dir: optional folder for ``.npz`` copies of converted videos.
        max_videos: keep an evenly spread subset of the split's videos (0 = all).
        Other arguments: see :class:`PointVideoDataset`.
    """

    FRAME_RATE_HZ = 15.0  # MSR-Action3D was recorded at 15 frames per second (Li et al. 2010)

    def __init__(self, root: str | Path, split: str, *, num_frames: int = 24, points_per_frame: int = 2048,
                 sampling: str = "dense", frame_interval: int = 1, clip_step: int = 1,
                 augment: AugmentConfig | None = None, seed: int = 0, test_views: int = 1, max_cached_points: int = 0,
                 preload: bool = False, cache_dir: str | Path | None = None, max_videos: int = 0,
                 files: Sequence[str | Path] | None = None) -> None:
        paths = [Path(p) for p in files] if files is not None else list_videos(root, split)
        if files is not None:
            for p in paths:
                if parse_name(p.name).split != split:
                    raise ValueError(f"{p.name} belongs to the {parse_name(p.name).split} split, not {split}")
        paths = [paths[i] for i in evenly_spread(len(paths), max_videos)]
        if not paths:
            raise FileNotFoundError(f"no MSR-Action3D {split} videos found in {root}")
        names = [parse_name(p.name) for p in paths]
        self.paths = paths
        self.max_cached_points = int(max_cached_points)
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._cache: dict[int, SparseDepthVideo] = {}
        super().__init__(
            video_ids=[n.video_id for n in names], labels=[n.label for n in names],
            video_lengths=[video_length(p) for p in paths], class_names=CLASS_NAMES, split=split,
            num_frames=num_frames, points_per_frame=points_per_frame, sampling=sampling,
            frame_interval=frame_interval, clip_step=clip_step, augment=augment, seed=seed, test_views=test_views)
        if preload:
            self.preload()

    def preload(self) -> None:
        """Convert every video of the split now (kept in memory)."""
        for v in range(len(self.paths)):
            self._frames(v)

    @property
    def cached_bytes(self) -> int:
        """Memory held by converted videos."""
        return sum(s.nbytes for s in self._cache.values())

    def literature_videos(self) -> list[str]:
        """Ids of this split's videos that the literature's dense protocol scores.

        Rule: a video is kept when it has at least one full clip of
        :data:`LITERATURE_CLIP_FRAMES` (24) frames taken
        :data:`LITERATURE_FRAME_INTERVAL` (1) apart, i.e. at least
        :data:`LITERATURE_MIN_FRAMES` = (24 - 1) * 1 + 1 = 24 frames
        (PSTNet-style loaders give shorter videos zero clips). This is fixed
        by the published protocol, not by this dataset's own ``num_frames``:
        on the full test split of this copy it keeps 280 of 290 videos.
        Order: the dataset's (``video_ids``).

        Other datasets need not implement this; evaluation looks it up with
        :func:`vg4d_core.data.point_video.literature_video_ids`.
        """
        return [vid for vid, n in zip(self.video_ids, self.video_lengths) if n >= LITERATURE_MIN_FRAMES]

    def _npz_path(self, v: int) -> Path:
        assert self.cache_dir is not None
        return self.cache_dir / cache_file_name(self.video_ids[v], self.max_cached_points, self.seed)

    def _convert(self, v: int) -> SparseDepthVideo:
        rng = None
        if self.max_cached_points:
            # by name: the subset is the video's, not that of its position in this file list
            rng = np.random.default_rng(subset_seed(self.seed, self.video_ids[v]))
        return convert_video(load_depth_video(self.paths[v]), max_points=self.max_cached_points, rng=rng)

    def _frames(self, v: int) -> SparseDepthVideo:
        source = self._cache.get(v)
        if source is not None:
            return source
        if self.cache_dir is not None:
            path = self._npz_path(v)
            key = json.dumps(cache_key(self.max_cached_points, self.seed), sort_keys=True)
            if path.is_file():
                with np.load(path) as data:
                    stored = str(data["key"]) if "key" in data else None
                    if stored == key:  # the digest in the name matched; the full key must too
                        source = SparseDepthVideo.from_arrays(data["uv"], data["z"], data["offsets"],
                                                              MSR_ACTION3D_DEPTH, depth_unit=1.0, scale=MSR_SCALE)
            if source is None:
                source = self._convert(v)
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
                with open(tmp, "wb") as fh:
                    np.savez(fh, key=np.array(key), **source.arrays())
                os.replace(tmp, path)  # atomic: a concurrent reader never sees half a file
        else:
            source = self._convert(v)
        self._cache[v] = source
        return source
