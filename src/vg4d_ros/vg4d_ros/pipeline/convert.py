"""THE frame converter: the messages of one synchronised instant -> exactly what the model sees.

Every program that turns sensor messages into model input goes through :class:`FrameConverter`:
``vg4d bag2cache`` (training caches), ``vg4d replay``, the DDS transport and the rclpy node (both via
:class:`vg4d_ros.pipeline.recognizer.Recognizer`). Nothing else converts (a test checks that no other
module calls the message decoders of :mod:`vg4d_ros.pipeline.decode` to build model input).

The steps, for one depth Image (with its CameraInfo) or PointCloud2, plus optional colour and mask::

    raster stride when the input exceeds its limit (decode.raster_stride)
    -> points, metres, optical frame (decode.depth_image_to_points / pointcloud2_to_xyz)
    -> into ``input_frame`` by TF when one is set (transforms.TransformBuffer)
    -> foreground selection, metres (foreground.foreground_keep; the mask at the same stride)
    -> x point_scale -> the stored subset and grid (InputTransform.store_frame: the cache's rule,
       keyed by the frame's stamp, so cache and live keep the same points)
    -> colour: decode.rgb_image_to_array, resized to the training frames' size (vg4d_core.data.rgb)

The settings are one :class:`vg4d_core.data.input_transform.InputTransform` (what the checkpoint or the
cache records, with the user's overrides resolved by :func:`vg4d_ros.pipeline.model.resolve`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vg4d_core.data.depth import CameraIntrinsics
from vg4d_core.data.input_transform import InputTransform
from vg4d_ros.config import ForegroundSettings
from vg4d_ros.pipeline.compressed import as_raw_image
from vg4d_ros.pipeline.decode import (MessageError, camera_intrinsics, depth_image_to_points, mask_image_to_array,
                                      pointcloud2_to_xyz, raster_stride, rgb_image_to_array)
from vg4d_ros.pipeline.foreground import ForegroundConfig, foreground_keep
from vg4d_ros.pipeline.transforms import TransformBuffer, TransformError, strip_slash


class FrameError(MessageError):
    """A message of the instant could not be converted; ``role`` names which (depth, cloud, rgb, mask)."""

    def __init__(self, role: str, text: str) -> None:
        super().__init__(text)
        self.role = role


class NoCameraInfo(ValueError):
    """A depth image arrived before any CameraInfo: it cannot be back-projected yet."""


@dataclass(frozen=True)
class ConvertedFrame:
    """One converted instant.

    Attributes:
        stamp_ns: the depth / cloud message's header stamp (int ns).
        points: (P, 3) float32 model units (metres x point_scale), the stored subset on the grid.
        rgb: (H, W, 3) uint8 RGB at the training frames' size, or None.
        frame_id: the points' frame (``input_frame`` when set, else the message's header.frame_id).
        stride: raster stride the input was read at (1 = whole).
        foreground_points: foreground points before the stored subset.
    """

    stamp_ns: int
    points: np.ndarray
    rgb: np.ndarray | None
    frame_id: str
    stride: int
    foreground_points: int


@dataclass(frozen=True)
class ForegroundFrame:
    """The foreground of one frame before the stored subset (:meth:`FrameConverter.foreground_points`).

    Attributes:
        points_m: (P, 3) float32 metres in ``frame_id``.
        frame_id: the points' frame.
        stride: raster stride the input was read at.
        instance_ids: (P,) int64 mask value of each point, when asked for (else None).
        box: the foreground's pixel box ``(x0, y0, x1, y1)`` (end-exclusive) in the full depth image, None
            without one (a cloud, an empty foreground): where a registered colour image's ``person`` crop
            goes (``rgb_fit``).
        image_hw: the depth image's (H, W) pixels (None for a cloud).
    """

    points_m: np.ndarray
    frame_id: str
    stride: int
    instance_ids: np.ndarray | None = None
    box: tuple[int, int, int, int] | None = None
    image_hw: tuple[int, int] | None = None


def foreground_of(transform: InputTransform, use_mask: bool) -> ForegroundConfig:
    """The :class:`ForegroundConfig` of a transform's ``foreground`` dict (the recogniser's
    ``foreground`` section, as ``vg4d_ros.config.ForegroundSettings`` writes it)."""
    import dataclasses

    known = {f.name for f in dataclasses.fields(ForegroundSettings)}
    return ForegroundSettings(**{k: v for k, v in transform.foreground.items() if k in known}).to_foreground(use_mask)


class FrameConverter:
    """Messages of one instant -> :class:`ConvertedFrame` (see the module docstring).

    Args:
        transform: the conversion settings (``input``, limits, foreground, scale, stored subset, grid,
            colour size).
        use_mask: a mask image accompanies each depth image.
        input_frame: move points into this frame before the foreground ("" = keep the sensor's).
        tf: the transforms for ``input_frame`` (fed by the transport); a new empty one by default.
    """

    def __init__(self, transform: InputTransform, *, use_mask: bool = False, input_frame: str = "",
                 tf: TransformBuffer | None = None, depth_unit_m: float = 0.0) -> None:
        if transform.input not in ("depth", "cloud"):
            raise ValueError(f"InputTransform.input must be 'depth' or 'cloud', got {transform.input!r}")
        self.transform = transform
        self.role = transform.input
        self.foreground = foreground_of(transform, use_mask)
        self.limit = int(transform.max_depth_pixels if self.role == "depth" else transform.max_cloud_points)
        self.input_frame = strip_slash(input_frame)
        # the camera's, not the model's: metres per raw depth unit (None = 16UC1 mm, 32FC1 m)
        self.depth_unit = float(depth_unit_m) if depth_unit_m else None
        self.tf = tf if tf is not None else TransformBuffer()
        self.intrinsics: CameraIntrinsics | None = None
        self._camera_key: Any = None

    # -- camera ---------------------------------------------------------------------------------
    def set_camera_info(self, msg: Any) -> bool:
        """Take a CameraInfo (built once per camera, not per frame); True when the camera changed.
        A malformed one raises :class:`FrameError` (role ``camera_info``) and keeps the previous."""
        key = (tuple(np.asarray(getattr(msg, "k", getattr(msg, "K", ())), dtype=float).reshape(-1).tolist()),
               getattr(msg, "width", 0), getattr(msg, "height", 0))
        if key == self._camera_key:
            return False
        try:
            self.intrinsics = camera_intrinsics(msg)
        except MessageError as exc:
            raise FrameError("camera_info", str(exc)) from None
        self._camera_key = key
        return True

    @property
    def ready(self) -> bool:
        """Whether a frame can be converted now (depth needs a CameraInfo first)."""
        return self.role == "cloud" or self.intrinsics is not None

    # -- frames ---------------------------------------------------------------------------------
    def points(self, msg: Any) -> tuple[np.ndarray, np.ndarray | None, int]:
        """Decode the depth / cloud message: ``(points (P, 3) float32 metres, pixels (P, 2) int64 or
        None, stride)``; raises :class:`FrameError` or :class:`NoCameraInfo`."""
        points, pixels, stride, _ = self._points(msg)
        return points, pixels, stride

    def _points(self, msg: Any) -> tuple[np.ndarray, np.ndarray | None, int, tuple[int, int] | None]:
        """:meth:`points` and the depth image's (H, W) (None for a cloud)."""
        try:
            if self.role == "depth":
                msg = as_raw_image(msg, "depth")  # compressedDepth: decoded once, here
            stride = raster_stride(msg, self.limit) if self.limit > 0 else 1
            if self.role == "cloud":
                return pointcloud2_to_xyz(msg, allow_empty=True, stride=stride), None, stride, None
            if self.intrinsics is None:
                raise NoCameraInfo("no CameraInfo yet")
            points, pixels = depth_image_to_points(msg, self.intrinsics, return_pixels=True, stride=stride,
                                                   depth_unit=self.depth_unit)
            return points, pixels, stride, (int(msg.height), int(msg.width))
        except MessageError as exc:
            raise FrameError(self.role, str(exc)) from None

    def convert(self, stamp_ns: int, main: Any, rgb: Any = None, mask: Any = None) -> ConvertedFrame:
        """One instant: the depth image or cloud ``main`` (stamped ``stamp_ns``), optional colour and mask.

        Raises :class:`FrameError` (a malformed message; ``role`` says which), :class:`NoCameraInfo`, or
        :class:`~vg4d_ros.pipeline.transforms.TransformError` (no transform into ``input_frame`` yet).
        """
        fg = self.foreground_points(main, mask)
        return ConvertedFrame(int(stamp_ns), self.store(fg.points_m, stamp_ns), self.colour_or_none(rgb, fg),
                              fg.frame_id, fg.stride, int(fg.points_m.shape[0]))

    def foreground_points(self, main: Any, mask: Any = None, *, instance_ids: bool = False) -> ForegroundFrame:
        """The first half of :meth:`convert`: decode, TF, foreground -> points in metres.

        ``instance_ids``: also return each kept point's value in the mask image (an instance-id mask:
        0 = background, one id per person; the multi-person path splits people by it)."""
        points, pixels, stride, image_hw = self._points(main)
        frame_id = str(getattr(getattr(main, "header", None), "frame_id", "") or "")
        if self.input_frame:  # the foreground settings are in the model's frame: move the points there
            source = strip_slash(frame_id)
            if source != self.input_frame:
                if not source:
                    raise TransformError(f"frames carry no header.frame_id: no transform to {self.input_frame}")
                points = self.tf.lookup(self.input_frame, source).apply(points)
            frame_id = self.input_frame
        ids = None
        try:
            if mask is not None:  # aligned with the (strided) depth image's pixels
                mask = mask_image_to_array(mask, stride=stride)
            keep = foreground_keep(points, self.foreground, pixels=pixels, mask=mask)
            if instance_ids:
                if mask is None or pixels is None:
                    raise ValueError("instance ids need a mask image aligned with a depth image")
                kept = pixels[keep]
                ids = np.asarray(mask[kept[:, 1], kept[:, 0]], dtype=np.int64)
        except (MessageError, ValueError) as exc:
            raise FrameError("mask", str(exc)) from None
        box = None
        if pixels is not None and self.transform.rgb_fit == "person":
            kept = pixels[keep]
            if kept.shape[0]:  # strided pixels (u', v') -> the full image's: u = u' * stride
                lo, hi = kept.min(axis=0) * stride, (kept.max(axis=0) + 1) * stride
                box = (int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1]))
        return ForegroundFrame(points[keep], frame_id, stride, ids, box, image_hw)

    def store(self, points_m: np.ndarray, stamp_ns: int) -> np.ndarray:
        """The second half of :meth:`convert`: (P, 3) metres -> x point_scale -> the stored subset and grid
        (model units), keyed by the frame's stamp as the training cache does."""
        scale = self.transform.point_scale
        if scale not in (0.0, 1.0):
            points_m = points_m * np.float32(scale)
        return self.transform.store_frame(points_m, stamp_ns)

    def colour_or_none(self, rgb: Any, fg: ForegroundFrame | None = None) -> np.ndarray | None:
        """:meth:`colour` of ``rgb``, None without one; a malformed one raises :class:`FrameError`."""
        if rgb is None:
            return None
        try:
            return self.colour(rgb, fg)
        except MessageError as exc:
            raise FrameError("rgb", str(exc)) from None

    def colour(self, msg: Any, fg: ForegroundFrame | None = None) -> np.ndarray:
        """A colour Image -> (S, S, 3) uint8 RGB as the training cache made its frames (or as decoded when
        the transform records no size). With ``rgb_fit`` ``person`` the square goes around the foreground's
        box of ``fg`` (the colour image registered to the depth image: same field of view, any size; a
        frame without a foreground takes the centre crop, as training did)."""
        rgb = rgb_image_to_array(msg)
        size = int(self.transform.rgb_size or 0)
        if size:
            from vg4d_core.data.rgb import resize_frame, scale_box  # takes BGR, as the cache's cv2 reader gives it

            box = None
            if fg is not None and fg.box is not None and fg.image_hw is not None:
                box = scale_box(fg.box, fg.image_hw, rgb.shape[:2])
            rgb = resize_frame(rgb[:, :, ::-1], size, str(self.transform.rgb_fit), box)
        return rgb
