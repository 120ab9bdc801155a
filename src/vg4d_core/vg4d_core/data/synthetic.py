"""Synthetic RGB-D action videos: procedurally animated figures, rendered to
depth (uint16 mm, masked like NTU's) and RGB, in memory or in NTU's layout.

The eight classes come in pairs built to need a particular modality:

* appearance pairs - identical motion and geometry, only the colour or
  texture of a hand-held object differs, so the depth (and the point cloud)
  of the two classes is *bit-identical* for the same nuisance draw:
  (0) lift red cup / (1) lift blue cup; (2) wave plain board /
  (3) wave checkered board (same mean colour);
* depth pairs - mirror images of each other about the body's frontal plane,
  so the 2D silhouette barely changes (only perspective differs) while the
  depth moves in opposite directions: (4) lean toward camera / (5) lean away
  from camera; (6) step toward camera / (7) step away from camera (random
  body size and distance hide the absolute scale in RGB).

Everything else is nuisance, drawn per video from a seeded generator
(:class:`Nuisance`): body size, position, distance, timing, amplitude,
clothing, wall colour, sensor noise. A video is a pure function of
(class, nuisance), so generation is deterministic by seed and any pair of
classes can be rendered with the same nuisance.

Geometry: camera optical frame (x right, y down, z forward, metres), the
Kinect v2 depth intrinsics scaled by ``image_scale`` (1.0 = 512 x 424);
bodies are unions of spheres plus one textured rectangle (the board), ray
traced exactly per pixel (a few ms per frame at half resolution).

``vg4d synth --out ROOT --videos N`` writes
``ROOT/nturgb+d_depth_masked/<name>/MDepth-%08d.png`` (16-bit, mm) and
``ROOT/nturgb+d_rgb/<name>_rgb.avi`` (MJPG) at full 512 x 424, with NTU names
(action = class + 1, performers alternating between NTU60 cross-subject
train and test performers), so ``vg4d preprocess ntu`` and the NTU dataset
read it like the real thing.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numba
import numpy as np

from vg4d_core.data.config import AugmentConfig, SyntheticConfig
from vg4d_core.data.depth import KINECT_V2_DEPTH, CameraIntrinsics, SparseDepthVideo
from vg4d_core.data.point_video import PointVideoDataset
from vg4d_core.data.rgb import decode_jpeg_frame, encode_jpeg_frames, resize_frame
from vg4d_core.data.sampling import SPLIT_CODES

CLASS_NAMES: tuple[str, ...] = (
    "lift red cup", "lift blue cup", "wave plain board", "wave checkered board",
    "lean toward camera", "lean away from camera", "step toward camera", "step away from camera",
)
APPEARANCE_PAIRS: tuple[tuple[int, int], ...] = ((0, 1), (2, 3))
DEPTH_PAIRS: tuple[tuple[int, int], ...] = ((4, 5), (6, 7))
NUM_CLASSES = len(CLASS_NAMES)
STEP_M = 0.25  # step length of classes 6/7: ~7 % change of apparent size at 3.5 m
LEAN_DEG = 28.0  # peak lean of classes 4/5

_CUP_COLOURS = {0: (200, 30, 30), 1: (30, 60, 210)}  # RGB
_LIGHT = np.array([0.35, -0.55, -0.76]) / np.linalg.norm([0.35, -0.55, -0.76])  # towards the light


@dataclass(frozen=True)
class Nuisance:
    """Everything about a video that is not its class."""

    num_frames: int
    scale: float  # body size factor (1.0 ~ 1.75 m tall)
    x: float  # pelvis position, metres
    z: float  # distance of the pelvis from the camera, metres
    floor_y: float  # floor height below the optical axis, metres (y is down)
    start: float  # action window [start, start + duration] in video phase [0, 1]
    duration: float
    amplitude: float  # motion amplitude factor
    wave_cycles: float  # waves per action (classes 2, 3)
    sway: float  # idle sway amplitude, metres
    shirt: tuple[int, int, int]
    pants: tuple[int, int, int]
    skin: tuple[int, int, int]
    wall: tuple[int, int, int]
    noise_seed: int


def sample_nuisance(rng: np.random.Generator, min_frames: int = 20, max_frames: int = 32) -> Nuisance:
    """Draw one video's nuisance parameters."""
    def colour(lo: int, hi: int) -> tuple[int, int, int]:
        return tuple(int(c) for c in rng.integers(lo, hi, size=3))

    return Nuisance(
        num_frames=int(rng.integers(min_frames, max_frames + 1)),
        scale=float(rng.uniform(0.88, 1.12)), x=float(rng.uniform(-0.2, 0.2)), z=float(rng.uniform(3.0, 4.0)),
        floor_y=float(rng.uniform(0.8, 1.1)), start=float(rng.uniform(0.0, 0.15)),
        duration=float(rng.uniform(0.7, 0.85)), amplitude=float(rng.uniform(0.85, 1.15)),
        wave_cycles=float(rng.uniform(1.5, 2.5)), sway=float(rng.uniform(0.0, 0.02)),
        shirt=colour(40, 200), pants=colour(20, 120), skin=_skin(float(rng.uniform(0.45, 1.0))),
        wall=colour(150, 230), noise_seed=int(rng.integers(0, 2**31 - 1)),
    )


