"""rgb_fit "person": the colour square goes around the person (the depth foreground of registered colour)."""
from __future__ import annotations

import numpy as np
import pytest

from vg4d_core.data.rgb import PERSON_MARGIN, person_box, person_box_in, resize_frame, scale_box

RED_BGR, GREY = (0, 0, 230), 90


def scene(h=240, w=320, box=(200, 60, 240, 200)) -> np.ndarray:
    """A grey room (BGR) with a red 'person' filling ``box`` (x0, y0, x1, y1)."""
    img = np.full((h, w, 3), GREY, np.uint8)
    x0, y0, x1, y1 = box
    img[y0:y1, x0:x1] = RED_BGR
    return img


def test_person_box_and_scaling_to_a_registered_image():
    mask = np.zeros((10, 20), bool)
    mask[2:5, 7:9] = True
    assert person_box(mask) == (7, 2, 9, 5)
    assert person_box(np.zeros((3, 3), bool)) is None
    assert scale_box((7, 2, 9, 5), (10, 20), (20, 40)) == (14, 4, 18, 10)
    depth = np.zeros((10, 20), np.uint16)
    depth[2:5, 7:9] = 1500
    assert person_box_in(depth, (30, 60)) == (21, 6, 27, 15)


def test_the_person_fills_the_square_with_the_margin_around_it():
    box = (200, 100, 220, 160)  # 20 x 60 px: a person a few metres away in a 320 x 240 frame
    out = resize_frame(scene(box=box), 64, "person", box)  # RGB out
    assert out.shape == (64, 64, 3)
    # the box's long side (60 px) spans 1 / (1 + 2 margin) of the square, centred
    span = 64 / (1 + 2 * PERSON_MARGIN)
    rows = np.flatnonzero((out[:, :, 0] > 150).any(axis=1))
    assert abs((rows[-1] + 1 - rows[0]) - span) <= 2
    assert abs((rows[0] + rows[-1] + 1) / 2 - 32) <= 1.5
    # the full-frame centre crop shows the same person far smaller
    small = resize_frame(scene(box=box), 64, "crop")
    assert (small[:, :, 0] > 150).sum() * 4 < (out[:, :, 0] > 150).sum()


def test_a_person_at_the_edge_is_padded_black_and_no_person_falls_back_to_the_centre_crop():
    box = (300, 100, 320, 150)
    out = resize_frame(scene(box=box), 32, "person", box)
    assert (out[:, -4:] == 0).all()  # beyond the image's right edge
    img = scene()
    assert np.array_equal(resize_frame(img, 32, "person", None), resize_frame(img, 32, "crop"))


def test_fits_are_checked():
    with pytest.raises(ValueError, match="fit must be one of"):
        resize_frame(scene(), 32, "zoom")


def test_ntu_caches_refuse_the_person_fit():
    from vg4d_core.data.cache import CacheSettings

    with pytest.raises(ValueError, match="registered to the depth"):
        CacheSettings(rgb_fit="person")


def test_synthetic_frames_centre_the_person():
    from vg4d_core.data.config import SyntheticConfig
    from vg4d_core.data.synthetic import SyntheticActions

    cfg = SyntheticConfig(num_train=4, num_test=4)
    person = SyntheticActions("train", cfg, rgb=True, rgb_size=48, rgb_fit="person", num_frames=4, points_per_frame=64)
    video = person.render(0)
    depth, colour = video.depth[0], video.rgb[0]
    box = person_box_in(depth, colour.shape[:2])
    assert box is not None
    expected = resize_frame(colour[:, :, ::-1].copy(), 48, "person", box)
    got = person._rgb(0, np.array([0]))[0]
    assert np.abs(got.astype(int) - expected).mean() < 3  # (JPEG-stored frames)
