"""ApproximateTimeSynchronizer: message_filters' Python policy, hand-traced cases.

Stamps are written in milliseconds and converted to ns; D = depth input 0,
R = rgb input 1, C = a third input.
"""
from __future__ import annotations

import pytest

from vg4d_ros.pipeline.sync import ApproximateTimeSynchronizer, PassThrough, Synced

MS = 1_000_000


def run(sync, arrivals):
    """arrivals: [(input, stamp_ms)] -> list of emitted stamp tuples (ms) and the Synced objects."""
    out = []
    for i, s in arrivals:
        got = sync.add(i, s * MS, f"{'DRC'[i]}{s}")
        if got is not None:
            out.append(tuple(x // MS for x in got.stamps))
            assert got.msgs == tuple(f"{'DRC'[j]}{x // MS}" for j, x in enumerate(got.stamps))
    return out


def test_jittered_and_reordered():
    sync = ApproximateTimeSynchronizer(2, queue_size=10, slop_ns=10 * MS)
    arrivals = [(0, 0), (1, 2), (0, 33), (1, 31), (1, 70), (0, 66), (0, 100), (1, 101)]
    assert run(sync, arrivals) == [(0, 2), (33, 31), (66, 70), (100, 101)]
    assert sync.queues == [{}, {}]


def test_rgb_at_half_the_depth_rate_leaves_depth_unpaired():
    sync = ApproximateTimeSynchronizer(2, queue_size=10, slop_ns=10 * MS)
    arrivals = [(0, 0), (1, 1), (0, 33), (0, 67), (1, 68), (0, 100), (0, 133), (1, 134)]
    assert run(sync, arrivals) == [(0, 1), (67, 68), (133, 134)]
    assert sorted(sync.queues[0]) == [33 * MS, 100 * MS] and sync.queues[1] == {}


def test_dropped_messages_never_pair_across_the_gap():
    sync = ApproximateTimeSynchronizer(2, queue_size=10, slop_ns=10 * MS)
    # rgb 33 and depth 66 were lost
    assert run(sync, [(0, 0), (1, 0), (0, 33), (1, 66), (0, 100), (1, 99)]) == [(0, 0), (100, 99)]


def test_closest_first_and_ties_in_arrival_order():
    sync = ApproximateTimeSynchronizer(2, queue_size=10, slop_ns=10 * MS)
    assert run(sync, [(0, 10), (0, 18), (1, 15)]) == [(18, 15)]  # 18 is closer than 10
    assert run(sync, [(1, 25)]) == []  # depth 10 is 15 ms away
    sync = ApproximateTimeSynchronizer(2, queue_size=10, slop_ns=10 * MS)
    assert run(sync, [(0, 20), (0, 10), (1, 15)]) == [(20, 15)]  # tie: first inserted wins


def test_slop_is_strict():
    sync = ApproximateTimeSynchronizer(2, queue_size=10, slop_ns=10 * MS)
    assert run(sync, [(0, 0), (1, 10)]) == []
    assert run(sync, [(1, 9)]) == [(0, 9)]


def test_queue_size_evicts_smallest_stamp_even_the_new_one():
    sync = ApproximateTimeSynchronizer(2, queue_size=2, slop_ns=10 * MS)
    assert run(sync, [(0, 0), (0, 10), (0, 20), (1, 1)]) == [(10, 1)]  # depth 0 was evicted
    sync = ApproximateTimeSynchronizer(2, queue_size=2, slop_ns=3 * MS)
    assert run(sync, [(1, 6), (0, 10), (0, 20), (0, 5)]) == []  # late depth 5 evicts itself
    assert sorted(sync.queues[0]) == [10 * MS, 20 * MS] and list(sync.queues[1]) == [6 * MS]


def test_repeated_stamp_overwrites():
    sync = ApproximateTimeSynchronizer(2, queue_size=10, slop_ns=10 * MS)
    sync.add(0, 0, "first")
    sync.add(0, 0, "second")
    assert sync.add(1, 1 * MS, "rgb") == Synced((0, 1 * MS), ("second", "rgb"))


def test_three_inputs_product_order():
    sync = ApproximateTimeSynchronizer(3, queue_size=10, slop_ns=5 * MS)
    run(sync, [(1, 13), (1, 7), (2, 6), (2, 14)])
    # R candidates [13, 7] (tie, insertion order), C candidates [6, 14] (tie);
    # (13, 6) spans 7 ms, (13, 14) spans 4 ms < 5: emitted before (7, 6) is tried
    assert run(sync, [(0, 10)]) == [(10, 13, 14)]
    assert list(sync.queues[1]) == [7 * MS] and list(sync.queues[2]) == [6 * MS]


def test_pass_through_and_errors():
    p = PassThrough()
    assert p.add(0, 5, "cloud") == Synced((5,), ("cloud",))
    with pytest.raises(IndexError):
        p.add(1, 5, "x")
    with pytest.raises(ValueError, match="num_inputs"):
        ApproximateTimeSynchronizer(1, 10, 1)
    with pytest.raises(ValueError, match="slop_ns"):
        ApproximateTimeSynchronizer(2, 10, 0.1)
    with pytest.raises(TypeError, match="int nanoseconds"):
        ApproximateTimeSynchronizer(2, 10, 1).add(0, 1.5, "x")