def _skin(tone: float) -> tuple[int, int, int]:
    return int(235 * tone), int(180 * tone), int(150 * tone)


# -- kinematics -----------------------------------------------------------------
def _bump(p: float) -> float:
    """0 -> 1 -> 0 over p in [0, 1], smooth at both ends."""
    return float(np.sin(np.pi * np.clip(p, 0.0, 1.0)) ** 2)


def _smoothstep(p: float) -> float:
    p = float(np.clip(p, 0.0, 1.0))
    return p * p * (3 - 2 * p)


def _rot_x(theta: float) -> np.ndarray:
    """Rotation about the x axis; theta > 0 tips +y-up points towards the camera (-z)."""
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _two_bone(root: np.ndarray, target: np.ndarray, l1: float, l2: float, pole: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Middle joint and reachable end of a two-bone limb (analytic IK), bending towards ``pole``."""
    d_vec = target - root
    d = float(np.linalg.norm(d_vec))
    d_clamped = float(np.clip(d, abs(l1 - l2) + 1e-4, l1 + l2 - 1e-4))
    axis = d_vec / d if d > 1e-9 else np.array([0.0, 1.0, 0.0])
    end = root + axis * d_clamped
    a = (l1 * l1 - l2 * l2 + d_clamped * d_clamped) / (2 * d_clamped)
    h = np.sqrt(max(l1 * l1 - a * a, 0.0))
    perp = pole - axis * float(pole @ axis)
    n = float(np.linalg.norm(perp))
    perp = perp / n if n > 1e-9 else np.array([0.0, 0.0, 1.0])
    return root + axis * a + perp * h, end


def _capsules(segments: list[tuple[np.ndarray, np.ndarray, float, Sequence[int]]]) -> tuple[np.ndarray, np.ndarray]:
    """Segments (a, b, radius, colour) -> spheres (S, 4) covering them, spaced 0.7 r, and colours (S, 3).

    A segment with a == b is one sphere.
    """
    a = np.array([seg[0] for seg in segments], dtype=np.float64)
    b = np.array([seg[1] for seg in segments], dtype=np.float64)
    r = np.array([seg[2] for seg in segments], dtype=np.float64)
    col = np.array([seg[3] for seg in segments], dtype=np.float32)
    n = np.ceil(np.linalg.norm(b - a, axis=1) / (0.7 * r)).astype(np.int64) + 1
    owner = np.repeat(np.arange(len(segments)), n)
    first = np.repeat(np.cumsum(n) - n, n)
    t = (np.arange(owner.size) - first) / np.maximum(n[owner] - 1, 1)
    centres = a[owner] + (b[owner] - a[owner]) * t[:, None]
    return np.concatenate([centres, r[owner, None]], axis=1), col[owner]


@dataclass
class _Scene:
    spheres: np.ndarray  # (S, 4) x, y, z, r
    colours: np.ndarray  # (S, 3) RGB 0..255
    board: tuple | None  # (centre (3,), half_w, half_h, checkered: bool) facing the camera


def pose(action: int, nu: Nuisance, phase: float) -> _Scene:
    """The scene of class ``action`` at video phase ``phase`` in [0, 1]."""
    if not 0 <= action < NUM_CLASSES:
        raise ValueError(f"synthetic action must be in [0, {NUM_CLASSES}), got {action!r}")
    s = nu.scale
    p = (phase - nu.start) / nu.duration  # action progress, clipped inside the helpers
    amp = nu.amplitude
    sway = nu.sway * np.sin(2 * np.pi * 1.3 * phase + (nu.noise_seed % 628) / 100.0)
    lean = 0.0
    dz = 0.0
    if action == 4:
        lean = np.deg2rad(LEAN_DEG) * amp * _bump(p)
    elif action == 5:
        lean = -np.deg2rad(LEAN_DEG) * amp * _bump(p)
    elif action in (6, 7):
        dz = (-1.0 if action == 6 else 1.0) * STEP_M * amp * _smoothstep(p)
    pelvis = np.array([nu.x + sway, nu.floor_y - 0.95 * s, nu.z + dz])
    rot = _rot_x(lean)

    def torso(local: Sequence[float]) -> np.ndarray:  # point in the (leaning) torso frame
        return pelvis + rot @ (np.asarray(local, dtype=float) * s)

    neck = torso([0, -0.50, 0])
    head = torso([0, -0.66, 0])
    shoulders = {side: torso([side * 0.18, -0.46, 0]) for side in (-1, 1)}
    hips = {side: pelvis + np.array([side * 0.09, 0.02, 0]) * s for side in (-1, 1)}
    rest = {side: torso([side * 0.22, 0.08, 0.02]) for side in (-1, 1)}
    hands = dict(rest)
    cup = board = None
    if action in (0, 1):  # right hand (image right, +x) brings a cup to the mouth
        mouth = torso([0.02, -0.58, -0.16])
        hands[1] = rest[1] + (mouth - rest[1]) * _bump(p) * min(amp, 1.0)
        cup = hands[1] + np.array([0.0, -0.03, -0.05]) * s
    elif action in (2, 3):  # right hand raised, waving sideways, holding a board
        env = float(np.clip(_smoothstep(4 * p) * _smoothstep(4 * (1 - p)), 0, 1)) if 0 <= p <= 1 else 0.0
        raised = shoulders[1] + np.array([0.18, -0.22, -0.10]) * s
        raised = raised + np.array([0.12 * amp * s * np.sin(2 * np.pi * nu.wave_cycles * np.clip(p, 0, 1)), 0, 0])
        hands[1] = rest[1] + (raised - rest[1]) * env
        board = (hands[1] + np.array([0.0, -0.16, -0.04]) * s, 0.15 * s, 0.11 * s, action == 3)

    segs: list[tuple[np.ndarray, np.ndarray, float, Sequence[int]]] = []
    # torso: two columns of spheres, hips to shoulders
    for side in (-1, 1):
        segs.append((torso([side * 0.07, -0.02, 0]), torso([side * 0.09, -0.42, 0]), 0.12 * s, nu.shirt))
    segs.append((neck, head, 0.05 * s, nu.skin))
    segs.append((head, head, 0.105 * s, nu.skin))
    for side in (-1, 1):
        elbow_pole = np.array([side * 0.5, 0.3, 0.8])  # elbows out, down, backwards
        elbow, hand = _two_bone(shoulders[side], hands[side], 0.30 * s, 0.29 * s, elbow_pole)
        segs.append((shoulders[side], elbow, 0.05 * s, nu.shirt))
        segs.append((elbow, hand, 0.042 * s, nu.skin))
        segs.append((hand, hand, 0.05 * s, nu.skin))
    # legs: feet on the floor; stepping classes move one foot then the other
    for side in (-1, 1):
        foot = np.array([hips[side][0], nu.floor_y - 0.05 * s, nu.z])
        if action in (6, 7):
            total = (-1.0 if action == 6 else 1.0) * STEP_M * amp
            local = np.clip(2 * p - (0.0 if side == 1 else 1.0), 0.0, 1.0)
            foot = foot + np.array([0.0, -0.08 * np.sin(np.pi * local), total * _smoothstep(local)])
        knee, foot = _two_bone(hips[side], foot, 0.45 * s, 0.44 * s, np.array([0.0, 0.0, -1.0]))
        segs.append((hips[side], knee, 0.07 * s, nu.pants))
        segs.append((knee, foot, 0.055 * s, nu.pants))
        toe = foot + np.array([0, 0, -0.06 * s])
        segs.append((toe, toe, 0.055 * s, (40, 40, 40)))
    if cup is not None:
        segs.append((cup + np.array([0, -0.05, 0]) * s, cup + np.array([0, 0.05, 0]) * s, 0.045 * s,
                     _CUP_COLOURS[action]))
    spheres, colours = _capsules(segs)
    return _Scene(spheres, colours, board)


# -- rendering ------------------------------------------------------------------
@numba.njit(cache=True, nogil=True)
def _raster_spheres(spheres, colours, du, dv, fx, fy, cx0, cy0, light, zbuf, rgb):  # pragma: no cover - compiled
    """Ray-cast spheres (S, 4) into zbuf (H, W) / rgb (H, W, 3) in place (nearest hit wins).

    Ray of pixel (u, v): d = (du[u], dv[v], 1); hit at lam * d with
    lam = (d.c - sqrt((d.c)^2 - |d|^2 (|c|^2 - r^2))) / |d|^2; depth z = lam.
    """
    h, w = zbuf.shape
    for i in range(spheres.shape[0]):
        x, y, z, r = spheres[i, 0], spheres[i, 1], spheres[i, 2], spheres[i, 3]
        if z - r < 0.05:
            continue
        rad_u = fx * r / (z - r) + 1.0  # generous box; the outline is exact per pixel
        rad_v = fy * r / (z - r) + 1.0
        uc = cx0 + fx * x / z
        vc = cy0 + fy * y / z
        u0 = max(int(uc - rad_u), 0)
        u1 = min(int(uc + rad_u) + 2, w)
        v0 = max(int(vc - rad_v), 0)
        v1 = min(int(vc + rad_v) + 2, h)
        cc = x * x + y * y + z * z - r * r
        for v in range(v0, v1):
            dy = dv[v]
            for u in range(u0, u1):
                dx = du[u]
                dc = dx * x + dy * y + z
                dd = dx * dx + dy * dy + 1.0
                disc = dc * dc - dd * cc
                if disc < 0.0:
                    continue
                lam = (dc - np.sqrt(disc)) / dd
                if lam >= zbuf[v, u]:
                    continue
                zbuf[v, u] = lam
                nd = ((dx * lam - x) * light[0] + (dy * lam - y) * light[1] + (lam - z) * light[2]) / r
                shade = 0.35 + 0.65 * min(max(nd, 0.0), 1.0)
                for ch in range(3):
                    rgb[v, u, ch] = min(int(shade * colours[i, ch] + 0.5), 255)


class Renderer:
    """Exact per-pixel ray casting of spheres and one camera-facing rectangle.

    Args:
        intrinsics: camera; ``width``/``height`` must be set.
    """

    def __init__(self, intrinsics: CameraIntrinsics) -> None:
        if intrinsics.width is None or intrinsics.height is None:
            raise ValueError("Renderer needs intrinsics with width and height")
        self.k = intrinsics
        self.w, self.h = intrinsics.width, intrinsics.height
        self.du = (np.arange(self.w) - intrinsics.cx) / intrinsics.fx  # ray x per unit z, per column
        self.dv = (np.arange(self.h) - intrinsics.cy) / intrinsics.fy  # ray y per unit z, per row

    def background(self, nu: Nuisance) -> np.ndarray:
        """(H, W, 3) uint8 RGB: a wall, and a darker floor below the line where the floor meets a wall
        0.8 m behind the subject; with fixed-pattern sensor noise (seeded by the nuisance)."""
        bg = np.empty((self.h, self.w, 3), np.float32)
        wall = np.asarray(nu.wall, np.float32)
        shade = (1.0 - 0.15 * np.linspace(0, 1, self.h, dtype=np.float32))[:, None, None]
        bg[:] = wall * shade
        horizon = int(np.clip(self.k.cy + self.k.fy * nu.floor_y / (nu.z + 0.8), 0, self.h))
        bg[horizon:] = wall * 0.55
        bg += np.random.default_rng(nu.noise_seed + 1).standard_normal(bg.shape, dtype=np.float32) * np.float32(3.0)
        return np.clip(np.rint(bg), 0, 255).astype(np.uint8)

    def _box(self, x: float, y: float, z: float, r: float) -> tuple[int, int, int, int] | None:
        if z - r < 0.05:
            return None
        rad_u = self.k.fx * r / (z - r) + 1.0  # generous: the exact outline is tested per pixel
        rad_v = self.k.fy * r / (z - r) + 1.0
        uc = self.k.cx + self.k.fx * x / z
        vc = self.k.cy + self.k.fy * y / z
        u0, u1 = max(int(uc - rad_u), 0), min(int(uc + rad_u) + 2, self.w)
        v0, v1 = max(int(vc - rad_v), 0), min(int(vc + rad_v) + 2, self.h)
        if u0 >= u1 or v0 >= v1:
            return None
        return u0, u1, v0, v1

    def render(self, scene: _Scene, background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """-> depth (H, W) float32 metres (inf = nothing), rgb (H, W, 3) uint8."""
        zbuf = np.full((self.h, self.w), np.inf, np.float32)
        rgb = background.copy()
        _raster_spheres(np.ascontiguousarray(scene.spheres, dtype=np.float64),
                        np.ascontiguousarray(scene.colours, dtype=np.float32), self.du, self.dv,
                        self.k.fx, self.k.fy, self.k.cx, self.k.cy, _LIGHT, zbuf, rgb)
        if scene.board is not None:
            self._board(scene.board, zbuf, rgb)
        return zbuf, rgb

    def _board(self, board: tuple, zbuf: np.ndarray, rgb: np.ndarray) -> None:
        """A rectangle in the plane z = centre z, facing the camera; plain grey or a 4 x 3 checkerboard
        of the same mean colour."""
        centre, half_w, half_h, checkered = board
        cx, cy, cz = (float(c) for c in centre)
        box = self._box(cx, cy, cz, float(np.hypot(half_w, half_h)))
        if box is None:
            return
        u0, u1, v0, v1 = box
        x = self.du[None, u0:u1] * cz - cx  # plane coordinates of each pixel's ray hit
        y = self.dv[v0:v1, None] * cz - cy
        inside = (np.abs(x) <= half_w) & (np.abs(y) <= half_h)
        zb = zbuf[v0:v1, u0:u1]
        front = inside & (cz < zb)
        if not front.any():
            return
        if checkered:
            cell = (np.floor((x + half_w) / (2 * half_w) * 4) + np.floor((y + half_h) / (2 * half_h) * 3)) % 2
            value = np.where(cell > 0, 245, 45).astype(np.uint8)
        else:
            value = np.full(np.broadcast_shapes(x.shape, y.shape), 145, np.uint8)
        zb[front] = cz
        rgb[v0:v1, u0:u1][front] = np.broadcast_to(value, front.shape)[front][:, None]


@dataclass
class SyntheticVideo:
    """One rendered video: depth uint16 (F, H, W) mm (0 = background), rgb uint8 (F, H, W, 3) RGB."""

    depth: np.ndarray
    rgb: np.ndarray
    label: int
    nuisance: Nuisance


def render_video(action: int, nu: Nuisance, intrinsics: CameraIntrinsics | None = None, *,
                 depth_noise_mm: float = 4.0, renderer: Renderer | None = None) -> SyntheticVideo:
    """Render class ``action`` with nuisance ``nu``.

    Depth noise (Gaussian, ``depth_noise_mm``, per frame) and the RGB
    background's fixed-pattern noise come from ``nu.noise_seed`` only, so the
    two classes of an appearance pair get bit-identical depth.
    """
    renderer = renderer or Renderer(intrinsics or KINECT_V2_DEPTH)
    rng = np.random.default_rng(nu.noise_seed)
    bg = renderer.background(nu)
    f = nu.num_frames
    depth = np.zeros((f, renderer.h, renderer.w), np.uint16)
    rgb = np.empty((f, renderer.h, renderer.w, 3), np.uint8)
    for t in range(f):
        phase = t / max(f - 1, 1)
        z, colour = renderer.render(pose(action, nu, phase), bg)
        valid = np.isfinite(z)
        mm = z[valid] * 1000.0
        if depth_noise_mm > 0:
            mm = mm + rng.normal(0.0, depth_noise_mm, size=mm.shape)
        depth[t][valid] = np.clip(np.rint(mm), 1, 65535).astype(np.uint16)
        rgb[t] = colour
    return SyntheticVideo(depth=depth, rgb=rgb, label=int(action), nuisance=nu)


def video_nuisance(seed: int, split: str, index: int, cfg: SyntheticConfig) -> Nuisance:
    """The nuisance of video ``index`` of a split: a pure function of (seed, split, index)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), SPLIT_CODES[split], int(index), 0x5947]))
    return sample_nuisance(rng, cfg.min_frames, cfg.max_frames)


