"""The recognizer on a full VG4D checkpoint (pretrain -> vlm -> crossmodal on a tiny X-CLIP):
depth + RGB in, all four scores and their fusion out, equal to the predictor on the same window;
the same checkpoint point-cloud only when no RGB topic is configured."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from stage_chain import recipes  # noqa: E402

from recognizer_helpers import camera_info_msg, depth_msg, rgb_msg  # noqa: E402
from vg4d_core.cli import main as vg4d  # noqa: E402
from vg4d_ros.config import load_recognizer_config  # noqa: E402
from vg4d_ros.pipeline.recognizer import Recognizer
from vg4d_ros.pipeline.model import load_model

PERIOD = 33_333_333
T0 = 7_000_000_000


@pytest.fixture(scope="module")
def crossmodal(tmp_path_factory):
    from vg4d_core.vlm.tiny import write_tiny_xclip

    d = tmp_path_factory.mktemp("vg4d")
    r = recipes(d, write_tiny_xclip(d / "xclip"))
    for stage, out in (("pretrain", "pre"), ("vlm", "vlm"), ("crossmodal", "cross")):
        assert vg4d(["train", "--config", str(r[stage]), "--out", str(d / out), "progress=false"]) == 0
    return d / "cross" / "last.pt"


def _png(typestore, msg, role):
    """``msg`` as image_transport's lossless compressed form (PNG colour, PNG compressedDepth)."""
    from vg4d_ros.pipeline.compressed import encode_colour, encode_depth
    from vg4d_ros.pipeline.decode import depth_image_to_array, rgb_image_to_array

    fields = (encode_depth(depth_image_to_array(msg), msg.header, "png") if role == "depth"
              else encode_colour(rgb_image_to_array(msg), msg.header, "png"))
    return typestore.types["sensor_msgs/msg/CompressedImage"](header=msg.header, format=fields["format"],
                                                              data=np.frombuffer(fields["data"], np.uint8))


def _run(ckpt, typestore, *overrides, rgb=True, packed=False):
    cfg = load_recognizer_config("config/recognize.yaml", [f"inference.checkpoint={ckpt}", "inference.device=cpu", "window.min_coverage=0", "window.views=1",
                                                           "window.hop_frames=8", "window.min_frames=8",
                                                           "foreground.min_depth=0.1", *overrides])
    model = load_model(cfg)
    results = []
    rec = Recognizer(cfg, model, results.append)
    rec.start()
    rec.on_camera_info(camera_info_msg(typestore, T0))
    for i in range(8):
        stamp = T0 + i * PERIOD
        depth, colour = depth_msg(typestore, i, stamp), rgb_msg(typestore, stamp)
        rec.on_depth(_png(typestore, depth, "depth") if packed else depth)
        if rgb:
            rec.on_rgb(_png(typestore, colour, "rgb") if packed else colour)
    assert rec.wait_idle(120)
    window = rec.buffer.window()
    rec.stop()
    return model, results, window


def test_depth_and_rgb_give_the_four_scores_and_their_fusion(crossmodal, typestore):
    from vg4d_core.runtime.collate import collate_clips

    model, results, window = _run(crossmodal, typestore, "topics.rgb=/camera/color/image_raw")
    assert results, "no window was labelled"
    scores = results[-1].scores
    assert set(scores) == {"pc", "pc_text", "rgb", "rgb_text", "fused"}
    assert results[-1].primary == "fused"
    assert window.rgb is not None and window.rgb.dtype == np.uint8
    direct = model.predictor(collate_clips([{"points": window.points, "rgb": window.rgb, "label": 0,
                                             "video": "w"}]))
    for name in scores:
        np.testing.assert_allclose(scores[name], direct[name][0].numpy(), rtol=1e-5, atol=1e-6)


def test_without_an_rgb_topic_the_same_checkpoint_is_point_cloud_only(crossmodal, typestore):
    model, results, _ = _run(crossmodal, typestore, "topics.rgb=", rgb=False)
    assert results and set(results[-1].scores) == {"pc", "pc_text", "fused"}


def test_compressed_depth_and_colour_give_the_scores_of_the_raw_images(crossmodal, typestore):
    # a robot's recording: PNG compressedDepth and PNG colour, both lossless, decode to the raw images
    _, raw, _ = _run(crossmodal, typestore, "topics.rgb=/camera/color/image_raw")
    _, packed, window = _run(crossmodal, typestore, "topics.rgb=/camera/color/image_raw/compressed", packed=True)
    assert raw and len(packed) == len(raw) and window.rgb is not None
    for a, b in zip(raw, packed):
        assert a.stamp_ns == b.stamp_ns and set(a.scores) == set(b.scores) == {"pc", "pc_text", "rgb", "rgb_text",
                                                                                 "fused"}
        for name in a.scores:
            np.testing.assert_array_equal(a.scores[name], b.scores[name])
