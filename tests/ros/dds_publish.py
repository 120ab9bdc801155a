"""Subprocess of test_dds_loopback: publish one of each test message on a domain.

Usage: python dds_publish.py DOMAIN_ID TOPIC_PREFIX
Waits for each topic's subscriber to match, publishes, then waits for the
parent's "done" line on stdin so that reliable delivery can complete.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dds_helpers import BUILDERS  # noqa: E402
from vg4d_ros.transports.dds import DdsPublisher, participant  # noqa: E402
from vg4d_ros.typestore import ros_typestore  # noqa: E402


def main() -> int:
    domain, prefix = int(sys.argv[1]), sys.argv[2]
    ts = ros_typestore()
    dp = participant(domain)
    pubs = {k: DdsPublisher(dp, f"{prefix}/{k}", t, "results") for k, (_, t) in BUILDERS.items()}
    deadline = time.monotonic() + 20
    while any(p.matched() == 0 for p in pubs.values()):
        if time.monotonic() > deadline:
            print("no subscriber matched", flush=True)
            return 1
        time.sleep(0.02)
    for k, (build, _) in BUILDERS.items():
        pubs[k].publish(build(ts))
    print("published", flush=True)
    sys.stdin.readline()
    return 0


if __name__ == "__main__":
    sys.exit(main())
