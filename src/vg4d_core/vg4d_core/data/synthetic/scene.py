"""Synthetic scenes: the eight classes, per-video nuisance and the figure's pose at a video phase.

Geometry: camera optical frame (x right, y down, z forward), metres. A
figure is a union of spheres (:func:`_capsules` along its bones) plus at
most one camera-facing rectangle (the board); :class:`Scene` holds them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from vg4d_core.data.config import SyntheticConfig
from vg4d_core.data.sampling import SPLIT_CODES

CLASS_NAMES: tuple[str, ...] = (
    "lift red cup", "lift blue cup", "wave plain board", "wave checkered board",
    "lean toward camera", "lean away from camera", "step toward camera", "step away from camera",
)
APPEARANCE_PAIRS: tuple[tuple[int, int], ...] = ((0, 1), (2, 3))
# (a, b): class b is class a mirrored through the subject's depth plane along the camera rays
# (depth_mirror); both are seen by the colour camera as class a.
DEPTH_PAIRS: tuple[tuple[int, int], ...] = ((4, 5), (6, 7))
_MIRRORED_FROM = {b: a for a, b in DEPTH_PAIRS}
NUM_CLASSES = len(CLASS_NAMES)
STEP_M = 0.25  # step length of classes 6/7: ~7 % change of apparent size at 3.5 m
LEAN_DEG = 28.0  # peak lean of classes 4/5
# The board of classes 2/3 (0.44 x 0.32 m, held by its lower edge) and the checkerboard's cells
# (columns, rows). Sized so that its cells are ~2.5 px wide in the 64 px frames the CPU recipes'
# colour model sees at 3-4 m; the earlier 0.30 x 0.22 m board with 4 x 3 cells (~1.2 px cells)
# was below that model's resolution, so neither modality could separate the pair.
BOARD_HALF_M = (0.22, 0.16)
BOARD_CELLS = (3, 2)

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


@dataclass(frozen=True)
class Gait:
    """Walking legs for :func:`pose` (the multi-person scenes of :mod:`.people`).

    The figure keeps facing the camera; its feet swing along ``heading`` (a unit vector (x, z) in the
    floor plane, camera optical frame) by ``stride`` x body scale metres either side of the hips, the
    swinging foot lifted, the arms swinging against the legs, the knees bent a little more. ``cycle``:
    the gait's phase in cycles, continuous over a walk. ``stride`` 0 is the standing figure exactly, so
    a walk that ramps its stride up from and down to 0 starts and stops without a jump.
    """

    cycle: float
    heading: tuple[float, float]
    stride: float = 0.25


@dataclass
class Scene:
    spheres: np.ndarray  # (S, 4) x, y, z, r
    colours: np.ndarray  # (S, 3) RGB 0..255
    board: tuple | None  # (centre (3,), half_w, half_h, checkered: bool) facing the camera


def pose(action: int, nu: Nuisance, phase: float, gait: Gait | None = None) -> Scene:
    """The scene of class ``action`` at video phase ``phase`` in [0, 1].

    ``gait``: walking legs and arms (:class:`Gait`); None (the single-person videos) stands.
    """
    if not 0 <= action < NUM_CLASSES:
        raise ValueError(f"synthetic action must be in [0, {NUM_CLASSES}), got {action!r}")
    if action in _MIRRORED_FROM:
        return depth_mirror(pose(_MIRRORED_FROM[action], nu, phase, gait), nu.z)
    s = nu.scale
    p = (phase - nu.start) / nu.duration  # action progress, clipped inside the helpers
    amp = nu.amplitude
    sway = nu.sway * np.sin(2 * np.pi * 1.3 * phase + (nu.noise_seed % 628) / 100.0)
    lean = 0.0
    dz = 0.0
    if action == 4:
        lean = np.deg2rad(LEAN_DEG) * amp * _bump(p)
    elif action == 6:
        dz = -STEP_M * amp * _smoothstep(p)
    pelvis = np.array([nu.x + sway, nu.floor_y - 0.95 * s, nu.z + dz])
    if gait is not None:  # knees a little bent (3 cm at full stride), so that the swinging legs reach the floor
        pelvis = pelvis + np.array([0.0, 0.12 * gait.stride * s, 0.0])
    rot = _rot_x(lean)

    def torso(local: Sequence[float]) -> np.ndarray:  # point in the (leaning) torso frame
        return pelvis + rot @ (np.asarray(local, dtype=float) * s)

    neck = torso([0, -0.50, 0])
    head = torso([0, -0.66, 0])
    shoulders = {side: torso([side * 0.18, -0.46, 0]) for side in (-1, 1)}
    hips = {side: pelvis + np.array([side * 0.09, 0.02, 0]) * s for side in (-1, 1)}
    rest = {side: torso([side * 0.22, 0.08, 0.02]) for side in (-1, 1)}
    if gait is not None:  # each arm swings against its leg
        heading = np.array([gait.heading[0], 0.0, gait.heading[1]])
        for side in (-1, 1):
            rest[side] = rest[side] - heading * 0.4 * gait.stride * s * np.sin(_gait_angle(gait, side))
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
        board = (hands[1] + np.array([0.0, -0.03 - BOARD_HALF_M[1], -0.04]) * s,
                 BOARD_HALF_M[0] * s, BOARD_HALF_M[1] * s, action == 3)

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
        if action == 6:
            total = -STEP_M * amp
            local = np.clip(2 * p - (0.0 if side == 1 else 1.0), 0.0, 1.0)
            foot = foot + np.array([0.0, -0.08 * np.sin(np.pi * local), total * _smoothstep(local)])
        if gait is not None:  # (the knees keep bending towards the camera: the figure faces it)
            theta = _gait_angle(gait, side)
            heading = np.array([gait.heading[0], 0.0, gait.heading[1]])
            foot = foot + heading * gait.stride * s * np.sin(theta)
            # lifted while it swings forward, 7 cm at full stride
            foot = foot + np.array([0.0, -0.28 * gait.stride * s * max(np.cos(theta), 0.0), 0.0])
        knee, foot = _two_bone(hips[side], foot, 0.45 * s, 0.44 * s, np.array([0.0, 0.0, -1.0]))
        segs.append((hips[side], knee, 0.07 * s, nu.pants))
        segs.append((knee, foot, 0.055 * s, nu.pants))
        toe = foot + np.array([0, 0, -0.06 * s])
        segs.append((toe, toe, 0.055 * s, (40, 40, 40)))
    if cup is not None:
        segs.append((cup + np.array([0, -0.05, 0]) * s, cup + np.array([0, 0.05, 0]) * s, 0.045 * s,
                     _CUP_COLOURS[action]))
    spheres, colours = _capsules(segs)
    return Scene(spheres, colours, board)


def _gait_angle(gait: Gait, side: int) -> float:
    """Angle of a leg in its gait cycle: the foot is ``sin`` of it ahead of the hip; the legs are half a
    cycle apart."""
    return 2 * np.pi * gait.cycle + (0.0 if side == 1 else np.pi)


def colour_class(action: int) -> int:
    """The class whose scene the colour camera sees for class ``action``: itself, except that the
    mirrored class of a depth pair is seen as its partner (see :func:`depth_mirror`)."""
    return _MIRRORED_FROM.get(action, action)


def depth_mirror(scene: Scene, z_ref: float) -> Scene:
    """``scene`` reflected through the plane z = ``z_ref`` (metres) along the camera rays.

    Each sphere's centre c moves along its own viewing ray to the mirrored distance,
    c' = c k with k = (2 z_ref - c_z) / c_z, and its radius scales by the same k. A sphere
    scaled about the camera centre has exactly the same image (outline and shading under a
    directional light), so the colour camera cannot tell the two scenes apart, while every
    depth moves to the other side of z_ref: motion towards the camera becomes motion away
    from it. (A plain reflection z' = 2 z_ref - z would change sizes in the image by
    perspective, up to ~20 % for a head leaning 0.3 m at 3 m, which a colour model learns;
    the earlier generator's depth pairs leaked that way.) Body parts change metric size by k
    (1 at the subject's plane, ~0.8-1.25 at the extremes of the motions).
    """
    c = scene.spheres[:, :3]
    k = (2.0 * z_ref - c[:, 2]) / c[:, 2]
    if np.any(k <= 0):
        raise ValueError(f"depth_mirror: z_ref {z_ref!r} m puts part of the scene behind the camera")
    board = scene.board
    if board is not None:
        centre, half_w, half_h, checkered = board
        kb = (2.0 * z_ref - float(centre[2])) / float(centre[2])
        board = (np.asarray(centre) * kb, half_w * kb, half_h * kb, checkered)
    spheres = np.concatenate([c * k[:, None], scene.spheres[:, 3:4] * k[:, None]], axis=1)
    return Scene(spheres, scene.colours.copy(), board)


_Scene = Scene  # the name before the split into modules


def video_nuisance(seed: int, split: str, index: int, cfg: SyntheticConfig) -> Nuisance:
    """The nuisance of video ``index`` of a split: a pure function of (seed, split, index)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), SPLIT_CODES[split], int(index), 0x5947]))
    return sample_nuisance(rng, cfg.min_frames, cfg.max_frames)
