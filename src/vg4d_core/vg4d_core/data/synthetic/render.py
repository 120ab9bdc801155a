"""Rendering synthetic scenes to depth (uint16 mm) and RGB: exact per-pixel ray casting.

:class:`Renderer` casts the figure's spheres (numba kernel) and its board;
:func:`render_video` renders a whole video with sensor noise.

Two modes:

* masked (default): only the figure has depth (0 elsewhere), like NTU's
  masked depth; the RGB background is a painted wall and floor;
* room (:class:`Room`, ``SyntheticConfig.room``): unmasked, like a live
  sensor - the floor (plane y = the video's ``floor_y``, the figure stands
  on it), a back wall (plane z = subject distance + ``back_wall_behind_m``)
  and optionally a side wall (plane x = ``side_wall_x_m``, camera right)
  have depth and colour too, so a recognizer's foreground selection (depth
  range, crop box in the sensor frame) has something to remove.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from vg4d_core.data.depth import KINECT_V2_DEPTH, CameraIntrinsics
from vg4d_core.data.synthetic.scene import _LIGHT, BOARD_CELLS, Nuisance, Scene, colour_class, pose

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


@dataclass(frozen=True)
class Room:
    """Static room geometry of the unmasked mode, metres, camera optical frame (y down).

    The floor is the plane y = ``Nuisance.floor_y`` (0.8-1.1 m below the
    optical axis, drawn per video: the figure's feet stand on it).
    """

    back_wall_behind_m: float = 0.8  # back wall at z = Nuisance.z + this (the masked mode's painted horizon)
    side_wall_x_m: float = 1.6  # side wall at x = +this (camera right); 0 = no side wall

    def __post_init__(self) -> None:
        if not self.back_wall_behind_m > 0:
            raise ValueError(f"Room.back_wall_behind_m must be > 0 metres, got {self.back_wall_behind_m!r}")
        if not self.side_wall_x_m >= 0:
            raise ValueError(f"Room.side_wall_x_m must be >= 0 metres (0 = none), got {self.side_wall_x_m!r}")


def room_from_config(cfg) -> Room | None:
    """The :class:`Room` of a :class:`~vg4d_core.data.config.SyntheticConfig`, or None when ``room`` is off."""
    if not cfg.room:
        return None
    return Room(back_wall_behind_m=cfg.room_back_wall_m, side_wall_x_m=cfg.room_side_wall_m)


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

    def room_background(self, nu: Nuisance, room: Room) -> tuple[np.ndarray, np.ndarray]:
        """The empty room: depth (H, W) float32 metres (every pixel hits a surface) and rgb (H, W, 3) uint8.

        Ray of pixel (u, v): (du[u], dv[v], 1) lam; it leaves the room through the nearest of the back
        wall (lam = z_back), the floor (lam = floor_y / dv, rows below the horizon) and the side wall
        (lam = x_side / du, columns right of the centre); the depth is that lam. Colours: the wall
        colour (shaded top to bottom) on the back wall, 0.75 x it on the side wall, 0.55 x on the
        floor, with the same fixed-pattern noise as :meth:`background`.
        """
        return self.room_surfaces(nu.z + room.back_wall_behind_m, nu.floor_y, room.side_wall_x_m, nu.wall,
                                  nu.noise_seed)

    def room_surfaces(self, back_wall_z_m: float, floor_y_m: float, side_wall_x_m: float,
                      wall: tuple[int, int, int], noise_seed: int) -> tuple[np.ndarray, np.ndarray]:
        """The empty room from absolute geometry: depth (H, W) float32 metres and rgb (H, W, 3) uint8 RGB.

        Back wall: the plane z = ``back_wall_z_m``; floor: y = ``floor_y_m`` (metres below the optical
        axis, y down); side wall: x = ``side_wall_x_m`` (camera right; 0 = none). ``wall``: RGB of the
        back wall; the fixed-pattern noise is seeded by ``noise_seed + 1``. :meth:`room_background` is
        this with the geometry of one video's :class:`Nuisance` and :class:`Room`.
        """
        z_back = back_wall_z_m
        dv = self.dv[:, None]
        du = self.du[None, :]
        with np.errstate(divide="ignore"):
            lam_floor = np.where(dv > 0, floor_y_m / np.where(dv > 0, dv, 1.0), np.inf)
            if side_wall_x_m > 0:
                lam_side = np.where(du > 0, side_wall_x_m / np.where(du > 0, du, 1.0), np.inf)
            else:
                lam_side = np.full_like(du, np.inf)
        lam = np.stack(np.broadcast_arrays(np.full((1, 1), z_back), lam_floor, lam_side))  # (3, H, W)
        surface = np.argmin(lam, axis=0)  # 0 back wall, 1 floor, 2 side wall
        depth = np.min(lam, axis=0).astype(np.float32)
        wall = np.asarray(wall, np.float32)
        shade = (1.0 - 0.15 * np.linspace(0, 1, self.h, dtype=np.float32))[:, None, None]
        factor = np.choose(surface, [np.float32(1.0), np.float32(0.55), np.float32(0.75)]).astype(np.float32)
        bg = wall * shade * factor[:, :, None]
        bg = np.where((surface == 1)[:, :, None], wall * np.float32(0.55), bg)  # the floor is not shaded
        bg += np.random.default_rng(noise_seed + 1).standard_normal(bg.shape, dtype=np.float32) * np.float32(3.0)
        return depth, np.clip(np.rint(bg), 0, 255).astype(np.uint8)

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

    def render(self, scene: Scene, background: np.ndarray, background_depth: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """-> depth (H, W) float32 metres (inf = nothing), rgb (H, W, 3) uint8.

        ``background_depth`` (H, W) float32 metres: the depth of the empty scene (room mode); the
        figure is drawn where it is nearer. None: nothing behind the figure (masked mode).
        """
        if background_depth is None:
            zbuf = np.full((self.h, self.w), np.inf, np.float32)
        else:
            zbuf = np.array(background_depth, dtype=np.float32, copy=True)
        rgb = background.copy()
        _raster_spheres(np.ascontiguousarray(scene.spheres, dtype=np.float64),
                        np.ascontiguousarray(scene.colours, dtype=np.float32), self.du, self.dv,
                        self.k.fx, self.k.fy, self.k.cx, self.k.cy, _LIGHT, zbuf, rgb)
        if scene.board is not None:
            self._board(scene.board, zbuf, rgb)
        return zbuf, rgb

    def _board(self, board: tuple, zbuf: np.ndarray, rgb: np.ndarray) -> None:
        """A rectangle in the plane z = centre z, facing the camera; plain grey or a checkerboard
        of :data:`~vg4d_core.data.synthetic.scene.BOARD_CELLS` cells with the same mean colour."""
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
            cols, rows = BOARD_CELLS
            cell = (np.floor((x + half_w) / (2 * half_w) * cols) + np.floor((y + half_h) / (2 * half_h) * rows)) % 2
            value = np.where(cell > 0, 245, 45).astype(np.uint8)
        else:
            value = np.full(np.broadcast_shapes(x.shape, y.shape), 145, np.uint8)
        zb[front] = cz
        rgb[v0:v1, u0:u1][front] = np.broadcast_to(value, front.shape)[front][:, None]


@dataclass
class SyntheticVideo:
    """One rendered video: depth uint16 (F, H, W) mm (0 = no surface: the background in masked mode),
    rgb uint8 (F, H, W, 3) RGB."""

    depth: np.ndarray
    rgb: np.ndarray
    label: int
    nuisance: Nuisance


def render_video(action: int, nu: Nuisance, intrinsics: CameraIntrinsics | None = None, *,
                 depth_noise_mm: float = 4.0, renderer: Renderer | None = None,
                 room: Room | None = None) -> SyntheticVideo:
    """Render class ``action`` with nuisance ``nu``.

    Depth noise (Gaussian, ``depth_noise_mm``, per frame) and the RGB
    background's fixed-pattern noise come from ``nu.noise_seed`` only, so the
    two classes of an appearance pair get bit-identical depth. The mirrored
    class of a depth pair (:func:`~vg4d_core.data.synthetic.scene.colour_class`)
    takes its depth from its own (mirrored) scene and its colour from its
    partner's, so the pair's RGB is bit-identical too: the mirror keeps every
    sphere's image, and the one thing it would change in colour - which of two
    overlapping spheres is in front, 1-3 % of the figure's pixels - is left as
    the partner's.
    ``room``: None renders the masked figure only (depth 0 elsewhere); a
    :class:`Room` renders floor and walls into depth and RGB as well (every
    pixel valid, noise on all of them).
    """
    renderer = renderer or Renderer(intrinsics or KINECT_V2_DEPTH)
    rng = np.random.default_rng(nu.noise_seed)
    bg_depth = None
    if room is None:
        bg = renderer.background(nu)
    else:
        bg_depth, bg = renderer.room_background(nu, room)
    f = nu.num_frames
    depth = np.zeros((f, renderer.h, renderer.w), np.uint16)
    rgb = np.empty((f, renderer.h, renderer.w, 3), np.uint8)
    for t in range(f):
        phase = t / max(f - 1, 1)
        z, colour = renderer.render(pose(action, nu, phase), bg, bg_depth)
        if colour_class(action) != action:  # a depth pair's mirrored class: colour as its partner's
            _, colour = renderer.render(pose(colour_class(action), nu, phase), bg, bg_depth)
        valid = np.isfinite(z)
        mm = z[valid] * 1000.0
        if depth_noise_mm > 0:
            mm = mm + rng.normal(0.0, depth_noise_mm, size=mm.shape)
        depth[t][valid] = np.clip(np.rint(mm), 1, 65535).astype(np.uint16)
        rgb[t] = colour
    return SyntheticVideo(depth=depth, rgb=rgb, label=int(action), nuisance=nu)


def synthetic_intrinsics(image_scale: float) -> CameraIntrinsics:
    return KINECT_V2_DEPTH if image_scale == 1.0 else KINECT_V2_DEPTH.scaled(image_scale)
