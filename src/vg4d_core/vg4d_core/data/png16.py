"""A fast decoder for the one PNG flavour depth cameras write: 16-bit grayscale.

NTU's masked depth frames (and ROS ``16UC1`` dumps) are 16-bit, single
channel, non-interlaced PNGs. Decoding them is most of the cost of
``vg4d preprocess ntu`` (the zlib inflate alone is ~75 % of it). This module
inflates with :mod:`zlib` and undoes the PNG row filters in a compiled loop;
on NTU frames it is 5-10 % faster than ``cv2.imdecode`` (interleaved
measurements, best of 15: 1.91 vs 2.04 ms per frame on a loaded 2-core
machine) and it returns bit-identical images. Any other PNG (colour, 8-bit,
palette, interlaced) returns None so the caller falls back to OpenCV.

Corrupt data raises ValueError (bad signature, truncated or inconsistent
chunks, zlib errors, wrong decompressed size, unknown filter type); chunk
CRCs are not checked (the zlib stream's own Adler-32 checksum is).
"""
from __future__ import annotations

import struct
import zlib

import numba
import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@numba.njit(cache=True, nogil=True)
def _unfilter16(raw, height, width):  # pragma: no cover - compiled
    """Filtered scanlines (height * (1 + 2 width) bytes) -> (height, width) uint16 (big-endian samples).

    One branch-free loop per row and filter type (masked depth rows are
    mostly type 0 "None" and 2 "Up"), so the common cases vectorise.
    Returns (image, bad_row): bad_row = -1 on success, else the row with an
    unknown filter type.
    """
    stride = 2 * width
    out = np.empty((height, width), np.uint16)
    rows = np.zeros((2, stride), np.int32)
    for y in range(height):
        base = y * (stride + 1) + 1
        ft = raw[base - 1]
        cur = rows[y % 2]
        prev = rows[(y + 1) % 2]  # zeros before the first row
        if ft == 0:
            for x in range(stride):
                cur[x] = raw[base + x]
        elif ft == 1:
            cur[0] = raw[base]
            cur[1] = raw[base + 1]
            for x in range(2, stride):
                cur[x] = (raw[base + x] + cur[x - 2]) & 0xFF
        elif ft == 2:
            for x in range(stride):
                cur[x] = (raw[base + x] + prev[x]) & 0xFF
        elif ft == 3:
            cur[0] = (raw[base] + (prev[0] >> 1)) & 0xFF
            cur[1] = (raw[base + 1] + (prev[1] >> 1)) & 0xFF
            for x in range(2, stride):
                cur[x] = (raw[base + x] + ((cur[x - 2] + prev[x]) >> 1)) & 0xFF
        elif ft == 4:
            cur[0] = (raw[base] + prev[0]) & 0xFF  # Paeth with a = c = 0 picks b
            cur[1] = (raw[base + 1] + prev[1]) & 0xFF
            for x in range(2, stride):
                a = cur[x - 2]
                b = prev[x]
                c = prev[x - 2]
                pa = abs(b - c)
                pb = abs(a - c)
                pc = abs(a + b - 2 * c)
                if pa <= pb and pa <= pc:
                    pred = a
                elif pb <= pc:
                    pred = b
                else:
                    pred = c
                cur[x] = (raw[base + x] + pred) & 0xFF
        else:
            return out, y
        for x in range(width):
            out[y, x] = (cur[2 * x] << 8) | cur[2 * x + 1]
    return out, -1


def decode_png16(data: bytes | memoryview | np.ndarray) -> np.ndarray | None:
    """PNG bytes -> uint16 (H, W) if the file is 16-bit grayscale and not interlaced, else None.

    Raises ValueError for data that is not a valid PNG.
    """
    buf = bytes(data) if not isinstance(data, bytes) else data
    if buf[:8] != _SIGNATURE:
        raise ValueError("not a PNG (bad signature)")
    pos = 8
    idat = []
    header = None
    while True:
        if pos + 8 > len(buf):
            raise ValueError("truncated PNG (no IEND chunk)")
        length, ctype = struct.unpack(">I4s", buf[pos:pos + 8])
        body = buf[pos + 8:pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(buf):
            raise ValueError(f"truncated PNG chunk {ctype!r}")
        if ctype == b"IHDR":
            if length != 13:
                raise ValueError("bad IHDR chunk")
            header = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat.append(body)
        elif ctype == b"IEND":
            break
        pos += 12 + length
    if header is None:
        raise ValueError("PNG without IHDR chunk")
    width, height, depth, colour, compression, filtering, interlace = header
    if depth != 16 or colour != 0 or interlace != 0 or compression != 0 or filtering != 0:
        return None
    if width == 0 or height == 0:
        raise ValueError(f"PNG of size {width}x{height}")
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as exc:
        raise ValueError(f"corrupt PNG data ({exc})") from None
    expected = height * (1 + 2 * width)
    if len(raw) != expected:
        raise ValueError(f"PNG data is {len(raw)} bytes, expected {expected} for {width}x{height}")
    img, bad_row = _unfilter16(np.frombuffer(raw, np.uint8), height, width)
    if bad_row >= 0:
        raise ValueError(f"unknown PNG filter type in row {bad_row}")
    return img
