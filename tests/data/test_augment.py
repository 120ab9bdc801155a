"""Clip augmentation: scaling, rotation about the vertical axis, jitter; one transform per clip."""
from __future__ import annotations

import numpy as np
import pytest

from vg4d_core.config import ConfigError
from vg4d_core.data.augment import augment_clip, augment_rgb
from vg4d_core.data.config import AugmentConfig


@pytest.fixture
def clip():
    return np.random.default_rng(0).normal(size=(4, 50, 3)).astype(np.float32) + np.float32([0, 0, 3])


def test_disabled_is_an_unchanged_copy(clip):
    out = augment_clip(clip, AugmentConfig(enabled=False), np.random.default_rng(1))
    np.testing.assert_array_equal(out, clip)
    assert out is not clip


def test_rotation_about_y_keeps_heights_and_distances(clip):
    cfg = AugmentConfig(scale_range=(1.0, 1.0), rotate_y_deg=180.0)
    out = augment_clip(clip, cfg, np.random.default_rng(2))
    np.testing.assert_allclose(out[..., 1], clip[..., 1], atol=1e-5)
    d_in = np.linalg.norm(clip[:, :, None] - clip[:, None, :], axis=-1)
    d_out = np.linalg.norm(out[:, :, None] - out[:, None, :], axis=-1)
    np.testing.assert_allclose(d_out, d_in, atol=1e-4)
    np.testing.assert_allclose(out.reshape(-1, 3).mean(0), clip.reshape(-1, 3).mean(0), atol=1e-4)
    assert not np.allclose(out, clip, atol=1e-2)


def test_jitter_is_bounded_and_scaling_shared_by_all_frames(clip):
    cfg = AugmentConfig(scale_range=(1.0, 1.0), jitter_std=0.05, jitter_clip=0.02)
    out = augment_clip(clip, cfg, np.random.default_rng(3))
    assert 0 < np.abs(out - clip).max() <= 0.02 + 1e-6
    scaled = augment_clip(clip, AugmentConfig(scale_range=(0.5, 2.0)), np.random.default_rng(4))
    ratios = (scaled / clip).reshape(-1, 3)
    np.testing.assert_allclose(ratios, np.broadcast_to(ratios[0], ratios.shape), rtol=1e-5)


def test_bad_shapes_and_configs():
    with pytest.raises(ValueError, match=r"\(T, N, 3\)"):
        augment_clip(np.zeros((5, 3), np.float32), AugmentConfig(), np.random.default_rng(0))
    with pytest.raises(ConfigError, match="rotate_y_deg"):
        AugmentConfig(rotate_y_deg=-1.0)
    with pytest.raises(ConfigError, match="jitter"):
        AugmentConfig(jitter_std=-0.1)


@pytest.fixture
def frames():
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, size=(5, 24, 24, 3), dtype=np.uint8)


def test_rgb_untouched_and_no_draw_without_rgb_transforms(frames):
    rng = np.random.default_rng(4)
    before = rng.bit_generator.state
    for cfg in (AugmentConfig(), AugmentConfig(enabled=False, rgb_flip=True, rgb_crop_min=0.5)):
        assert augment_rgb(frames, cfg, rng) is frames
    assert rng.bit_generator.state == before  # recipes without RGB augmentation draw the same points


def test_rgb_flip_mirrors_every_frame_of_a_clip_alike(frames):
    cfg = AugmentConfig(rgb_flip=True)
    outcomes = set()
    for seed in range(20):
        out = augment_rgb(frames, cfg, np.random.default_rng(seed))
        if np.array_equal(out, frames[:, :, ::-1]):
            outcomes.add("flipped")
        elif np.array_equal(out, frames):
            outcomes.add("kept")
        else:
            pytest.fail("a flip changed some frames only, or changed pixels")
    assert outcomes == {"flipped", "kept"}


def test_rgb_crop_zooms_without_changing_colours():
    # left half red, right half blue: a crop shifts the border and keeps both colours
    frames = np.zeros((3, 40, 40, 3), dtype=np.uint8)
    frames[:, :, :20, 0] = 255
    frames[:, :, 20:, 2] = 255
    cfg = AugmentConfig(rgb_crop_min=0.6)
    changed = 0
    for seed in range(10):
        out = augment_rgb(frames, cfg, np.random.default_rng(seed))
        assert out.shape == frames.shape and out.dtype == np.uint8
        assert np.array_equal(out[0], out[1]) and np.array_equal(out[1], out[2])  # one crop per clip
        assert out[..., 1].max() == 0  # no green appears: colours are only resampled
        assert out[:, :, 0, 0].min() == 255 and out[:, :, -1, 2].min() == 255
        changed += int(not np.array_equal(out, frames))
    assert changed >= 8
    with pytest.raises(ConfigError, match="rgb_crop_min"):
        AugmentConfig(rgb_crop_min=0.0)
    with pytest.raises(ValueError, match="T, H, W, 3"):
        augment_rgb(frames[0], cfg, np.random.default_rng(0))


def test_rgb_augmentation_reaches_training_items_only():
    from vg4d_core.data.config import SyntheticConfig
    from vg4d_core.data.synthetic.dataset import SyntheticActions

    syn = SyntheticConfig(num_train=4, num_test=4, min_frames=6, max_frames=6)
    kw = dict(num_frames=4, points_per_frame=16, rgb=True, rgb_size=32, sampling="segment")
    plain = SyntheticActions("train", syn, augment=AugmentConfig(), **kw)
    aug = SyntheticActions("train", syn, augment=AugmentConfig(rgb_flip=True, rgb_crop_min=0.7), **kw)
    differs = [not np.array_equal(plain[i]["rgb"].numpy(), aug[i]["rgb"].numpy()) for i in range(4)]
    assert any(differs)
    for i in range(4):  # the points are the same draws
        np.testing.assert_array_equal(plain[i]["points"].numpy(), aug[i]["points"].numpy())
    test_plain = SyntheticActions("test", syn, **kw)
    test_aug = SyntheticActions("test", syn, augment=AugmentConfig(rgb_flip=True, rgb_crop_min=0.7), **kw)
    for i in range(4):
        np.testing.assert_array_equal(test_plain[i]["rgb"].numpy(), test_aug[i]["rgb"].numpy())
