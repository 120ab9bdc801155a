"""Several people in one depth camera's view: scripted multi-person scenes with per-person ground truth.

A :class:`PeopleScene` is a room (:class:`PeopleRoom`: floor, a back wall 5-6 m away, optionally a
side wall) with 2 or 3 actors (:class:`Actor`). Each actor is the synthetic figure of
:mod:`.scene` with its own body and colours (a :class:`~.scene.Nuisance`), a motion path
(:class:`Waypoint` key frames, straight lines between them, walking legs while it moves) and a
schedule of actions (:class:`ActionSegment`: one of the eight classes over a span of frames); between
actions it idles (stands, or walks along its path). :func:`make_people_scene` scripts four kinds of
scene (:data:`SCENE_KINDS`), deterministically from a seed:

* ``apart`` - the actors stand apart, each doing its actions;
* ``side_by_side`` - they walk side by side (towards the camera and back, or across the view one
  behind the other), stop to act, walk on;
* ``crossing`` - one stands at the back doing its actions while another walks across in front of it,
  hiding it partly or fully for a while;
* ``enter_leave`` - one walks into the view from outside, another walks out of it.

Rendering (:func:`render_people`, :func:`render_people_frame`): every actor is ray cast by the
single-person :class:`~.render.Renderer` in front of the empty room, and each pixel takes the nearest
surface (a z-buffer over the actors and the room), so an actor behind another is hidden exactly where
the other is nearer. A frame (:class:`PeopleFrame`) holds the depth (noisy like the single-person
videos, in whole millimetres), the RGB, an instance image (0 = room, actor k -> k + 1) and per actor
(:class:`ActorTruth`) its label, visible pixel count and the axis-aligned box and centroid of its
visible points (its pixels back-projected with their depth).

Geometry: camera optical frame (x right, y down, z forward), metres; the floor is the plane
y = ``floor_y_m``. The figures always face the camera (they walk sideways facing it). Actions happen
wherever the schedule puts them; :func:`make_people_scene` puts them only where an actor stands still.

The step classes move the actor: after "step toward camera" (6) it stays where the step took it
(``STEP_M`` x its amplitude nearer); after "step away from camera" (7) its depth stays where the
mirrored step left the pelvis (as far further away). Class 7's figure is the mirror image of class 6's
(:func:`~.scene.depth_mirror`: bigger by the mirror's factor, 1.1-1.2, at the end of the step), so
its size and image position jump back when the idle figure resumes after it, an artefact of the
mirror construction that the single-person videos do not show (their action never ends before the
video does).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from vg4d_core.data.depth import CameraIntrinsics
from vg4d_core.data.synthetic.render import Renderer, synthetic_intrinsics
from vg4d_core.data.synthetic.scene import (CLASS_NAMES, NUM_CLASSES, STEP_M, Gait, Nuisance, Scene, colour_class,
                                            pose, sample_nuisance)

SCENE_KINDS: tuple[str, ...] = ("apart", "side_by_side", "crossing", "enter_leave")
# An actor counts as seen in a frame (ground truth detection) with at least this many visible pixels. At
# image_scale 0.5 (256 x 212) a whole person 3.5 m away covers ~1,000 pixels, so 40 is a sliver of
# ~4 % (a hand, an arm, a head at the image edge).
MIN_VISIBLE_PX = 40
IDLE_LABEL = ""  # the label of an actor between actions
_STRIDE = Gait.__dataclass_fields__["stride"].default  # full stride of a walk, x body scale, metres
_RAMP_M = 0.4  # a walk's stride ramps up over its first and down over its last this many metres
# tan of the half field of view of the synthetic camera (Kinect v2: (512 - 257.3) / 365.5); image
# scale does not change it, so scenes need no camera
_HALF_FOV_TAN = 0.70


@dataclass(frozen=True)
class ActionSegment:
    """Class ``action`` (index into :data:`~.scene.CLASS_NAMES`) from frame ``start`` to ``end``, both
    inclusive (the action's progress runs 0 -> 1 over them)."""

    start: int
    end: int
    action: int

    def __post_init__(self) -> None:
        if not 0 <= self.action < NUM_CLASSES:
            raise ValueError(f"ActionSegment.action must be in [0, {NUM_CLASSES}), got {self.action!r}")
        if not 0 <= self.start < self.end:
            raise ValueError(f"ActionSegment needs 0 <= start < end (frames), got {self.start}..{self.end}")

    @property
    def label(self) -> str:
        return CLASS_NAMES[self.action]

    def contains(self, frame: int) -> bool:
        return self.start <= frame <= self.end


@dataclass(frozen=True)
class Waypoint:
    """The actor's pelvis at (``x``, ``z``) metres (camera optical frame) at frame ``frame``."""

    frame: int
    x: float
    z: float


@dataclass(frozen=True)
class Actor:
    """One person of a scene.

    ``body``: its figure (scale, amplitude, wave cycles, sway, clothing, skin) - a
    :class:`~.scene.Nuisance` whose ``x``, ``z``, ``floor_y``, ``start``, ``duration``, ``wall`` and
    ``num_frames`` are ignored (the path, the room and the segments give them).
    ``path``: key frames in increasing frame order; the position is linear between them and held
    before the first and after the last (a single waypoint: standing there). ``segments``: its
    actions, in frame order, not overlapping.
    """

    actor_id: str
    body: Nuisance
    path: tuple[Waypoint, ...]
    segments: tuple[ActionSegment, ...] = ()

    def __post_init__(self) -> None:
        if not self.path:
            raise ValueError(f"actor {self.actor_id!r}: the path needs at least one waypoint")
        frames = [w.frame for w in self.path]
        if any(b <= a for a, b in zip(frames, frames[1:])):
            raise ValueError(f"actor {self.actor_id!r}: waypoint frames must increase, got {frames}")
        for a, b in zip(self.segments, self.segments[1:]):
            if b.start <= a.end:
                raise ValueError(f"actor {self.actor_id!r}: action segments {a} and {b} overlap or are out of order")

    def segment_at(self, frame: int) -> ActionSegment | None:
        """The action segment holding ``frame``, or None (idle)."""
        for seg in self.segments:
            if seg.contains(frame):
                return seg
        return None

    def label_at(self, frame: int) -> str:
        """Class name of the action at ``frame``, or :data:`IDLE_LABEL` ("")."""
        seg = self.segment_at(frame)
        return IDLE_LABEL if seg is None else seg.label


@dataclass(frozen=True)
class PeopleRoom:
    """The room of a multi-person scene, metres, camera optical frame (y down).

    Back wall: the plane z = ``back_wall_z_m``; floor: y = ``floor_y_m`` (the camera's height above
    it); side wall: x = ``side_wall_x_m`` (camera right), 0 = none; ``wall``: back wall colour (RGB).
    """

    back_wall_z_m: float = 5.5
    floor_y_m: float = 1.0
    side_wall_x_m: float = 0.0
    wall: tuple[int, int, int] = (190, 190, 180)

    def __post_init__(self) -> None:
        if not self.back_wall_z_m > 0.5:
            raise ValueError(f"PeopleRoom.back_wall_z_m must be > 0.5 metres, got {self.back_wall_z_m!r}")
        if not self.floor_y_m > 0:
            raise ValueError(f"PeopleRoom.floor_y_m must be > 0 metres (below the camera), got {self.floor_y_m!r}")
        if not self.side_wall_x_m >= 0:
            raise ValueError(f"PeopleRoom.side_wall_x_m must be >= 0 metres (0 = none), got {self.side_wall_x_m!r}")


@dataclass(frozen=True)
class PeopleScene:
    """A multi-person recording: ``num_frames`` frames at ``rate_hz`` of ``actors`` in ``room``.

    ``noise_seed`` seeds the depth noise (Gaussian, ``depth_noise_mm``, drawn per frame from
    (``noise_seed``, frame)) and the room's fixed-pattern colour noise. Actor k has the instance id
    k + 1.
    """

    kind: str
    num_frames: int
    rate_hz: float
    room: PeopleRoom
    actors: tuple[Actor, ...]
    noise_seed: int = 0
    depth_noise_mm: float = 4.0

    def __post_init__(self) -> None:
        if self.num_frames < 2:
            raise ValueError(f"PeopleScene.num_frames must be >= 2, got {self.num_frames!r}")
        if not self.rate_hz > 0:
            raise ValueError(f"PeopleScene.rate_hz must be > 0, got {self.rate_hz!r}")
        if not self.actors:
            raise ValueError("PeopleScene needs at least one actor")
        ids = [a.actor_id for a in self.actors]
        if len(set(ids)) != len(ids):
            raise ValueError(f"PeopleScene: actor ids must be unique, got {ids}")
        for a in self.actors:
            for seg in a.segments:
                if seg.end >= self.num_frames:
                    raise ValueError(f"actor {a.actor_id!r}: segment {seg} ends after the last frame "
                                     f"{self.num_frames - 1}")
        if self.depth_noise_mm < 0:
            raise ValueError(f"PeopleScene.depth_noise_mm must be >= 0, got {self.depth_noise_mm!r}")


@dataclass(frozen=True, eq=False)
class ActorTruth:
    """Ground truth of one actor in one frame.

    ``action``: class index, -1 when idle; ``label``: its class name or "" (idle) - whether or not the
    actor is seen. ``visible_px``: pixels of the instance image that are this actor's.
    ``centroid`` (3,), ``box_min`` / ``box_max`` (3,): mean and axis-aligned bounds of its visible
    pixels back-projected with the frame's depth (metres, camera optical frame; NaN when not visible).
    """

    actor_id: str
    instance_id: int
    action: int
    label: str
    visible_px: int
    centroid: np.ndarray
    box_min: np.ndarray
    box_max: np.ndarray

    def visible(self, min_px: int = MIN_VISIBLE_PX) -> bool:
        """Seen in this frame: at least ``min_px`` visible pixels."""
        return self.visible_px >= max(int(min_px), 1)

    @property
    def box_center(self) -> np.ndarray:
        return (self.box_min + self.box_max) / 2.0

    @property
    def box_size(self) -> np.ndarray:
        return self.box_max - self.box_min


@dataclass(eq=False)
class PeopleFrame:
    """Frame ``index`` of a scene.

    ``depth_mm`` (H, W) uint16 millimetres (every pixel sees a surface: > 0); ``depth`` (H, W) float32
    metres, the same values (``round(depth * 1000) == depth_mm``); ``rgb`` (H, W, 3) uint8 RGB;
    ``instances`` (H, W) uint16: 0 = the room, k + 1 = actor k; ``actors``: one :class:`ActorTruth`
    per actor, in the scene's order.
    """

    index: int
    depth_mm: np.ndarray
    depth: np.ndarray
    rgb: np.ndarray
    instances: np.ndarray
    actors: list[ActorTruth]


# -- motion -------------------------------------------------------------------------------------------
def _step_dz(seg: ActionSegment, body: Nuisance) -> float:
    """Where a segment leaves the actor's pelvis in depth, metres (step classes only)."""
    if seg.action == 6:
        return -STEP_M * body.amplitude
    if seg.action == 7:
        return STEP_M * body.amplitude
    return 0.0


def _smoothstep(p: float) -> float:
    p = min(max(p, 0.0), 1.0)
    return p * p * (3 - 2 * p)


def actor_position(actor: Actor, frame: int) -> tuple[float, float, Gait | None]:
    """(x, z) metres of the actor's pelvis at ``frame`` before its actions (the path alone), and its
    :class:`~.scene.Gait` while it walks (None when standing).

    The gait's cycle is the distance walked so far over one cycle's travel (the body scale in metres),
    its stride ramps up over the first and down over the last 0.4 m of each straight piece of the path.
    """
    path = actor.path
    if frame <= path[0].frame or len(path) == 1:
        return path[0].x, path[0].z, None
    walked = 0.0
    for a, b in zip(path, path[1:]):
        dx, dz = b.x - a.x, b.z - a.z
        length = float(np.hypot(dx, dz))
        if frame < b.frame:
            alpha = (frame - a.frame) / (b.frame - a.frame)
            x, z = a.x + dx * alpha, a.z + dz * alpha
            if length < 1e-9:
                return x, z, None
            d = alpha * length
            stride = _STRIDE * _smoothstep(min(d, length - d) / _RAMP_M)
            cycle = (walked + d) / (4 * _STRIDE * actor.body.scale)
            return x, z, Gait(cycle=cycle, heading=(dx / length, dz / length), stride=stride)
        walked += length
    return path[-1].x, path[-1].z, None


def _rest_class(actor: Actor, frame: int) -> int:
    """The figure an idle actor shows: the rest pose of its next action's class (holding its cup or
    board, so the prop does not appear with the action), after its last action that one's; classes
    without a prop stand plain (class 4 at rest)."""
    after = [s for s in actor.segments if s.start > frame]
    before = [s for s in actor.segments if s.end < frame]
    seg = after[0] if after else (before[-1] if before else None)
    if seg is not None and seg.action in (0, 1, 2, 3):
        return seg.action
    return 4


def actor_scenes(scene: PeopleScene, frame: int) -> list[tuple[Scene, Scene]]:
    """Per actor at ``frame``: (its scene for depth, its scene for colour) - the two differ only for
    the mirrored class of a depth pair, which the colour camera sees as its partner (as in
    :func:`~.render.render_video`)."""
    phase = frame / (scene.num_frames - 1)  # the scene's phase: the idle sway runs on over actions
    out = []
    for actor in scene.actors:
        x, z, gait = actor_position(actor, frame)
        z += sum(_step_dz(s, actor.body) for s in actor.segments if s.end < frame)
        seg = actor.segment_at(frame)
        span = scene.num_frames - 1
        if seg is None:  # idle: the action window lies after the scene (progress < 0: the rest pose)
            action, start, duration = _rest_class(actor, frame), 2.0, 1.0
        else:
            action, start, duration = seg.action, seg.start / span, (seg.end - seg.start) / span
        nu = dataclasses.replace(actor.body, x=float(x), z=float(z), floor_y=scene.room.floor_y_m, start=start,
                                 duration=duration, wall=scene.room.wall, num_frames=scene.num_frames)
        depth_scene = pose(action, nu, phase, gait)
        colour_scene = depth_scene if colour_class(action) == action else pose(colour_class(action), nu, phase, gait)
        out.append((depth_scene, colour_scene))
    return out


# -- rendering ------------------------------------------------------------------------------------------
def room_images(scene: PeopleScene, renderer: Renderer) -> tuple[np.ndarray, np.ndarray]:
    """The empty room: depth (H, W) float32 metres, rgb (H, W, 3) uint8 RGB."""
    r = scene.room
    return renderer.room_surfaces(r.back_wall_z_m, r.floor_y_m, r.side_wall_x_m, r.wall, scene.noise_seed)


def render_people_frame(scene: PeopleScene, frame: int, renderer: Renderer,
                        room: tuple[np.ndarray, np.ndarray] | None = None) -> PeopleFrame:
    """Render frame ``frame`` of ``scene`` (``room``: :func:`room_images`, computed when None).

    Each actor is cast alone in front of the room; per pixel the nearest of the actors and the room
    wins (ties: the lower actor index), giving the depth, the colour and the instance id. Then the
    depth gets its noise and is rounded to whole millimetres, and each actor's truth is computed from
    the pixels it won, back-projected with that depth.
    """
    if not 0 <= frame < scene.num_frames:
        raise ValueError(f"frame {frame} is outside the scene's 0..{scene.num_frames - 1}")
    room_depth, room_rgb = room if room is not None else room_images(scene, renderer)
    zs, colours = [], []
    for depth_scene, colour_scene in actor_scenes(scene, frame):
        z, rgb = renderer.render(depth_scene, room_rgb, room_depth)
        if colour_scene is not depth_scene:
            _, rgb = renderer.render(colour_scene, room_rgb, room_depth)
        zs.append(z)
        colours.append(rgb)
    z_all = np.stack(zs)  # (A, H, W), each <= the room's depth
    nearest = np.argmin(z_all, axis=0)
    z = np.take_along_axis(z_all, nearest[None], axis=0)[0]
    on_actor = z < room_depth
    instances = np.where(on_actor, nearest + 1, 0).astype(np.uint16)
    rgb = room_rgb.copy()
    for k, colour in enumerate(colours):
        mine = instances == k + 1
        rgb[mine] = colour[mine]
    mm = z.astype(np.float64) * 1000.0
    if scene.depth_noise_mm > 0:
        rng = np.random.default_rng([int(scene.noise_seed), int(frame)])
        mm = mm + rng.normal(0.0, scene.depth_noise_mm, size=mm.shape)
    depth_mm = np.clip(np.rint(mm), 1, 65535).astype(np.uint16)
    truths = [_actor_truth(actor, k, frame, instances, depth_mm, renderer.k) for k, actor in enumerate(scene.actors)]
    return PeopleFrame(index=frame, depth_mm=depth_mm, depth=depth_mm.astype(np.float32) / np.float32(1000.0),
                       rgb=rgb, instances=instances, actors=truths)


def back_project(u: np.ndarray, v: np.ndarray, depth_mm: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
    """Pixels (column ``u``, row ``v``) with depth ``depth_mm`` (mm) -> points (N, 3) float64 metres,
    camera optical frame: z = mm / 1000, x = (u - cx) z / fx, y = (v - cy) z / fy."""
    z = np.asarray(depth_mm, np.float64) / 1000.0
    x = (np.asarray(u, np.float64) - intrinsics.cx) * z / intrinsics.fx
    y = (np.asarray(v, np.float64) - intrinsics.cy) * z / intrinsics.fy
    return np.stack([x, y, z], axis=-1)


def _actor_truth(actor: Actor, k: int, frame: int, instances: np.ndarray, depth_mm: np.ndarray,
                 intrinsics: CameraIntrinsics) -> ActorTruth:
    v, u = np.nonzero(instances == k + 1)
    seg = actor.segment_at(frame)
    if v.size:
        pts = back_project(u, v, depth_mm[v, u], intrinsics)
        centroid, lo, hi = pts.mean(axis=0), pts.min(axis=0), pts.max(axis=0)
    else:
        centroid = lo = hi = np.full(3, np.nan)
    return ActorTruth(actor_id=actor.actor_id, instance_id=k + 1, action=-1 if seg is None else seg.action,
                      label=IDLE_LABEL if seg is None else seg.label, visible_px=int(v.size), centroid=centroid,
                      box_min=lo, box_max=hi)


def render_people(scene: PeopleScene, intrinsics: CameraIntrinsics | None = None, *,
                  renderer: Renderer | None = None, image_scale: float = 0.5) -> Iterator[PeopleFrame]:
    """Every frame of ``scene`` in order (a generator: one frame in memory at a time).

    Camera: ``renderer``, else ``intrinsics``, else the Kinect v2 depth camera scaled by
    ``image_scale`` (0.5: 256 x 212, the synthetic default).
    """
    renderer = renderer or Renderer(intrinsics or synthetic_intrinsics(image_scale))
    room = room_images(scene, renderer)
    for t in range(scene.num_frames):
        yield render_people_frame(scene, t, renderer, room)


# -- scripted scenes ----------------------------------------------------------------------------------
def _out_of_view_x(z: float) -> float:
    """|x| at depth ``z`` where a figure (with its board) is wholly outside the view."""
    return _HALF_FOV_TAN * z + 0.9


def _in_view_x(x: float, z: float) -> float:
    """``x`` pulled in so that a figure at depth ``z`` stays wholly inside the view."""
    limit = _HALF_FOV_TAN * z - 0.6
    return float(np.clip(x, -limit, limit))


def _schedule(rng: np.random.Generator, body: Nuisance, f0: int, f1: int, rate_hz: float, carry: float
              ) -> tuple[list[ActionSegment], float]:
    """Actions while the actor stands still over frames ``f0..f1``: idle gaps of 0.3-1.2 s, actions of
    1.5-2.5 s (shortened to fit a short stand: at least one action when it lasts >= 4 frames), classes
    uniform; a step class that would take the actor more than 0.3 m (one step) from its path is swapped for its
    partner (toward <-> away). Returns the segments and the depth carried after them (``carry`` in)."""
    length = f1 - f0 + 1
    segs: list[ActionSegment] = []
    if length < 4:
        return segs, carry
    t = f0 + min(int(round(rng.uniform(0.3, 1.2) * rate_hz)), length // 5)
    while True:
        dur = max(2, min(int(round(rng.uniform(1.5, 2.5) * rate_hz)), int(0.8 * length)))
        end = t + dur - 1
        if end > f1:
            break
        action = int(rng.integers(NUM_CLASSES))
        if action in (6, 7):
            step = STEP_M * body.amplitude * (-1 if action == 6 else 1)
            if abs(carry + step) > 0.3:
                action, step = 13 - action, -step
            carry += step
        segs.append(ActionSegment(t, end, action))
        t = end + 1 + int(round(rng.uniform(0.3, 1.2) * rate_hz))
    return segs, carry


def _frame(fraction: float, num_frames: int) -> int:
    return int(round(fraction * (num_frames - 1)))


def make_people_scene(seed: int, index: int = 0, *, actors: int = 2, kind: str | None = None,
                      num_frames: int = 150, rate_hz: float = 15.0, depth_noise_mm: float = 4.0) -> PeopleScene:
    """Scene ``index`` of a seed: a pure function of (seed, index, actors, kind, num_frames, rate_hz).

    ``kind``: one of :data:`SCENE_KINDS`; None: ``SCENE_KINDS[index % 4]`` (every kind in any 4
    consecutive scenes). ``actors``: 2 or 3. Times of the script are fractions of the scene (a short
    scene walks faster); actions last 1.5-2.5 s at ``rate_hz`` where a stand is long enough.

    Room: back wall 5-6 m away, floor 0.9-1.1 m below the camera, a side wall at x = 2.8-3.4 m in half
    the scenes. Actor ids are "a0", "a1", "a2".
    """
    if actors not in (2, 3):
        raise ValueError(f"a people scene has 2 or 3 actors, got {actors!r}")
    kind = SCENE_KINDS[index % len(SCENE_KINDS)] if kind is None else kind
    if kind not in SCENE_KINDS:
        raise ValueError(f"unknown scene kind {kind!r}; choose from {list(SCENE_KINDS)}")
    if num_frames < 8:
        raise ValueError(f"a people scene needs >= 8 frames, got {num_frames!r}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(index), actors, SCENE_KINDS.index(kind),
                                                        0x50504C]))
    room = PeopleRoom(back_wall_z_m=float(rng.uniform(5.0, 6.0)), floor_y_m=float(rng.uniform(0.9, 1.1)),
                      side_wall_x_m=float(rng.uniform(2.8, 3.4)) if rng.random() < 0.5 else 0.0,
                      wall=tuple(int(c) for c in rng.integers(150, 230, size=3)))
    bodies = [sample_nuisance(rng) for _ in range(actors)]
    last = num_frames - 1
    # per actor: waypoints and the stands (frame spans) where it acts
    plans: list[tuple[list[Waypoint], list[tuple[int, int]]]] = []
    if kind == "apart":
        gap = rng.uniform(1.4, 2.0) / 2 if actors == 2 else rng.uniform(1.1, 1.4)
        xs = [-gap, gap] if actors == 2 else [-gap, 0.0, gap]
        for x in xs:
            z = float(rng.uniform(3.0, 4.3))
            plans.append(([Waypoint(0, _in_view_x(x + rng.uniform(-0.1, 0.1), z), z)], [(0, last)]))
    elif kind == "side_by_side":
        f_in, f_out = _frame(0.3, num_frames), _frame(0.72, num_frames)
        if rng.random() < 0.5:  # towards the camera, next to each other, and back
            spacing, centre = rng.uniform(0.7, 0.9), rng.uniform(-0.3, 0.3)
            far, near = rng.uniform(4.0, 4.4), rng.uniform(2.8, 3.2)
            for k in range(actors):
                x = centre + (k - (actors - 1) / 2) * spacing
                dz = rng.uniform(-0.1, 0.1)
                plans.append(([Waypoint(0, x, far + dz), Waypoint(f_in, x, near + dz), Waypoint(f_out, x, near + dz),
                               Waypoint(last, x, far + dz)], [(f_in, f_out)]))
        else:  # across the view, one behind the other, and back
            z0, spacing = rng.uniform(2.9, 3.3), rng.uniform(0.6, 0.9)
            x_a, x_b = -rng.uniform(0.9, 1.3), rng.uniform(0.9, 1.3)
            for k in range(actors):  # each further one a little to the side: the nearer hides part of it
                z, dx = z0 + k * spacing, k * rng.uniform(0.45, 0.65)
                plans.append(([Waypoint(0, x_a + dx, z), Waypoint(f_in, x_b + dx, z), Waypoint(f_out, x_b + dx, z),
                               Waypoint(last, x_a + dx, z)], [(f_in, f_out)]))
    elif kind == "crossing":
        plans.append(([Waypoint(0, rng.uniform(-0.3, 0.3), rng.uniform(4.2, 4.5))], [(0, last)]))
        f_go, f_stop = _frame(0.2, num_frames), _frame(0.8, num_frames)
        z, sign = rng.uniform(2.3, 2.7), (-1.0, 1.0)[int(rng.integers(2))]
        x_a, x_b = _in_view_x(-sign * rng.uniform(1.2, 1.5), z), _in_view_x(sign * rng.uniform(1.2, 1.5), z)
        plans.append(([Waypoint(0, x_a, z), Waypoint(f_go, x_a, z), Waypoint(f_stop, x_b, z), Waypoint(last, x_b, z)],
                      [(0, f_go), (f_stop, last)]))
        if actors == 3:
            z3 = rng.uniform(3.5, 3.9)
            plans.append(([Waypoint(0, (-1.0, 1.0)[int(rng.integers(2))] * rng.uniform(1.0, 1.3), z3)], [(0, last)]))
    else:  # enter_leave: a0 walks in from the left, a1 walks out to the left (past a0, behind it)
        z_in = rng.uniform(3.0, 3.6)
        f_in = _frame(0.3, num_frames)
        x_in = rng.uniform(-0.9, -0.4)
        plans.append(([Waypoint(0, -_out_of_view_x(z_in), z_in), Waypoint(f_in, x_in, z_in)], [(f_in, last)]))
        z_out = rng.uniform(3.8, 4.3)
        f_go, f_gone = _frame(0.55, num_frames), _frame(0.9, num_frames)
        x_out = rng.uniform(0.4, 1.0)
        plans.append(([Waypoint(0, x_out, z_out), Waypoint(f_go, x_out, z_out),
                       Waypoint(f_gone, -_out_of_view_x(z_out), z_out)], [(0, f_go)]))
        if actors == 3:
            z3 = rng.uniform(3.2, 4.0)
            plans.append(([Waypoint(0, _in_view_x(rng.uniform(1.2, 1.5), z3), z3)], [(0, last)]))
    cast = []
    for k, ((path, stands), body) in enumerate(zip(plans, bodies)):
        segs: list[ActionSegment] = []
        carry = 0.0
        for f0, f1 in stands:
            more, carry = _schedule(rng, body, f0, f1, rate_hz, carry)
            segs += more
        path = tuple(Waypoint(int(w.frame), float(w.x), float(w.z)) for w in path)
        cast.append(Actor(actor_id=f"a{k}", body=body, path=path, segments=tuple(segs)))
    return PeopleScene(kind=kind, num_frames=num_frames, rate_hz=float(rate_hz), room=room, actors=tuple(cast),
                       noise_seed=int(rng.integers(0, 2**31 - 1)), depth_noise_mm=float(depth_noise_mm))


def scene_record(scene: PeopleScene) -> dict:
    """A JSON-ready description of a scene (the manifest entry of ``vg4d people2bag``): kind, frames,
    rate, room, and per actor its id, instance id, body, path (frame, t_s, x, z) and action segments
    (frames inclusive, seconds from the first frame, class index and name)."""
    rate = float(scene.rate_hz)
    actors = []
    for k, a in enumerate(scene.actors):
        b = a.body
        actors.append({
            "id": a.actor_id, "instance_id": k + 1,
            "classes": [s.label for s in a.segments],
            "segments": [{"start_frame": int(s.start), "end_frame": int(s.end), "start_s": s.start / rate,
                          "end_s": s.end / rate, "class": int(s.action), "label": s.label} for s in a.segments],
            "path": [{"frame": int(w.frame), "t_s": w.frame / rate, "x_m": float(w.x), "z_m": float(w.z)}
                     for w in a.path],
            "body": {"scale": float(b.scale), "amplitude": float(b.amplitude), "wave_cycles": float(b.wave_cycles),
                     "sway_m": float(b.sway), "shirt": [int(c) for c in b.shirt], "pants": [int(c) for c in b.pants],
                     "skin": [int(c) for c in b.skin]},
        })
    r = scene.room
    return {"kind": scene.kind, "num_frames": int(scene.num_frames), "rate_hz": rate,
            "duration_s": (scene.num_frames - 1) / rate, "depth_noise_mm": float(scene.depth_noise_mm),
            "noise_seed": int(scene.noise_seed),
            "room": {"back_wall_z_m": float(r.back_wall_z_m), "floor_y_m": float(r.floor_y_m),
                     "side_wall_x_m": float(r.side_wall_x_m), "wall": [int(c) for c in r.wall]},
            "actors": actors}


def actor_labels(scene: PeopleScene) -> list[list[str]]:
    """Per actor, its label in every frame ("" idle), from the script (whether seen or not)."""
    return [[a.label_at(t) for t in range(scene.num_frames)] for a in scene.actors]


__all__ = [
    "ActionSegment", "Actor", "ActorTruth", "IDLE_LABEL", "MIN_VISIBLE_PX", "PeopleFrame", "PeopleRoom", "PeopleScene",
    "SCENE_KINDS", "Waypoint", "actor_labels", "actor_position", "actor_scenes", "back_project", "make_people_scene",
    "render_people", "render_people_frame", "room_images", "scene_record",
]
