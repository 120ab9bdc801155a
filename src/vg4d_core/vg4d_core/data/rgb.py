"""RGB video frames for the video-language model: decoding, resizing, alignment.

Frames are returned in RGB channel order (OpenCV decodes BGR), uint8,
square ``size x size`` (224 for X-CLIP ViT-B/16). ``fit`` says how a
non-square frame becomes square:

* ``"crop"`` (default) - resize the short side to ``size``, keep the centre
  (what CLIP-style video models are trained with);
* ``"stretch"`` - resize both sides to ``size`` (keeps the whole field of view);
* ``"pad"`` - resize the long side to ``size``, pad with black;
* ``"person"`` - a square around the person (``box``: the bounding box of the
  person's pixels, from the depth foreground of a colour image registered to
  the depth image), widened by :data:`PERSON_MARGIN` on each side, black
  beyond the image; a frame without a box falls back to ``"crop"``. A small
  colour model then spends its pixels on the person, not the room: at 64 px a
  person 3.5 m away is ~15 px wide in a full frame and fills the crop.

Alignment with depth (:func:`align_to_depth`): NTU's depth and RGB streams
both run at 30 fps over the same recording but their frame counts can differ
by a few frames; depth frame i is paired with the RGB frame whose time
interval contains the centre of depth frame i when both streams are spread
over the same duration.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

FITS = ("crop", "stretch", "pad", "person")
PERSON_MARGIN = 0.15  # of the box's longer side, added on each side of a "person" crop


def person_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(H, W) bool person pixels -> their bounding box ``(x0, y0, x1, y1)`` (pixels, end-exclusive), or
    None when no pixel is set."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def person_box_in(depth: np.ndarray, colour_hw: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The person's box in a colour image registered to ``depth`` (same field of view; sizes may differ):
    the box of the depth's valid pixels (masked depth: the person) scaled to ``colour_hw`` (H, W)."""
    box = person_box(np.asarray(depth) > 0)
    if box is None:
        return None
    return scale_box(box, depth.shape[:2], colour_hw)


