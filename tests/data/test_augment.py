"""Clip augmentation: scaling, rotation about the vertical axis, jitter; one transform per clip."""
from __future__ import annotations

import numpy as np
import pytest

from vg4d_core.config import ConfigError
from vg4d_core.data.augment import augment_clip
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
