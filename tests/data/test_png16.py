"""The 16-bit grayscale PNG decoder: exact equality with OpenCV, every filter type, bad input."""
from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from missing_data import skip_or_fail
from vg4d_core.data.png16 import decode_png16


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _encode(img: np.ndarray, filters: list[int], bit_depth: int = 16, colour: int = 0, split_idat: int = 1) -> bytes:
    """A PNG written independently of the decoder: explicit filter type per row (forward filters)."""
    h, w = img.shape[:2]
    rows = img.astype(">u2").view(np.uint8).reshape(h, -1).astype(np.int64) if bit_depth == 16 else \
        img.astype(np.uint8).reshape(h, -1).astype(np.int64)
    bpp = 2 if bit_depth == 16 else 1
    out = []
    prev = np.zeros(rows.shape[1], np.int64)
    for y in range(h):
        cur = rows[y]
        a = np.concatenate([np.zeros(bpp, np.int64), cur[:-bpp]])
        c = np.concatenate([np.zeros(bpp, np.int64), prev[:-bpp]])
        ft = filters[y % len(filters)]
        pred = {0: 0, 1: a, 2: prev, 3: (a + prev) // 2, 4: _paeth(a, prev, c)}[ft]
        out.append(bytes([ft]) + ((cur - pred) % 256).astype(np.uint8).tobytes())
        prev = cur
    data = zlib.compress(b"".join(out))
    parts = [data[i * len(data) // split_idat:(i + 1) * len(data) // split_idat] for i in range(split_idat)]
    header = struct.pack(">IIBBBBB", w, h, bit_depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + b"".join(_chunk(b"IDAT", p) for p in parts) + \
        _chunk(b"IEND", b"")


@pytest.mark.parametrize("filters", [[0], [1], [2], [3], [4], [4, 2, 0, 3, 1]])
def test_every_filter_type_round_trips(filters):
    rng = np.random.default_rng(len(filters) * 10 + filters[0])
    img = rng.integers(0, 65536, size=(9, 13)).astype(np.uint16)
    img[:, :4] = 0  # masked-depth-like runs of zeros
    img[3] = 65535
    png = _encode(img, filters, split_idat=3)
    np.testing.assert_array_equal(decode_png16(png), img)
    np.testing.assert_array_equal(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED), img)


def test_matches_opencv_on_files_opencv_writes(tmp_path):
    rng = np.random.default_rng(0)
    img = (rng.random((424, 512)) * 4000).astype(np.uint16)
    img[rng.random(img.shape) < 0.8] = 0
    for level in (0, 1, 9):
        path = tmp_path / f"d{level}.png"
        cv2.imwrite(str(path), img, [cv2.IMWRITE_PNG_COMPRESSION, level])
        np.testing.assert_array_equal(decode_png16(path.read_bytes()), img)


def test_matches_opencv_on_the_real_ntu_clip(shared_data):
    from vg4d_core.data.ntu import list_depth_frames

    video = shared_data / "ntu_sample" / "nturgb+d_depth_masked" / "S001C001P001R001A058"
    if not video.is_dir():
        skip_or_fail(f"NTU sample not found at {video}")
    for path in list_depth_frames(video):
        data = path.read_bytes()
        np.testing.assert_array_equal(decode_png16(data),
                                      cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED))


def test_other_flavours_return_none():
    img = np.arange(12, dtype=np.uint16).reshape(3, 4)
    assert decode_png16(_encode(img, [0], bit_depth=8)) is None
    rgb = cv2.imencode(".png", np.zeros((4, 4, 3), np.uint16))[1].tobytes()
    assert decode_png16(rgb) is None


def test_bad_data_raises():
    img = np.arange(12, dtype=np.uint16).reshape(3, 4)
    good = _encode(img, [0])
    with pytest.raises(ValueError, match="signature"):
        decode_png16(b"GIF89a" + good[6:])
    with pytest.raises(ValueError, match="truncated"):
        decode_png16(good[:40])
    rows = b"".join(bytes([7]) + img[y].astype(">u2").tobytes() for y in range(3))
    header = struct.pack(">IIBBBBB", 4, 3, 16, 0, 0, 0, 0)
    bad_filter = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows)) + \
        _chunk(b"IEND", b"")
    with pytest.raises(ValueError, match="filter type in row 0"):
        decode_png16(bad_filter)
    short = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows[:-3])) + \
        _chunk(b"IEND", b"")
    with pytest.raises(ValueError, match="expected 27"):
        decode_png16(short)
    garbage = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"\x00" * 20) + _chunk(b"IEND", b"")
    with pytest.raises(ValueError, match="corrupt PNG data"):
        decode_png16(garbage)
