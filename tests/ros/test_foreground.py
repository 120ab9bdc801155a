"""Foreground selection on a hand-built room: a wall, a floor and a person."""
from __future__ import annotations

import numpy as np
import pytest

from vg4d_core.data.depth import CameraIntrinsics
from vg4d_ros.pipeline.decode import depth_image_to_points, mask_image_to_array
from vg4d_ros.pipeline.foreground import ForegroundConfig, fit_floor_plane, foreground_keep, select_foreground
from types import SimpleNamespace as NS

INTR = CameraIntrinsics(fx=50.0, fy=50.0, cx=20.0, cy=15.0, width=40, height=30)


def scene(wall_mm: int) -> tuple[np.ndarray, np.ndarray]:
    """(30, 40) uint16 depth: a wall everywhere, a person (rows 5-24, cols 15-24) at 2.5 m,
    a 3 x 3 hole of no data; and the person's mask."""
    d = np.full((30, 40), wall_mm, dtype=np.uint16)
    person = np.zeros((30, 40), dtype=bool)
    person[5:25, 15:25] = True
    d[person] = 2500
    d[0:3, 0:3] = 0
    return d, person


def as_msg(d):
    return NS(height=d.shape[0], width=d.shape[1], encoding="16UC1", is_bigendian=0, step=d.shape[1] * 2,
              data=d.tobytes())


def test_defaults_drop_a_far_wall():
    d, person = scene(wall_mm=6000)
    pts, px = depth_image_to_points(as_msg(d), INTR, return_pixels=True)
    assert pts.shape[0] == 40 * 30 - 9
    fg = select_foreground(pts, ForegroundConfig())
    assert fg.shape == (200, 3)
    np.testing.assert_array_equal(fg[:, 2], np.full(200, 2.5, np.float32))
    keep = foreground_keep(pts, ForegroundConfig())
    np.testing.assert_array_equal(np.sort(px[keep][:, 1] * 40 + px[keep][:, 0]), np.flatnonzero(person))


def test_depth_range_and_crop_box_for_a_near_wall():
    d, _ = scene(wall_mm=3500)
    pts = depth_image_to_points(as_msg(d), INTR)
    assert select_foreground(pts, ForegroundConfig()).shape[0] == 40 * 30 - 9  # wall within 4.5 m stays
    assert select_foreground(pts, ForegroundConfig(max_depth=3.0)).shape[0] == 200
    # crop: x in [-0.1, 0.05] m at 2.5 m is u in [18, 21] -> 4 columns x 20 rows of the person
    cfg = ForegroundConfig(max_depth=None, crop_min=(-0.1, -1.0, 0.0), crop_max=(0.05, 1.0, 3.0))
    fg = select_foreground(pts, cfg)
    assert fg.shape[0] == 80
    u = fg[:, 0] * 50.0 / 2.5 + 20.0
    np.testing.assert_allclose(np.unique(np.round(u)), [18, 19, 20, 21])


def test_mask_selects_the_person_even_with_the_wall_in_range():
    d, person = scene(wall_mm=3500)
    pts, px = depth_image_to_points(as_msg(d), INTR, return_pixels=True)
    cfg = ForegroundConfig(use_mask=True)
    mono8 = NS(height=30, width=40, encoding="mono8", is_bigendian=0, step=40, data=(person * 255).astype(np.uint8).tobytes())
    for mask in (person, person.astype(np.uint16) * 7, mask_image_to_array(mono8)):
        fg = select_foreground(pts, cfg, pixels=px, mask=mask)
        assert fg.shape == (200, 3) and np.all(fg[:, 2] == np.float32(2.5))
    with pytest.raises(ValueError, match="decode an Image"):  # messages are the converter's to decode
        select_foreground(pts, cfg, pixels=px, mask=mono8)
    with pytest.raises(ValueError, match="use_mask is set but no mask"):
        select_foreground(pts, cfg)
    with pytest.raises(ValueError, match="needs the \\(u, v\\) pixel"):
        select_foreground(pts, cfg, mask=person)


def test_config_errors():
    with pytest.raises(ValueError, match="both crop_min and crop_max"):
        ForegroundConfig(crop_min=(0, 0, 0))
    with pytest.raises(ValueError, match="exceeds crop_max"):
        ForegroundConfig(crop_min=(1, 0, 0), crop_max=(0, 1, 1))
    with pytest.raises(ValueError, match="min_depth 3 > max_depth 2"):
        ForegroundConfig(min_depth=3, max_depth=2)


