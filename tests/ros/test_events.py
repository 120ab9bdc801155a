"""Window scores -> smoothed label -> action events."""
from __future__ import annotations

import numpy as np
import pytest

from vg4d_ros.pipeline.events import ENDED, STARTED, EventSettings, EventTracker

S = 1_000_000_000


def probs(k, p=0.9, n=3):
    out = np.full(n, (1 - p) / (n - 1))
    out[k] = p
    return out


def test_a_label_change_ends_one_segment_and_starts_the_next():
    tr = EventTracker(["a", "b", "c"], EventSettings(alpha=1.0))
    ev = tr.window(probs(0), 0, 1 * S)
    assert [(e.state, e.label, e.start_ns, e.end_ns) for e in ev] == [(STARTED, "a", 0, S)]
    assert tr.window(probs(0), S, 2 * S) == []
    ev = tr.window(probs(1), 2 * S, 3 * S)
    assert [(e.state, e.label) for e in ev] == [(ENDED, "a"), (STARTED, "b")]
    assert ev[0].end_ns == 2 * S and ev[0].windows == 2 and ev[0].ended_by == "label"
    assert ev[0].score == pytest.approx(0.9)
    ev = tr.refused(4 * S, "no_person")
    assert [(e.state, e.label, e.ended_by) for e in ev] == [(ENDED, "b", "no_person")]
    assert tr.current == "" and tr.smoothed is None


def test_smoothing_holds_a_label_through_one_odd_window():
    tr = EventTracker(["a", "b"], EventSettings(alpha=0.3))
    tr.window(probs(0, n=2), 0, S)
    tr.window(probs(0, n=2), S, 2 * S)
    assert tr.window(probs(1, n=2), 2 * S, 3 * S) == []  # one window of 'b' does not flip the label
    assert tr.current == "a"


def test_below_min_score_no_segment_is_open():
    tr = EventTracker(["a", "b", "c"], EventSettings(alpha=1.0, min_score=0.5))
    assert tr.window(probs(0, p=0.4), 0, S) == []
    assert tr.current == ""
    ev = tr.window(probs(2, p=0.8), S, 2 * S)
    assert [(e.state, e.label) for e in ev] == [(STARTED, "c")]
    ev = tr.window(probs(2, p=0.4), 2 * S, 3 * S)
    assert [(e.state, e.ended_by) for e in ev] == [(ENDED, "unsure")]


def test_settings_are_checked():
    with pytest.raises(ValueError, match="alpha"):
        EventSettings(alpha=0.0)
    with pytest.raises(ValueError, match="min_score"):
        EventSettings(min_score=2.0)
