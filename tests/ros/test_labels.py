"""Labels files (YAML and CSV, both clocks) and label-topic segments."""
from __future__ import annotations

import pytest

from vg4d_ros.bags.labels import LabelsError, Segment, bag_key, label_at, load_labels, segments_from_topic

START = 1_700_000_000_000_000_000


def test_yaml_with_both_clocks(tmp_path):
    p = tmp_path / "l.yaml"
    p.write_text("clock: bag\nbags:\n  s1:\n    subject: alice\n    segments:\n      - [0.0, 2.5, wave]\n"
                 "      - {start: 3.0, end: 5.5, label: sit down}\n"
                 "  s2:\n    clock: stamp\n    segments:\n      - [1700000000000000000, 1700000002500000000, wave]\n")
    labels = load_labels(p)
    s1 = labels.for_bag(tmp_path / "s1.mcap").resolve(START)
    assert s1 == [Segment(START, START + 2_500_000_000, "wave"), Segment(START + 3_000_000_000, START + 5_500_000_000,
                                                                         "sit down")]
    assert labels.bags["s1"].subject == "alice"
    assert labels.for_bag("/x/s2").resolve(123) == [Segment(START, START + 2_500_000_000, "wave")]
    assert label_at(s1, START + 2_500_000_000) == "wave" and label_at(s1, START + 2_700_000_000) is None


def test_csv(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text("bag,start,end,label,subject\nb,0,1.5,wave,bob\nb,2,3,bow,bob\n")
    entry = load_labels(p).for_bag("b.db3")
    assert entry.subject == "bob" and entry.resolve(0) == [Segment(0, 1_500_000_000, "wave"),
                                                           Segment(2_000_000_000, 3_000_000_000, "bow")]


@pytest.mark.parametrize("text, match", [
    ("bags:\n  b:\n    segments: [[2.0, 1.0, wave]]\n", "before start"),
    ("bags:\n  b:\n    segments: [[0.0, 2.0, wave], [1.0, 3.0, bow]]\n", "overlap"),
    ("bags:\n  b:\n    clock: wall\n    segments: []\n", "clock must be one of"),
    ("bags:\n  b:\n    clock: stamp\n    segments: [[0.5, 2, wave]]\n", "integer nanoseconds"),
    ("bags:\n  b:\n    segments: [[0, 1, '']]\n", "non-empty class name"),
    ("bags:\n  b:\n    subjct: x\n    segments: []\n", "unknown keys"),
])
def test_bad_files_name_the_problem(tmp_path, text, match):
    p = tmp_path / "l.yaml"
    p.write_text(text)
    with pytest.raises(LabelsError, match=match):
        load_labels(p)


def test_topic_runs_become_segments():
    msgs = [(0, "wave"), (1, "wave"), (2, ""), (3, "bow"), (4, "bow"), (5, "wave")]
    assert segments_from_topic(msgs) == [Segment(0, 1, "wave"), Segment(3, 4, "bow"), Segment(5, 5, "wave")]
    assert bag_key("/a/b/session.mcap") == "session" and bag_key("/a/b/session/") == "session"
