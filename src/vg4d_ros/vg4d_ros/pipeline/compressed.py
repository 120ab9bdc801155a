"""``sensor_msgs/CompressedImage`` (image_transport's ``compressed`` and ``compressedDepth``) -> raw images.

Robots record and stream colour as JPEG and depth as PNG or RVL far more often than raw: a bag made
with ``ros2 bag record`` on a robot's camera usually holds ``.../image_raw/compressed`` and
``.../image_raw/compressedDepth`` topics. :func:`as_raw_image` turns such a message into a
:class:`RawImage` that carries the fields of a ``sensor_msgs/Image`` (``header``, ``height``, ``width``,
``encoding``, ``is_bigendian``, ``step``, ``data``), so every converter downstream reads it as the
raw image the camera driver had, and a raw ``Image`` passes through untouched.

Formats (the ``format`` field; the wire layouts are those of ROS 2's image_transport_plugins):

* colour, ``compressed``: ``"jpeg"``, ``"png"`` (older publishers) or ``"<encoding>; jpeg compressed
  bgr8"`` / ``"...; png compressed rgb8"``. The image codec stores the pixels in OpenCV's order, so a
  3-channel image decodes as ``bgr8`` (a ``... compressed rgb8`` one as ``rgb8``), one channel as
  ``mono8`` (16-bit PNG: ``mono16``).
* depth, ``compressedDepth``: ``"16UC1; compressedDepth png"`` (also ``"...; compressedDepth"``, the
  older spelling, which is PNG) or ``"...; compressedDepth rvl"``, and the same for ``32FC1``. The data
  start with a 12-byte header (int32 format, float32 ``depthQuantA``, ``depthQuantB``, little-endian).
  ``16UC1``: the payload is the raw depth (millimetres), 0 = no data. ``32FC1``: the payload is the
  quantised inverse depth ``q``; depth = ``depthQuantA / (q - depthQuantB)`` metres, ``q`` = 0 is no
  data (NaN). An RVL payload is ``uint32 width, uint32 height`` then the RVL stream: runs of zeros and
  of non-zeros, each value the zig-zag coded difference to the previous non-zero one, every number a
  variable-length code of 3-bit groups (low group first, the fourth bit of a nibble saying "more"),
  nibbles packed eight to a little-endian 32-bit word from its most significant end (Wilson,
  "Fast Lossless Depth Image Compression", ISS 2017).

Decoding errors raise :class:`~vg4d_ros.pipeline.decode.MessageError` naming the format and what is
wrong (the recogniser counts the message as malformed and goes on). :func:`encode_depth` and
:func:`encode_colour` write the same formats (tests, tools that shrink bags).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

CONFIG_HEADER_BYTES = 12  # int32 compression format + float32 depthQuantA, depthQuantB
MAX_PIXELS = 1 << 26  # an RVL header claiming more (8192 x 8192) is corrupt


class _Error(ValueError):
    pass


def _message_error(text: str) -> Exception:
    from vg4d_ros.pipeline.decode import MessageError  # (decode imports this module)
    return MessageError(text)


@dataclass
class RawImage:
    """The fields of a ``sensor_msgs/Image``, decoded from a ``CompressedImage`` (``data``: the row-major
    payload, uint8). ``source_format`` keeps the compressed message's ``format`` for error texts."""

    header: Any
    height: int
    width: int
    encoding: str
    is_bigendian: int = 0
    step: int = 0
    data: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    source_format: str = ""

    @classmethod
    def of(cls, header: Any, pixels: np.ndarray, encoding: str, source_format: str = "") -> "RawImage":
        """(H, W) or (H, W, C) native little-endian pixels -> a RawImage holding them."""
        pixels = np.ascontiguousarray(pixels)
        if pixels.dtype.byteorder == ">":
            pixels = pixels.astype(pixels.dtype.newbyteorder("<"))
        height, width = pixels.shape[:2]
        return cls(header, int(height), int(width), encoding, 0, int(pixels.strides[0]),
                   pixels.reshape(-1).view(np.uint8), source_format)


def is_compressed(msg: Any) -> bool:
    """Whether ``msg`` is a ``sensor_msgs/CompressedImage`` (a ``format`` field and no ``encoding``)."""
    return hasattr(msg, "format") and not hasattr(msg, "encoding")


