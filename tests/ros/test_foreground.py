"""Foreground selection on a hand-built room: a wall, a floor and a person."""
from __future__ import annotations

import numpy as np
import pytest

from vg4d_core.data.depth import CameraIntrinsics
from vg4d_ros.convert import depth_image_to_points
from vg4d_ros.foreground import ForegroundConfig, foreground_keep, select_foreground
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
    for mask in (person, person.astype(np.uint16) * 7, mono8):
        fg = select_foreground(pts, cfg, pixels=px, mask=mask)
        assert fg.shape == (200, 3) and np.all(fg[:, 2] == np.float32(2.5))
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