def synthetic_intrinsics(image_scale: float) -> CameraIntrinsics:
    return KINECT_V2_DEPTH if image_scale == 1.0 else KINECT_V2_DEPTH.scaled(image_scale)


# -- in-memory dataset ------------------------------------------------------------
class SyntheticActions(PointVideoDataset):
    """Synthetic videos as a dataset (items: see :mod:`vg4d_core.data.point_video`).

    Video i of a split has class ``i % 8`` and the nuisance of
    :func:`video_nuisance`; it is rendered on first use and kept in memory
    as points (:class:`SparseDepthVideo`, metres) plus, with ``rgb``, JPEG
    frames of ``rgb_size`` (~5 KB each).
    """

    def __init__(self, split: str, cfg: SyntheticConfig | None = None, *, num_frames: int = 16,
                 points_per_frame: int = 512, sampling: str = "segment", frame_interval: int = 1,
                 clip_step: int = 1, augment: AugmentConfig | None = None, seed: int = 0, test_views: int = 1, rgb: bool = False,
                 rgb_size: int = 112, rgb_fit: str = "crop") -> None:
        self.cfg = cfg or SyntheticConfig()
        if split not in SPLIT_CODES:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        count = self.cfg.num_train if split == "train" else self.cfg.num_test
        self.intrinsics = synthetic_intrinsics(self.cfg.image_scale)
        self._nuisance = [video_nuisance(seed, split, i, self.cfg) for i in range(count)]
        self.rgb_enabled = bool(rgb)
        self.rgb_size = int(rgb_size)
        self.rgb_fit = rgb_fit
        self._cache: dict[int, tuple[SparseDepthVideo, tuple[np.ndarray, np.ndarray] | None]] = {}
        self._renderer: Renderer | None = None
        super().__init__(
            video_ids=[f"synthetic_{split}_{i:05d}" for i in range(count)],
            labels=[i % NUM_CLASSES for i in range(count)],
            video_lengths=[nu.num_frames for nu in self._nuisance], class_names=CLASS_NAMES, split=split,
            num_frames=num_frames, points_per_frame=points_per_frame, sampling=sampling,
            frame_interval=frame_interval, clip_step=clip_step, augment=augment, seed=seed, test_views=test_views)

    def render(self, v: int) -> SyntheticVideo:
        """Render video ``v`` (not cached)."""
        if self._renderer is None:
            self._renderer = Renderer(self.intrinsics)
        return render_video(self.labels[v], self._nuisance[v], depth_noise_mm=self.cfg.depth_noise_mm,
                            renderer=self._renderer)

    def _entry(self, v: int):
        entry = self._cache.get(v)
        if entry is None:
            video = self.render(v)
            points = SparseDepthVideo(video.depth, self.intrinsics)
            frames = None
            if self.rgb_enabled:
                small = np.stack([resize_frame(cv2.cvtColor(f, cv2.COLOR_RGB2BGR), self.rgb_size, self.rgb_fit)
                                  for f in video.rgb])
                frames = encode_jpeg_frames(small, quality=92)
            entry = self._cache[v] = (points, frames)
        return entry

    def _frames(self, v: int) -> SparseDepthVideo:
        return self._entry(v)[0]

    def _rgb(self, v: int, frame_indices: np.ndarray) -> np.ndarray | None:
        frames = self._entry(v)[1]
        if frames is None:
            return None
        blob, offsets = frames
        return np.stack([decode_jpeg_frame(blob, offsets, int(f)) for f in frame_indices])