def as_raw_image(msg: Any, role: str = "image") -> Any:
    """A ``CompressedImage`` -> :class:`RawImage`; anything else is returned as it is.

    ``role``: ``depth`` reads ``compressedDepth`` (and a plain PNG of 16-bit depth), ``rgb`` and ``mask``
    read ``compressed``. Raises ``MessageError`` when the payload does not decode."""
    if not is_compressed(msg):
        return msg
    fmt = str(getattr(msg, "format", ""))
    data = _bytes(msg)
    try:
        if "compresseddepth" in fmt.lower():
            return _decode_depth(msg.header, fmt, data)
        return _decode_image(msg.header, fmt, data, role)
    except _Error as exc:
        raise _message_error(f"sensor_msgs/CompressedImage({role}) format={fmt!r}: {exc}") from None


def _bytes(msg: Any) -> np.ndarray:
    data = getattr(msg, "data", None)
    if data is None:
        raise _message_error("sensor_msgs/CompressedImage has no field 'data'")
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return np.frombuffer(data, dtype=np.uint8)
    try:
        return np.frombuffer(memoryview(data), dtype=np.uint8)  # array.array('B') (rclpy)
    except TypeError:
        return np.asarray(data, dtype=np.uint8)  # a list of ints


# -- colour (and mask) ------------------------------------------------------------------------------------
def _decode_image(header: Any, fmt: str, data: np.ndarray, role: str) -> RawImage:
    import cv2

    parts = [p.strip() for p in fmt.split(";")]
    codec = parts[-1].split()[0].lower() if parts[-1] else ""
    if codec not in ("jpeg", "jpg", "png"):
        raise _Error("not a 'compressed' image format (jpeg or png, e.g. 'bgr8; jpeg compressed bgr8')")
    if data.size == 0:
        raise _Error("no data")
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise _Error(f"{data.size} bytes do not decode as {codec}")
    stored = parts[-1].split()[-1].lower() if "compressed" in parts[-1] else ""
    if img.ndim == 2:
        encoding = "mono16" if img.dtype == np.uint16 else "mono8"
    elif img.shape[2] == 3:
        encoding = "rgb8" if stored == "rgb8" else "bgr8"
    elif img.shape[2] == 4:
        encoding = "rgba8" if stored == "rgba8" else "bgra8"
    else:
        raise _Error(f"{img.shape[2]} channels")
    if img.dtype != np.uint8 and img.ndim == 3:
        raise _Error(f"{img.dtype} colour is not supported (8 bits per channel)")
    if role == "depth" and encoding == "mono16":
        encoding = "16UC1"  # a plain 16-bit PNG of depth (some recorders' "png" depth): millimetres
    return RawImage.of(header, img, encoding, fmt)


def encode_colour(rgb: np.ndarray, header: Any = None, codec: str = "jpeg", quality: int = 90) -> dict:
    """(H, W, 3) uint8 RGB -> the fields of a ``compressed`` CompressedImage (``header``, ``format``,
    ``data`` bytes), as image_transport writes a ``rgb8`` image: ``"rgb8; jpeg compressed bgr8"``."""
    import cv2

    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if codec == "jpeg" else []
    ok, buf = cv2.imencode(".jpg" if codec == "jpeg" else ".png", np.ascontiguousarray(rgb[:, :, ::-1]), params)
    if not ok:
        raise ValueError(f"cv2 could not encode {codec}")
    return {"header": header, "format": f"rgb8; {codec} compressed bgr8", "data": buf.tobytes()}


