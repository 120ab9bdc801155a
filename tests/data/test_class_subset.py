"""data.classes / data.exclude_classes: a dataset restricted to some classes (open-set studies)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from vg4d_core.config import ConfigError
from vg4d_core.data.factory import build_split, data_config_from_dict
from vg4d_core.data.point_video import literature_video_ids
from vg4d_core.data.synthetic import CLASS_NAMES
from vg4d_core.evaluation.open_set import sweep

BASE = {"name": "synthetic", "num_frames": 4, "points_per_frame": 16, "seed": 0,
        "synthetic": {"num_train": 16, "num_test": 16, "min_frames": 6, "max_frames": 8}}


def _build(split="test", **extra):
    return build_split({**BASE, **extra}, split)


def test_exclude_renumbers_and_keeps_the_videos_and_their_scenes():
    full = _build()
    held_out = [CLASS_NAMES[6], CLASS_NAMES[7]]
    sub = _build(exclude_classes=held_out)
    assert sub.class_names == list(CLASS_NAMES[:6]) and sub.num_classes == 6
    assert len(sub) == 12  # 16 videos, 2 of each class: the 4 of classes 6, 7 are gone
    by_id = {full[i]["video"]: i for i in range(len(full))}
    for i in range(len(sub)):
        item = sub[i]
        ref = full[by_id[item["video"]]]
        assert CLASS_NAMES[ref["label"]] == sub.class_names[item["label"]]  # renumbered, same class
        # the same scene is rendered (the synthetic action is not the renumbered label)
        np.testing.assert_array_equal(item["frame_indices"].numpy(), ref["frame_indices"].numpy())
    assert sub.kept_video_ids() == [full[i]["video"] for i in range(len(full)) if full[i]["label"] < 6]


def test_classes_keep_the_dataset_order_and_combine_with_exclude():
    sub = _build(classes=[CLASS_NAMES[5], CLASS_NAMES[1], CLASS_NAMES[3]], exclude_classes=[CLASS_NAMES[3]])
    assert sub.class_names == [CLASS_NAMES[1], CLASS_NAMES[5]]
    assert sorted({sub[i]["label"] for i in range(len(sub))}) == [0, 1]
    assert len(sub) == 4


def test_no_restriction_is_bit_identical():
    a, b = _build(), _build(classes=list(CLASS_NAMES))
    assert a.class_names == b.class_names and len(a) == len(b)
    np.testing.assert_array_equal(a[3]["points"].numpy(), b[3]["points"].numpy())


def test_training_split_random_streams_and_typical_duration():
    sub = _build("train", exclude_classes=[CLASS_NAMES[0]])
    assert len(sub) == 14 and all(sub[i]["label"] in range(7) for i in range(len(sub)))
    assert sub.typical_video_s() is not None


@pytest.mark.parametrize("extra, match", [
    ({"classes": ["no such action"]}, "unknown class names"),
    ({"exclude_classes": list(CLASS_NAMES)}, "leave no class"),
])
def test_bad_subsets_are_named(extra, match):
    with pytest.raises(ValueError, match=match):
        _build(**extra)


def test_config_checks_the_type():
    with pytest.raises(ConfigError, match="exclude_classes"):
        data_config_from_dict({**BASE, "exclude_classes": "lift red cup"})


def test_msr_literature_subset_follows_the_restriction(tmp_path):
    root = tmp_path / "msr"
    root.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a01_s06_e01", "a02_s06_e01", "a03_s07_e01"):
        depth = np.zeros((240, 320, 30), np.uint16)
        depth[100:120, 150:165] = rng.integers(300, 650, size=(20, 15, 30)).astype(np.uint16)
        scipy.io.savemat(str(root / f"{name}_sdepth.mat"), {"depth": depth})
    ds = build_split({"name": "msr_action3d", "root": str(root), "num_frames": 4, "points_per_frame": 16,
                      "exclude_classes": ["horizontal arm wave"]}, "test")
    assert ds.num_classes == 19 and len(ds) == 2
    assert literature_video_ids(ds) == ["a01_s06_e01", "a03_s07_e01"]


def test_sweep_counts_withheld_and_labelled_accuracy():
    p = [0.9, 0.6, 0.4, 0.95, 0.3, 0.7]
    known = [True, True, True, False, False, False]
    correct = [True, False, True, False, False, False]
    rows = {r["threshold"]: r for r in sweep(p, known, correct, [0.0, 0.5, 0.8])}
    assert rows[0.0]["unknown_withheld"] == 0 and rows[0.0]["known_withheld"] == 0
    assert rows[0.0]["known_accuracy_labelled"] == pytest.approx(66.67)
    assert rows[0.5]["unknown_withheld"] == pytest.approx(33.33) and rows[0.5]["known_withheld"] == pytest.approx(33.33)
    assert rows[0.5]["known_accuracy_labelled"] == 50.0  # 0.9 right, 0.6 wrong
    assert rows[0.8]["known_accuracy_labelled"] == 100.0 and rows[0.8]["known_correct_labelled"] == pytest.approx(33.33)
    assert rows[0.8]["unknown_withheld"] == pytest.approx(66.67)
