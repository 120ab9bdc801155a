"""Synthetic videos are rendered once per process: datasets of a chain share them, figures unchanged."""
from __future__ import annotations

import numpy as np

from vg4d_core.data.config import SyntheticConfig
from vg4d_core.data.synthetic import SyntheticActions
from vg4d_core.data.synthetic import dataset as synth

CFG = SyntheticConfig(num_train=6, num_test=4, min_frames=12, max_frames=14, image_scale=0.25)


def _item(ds, i):
    it = ds[i]
    return it["points"].numpy(), (it["rgb"].numpy() if "rgb" in it else None)


def test_a_second_dataset_reuses_the_renders(monkeypatch):
    synth._SHARED.clear()
    calls = []
    real = SyntheticActions.render
    monkeypatch.setattr(SyntheticActions, "render", lambda self, v: calls.append(v) or real(self, v))
    kw = dict(num_frames=4, points_per_frame=16, seed=123)
    points_only = SyntheticActions("train", CFG, **kw)
    first = [_item(points_only, i) for i in range(len(points_only))]
    assert len(calls) == 6
    with_rgb = SyntheticActions("train", CFG, rgb=True, rgb_size=32, **kw)
    both = [_item(with_rgb, i) for i in range(len(with_rgb))]
    assert len(calls) == 12  # the RGB frames were not rendered yet: once more, then kept
    again = SyntheticActions("train", CFG, rgb=True, rgb_size=32, **kw)
    assert [np.array_equal(_item(again, i)[1], both[i][1]) for i in range(6)] == [True] * 6
    assert len(calls) == 12  # nothing rendered a third time
    for (p1, _), (p2, rgb) in zip(first, both):
        assert np.array_equal(p1, p2) and rgb is not None
    # another seed is other videos
    SyntheticActions("train", CFG, **dict(kw, seed=124))[0]
    assert len(calls) == 13
    synth._SHARED.clear()


def test_the_shared_store_is_bounded(monkeypatch):
    synth._SHARED.clear()
    monkeypatch.setattr(synth, "SHARED_RENDER_LIMIT", 3)
    ds = SyntheticActions("test", CFG, num_frames=4, points_per_frame=16)
    for i in range(len(ds)):
        ds[i]
    assert len(synth._SHARED) == 3
    synth._SHARED.clear()