# -- depth -----------------------------------------------------------------------------------------------
def _decode_depth(header: Any, fmt: str, data: np.ndarray) -> RawImage:
    import cv2

    encoding, _, rest = fmt.partition(";")
    encoding = encoding.strip()
    words = rest.split()
    codec = words[1].lower() if len(words) > 1 else "png"  # "compressedDepth" alone: the older PNG-only form
    if encoding not in ("16UC1", "mono16", "32FC1"):
        raise _Error(f"{encoding!r} is not a compressedDepth encoding (16UC1 or 32FC1)")
    if codec not in ("png", "rvl"):
        raise _Error(f"unknown compressedDepth codec {codec!r} (png or rvl)")
    if data.size <= CONFIG_HEADER_BYTES:
        raise _Error(f"{data.size} bytes: not even the {CONFIG_HEADER_BYTES}-byte header and an image")
    quant_a, quant_b = (float(v) for v in data[4:CONFIG_HEADER_BYTES].view("<f4"))
    payload = data[CONFIG_HEADER_BYTES:]
    if codec == "png":
        q = cv2.imdecode(payload, cv2.IMREAD_UNCHANGED)
        if q is None:
            raise _Error(f"{payload.size} bytes after the header do not decode as png")
        if q.ndim != 2 or q.dtype != np.uint16:
            raise _Error(f"the png holds {q.dtype} {q.shape}, expected one 16-bit channel")
    else:
        q = rvl_decode(payload)
    if encoding == "32FC1":
        if not (np.isfinite(quant_a) and np.isfinite(quant_b) and quant_a != 0):
            raise _Error(f"inverse-depth header depthQuantA={quant_a}, depthQuantB={quant_b} is not usable")
        with np.errstate(divide="ignore", invalid="ignore"):
            metres = (np.float32(quant_a) / (q.astype(np.float32) - np.float32(quant_b))).astype(np.float32)
        metres[q == 0] = np.nan
        return RawImage.of(header, metres, "32FC1", fmt)
    return RawImage.of(header, q, "16UC1", fmt)


def encode_depth(depth: np.ndarray, header: Any = None, codec: str = "png", *, depth_max_m: float = 10.0,
                 depth_quantization: float = 100.0, encoding: str | None = None) -> dict:
    """A depth image -> the fields of a ``compressedDepth`` CompressedImage (``header``, ``format``,
    ``data`` bytes), laid out as image_transport writes it.

    ``depth``: (H, W) uint16 millimetres (0 = none) -> ``16UC1``, or float32 metres (NaN = none) ->
    ``32FC1`` quantised as inverse depth with ``depth_quantization`` and ``depth_max_m`` (the publisher's
    parameters: A = z0 (z0 + 1), B = 1 - A / depth_max; beyond ``depth_max_m`` is "none").
    ``encoding``: the name written for 16-bit depth (``16UC1`` by default; ``mono16`` as the source had it)."""
    import cv2

    header_bytes = np.zeros(CONFIG_HEADER_BYTES, np.uint8)
    if depth.dtype == np.uint16:
        encoding, q = (encoding if encoding in ("16UC1", "mono16") else "16UC1"), depth
    elif depth.dtype == np.float32:
        encoding = "32FC1"
        a = np.float32(depth_quantization * (depth_quantization + 1.0))
        b = np.float32(1.0 - a / np.float32(depth_max_m))
        ok = np.isfinite(depth) & (depth < depth_max_m) & (depth > 0)
        q = np.zeros(depth.shape, np.uint16)
        q[ok] = (a / depth[ok] + b).astype(np.uint16)
        header_bytes[4:].view("<f4")[:] = (a, b)
    else:
        raise ValueError(f"depth must be uint16 mm or float32 m, got {depth.dtype}")
    if codec == "png":
        ok_, buf = cv2.imencode(".png", np.ascontiguousarray(q))
        if not ok_:
            raise ValueError("cv2 could not encode png")
        payload = buf.tobytes()
    elif codec == "rvl":
        payload = rvl_encode(q)
    else:
        raise ValueError(f"codec must be png or rvl, got {codec!r}")
    return {"header": header, "format": f"{encoding}; compressedDepth {codec}",
            "data": header_bytes.tobytes() + payload}


