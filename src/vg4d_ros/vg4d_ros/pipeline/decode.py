"""ROS 2 sensor messages -> numpy arrays (pure functions, no rclpy).

Messages are duck-typed on their ROS field names, so the same functions take
rclpy messages, ``rosbags.typesys`` dataclasses (bag replay, the DDS path of
:mod:`vg4d_ros.transports.dds`) and cyclonedds IdlStructs. A ``data`` payload may be a
numpy array, ``bytes``/``bytearray``/``memoryview``, ``array.array('B')``
(rclpy) or a list of ints (cyclonedds' own decoder).

Every malformed message raises :class:`MessageError` naming the message type
and the field at fault; nothing here guesses around a bad message.

Functions:

* :func:`stamp_ns` - ``header.stamp`` (or a ``Time``) -> int nanoseconds.
* :func:`pointcloud2_to_xyz` - ``sensor_msgs/PointCloud2`` -> (P, 3) float32.
* :func:`depth_image_to_array` - depth ``sensor_msgs/Image`` -> (H, W).
* :func:`camera_intrinsics` - ``sensor_msgs/CameraInfo`` -> CameraIntrinsics.
* :func:`depth_image_to_points` - depth image + camera info -> (P, 3) float32.
* :func:`rgb_image_to_array` - colour ``sensor_msgs/Image`` -> (H, W, 3) uint8 RGB.
* :func:`mask_image_to_array` - mask ``sensor_msgs/Image`` -> (H, W) bool.

The three image functions take a ``sensor_msgs/CompressedImage`` too (image_transport's ``compressed``
JPEG / PNG and ``compressedDepth`` PNG / RVL): :func:`vg4d_ros.pipeline.compressed.as_raw_image` decodes
it first into the fields of the raw image.

Input reduction: :func:`raster_stride` picks the integer stride ``s`` that
keeps an image or an organised cloud within a pixel / point budget; the
depth, mask and cloud converters then read only every s-th row and column
of the payload (a strided view: the skipped bytes are never touched), and
:func:`strided_intrinsics` gives the camera of such an image.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from vg4d_core.data.depth import CameraIntrinsics, check_image_size, depth_to_points
from vg4d_ros.pipeline.compressed import as_raw_image


class MessageError(ValueError):
    """A ROS message whose content is inconsistent or unsupported."""


# sensor_msgs/PointField datatype constants -> numpy base type
_POINTFIELD_TYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 8: "f8"}
_FLOAT_POINTFIELD = {7, 8}

# depth encodings -> (numpy base type, bytes per pixel)
_DEPTH_ENCODINGS = {"16UC1": ("u2", 2), "mono16": ("u2", 2), "32FC1": ("f4", 4)}
# colour encodings -> (channels, channel order to take for R, G, B)
_COLOR_ENCODINGS = {
    "rgb8": (3, (0, 1, 2)), "bgr8": (3, (2, 1, 0)),
    "rgba8": (4, (0, 1, 2)), "bgra8": (4, (2, 1, 0)),
    "mono8": (1, (0, 0, 0)), "8UC1": (1, (0, 0, 0)), "8UC3": (3, (0, 1, 2)),
}
# packed 4:2:2 colour (webcams, some RGB-D colour streams) -> the OpenCV conversion's name; ROS names
# "yuv422" the U Y0 V Y1 byte order (UYVY) and "yuv422_yuy2" Y0 U Y1 V (YUYV); Iron and later add the
# plain names "uyvy" / "yuyv"
_YUV422_ENCODINGS = {"yuv422": "COLOR_YUV2RGB_UYVY", "uyvy": "COLOR_YUV2RGB_UYVY",
                     "yuv422_yuy2": "COLOR_YUV2RGB_YUYV", "yuyv": "COLOR_YUV2RGB_YUYV"}
# mask encodings -> (numpy base type, bytes per pixel)
_MASK_ENCODINGS = {"mono8": ("u1", 1), "8UC1": ("u1", 1), "16UC1": ("u2", 2), "mono16": ("u2", 2)}


def _where(msg: Any, what: str) -> str:
    return f"{what} ({type(msg).__name__})"


def _get(msg: Any, name: str, what: str) -> Any:
    try:
        return getattr(msg, name)
    except AttributeError:
        raise MessageError(f"{_where(msg, what)} has no field {name!r}") from None


def _uint(msg: Any, name: str, what: str) -> int:
    value = _get(msg, name, what)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise MessageError(f"{_where(msg, what)}.{name} must be a non-negative int, got {value!r}")
    return int(value)


def _payload(msg: Any, what: str) -> np.ndarray:
    """``msg.data`` as a 1-D uint8 array (a view when the payload allows one)."""
    data = _get(msg, "data", what)
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise MessageError(f"{_where(msg, what)}.data must hold uint8 bytes, got dtype {data.dtype}")
        return data.reshape(-1)
    if isinstance(data, (list, tuple)):  # cyclonedds' IdlStruct decoder
        return np.asarray(data, dtype=np.uint8)
    try:
        return np.frombuffer(data, dtype=np.uint8)
    except TypeError:
        raise MessageError(f"{_where(msg, what)}.data is not a byte buffer: {type(data).__name__}") from None


def _byte_order(msg: Any, what: str) -> str:
    return ">" if bool(_get(msg, "is_bigendian", what)) else "<"


def stamp_ns(msg_or_stamp: Any) -> int:
    """Stamp of a message (``header.stamp``), a Header or a ``Time`` -> int ns.

    Accepts ``builtin_interfaces/Time`` (``sec``, ``nanosec``), anything with
    a ``nanoseconds`` attribute (rclpy ``Time``), a Header, or a message with
    a header.
    """
    obj = msg_or_stamp
    if hasattr(obj, "header"):
        obj = obj.header
    if hasattr(obj, "stamp"):
        obj = obj.stamp
    if hasattr(obj, "nanoseconds"):
        return int(obj.nanoseconds)
    try:
        sec, nanosec = int(obj.sec), int(obj.nanosec)
    except AttributeError:
        raise MessageError(f"{type(msg_or_stamp).__name__} has no header.stamp (sec, nanosec)") from None
    if not 0 <= nanosec < 1_000_000_000:
        raise MessageError(f"stamp nanosec must be in [0, 1e9), got {nanosec}")
    return sec * 1_000_000_000 + nanosec


# -- input reduction -------------------------------------------------------------
def stride_within(height: int, width: int, max_elements: int) -> int:
    """The smallest integer ``s >= 1`` with ``ceil(height / s) * ceil(width / s) <= max_elements``.

    1 when the raster fits already (it is then converted whole). Ends: at ``s = max(height, width)``
    one element is left, and ``max_elements >= 1``.
    """
    if max_elements < 1:
        raise ValueError(f"max_elements must be >= 1, got {max_elements!r}")
    if height * width <= max_elements:
        return 1
    # (H/s)(W/s) <= max gives the first candidate; the ceilings may need a step or two more
    s = max(2, int((height * width / max_elements) ** 0.5))
    while -(-height // s) * -(-width // s) > max_elements:
        s += 1
    return s


def raster_stride(msg: Any, max_elements: int) -> int:
    """Stride (rows and columns) that keeps an Image's pixels or a PointCloud2's points within
    ``max_elements`` (:func:`stride_within` of its ``height`` x ``width``; an unorganised cloud,
    height 1, is strided along its one row)."""
    msg = as_raw_image(msg)
    what = type(msg).__name__
    return stride_within(_uint(msg, "height", what), _uint(msg, "width", what), max_elements)


def strided_intrinsics(intrinsics: CameraIntrinsics, stride: int) -> CameraIntrinsics:
    """The camera of an image that keeps every ``stride``-th pixel of each row and column, from (0, 0).

    Pixel ``(u', v')`` of the strided image is pixel ``(s u', s v')`` of the full one, so
    ``x = (s u' - cx) z / fx = (u' - cx / s) z / (fx / s)``: focal lengths and principal point divide by
    ``s`` (not :meth:`CameraIntrinsics.scaled`'s pixel-area rule, which is for resampled images).
    """
    s = int(stride)
    if s == 1:
        return intrinsics
    return CameraIntrinsics(fx=intrinsics.fx / s, fy=intrinsics.fy / s, cx=intrinsics.cx / s, cy=intrinsics.cy / s,
                            width=None if intrinsics.width is None else -(-intrinsics.width // s),
                            height=None if intrinsics.height is None else -(-intrinsics.height // s))


def _check_stride(stride: int) -> int:
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be a positive int, got {stride!r}")
    return int(stride)


# -- PointCloud2 ---------------------------------------------------------------
def pointcloud2_to_xyz(msg: Any, *, allow_empty: bool = False, stride: int = 1) -> np.ndarray:
    """``sensor_msgs/PointCloud2`` -> (P, 3) float32 x, y, z (message units, metres).

    Honours ``fields`` (name, offset, datatype, count), ``point_step``,
    ``row_step``, ``height`` (organised clouds, read row by row) and
    ``is_bigendian``; x, y, z may be FLOAT32 or FLOAT64. Points with a NaN or
    inf coordinate are dropped whatever ``is_dense`` says (a dense flag is
    often wrong). Order: row-major over (height, width).

    Args:
        allow_empty: accept a cloud of 0 points (``width * height == 0``) and
            return (0, 3); by default an empty cloud is a :class:`MessageError`.
        stride: read only every ``stride``-th row and column (points
            ``[::stride, ::stride]`` of the (height, width) raster; see
            :func:`raster_stride`): the other points' bytes are not read.
            The payload's size is checked against the whole cloud all the same.
    """
    stride = _check_stride(stride)
    what = "sensor_msgs/PointCloud2"
    height, width = _uint(msg, "height", what), _uint(msg, "width", what)
    point_step, row_step = _uint(msg, "point_step", what), _uint(msg, "row_step", what)
    if height * width == 0:
        if allow_empty:
            return np.zeros((0, 3), dtype=np.float32)
        raise MessageError(f"{_where(msg, what)} is empty (height={height}, width={width})")
    fields = {}
    for f in _get(msg, "fields", what):
        fields[str(_get(f, "name", f"{what}.fields[]"))] = f
    order = _byte_order(msg, what)
    buf = _payload(msg, what)
    if row_step < width * point_step:
        raise MessageError(f"{_where(msg, what)}.row_step={row_step} < width*point_step={width * point_step}")
    if buf.size != height * row_step:
        raise MessageError(f"{_where(msg, what)}.data has {buf.size} bytes, expected "
                           f"height*row_step={height * row_step}")
    kept = (-(-height // stride), -(-width // stride))
    out = np.empty(kept + (3,), dtype=np.float32)
    for axis, name in enumerate("xyz"):
        if name not in fields:
            raise MessageError(f"{_where(msg, what)}.fields has no {name!r} field (has {sorted(fields)})")
        f = fields[name]
        datatype = _uint(f, "datatype", f"{what}.fields[{name}]")
        offset = _uint(f, "offset", f"{what}.fields[{name}]")
        if datatype not in _FLOAT_POINTFIELD:
            raise MessageError(f"{_where(msg, what)}.fields[{name}].datatype={datatype} is not FLOAT32 (7) "
                               f"or FLOAT64 (8)")
        dtype = np.dtype(order + _POINTFIELD_TYPES[datatype])
        if offset + dtype.itemsize > point_step:
            raise MessageError(f"{_where(msg, what)}.fields[{name}] (offset {offset}, {dtype.itemsize} bytes) "
                               f"does not fit point_step={point_step}")
        # a strided view over the payload: no per-point Python work and no
        # copy of the other fields (intensity, rgb, ...)
        view = np.ndarray((height, width), dtype=dtype, buffer=buf, offset=offset, strides=(row_step, point_step))
        out[:, :, axis] = view[::stride, ::stride]
    out = out.reshape(-1, 3)
    finite = np.isfinite(out).all(axis=1)
    return out if finite.all() else out[finite]


# -- images ---------------------------------------------------------------------
def _image_view(msg: Any, what: str, base: str, bpp: int, channels: int = 1) -> np.ndarray:
    """(H, W, channels) view of an image payload, rows honouring ``step``."""
    height, width, step = _uint(msg, "height", what), _uint(msg, "width", what), _uint(msg, "step", what)
    if height == 0 or width == 0:
        raise MessageError(f"{_where(msg, what)} is empty ({width}x{height})")
    row_bytes = width * bpp * channels
    if step < row_bytes:
        raise MessageError(f"{_where(msg, what)}.step={step} < width*bytes_per_pixel={row_bytes}")
    buf = _payload(msg, what)
    if buf.size != height * step:
        raise MessageError(f"{_where(msg, what)}.data has {buf.size} bytes, expected height*step={height * step}")
    order = _byte_order(msg, what) if bpp > 1 else "|"
    dtype = np.dtype(order + base)
    return np.ndarray((height, width, channels), dtype=dtype, buffer=buf, strides=(step, bpp * channels, bpp))


def _encoding(msg: Any, what: str) -> str:
    return str(_get(msg, "encoding", what))


def depth_image_to_array(img: Any, *, stride: int = 1) -> np.ndarray:
    """Depth ``sensor_msgs/Image`` -> (H, W) native-endian array (a copy).

    ``16UC1`` (and ``mono16``) -> uint16 raw units (millimetres by the ROS
    convention), 0 = no data; ``32FC1`` -> float32 metres, NaN = no data. Row
    padding (``step``) and ``is_bigendian`` are honoured. With ``stride`` > 1
    only pixels ``[::stride, ::stride]`` are copied: (ceil(H/s), ceil(W/s)).
    """
    stride = _check_stride(stride)
    what = "sensor_msgs/Image(depth)"
    img = as_raw_image(img, "depth")
    enc = _encoding(img, what)
    if enc not in _DEPTH_ENCODINGS:
        raise MessageError(f"{_where(img, what)}.encoding={enc!r} is not a depth encoding "
                           f"{sorted(_DEPTH_ENCODINGS)}")
    base, bpp = _DEPTH_ENCODINGS[enc]
    view = _image_view(img, what, base, bpp)[::stride, ::stride, 0]
    if not view.dtype.isnative:  # big-endian payload on a little-endian host (or the reverse)
        return view.astype(np.dtype(base))
    return np.ascontiguousarray(view)


def camera_intrinsics(camera_info: Any) -> CameraIntrinsics:
    """``sensor_msgs/CameraInfo`` -> :class:`CameraIntrinsics` (pixels).

    Reads ``k`` (3x3 row-major: fx = k[0], cx = k[2], fy = k[4], cy = k[5]; a
    ROS 1 style ``K`` is accepted too) and ``width``/``height`` (0 = unknown,
    no size check). ROI and binning are not applied (a binned camera must
    publish intrinsics for the binned image).
    """
    what = "sensor_msgs/CameraInfo"
    k = getattr(camera_info, "k", None)
    if k is None:
        k = getattr(camera_info, "K", None)
    if k is None:
        raise MessageError(f"{_where(camera_info, what)} has no field 'k'")
    k = np.asarray(k, dtype=np.float64).reshape(-1)
    if k.size != 9:
        raise MessageError(f"{_where(camera_info, what)}.k must have 9 values (3x3 row-major), got {k.size}")
    width = _uint(camera_info, "width", what)
    height = _uint(camera_info, "height", what)
    try:
        return CameraIntrinsics(fx=float(k[0]), fy=float(k[4]), cx=float(k[2]), cy=float(k[5]),
                                width=width or None, height=height or None)
    except ValueError as exc:
        raise MessageError(f"{_where(camera_info, what)}.k = {k.tolist()}: {exc}") from None


def _backproject(depth: np.ndarray, intrinsics: CameraIntrinsics, *, min_depth: float | None,
                 max_depth: float | None, scale: float, return_pixels: bool, depth_unit: float | None = None):
    """The ONE place depth pixels become points (the training cache's function family)."""
    return depth_to_points(depth, intrinsics, depth_unit=depth_unit, scale=scale, min_depth=min_depth,
                           max_depth=max_depth, return_pixels=return_pixels)


def depth_image_to_points(img: Any, camera_info: Any, *, min_depth: float | None = None,
                          max_depth: float | None = None, scale: float = 1.0, return_pixels: bool = False,
                          stride: int = 1, depth_unit: float | None = None):
    """Depth ``sensor_msgs/Image`` -> (P, 3) float32 points in the optical frame.

    Args:
        img: ``16UC1`` (mm, 0 invalid) or ``32FC1`` (m, NaN invalid) image; ``depth_unit`` (metres per
            raw unit) overrides that convention for a driver that departs from it.
        camera_info: a ``sensor_msgs/CameraInfo`` message, or an already built
            :class:`CameraIntrinsics` (build it once per camera, not per frame).
        min_depth, max_depth: optional inclusive valid range in metres.
        scale: output units per metre (1.0 = metres, the project default).
        return_pixels: also return the (P, 2) int64 ``(u, v)`` of each point.
        stride: back-project only pixels ``[::stride, ::stride]`` (see
            :func:`raster_stride`), as the image of :func:`strided_intrinsics`;
            ``pixels`` are then that strided image's ``(u', v')`` (a mask must
            be strided the same way: ``mask_image_to_array(stride=...)``).
    Returns:
        (P, 3) float32 x right, y down, z forward, valid pixels in raster
        order; with ``return_pixels`` a tuple ``(points, pixels)``.
    """
    intr = camera_info if isinstance(camera_info, CameraIntrinsics) else camera_intrinsics(camera_info)
    img = as_raw_image(img, "depth")
    depth = depth_image_to_array(img, stride=stride)
    try:
        if stride > 1:  # the full image must fit its camera (an error then names the sizes the camera gave)
            check_image_size((_uint(img, "height", "Image"), _uint(img, "width", "Image")), intr)
            intr = strided_intrinsics(intr, stride)
        return _backproject(depth, intr, min_depth=min_depth, max_depth=max_depth, scale=scale,
                            return_pixels=return_pixels, depth_unit=depth_unit)
    except ValueError as exc:  # e.g. image size != camera_info size
        raise MessageError(f"{_where(img, 'sensor_msgs/Image(depth)')}: {exc}") from None


def rgb_image_to_array(img: Any) -> np.ndarray:
    """Colour ``sensor_msgs/Image`` -> (H, W, 3) uint8 RGB, C-contiguous (a copy).

    Encodings: rgb8, bgr8, rgba8, bgra8 (alpha dropped), 8UC3 (taken as RGB),
    mono8 / 8UC1 (grey replicated to three channels), packed 4:2:2 YUV (yuv422 = UYVY,
    yuv422_yuy2 = YUYV, and their names uyvy / yuyv; BT.601 as OpenCV converts it,
    even width). Row padding honoured.
    """
    what = "sensor_msgs/Image(rgb)"
    img = as_raw_image(img, "rgb")
    enc = _encoding(img, what)
    if enc in _YUV422_ENCODINGS:
        return _yuv422_to_rgb(img, what, enc)
    if enc not in _COLOR_ENCODINGS:
        raise MessageError(f"{_where(img, what)}.encoding={enc!r} is not supported; use one of "
                           f"{sorted(set(_COLOR_ENCODINGS) | set(_YUV422_ENCODINGS))}")
    channels, order = _COLOR_ENCODINGS[enc]
    view = _image_view(img, what, "u1", 1, channels)
    if order == (0, 1, 2) and channels == 3:
        return np.ascontiguousarray(view)
    # one strided copy per channel: ~4x faster than fancy indexing or a
    # reversed-stride view (0.4 ms vs 1.6-3.5 ms for 640x480 bgr8)
    out = np.empty(view.shape[:2] + (3,), dtype=np.uint8)
    for c, src in enumerate(order):
        out[:, :, c] = view[:, :, src]
    return out


def _yuv422_to_rgb(img: Any, what: str, enc: str) -> np.ndarray:
    """Packed 4:2:2 YUV (two bytes a pixel, a chroma pair shared by two pixels) -> (H, W, 3) uint8 RGB."""
    import cv2

    width = _uint(img, "width", what)
    if width % 2:
        raise MessageError(f"{_where(img, what)}.encoding={enc!r} packs pixels in pairs: width {width} must be even")
    view = np.ascontiguousarray(_image_view(img, what, "u1", 1, 2))  # (H, W, 2): rows without padding
    return cv2.cvtColor(view, getattr(cv2, _YUV422_ENCODINGS[enc]))


def mask_image_to_array(img: Any, *, stride: int = 1) -> np.ndarray:
    """Mask ``sensor_msgs/Image`` (mono8 / 8UC1 / 16UC1 / mono16) -> (H, W) bool, nonzero = True.

    ``stride``: only pixels ``[::stride, ::stride]``, aligned with a depth image strided the same way.
    """
    stride = _check_stride(stride)
    what = "sensor_msgs/Image(mask)"
    img = as_raw_image(img, "mask")
    enc = _encoding(img, what)
    if enc not in _MASK_ENCODINGS:
        raise MessageError(f"{_where(img, what)}.encoding={enc!r} is not a mask encoding {sorted(_MASK_ENCODINGS)}")
    base, bpp = _MASK_ENCODINGS[enc]
    return _image_view(img, what, base, bpp)[::stride, ::stride, 0] != 0