# -- floor removal -------------------------------------------------------------------------------------
def grid(xs, ys):
    a, b = np.meshgrid(xs, ys, indexing="ij")
    return a.ravel(), b.ravel()


def level_room() -> tuple[np.ndarray, np.ndarray]:
    """A room in a level camera's optical frame (y down, metres): floor y = 1.0 (x in [-2, 2],
    z in [1, 4.5], 5 cm grid), a back wall z = 6 (y in [-1.5, 1]), and a person's front surface
    z = 2.5, x in [-0.2, 0.2], y = 0.99 (feet, 1 cm above the floor) up to -0.71 (2 cm grid).
    Returns points (P, 3) and is_person (P,) bool."""
    x, z = grid(np.linspace(-2, 2, 81), np.linspace(1, 4.5, 71))
    floor = np.stack([x, np.full_like(x, 1.0), z], 1)
    x, y = grid(np.linspace(-2, 2, 41), np.linspace(-1.5, 1.0, 26))
    wall = np.stack([x, y, np.full_like(x, 6.0)], 1)
    x, y = grid(np.linspace(-0.2, 0.2, 21), 0.99 - 0.02 * np.arange(86))
    person = np.stack([x, y, np.full_like(x, 2.5)], 1)
    pts = np.concatenate([floor, wall, person])
    return pts, np.r_[np.zeros(len(floor) + len(wall), bool), np.ones(len(person), bool)]


def camera(points: np.ndarray, pitch_deg: float, roll_deg: float, noise_m: float = 0.002) -> np.ndarray:
    """The level-frame points seen by a camera pitched down by ``pitch_deg`` and rolled by ``roll_deg``
    (float32, camera optical frame), with seeded Gaussian noise."""
    p, r = np.deg2rad(pitch_deg), np.deg2rad(roll_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    axes = rx @ rz  # columns: the camera's x, y, z axes in the level frame (z tips down towards the floor)
    cam = points @ axes
    return (cam + np.random.default_rng(7).normal(0, noise_m, cam.shape)).astype(np.float32)


@pytest.mark.parametrize("pitch, roll", [(10.0, 0.0), (15.0, 5.0), (20.0, -8.0)])
def test_floor_removal_leaves_the_person_for_a_tilted_camera(pitch, roll):
    pts, person = level_room()
    cam = camera(pts, pitch, roll)
    cfg = ForegroundConfig(min_depth=0.5, max_depth=4.5, remove_floor=True)
    # no camera-frame height threshold (crop box) separates them: part of the floor is higher than the feet
    assert cam[:5751, 1].min() < cam[person, 1].max()
    keep = foreground_keep(cam, cfg)
    assert not np.any(keep & ~person)  # no floor or wall point survives
    n_person = int(person.sum())
    assert n_person == 21 * 86
    # feet rows at 1 cm and 3 cm above the floor go (within 4 cm); every row from 5 cm up stays
    assert int((keep & person).sum()) == n_person - 2 * 21
    assert (keep & person).sum() > 0.95 * n_person
    # points below the floor (a stairwell, a multipath return) go too, however far below
    x, z = grid(np.linspace(-1, 1, 5), np.linspace(2, 3, 3))
    below = camera(np.stack([x, np.full_like(x, 1.3), z], 1), pitch, roll)
    assert not foreground_keep(np.concatenate([cam, below]), cfg)[len(cam):].any()
    plane = fit_floor_plane(cam[(cam[:, 2] >= 0.5) & (cam[:, 2] <= 4.5)], cfg)
    p, r = np.deg2rad(pitch), np.deg2rad(roll)
    up_level = np.array([0.0, -1.0, 0.0])
    axes = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]]) @ \
        np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    np.testing.assert_allclose(plane.normal, up_level @ axes, atol=2e-3)  # the floor's up in the camera frame
    assert abs(plane.offset - 1.0) < 5e-3  # camera 1 m above the floor


def test_without_a_floor_nothing_is_removed():
    """A wall facing the camera (normal along z) and a person: no plane qualifies."""
    pts, person = level_room()
    wall_and_person = camera(pts[5751:], 15.0, 0.0)
    x, y = grid(np.linspace(-2, 2, 81), np.linspace(-1.5, 1.0, 51))
    near_wall = camera(np.stack([x, y, np.full_like(x, 3.5)], 1), 0.0, 0.0)
    for cloud in (wall_and_person, np.concatenate([near_wall, wall_and_person])):
        cfg = ForegroundConfig(min_depth=None, max_depth=None, remove_floor=True)
        assert fit_floor_plane(cloud, cfg) is None
        assert foreground_keep(cloud, cfg).all()