# -- NTU layout --------------------------------------------------------------------
# performers alternate NTU60 cross-subject train (1, 2, 4, 5) and test (3, 6, 7, 10) ids
_PERFORMERS = (1, 3, 2, 6, 4, 7, 5, 10)


def ntu_name(index: int) -> str:
    """NTU-style name of synthetic video ``index``: action = index % 8 + 1."""
    action = index % NUM_CLASSES + 1
    rest = index // NUM_CLASSES
    performer = _PERFORMERS[rest % len(_PERFORMERS)]
    rest //= len(_PERFORMERS)
    camera = rest % 3 + 1
    rest //= 3
    replication = rest % 2 + 1
    setup = rest // 2 + 1
    if setup > 17:
        raise ValueError(f"synthetic index {index} exceeds the NTU60 name space")
    return f"S{setup:03d}C{camera:03d}P{performer:03d}R{replication:03d}A{action:03d}"


def write_ntu_video(root: str | Path, index: int, seed: int, cfg: SyntheticConfig) -> str:
    """Render video ``index`` at full Kinect v2 size and write it in NTU's layout; returns its name.

    Files are written under temporary names and renamed, so an interrupted run leaves no half video.
    """
    from vg4d_core.data.ntu import DEPTH_DIR, RGB_DIR

    name = ntu_name(index)
    nu = video_nuisance(seed, "train", index, cfg)
    video = render_video(index % NUM_CLASSES, nu, KINECT_V2_DEPTH, depth_noise_mm=cfg.depth_noise_mm)
    root = Path(root)
    depth_dir = root / DEPTH_DIR / name
    tmp_dir = root / DEPTH_DIR / f".{name}.tmp{os.getpid()}"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    for t, frame in enumerate(video.depth):
        if not cv2.imwrite(str(tmp_dir / f"MDepth-{t + 1:08d}.png"), frame):
            raise OSError(f"cannot write depth frame {t + 1} of {name} under {tmp_dir}")
    rgb_dir = root / RGB_DIR
    rgb_dir.mkdir(parents=True, exist_ok=True)
    tmp_avi = rgb_dir / f".{name}.tmp{os.getpid()}.avi"
    h, w = video.rgb.shape[1:3]
    writer = cv2.VideoWriter(str(tmp_avi), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (w, h))
    if not writer.isOpened():
        raise OSError(f"cannot open a video writer for {tmp_avi}")
    for frame in video.rgb:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    if depth_dir.exists():  # a finished copy from an earlier run: replace it
        import shutil

        shutil.rmtree(depth_dir)
    os.replace(tmp_dir, depth_dir)
    os.replace(tmp_avi, rgb_dir / f"{name}_rgb.avi")
    return name