# -- RVL ---------------------------------------------------------------------------------------------------
def rvl_decode(payload: np.ndarray) -> np.ndarray:
    """An RVL payload (``uint32 width, uint32 height``, then the stream) -> (H, W) uint16."""
    payload = np.ascontiguousarray(payload, dtype=np.uint8)
    if payload.size < 8:
        raise _Error(f"rvl payload of {payload.size} bytes has no size")
    width, height = (int(v) for v in payload[:8].view("<u4"))
    pixels = width * height
    stream = payload[8:]
    # a run of zeros is one number, so a masked depth image (mostly zeros) takes a few bytes: the size
    # cannot be checked against the bytes, only bounded (a corrupt header must not allocate gigabytes)
    if width == 0 or height == 0 or pixels > MAX_PIXELS:
        raise _Error(f"rvl size {width}x{height} is not a plausible image (1 to {MAX_PIXELS} pixels)")
    words = np.zeros((stream.size + 3) // 4, np.uint32)
    words.view(np.uint8)[: stream.size] = stream
    words = words.astype("<u4", copy=False)
    out = np.zeros(pixels, np.uint16)
    status = _rvl_decode_kernel(words, out)
    if status != 0:
        raise _Error(f"rvl stream of {stream.size} bytes is cut short or corrupt for {width}x{height}")
    return out.reshape(height, width)


def _rvl_decode_py(words: np.ndarray, out: np.ndarray) -> int:
    """The decoder (a numba kernel when numba is there): 0 when ``out`` was filled, 1 when the words ran
    out or a run overran the image. The stream is numbers in turn: a run of zeros, a count of non-zeros,
    then that many zig-zag deltas; one loop reads a number and ``phase`` says which it is."""
    n_words = words.shape[0]
    n = out.shape[0]
    w = 0  # next word
    word = 0
    left = 0  # nibbles left in ``word``
    pos = 0
    previous = 0
    phase = 0  # 0: zeros run, 1: non-zeros count, 2: a delta (``pending`` of them left)
    pending = 0
    while pos < n:
        value = 0
        shift = 0
        while True:
            if left == 0:
                if w >= n_words:
                    return 1
                word = int(words[w])
                w += 1
                left = 8
            nibble = (word >> 28) & 0xF
            word = (word << 4) & 0xFFFFFFFF
            left -= 1
            value |= (nibble & 0x7) << shift
            shift += 3
            if not nibble & 0x8:
                break
            if shift > 33:
                return 1
        if phase == 2:
            delta = (value >> 1) ^ -(value & 1)  # zig-zag
            previous = (previous + delta) & 0xFFFF
            out[pos] = previous
            pos += 1
            pending -= 1
            if pending == 0:
                phase = 0
            continue
        if pos + value > n:
            return 1
        if phase == 0:
            for i in range(value):
                out[pos + i] = 0
            pos += value
            phase = 1
        else:
            pending = value
            phase = 2 if value else 0
    return 0


_KERNEL: list = []


def _rvl_decode_kernel(words: np.ndarray, out: np.ndarray) -> int:
    """:func:`_rvl_decode_py` compiled by numba on first use. numba is imported here, not at module import:
    the node points numba's cache at ``$ROS_HOME`` when it configures, and numba reads that setting when it
    is first imported (this module is imported before that, with the recogniser)."""
    if not _KERNEL:
        try:
            from numba import njit

            _KERNEL.append(njit(cache=True, nogil=True)(_rvl_decode_py))
        except ImportError:  # pragma: no cover - numba is a dependency; the Python loop is slow but right
            _KERNEL.append(_rvl_decode_py)
    return _KERNEL[0](words, out)


def rvl_encode(depth: np.ndarray) -> bytes:
    """(H, W) uint16 -> an RVL payload (``uint32 width, uint32 height`` + the stream); plain Python, for
    tests and tools (about a second for 640 x 480)."""
    depth = np.ascontiguousarray(depth, dtype=np.uint16)
    height, width = depth.shape
    flat = depth.reshape(-1).tolist()
    nibbles: list[int] = []

    def put(value: int) -> None:
        while True:
            nibble = value & 0x7
            value >>= 3
            if value:
                nibble |= 0x8
            nibbles.append(nibble)
            if not value:
                return

    i, n, previous = 0, len(flat), 0
    while i < n:
        start = i
        while i < n and flat[i] == 0:
            i += 1
        put(i - start)
        start = i
        while i < n and flat[i] != 0:
            i += 1
        put(i - start)
        for v in flat[start:i]:
            delta = v - previous
            put((delta << 1) ^ (delta >> 31) if delta < 0 else delta << 1)
            previous = v
    nibbles += [0] * (-len(nibbles) % 8)
    words = np.zeros(len(nibbles) // 8, np.uint32)
    for k in range(0, len(nibbles), 8):
        word = 0
        for nib in nibbles[k:k + 8]:
            word = (word << 4) | nib
        words[k // 8] = word
    return np.array([width, height], "<u4").tobytes() + words.astype("<u4").tobytes()
