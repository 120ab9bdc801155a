"""Subprocess of the DDS recogniser tests: a synthetic 30 Hz depth + camera_info + RGB camera.

Usage: python dds_stream.py DOMAIN PREFIX FRAMES [--bad] [--compressed]
Waits until the recogniser's readers match, then publishes FRAMES frames at
30 Hz with stamps T0 + i * PERIOD (recognizer_helpers); with --bad, the depth
of frames BAD_SHORT is a short payload and after frames BAD_ENCODING a depth
image says rgb8; with --compressed, depth goes out as image_transport's
PREFIX/depth/compressedDepth (RVL) and colour as PREFIX/rgb/compressed (JPEG).
Prints "published N" and exits.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recognizer_helpers import bad_depth_msg, camera_info_msg, depth_msg, rgb_msg  # noqa: E402
from vg4d_ros.transports.dds import DdsPublisher, participant  # noqa: E402
from vg4d_ros.typestore import ros_typestore  # noqa: E402

T0, PERIOD = 5_000_000_000, 33_333_333
# each malformed kind is sent three times: sensor topics are best-effort, so any one sample may be
# lost on a busy machine (seen: 58 of 60 depth images arrived)
BAD_SHORT = (5, 25, 45)  # frames whose depth payload is too short
BAD_ENCODING = (10, 30, 50)  # frames followed by a depth image that says rgb8


def main() -> int:
    domain, prefix, frames = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    bad = "--bad" in sys.argv
    ts = ros_typestore()
    dp = participant(domain)
    packed = "--compressed" in sys.argv
    image, compressed = "sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage"
    depth = DdsPublisher(dp, f"{prefix}/depth" + ("/compressedDepth" if packed else ""), compressed if packed else image,
                         "sensor", ts)
    info = DdsPublisher(dp, f"{prefix}/camera_info", "sensor_msgs/msg/CameraInfo", "sensor", ts)
    rgb = DdsPublisher(dp, f"{prefix}/rgb" + ("/compressed" if packed else ""), compressed if packed else image,
                       "sensor", ts)

    def pack(msg, role):
        if not packed:
            return msg
        from vg4d_ros.pipeline.compressed import encode_colour, encode_depth
        from vg4d_ros.pipeline.decode import depth_image_to_array, rgb_image_to_array

        fields = (encode_depth(depth_image_to_array(msg), msg.header, "rvl") if role == "depth"
                  else encode_colour(rgb_image_to_array(msg), msg.header))
        return ts.types[compressed](header=msg.header, format=fields["format"],
                                    data=np.frombuffer(fields["data"], np.uint8))
    deadline = time.monotonic() + 120
    while depth.matched() == 0 or info.matched() == 0:
        if time.monotonic() > deadline:
            print("no recogniser matched", flush=True)
            return 1
        time.sleep(0.05)
    time.sleep(0.5)  # the remote reader's side of the match settles
    start = time.monotonic()
    for i in range(frames):
        stamp = T0 + i * PERIOD
        info.publish(camera_info_msg(ts, stamp))
        depth.publish(bad_depth_msg(ts, stamp) if bad and i in BAD_SHORT else pack(depth_msg(ts, i, stamp), "depth"))
        rgb.publish(pack(rgb_msg(ts, stamp), "rgb"))
        if bad and i in BAD_ENCODING:  # a depth image of a colour encoding
            wrong = depth_msg(ts, i, stamp + 1)
            wrong.encoding = "rgb8"
            depth.publish(wrong)
        time.sleep(max(0.0, start + (i + 1) / 30 - time.monotonic()))
    print(f"published {frames}", flush=True)
    time.sleep(1.0)  # let best-effort samples leave before the writer goes
    return 0


if __name__ == "__main__":
    sys.exit(main())