def scale_box(box: tuple[int, int, int, int], from_hw: tuple[int, int],
              to_hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """A pixel box of an image of size ``from_hw`` in a registered image of size ``to_hw``."""
    sy, sx = to_hw[0] / from_hw[0], to_hw[1] / from_hw[1]
    x0, y0, x1, y1 = box
    return (int(np.floor(x0 * sx)), int(np.floor(y0 * sy)), max(int(np.ceil(x1 * sx)), int(np.floor(x0 * sx)) + 1),
            max(int(np.ceil(y1 * sy)), int(np.floor(y0 * sy)) + 1))


def _person_square(frame_bgr: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The square of the person's box widened by PERSON_MARGIN, black where it leaves the frame."""
    h, w = frame_bgr.shape[:2]
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0)
    side = max(2, int(round(side * (1 + 2 * PERSON_MARGIN))))
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    left, top = int(round(cx - side / 2.0)), int(round(cy - side / 2.0))
    out = np.zeros((side, side, 3), np.uint8)
    sx0, sy0, sx1, sy1 = max(left, 0), max(top, 0), min(left + side, w), min(top + side, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - top:sy1 - top, sx0 - left:sx1 - left] = frame_bgr[sy0:sy1, sx0:sx1]
    return out


def _downscale(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-averaged downscaling, fast: OpenCV's INTER_AREA costs ~6 ms for a
    1080p frame at a non-integer ratio, so shrink bilinearly to twice the
    target first, then average 2x2 blocks (within ~50 dB PSNR of direct
    INTER_AREA on NTU video, ~0.7 ms)."""
    h, w = img.shape[:2]
    if w > 2 * width and h > 2 * height:
        img = cv2.resize(img, (2 * width, 2 * height), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


def resize_frame(frame_bgr: np.ndarray, size: int, fit: str = "crop",
                 box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """(H, W, 3) uint8 BGR -> (size, size, 3) uint8 RGB. ``box``: the person's ``(x0, y0, x1, y1)`` in
    this frame's pixels, for ``fit="person"`` (None: no person, the centre crop)."""
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, got {fit!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) colour frame, got shape {frame_bgr.shape}")
    h, w = frame_bgr.shape[:2]
    if fit == "person" and box is not None:
        square = _person_square(frame_bgr, box)
        interp = cv2.INTER_LINEAR if square.shape[0] < size else None
        out = cv2.resize(square, (size, size), interpolation=interp) if interp is not None \
            else _downscale(square, size, size)
        return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)
    if fit == "person":
        fit = "crop"
    if fit == "stretch":
        out = _downscale(frame_bgr, size, size)
    elif fit == "crop":
        # crop the centre square in the source first: resizing only the kept
        # part is ~2x cheaper for 16:9 video than resizing then cropping
        side = min(h, w)
        x0, y0 = (w - side) // 2, (h - side) // 2
        out = _downscale(frame_bgr[y0:y0 + side, x0:x0 + side], size, size)
    else:
        s = size / max(h, w)
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        small = _downscale(frame_bgr, nw, nh)
        out = np.zeros((size, size, 3), np.uint8)
        y0, x0 = (size - nh) // 2, (size - nw) // 2
        out[y0:y0 + nh, x0:x0 + nw] = small
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


def open_video(path: str | Path) -> cv2.VideoCapture:
    """Open a video file; FileNotFoundError / ValueError naming it on failure."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"RGB video not found: {path}")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise ValueError(f"{path}: cannot be opened as a video")
    return cap


def read_video(path: str | Path, size: int = 224, fit: str = "crop",
               frames: Iterable[int] | None = None) -> tuple[np.ndarray, int]:
    """Decode a video and resize the requested frames.

    Args:
        path: video file (any codec OpenCV's FFmpeg reads; NTU: H.264 AVI).
        size, fit: output frame size and squaring rule (module docstring).
        frames: 0-based indices to keep (any order, repeats allowed); None = all.
    Returns:
        ``(rgb, num_frames)``: uint8 (len(frames), size, size, 3) RGB frames in
        the order asked, and the number of frames the file actually holds.
        Frames are decoded sequentially (seeking in long-GOP video is
        unreliable); frames not asked for are skipped without conversion.
    Raises:
        FileNotFoundError if missing; ValueError naming the file if it cannot
        be decoded, holds no frame, or a requested index is past its end.
    """
    path = Path(path)
    want = None if frames is None else [int(i) for i in frames]
    if want is not None and any(i < 0 for i in want):
        raise ValueError(f"{path}: negative frame index in {want}")
    keep = None if want is None else set(want)
    last = None if want is None else (max(want) if want else -1)
    cap = open_video(path)
    decoded: dict[int, np.ndarray] = {}
    order: list[np.ndarray] = []
    n = 0
    try:
        while True:
            if keep is not None and n > last:
                # every requested frame is decoded: count the rest without decoding pixels
                if not cap.grab():
                    break
                n += 1
                continue
            if keep is not None and n not in keep:
                ok = cap.grab()
            else:
                ok, frame = cap.read()
                if ok:
                    small = resize_frame(frame, size, fit)
                    if keep is None:
                        order.append(small)
                    else:
                        decoded[n] = small
            if not ok:
                break
            n += 1
    finally:
        cap.release()
    if n == 0:
        raise ValueError(f"{path}: no decodable frame")
    if want is None:
        return np.stack(order), n
    missing = [i for i in want if i not in decoded]
    if missing:
        raise ValueError(f"{path}: has {n} frames, asked for frame(s) {sorted(set(missing))[:5]}")
    if not want:
        return np.zeros((0, size, size, 3), np.uint8), n
    return np.stack([decoded[i] for i in want]), n


def count_frames(path: str | Path) -> int:
    """Frames in a video, counted by demuxing (container headers can be wrong)."""
    cap = open_video(path)
    n = 0
    try:
        while cap.grab():
            n += 1
    finally:
        cap.release()
    if n == 0:
        raise ValueError(f"{path}: no decodable frame")
    return n


def align_to_depth(num_depth: int, num_rgb: int) -> np.ndarray:
    """RGB frame paired with each depth frame: (num_depth,) int64 in [0, num_rgb).

    Identity when the counts match; otherwise both streams are spread over
    the same duration and depth frame i takes the RGB frame containing its
    centre time: ``floor((i + 0.5) * num_rgb / num_depth)``.
    """
    for name, value in (("num_depth", num_depth), ("num_rgb", num_rgb)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    i = np.arange(num_depth, dtype=np.int64)
    return np.minimum((2 * i + 1) * num_rgb // (2 * num_depth), num_rgb - 1)


def encode_jpeg_frames(frames_rgb: np.ndarray, quality: int = 90) -> tuple[np.ndarray, np.ndarray]:
    """(F, H, W, 3) uint8 RGB -> (blob (B,) uint8, offsets (F + 1,) int64) of JPEG frames.

    Frame f is ``blob[offsets[f]:offsets[f + 1]]``. About 10 KB per 224 x 224
    frame at quality 90, 15x smaller than raw pixels.
    """
    if frames_rgb.ndim != 4 or frames_rgb.shape[-1] != 3 or frames_rgb.dtype != np.uint8:
        raise ValueError(f"expected uint8 (F, H, W, 3) frames, got {frames_rgb.dtype} {frames_rgb.shape}")
    parts = []
    for f in frames_rgb:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        if not ok:
            raise ValueError("JPEG encoding failed")
        parts.append(buf.reshape(-1))
    offsets = np.zeros(len(parts) + 1, np.int64)
    offsets[1:] = np.cumsum([p.size for p in parts])
    blob = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
    return blob, offsets


def decode_jpeg_frame(blob: np.ndarray, offsets: np.ndarray, frame: int) -> np.ndarray:
    """One frame of :func:`encode_jpeg_frames` -> (H, W, 3) uint8 RGB."""
    data = np.asarray(blob[int(offsets[frame]):int(offsets[frame + 1])])
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise ValueError(f"JPEG frame {frame} is corrupt ({data.size} bytes)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