def _write_one(args: tuple) -> str:
    root, index, seed, cfg_dict = args
    cv2.setNumThreads(1)
    return write_ntu_video(root, index, seed, SyntheticConfig(**cfg_dict))


def write_ntu_layout(root: str | Path, num_videos: int, *, seed: int = 0, cfg: SyntheticConfig | None = None,
                     workers: int = 1) -> list[str]:
    """Write ``num_videos`` synthetic videos in NTU's on-disk layout; returns their names."""
    cfg = cfg or SyntheticConfig()
    if num_videos < 1:
        raise ValueError(f"num_videos must be >= 1, got {num_videos!r}")
    jobs = [(str(root), i, seed, dataclasses.asdict(cfg)) for i in range(num_videos)]
    if workers <= 1:
        return [_write_one(j) for j in jobs]
    import multiprocessing as mp

    with mp.get_context("fork").Pool(workers) as pool:
        return list(pool.imap(_write_one, jobs, chunksize=4))


def main(argv: Sequence[str]) -> int:
    """``vg4d synth``: write synthetic RGB-D action videos in NTU's layout."""
    parser = argparse.ArgumentParser(prog="vg4d synth", description=main.__doc__)
    parser.add_argument("--out", required=True, type=Path,
                        help="root folder (gets nturgb+d_depth_masked/ and nturgb+d_rgb/)")
    parser.add_argument("--videos", type=int, default=64, help="number of videos (class = index %% 8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-frames", type=int, default=SyntheticConfig.min_frames)
    parser.add_argument("--max-frames", type=int, default=SyntheticConfig.max_frames)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(list(argv))
    try:
        cfg = SyntheticConfig(min_frames=args.min_frames, max_frames=args.max_frames, image_scale=1.0)
    except ValueError as exc:
        parser.error(str(exc))
    t0 = time.perf_counter()
    names = write_ntu_layout(args.out, args.videos, seed=args.seed, cfg=cfg, workers=args.workers)
    print(f"wrote {len(names)} synthetic videos ({len(CLASS_NAMES)} classes) to {args.out} "
          f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0