def ramp_and_person(deg: float) -> tuple[np.ndarray, int]:
    """A 4 m wide, 3 m long ramp rising ``deg`` degrees away from a level camera, and the person."""
    pts, person = level_room()
    x, s = grid(np.linspace(-2, 2, 81), np.linspace(0, 3.0, 61))
    a = np.deg2rad(deg)
    ramp = np.stack([x, 1.0 - s * np.sin(a), 1.0 + s * np.cos(a)], 1)
    return camera(np.concatenate([ramp, pts[person]]), 0.0, 0.0), len(ramp)


@pytest.mark.parametrize("deg", [31.0, 35.0, 50.0])
def test_a_ramp_beyond_the_tilt_limit_is_kept(deg):
    """31-40 degrees is the hard case: a candidate plane at the 30 degree limit crosses the ramp at a
    shallow angle and holds a wide band of it; the least-squares refit shows the band is steeper."""
    cloud, n_ramp = ramp_and_person(deg)
    cfg = ForegroundConfig(min_depth=None, max_depth=None, remove_floor=True)
    assert fit_floor_plane(cloud, cfg) is None
    assert foreground_keep(cloud, cfg).all()
    # with the limit raised to 60 degrees the ramp is the floor
    steep = ForegroundConfig(min_depth=None, max_depth=None, remove_floor=True, floor_max_tilt_deg=60.0)
    assert not foreground_keep(cloud, steep)[:n_ramp].any()


def test_a_ramp_within_the_tilt_limit_is_the_floor():
    cloud, n_ramp = ramp_and_person(25.0)
    plane = fit_floor_plane(cloud, ForegroundConfig(min_depth=None, max_depth=None, remove_floor=True))
    np.testing.assert_allclose(np.degrees(np.arccos(-plane.normal[1])), 25.0, atol=0.2)
    assert not foreground_keep(cloud, ForegroundConfig(min_depth=None, max_depth=None, remove_floor=True))[:n_ramp].any()


def test_floor_removal_of_empty_input_and_determinism():
    cfg = ForegroundConfig(remove_floor=True)
    assert foreground_keep(np.zeros((0, 3), np.float32), cfg).shape == (0,)
    assert fit_floor_plane(np.zeros((0, 3), np.float32), cfg) is None
    far = np.full((10, 3), 9.0, np.float32)  # all beyond max_depth: nothing left to fit
    assert not foreground_keep(far, cfg).any()
    pts, _ = level_room()
    cam = camera(pts, 15.0, 5.0)
    cfg = ForegroundConfig(remove_floor=True, floor_sample=500, floor_iterations=50)
    a, b = foreground_keep(cam, cfg), foreground_keep(cam.copy(), cfg)
    np.testing.assert_array_equal(a, b)
    pa, pb = fit_floor_plane(cam, cfg), fit_floor_plane(cam.copy(), cfg)
    assert pa.normal.tolist() == pb.normal.tolist() and pa.offset == pb.offset


def test_floor_config_errors_and_settings():
    for kwargs, text in [({"floor_distance_m": 0.0}, "floor_distance_m must be > 0"),
                         ({"floor_max_tilt_deg": 90.0}, "floor_max_tilt_deg must be in"),
                         ({"floor_min_inliers": 0.0}, "floor_min_inliers must be a fraction"),
                         ({"floor_iterations": 0}, "floor_iterations must be >= 1"),
                         ({"floor_sample": 2}, "floor_sample must be >= 3"),
                         ({"floor_up": (0.0, 0.0, 0.0)}, "floor_up must be a nonzero")]:
        with pytest.raises(ValueError, match=text):
            ForegroundConfig(**kwargs)
    from vg4d_core.config import ConfigError
    from vg4d_ros.config import ForegroundSettings
    fg = ForegroundSettings(remove_floor=True, floor_up=[0.0, 0.0, 2.0], floor_distance_m=0.03).to_foreground(False)
    assert fg.remove_floor and fg.floor_up == (0.0, 0.0, 2.0) and fg.floor_distance_m == 0.03
    assert ForegroundSettings().to_foreground(False).remove_floor is False  # off by default
    with pytest.raises(ConfigError, match="foreground: .*floor_min_inliers"):
        ForegroundSettings(floor_min_inliers=1.5).to_foreground(False)
