"""Synthetic room mode: floor and walls in the depth image (unmasked), and the masked default unchanged."""
from __future__ import annotations

import numpy as np
import pytest

from vg4d_core.config import ConfigError
from vg4d_core.data.config import SyntheticConfig
from vg4d_core.data.synthetic import (Renderer, Room, SyntheticActions, render_video, room_from_config,
                                      synthetic_intrinsics, video_nuisance)

CFG = SyntheticConfig(num_train=8, num_test=0, min_frames=4, max_frames=5, image_scale=0.5)
INTR = synthetic_intrinsics(0.5)


@pytest.fixture(scope="module")
def renderer():
    return Renderer(INTR)


def _expected_room_mm(nu, room, u, v):
    """Depth of the empty room at pixel (u, v), by hand: the nearest of the three planes along the ray."""
    du, dv = (u - INTR.cx) / INTR.fx, (v - INTR.cy) / INTR.fy
    hits = [nu.z + room.back_wall_behind_m]
    if dv > 0:
        hits.append(nu.floor_y / dv)
    if du > 0 and room.side_wall_x_m > 0:
        hits.append(room.side_wall_x_m / du)
    return 1000 * min(hits)


def test_room_depth_has_floor_and_walls_far_from_the_person(renderer):
    nu = video_nuisance(0, "train", 2, CFG)
    room = Room()
    video = render_video(2, nu, renderer=renderer, room=room, depth_noise_mm=0.0)
    masked = render_video(2, nu, renderer=renderer, depth_noise_mm=0.0)
    d = video.depth[1].astype(np.float64)
    assert np.all(video.depth > 0)  # every pixel sees a surface
    h, w = d.shape
    # top-left corner: back wall; bottom row: floor; right edge at mid height: side wall
    for u, v, surface in ((0, 0, "back"), (w // 2, h - 1, "floor"), (w - 1, int(INTR.cy), "side")):
        exp = _expected_room_mm(nu, room, u, v)
        assert abs(d[v, u] - exp) <= 0.5 + 1e-3 * exp, (surface, d[v, u], exp)
        assert masked.depth[1, v, u] == 0  # nothing there in the masked mode
    assert abs(d[0, 0] - 1000 * (nu.z + 0.8)) <= 3  # 3.8-4.8 m back wall
    assert d[h - 1, w // 2] < 2000  # the floor close to the camera
    # the person is drawn in front of the room: nearer wherever it is seen in the masked mode
    person = masked.depth[1] > 0
    assert person.sum() > 500
    assert np.all(video.depth[1][person] <= masked.depth[1][person])
    assert np.mean(video.depth[1][person] == masked.depth[1][person]) > 0.99  # only the feet touch the floor


def test_room_geometry_parameters_and_rgb(renderer):
    nu = video_nuisance(0, "train", 4, CFG)
    no_side = render_video(4, nu, renderer=renderer, room=Room(back_wall_behind_m=1.5, side_wall_x_m=0.0),
                           depth_noise_mm=0.0)
    u = INTR.width - 1
    assert abs(no_side.depth[0, 0, u] - 1000 * (nu.z + 1.5)) <= 3  # no side wall: the back wall reaches the edge
    room = render_video(4, nu, renderer=renderer, room=Room(), depth_noise_mm=0.0)
    # RGB follows the geometry: the floor is darker than the back wall
    assert room.rgb[-1, -1].mean() < room.rgb[0, 0].mean() - 20
    with pytest.raises(ValueError, match="back_wall_behind_m"):
        Room(back_wall_behind_m=0.0)
    with pytest.raises(ConfigError, match="room_side_wall_m"):
        SyntheticConfig(room_side_wall_m=-1.0)


def test_room_off_is_the_masked_default(renderer):
    assert SyntheticConfig().room is False and room_from_config(SyntheticConfig()) is None
    assert room_from_config(SyntheticConfig(room=True, room_back_wall_m=1.2)) == Room(1.2, 1.6)
    nu = video_nuisance(1, "train", 3, CFG)
    a = render_video(3, nu, renderer=renderer)
    b = render_video(3, nu, renderer=renderer, room=None)
    np.testing.assert_array_equal(a.depth, b.depth)
    np.testing.assert_array_equal(a.rgb, b.rgb)
    assert (a.depth == 0).mean() > 0.9


def test_room_dataset_points_include_the_walls():
    cfg = SyntheticConfig(num_train=2, num_test=0, min_frames=4, max_frames=4, image_scale=0.25, room=True)
    ds = SyntheticActions("train", cfg, num_frames=2, points_per_frame=256)
    nu = ds._nuisance[0]
    z = ds._frames(0).frame_points(0)[:, 2]
    assert z.shape[0] == ds.intrinsics.width * ds.intrinsics.height
    # the back wall (noisy, 4 mm) and the floor close to the camera, nearer than the person (>= 2.7 m)
    assert abs(z.max() - (nu.z + 0.8)) < 0.03 and z.min() < 2.0


def test_synth_cli_room_writes_unmasked_depth(tmp_path):
    import cv2

    from vg4d_core.data import ntu
    from vg4d_core.data.synthetic import main

    assert main(["--out", str(tmp_path), "--videos", "1", "--min-frames", "2", "--max-frames", "2", "--room",
                 "--room-side-wall", "0"]) == 0
    name = ntu.list_depth_videos(tmp_path)[0]
    png = cv2.imread(str(ntu.list_depth_frames(ntu.depth_video_dir(tmp_path, name))[0]), cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint16 and png.shape == (424, 512) and png.min() > 0
