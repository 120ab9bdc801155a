"""Depth images -> point clouds (pinhole back-projection).

Two input encodings are accepted, the two that ROS ``sensor_msgs/Image``
uses for depth:

* integer depth (``16UC1``: uint16, usually millimetres, ``0`` = no data);
  ``depth_unit`` gives metres per raw unit (0.001 for millimetres);
* float depth (``32FC1``: metres, ``NaN``/``inf``/``<= 0`` = no data).

Coordinates are the camera's optical frame: x right, y down, z forward
(``X = (u - cx) Z / fx``, ``Y = (v - cy) Z / fy``), in metres times
``scale``. ``scale`` exists only to reproduce conventions of published code
(MSR-Action3D's ``/ 300`` of raw units, PSTNet's NTU units); the project's
own default is metres (``scale = 1``).

Intrinsics presets (facts, not fitted here):

* :data:`KINECT_V2_DEPTH` - Kinect v2 depth camera, 512 x 424, as used by
  NTU RGB+D preprocessing code (fx = fy = 365.481, cx = 257.346,
  cy = 210.347).
* :data:`PSTNET_NTU` + :data:`PSTNET_NTU_SCALE` - PSTNet's NTU script:
  focal 280, principal point at the image centre (256, 212). Its PNG reader
  (matplotlib) returns ``mm / 65535`` and its data loader multiplies by 100,
  so its coordinates are ``metres * 1000 / 655.35 ~= 1.526 * metres``;
  :data:`PSTNET_NTU_SCALE` reproduces that.
* :data:`MSR_ACTION3D_DEPTH` - the MSR-Action3D convention of the 4D
  point-cloud literature: focal 280, centre (160, 120) of the 320 x 240
  image; see :mod:`vg4d_core.data.msr_action3d` for its units.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of a depth camera, in pixels.

    ``width``/``height`` (pixels) are optional; when set, depth images of
    another size are rejected (a wrong preset is a silent metre-scale error
    otherwise).
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int | None = None
    height: int | None = None

    def __post_init__(self) -> None:
        for name in ("fx", "fy"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"CameraIntrinsics.{name} must be a positive focal length in pixels, got {value!r}")
        for name in ("cx", "cy"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"CameraIntrinsics.{name} must be finite, got {getattr(self, name)!r}")
        for name in ("width", "height"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, np.integer)) or value <= 0):
                raise ValueError(f"CameraIntrinsics.{name} must be a positive int or None, got {value!r}")

    def scaled(self, factor: float) -> "CameraIntrinsics":
        """Intrinsics of the same camera with images resized by ``factor``.

        Pixel centres stay consistent under the usual ``(c + 0.5) * f - 0.5``
        rule, so a half-size image gets ``cx' = (cx + 0.5) / 2 - 0.5``.
        """
        if not factor > 0:
            raise ValueError(f"scale factor must be > 0, got {factor!r}")
        return CameraIntrinsics(
            fx=self.fx * factor, fy=self.fy * factor,
            cx=(self.cx + 0.5) * factor - 0.5, cy=(self.cy + 0.5) * factor - 0.5,
            width=None if self.width is None else int(round(self.width * factor)),
            height=None if self.height is None else int(round(self.height * factor)),
        )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


KINECT_V2_DEPTH = CameraIntrinsics(fx=365.481, fy=365.481, cx=257.346, cy=210.347, width=512, height=424)
PSTNET_NTU = CameraIntrinsics(fx=280.0, fy=280.0, cx=256.0, cy=212.0, width=512, height=424)
PSTNET_NTU_SCALE = 100.0 / 65.535  # PSTNet NTU units per metre (see module docstring)
MSR_ACTION3D_DEPTH = CameraIntrinsics(fx=280.0, fy=280.0, cx=160.0, cy=120.0, width=320, height=240)

# name -> (intrinsics, output scale), for configs and command lines
CONVENTIONS: dict[str, tuple[CameraIntrinsics, float]] = {
    "kinect_v2": (KINECT_V2_DEPTH, 1.0),
    "pstnet": (PSTNET_NTU, PSTNET_NTU_SCALE),
}


def convention(name: str) -> tuple[CameraIntrinsics, float]:
    """(intrinsics, scale) of a named NTU coordinate convention."""
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise ValueError(f"unknown depth convention {name!r}; choose from {sorted(CONVENTIONS)}") from None


def _as_numpy_depth(depth) -> np.ndarray:
    if type(depth).__module__.startswith("torch"):  # a tensor; torch itself is not imported here
        depth = depth.detach().cpu().numpy()
    if not isinstance(depth, np.ndarray):
        raise TypeError(f"depth must be a numpy array or torch tensor, got {type(depth).__name__}")
    if depth.ndim != 2:
        raise ValueError(f"depth must be a 2-D (H, W) image, got shape {tuple(depth.shape)}")
    if not (np.issubdtype(depth.dtype, np.integer) or np.issubdtype(depth.dtype, np.floating)):
        raise TypeError(f"depth dtype must be integer (e.g. uint16 mm) or float (metres), got {depth.dtype}")
    return depth


def valid_flat_indices(depth, *, min_raw: float | None = None, max_raw: float | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Valid pixels of a depth image as raster indices ``v * W + u``.

    Same validity rule as :func:`valid_pixels`. Returns ``(flat, values)``:
    (P,) int64 indices in increasing (raster) order and the (P,) raw depth
    values there, in the input dtype.
    """
    depth = _as_numpy_depth(depth)
    if np.issubdtype(depth.dtype, np.floating):
        with np.errstate(invalid="ignore"):
            mask = np.isfinite(depth) & (depth > 0)
    else:
        mask = depth > 0
    if min_raw is not None:
        mask &= depth >= min_raw
    if max_raw is not None:
        mask &= depth <= max_raw
    # Masked depth frames hold one person in a band of rows: scanning that
    # band only, with 1-D indices, is several times faster than
    # np.nonzero over the whole frame.
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=depth.dtype)
    w = depth.shape[1]
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    flat = np.flatnonzero(mask[r0:r1]).astype(np.int64, copy=False)
    values = depth[r0:r1].reshape(-1)[flat]
    return flat + r0 * w, values


def valid_pixels(depth, *, min_raw: float | None = None, max_raw: float | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Valid pixels of a depth image: ``(v, u, z)`` in raster order.

    Args:
        depth: (H, W) integer (0 = invalid) or float (NaN, inf, <= 0 invalid).
        min_raw, max_raw: optional inclusive range of valid raw values.
    Returns:
        v (P,) int64 row, u (P,) int64 column, z (P,) raw depth values in the
        input dtype.
    """
    depth = _as_numpy_depth(depth)
    flat, z = valid_flat_indices(depth, min_raw=min_raw, max_raw=max_raw)
    v, u = np.divmod(flat, depth.shape[1])
    return v, u, z


def backproject(u: np.ndarray, v: np.ndarray, z_m: np.ndarray, intrinsics: CameraIntrinsics,
                scale: float = 1.0) -> np.ndarray:
    """Pixels (u, v) with depth ``z_m`` (metres) -> (P, 3) float32 points.

    Output units are metres times ``scale``.
    """
    z = (np.asarray(z_m, dtype=np.float64) * scale).astype(np.float32)
    out = np.empty((z.shape[0], 3), dtype=np.float32)
    out[:, 0] = (np.asarray(u, dtype=np.float32) - np.float32(intrinsics.cx)) * (z / np.float32(intrinsics.fx))
    out[:, 1] = (np.asarray(v, dtype=np.float32) - np.float32(intrinsics.cy)) * (z / np.float32(intrinsics.fy))
    out[:, 2] = z
    return out


def check_image_size(depth_shape: tuple[int, ...], intrinsics: CameraIntrinsics, what: str = "depth") -> None:
    """Raise if an (H, W, ...) image does not match the intrinsics' size."""
    h, w = depth_shape[:2]
    wrong_w = intrinsics.width is not None and w != intrinsics.width
    wrong_h = intrinsics.height is not None and h != intrinsics.height
    if wrong_w or wrong_h:
        raise ValueError(
            f"{what} image is {w}x{h} but the intrinsics are for "
            f"{intrinsics.width}x{intrinsics.height}; pass matching CameraIntrinsics (see .scaled())"
        )


def depth_to_points(depth, intrinsics: CameraIntrinsics, *, depth_unit: float | None = None,
                    scale: float = 1.0, min_depth: float | None = None, max_depth: float | None = None,
                    return_pixels: bool = False):
    """Back-project the valid pixels of one depth image.

    Args:
        depth: (H, W) numpy array or tensor. Integer dtypes (``16UC1``) are raw
            units with 0 = invalid; float dtypes (``32FC1``) are metres with
            NaN / inf / non-positive = invalid.
        intrinsics: pinhole intrinsics for this image size.
        depth_unit: metres per raw unit; default 0.001 (mm) for integer input
            and 1.0 for float input.
        scale: output units per metre (1.0 = metres).
        min_depth, max_depth: optional valid range in metres (inclusive).
        return_pixels: also return the (P, 2) int64 ``(u, v)`` pixel of each point.
    Returns:
        (P, 3) float32 points, valid pixels only, in raster order (row by row);
        with ``return_pixels`` a tuple ``(points, pixels)``.
    """
    depth = _as_numpy_depth(depth)
    check_image_size(depth.shape, intrinsics)
    is_float = np.issubdtype(depth.dtype, np.floating)
    if depth_unit is None:
        depth_unit = 1.0 if is_float else 1e-3
    if not depth_unit > 0:
        raise ValueError(f"depth_unit must be > 0 metres per raw unit, got {depth_unit!r}")
    lo = None if min_depth is None else min_depth / depth_unit
    hi = None if max_depth is None else max_depth / depth_unit
    v, u, z = valid_pixels(depth, min_raw=lo, max_raw=hi)
    # float64 so that e.g. 1500 mm is exactly 1.5 m after the cast to float32
    points = backproject(u, v, z.astype(np.float64) * depth_unit, intrinsics, scale)
    if return_pixels:
        return points, np.stack([u, v], axis=1)
    return points


class SparseDepthVideo:
    """The valid pixels of a depth video, kept compactly; converts on demand.

    Stores per frame the ``(u, v)`` pixel (uint16) and raw depth (as given,
    integer or float32) of every valid pixel - 6 bytes per point for uint16
    depth instead of 12 for float32 xyz - and back-projects only the points a
    clip asks for (:meth:`gather`). This is the in-memory cache of converted
    videos: building it (finding valid pixels) is the expensive step.

    Args:
        frames: sequence of F depth images (H, W) or an (F, H, W) array.
        intrinsics, depth_unit, scale: as in :func:`depth_to_points`.
        max_points: keep at most this many points per frame (a uniform random
            subset drawn with ``rng``); 0 keeps all.
        rng: generator for that subset (required when max_points > 0).
    """

    def __init__(self, frames, intrinsics: CameraIntrinsics, *, depth_unit: float | None = None,
                 scale: float = 1.0, max_points: int = 0, rng: np.random.Generator | None = None) -> None:
        self.intrinsics = intrinsics
        self.scale = float(scale)
        uv_parts, z_parts, counts = [], [], []
        is_float = None
        for i, frame in enumerate(frames):
            frame = _as_numpy_depth(frame)
            check_image_size(frame.shape, intrinsics, what=f"depth frame {i}")
            is_float = np.issubdtype(frame.dtype, np.floating)
            v, u, z = valid_pixels(frame)
            if max_points and z.shape[0] > max_points:
                if rng is None:
                    raise ValueError("SparseDepthVideo(max_points > 0) needs an rng for the subset")
                keep = np.sort(rng.choice(z.shape[0], size=max_points, replace=False))
                v, u, z = v[keep], u[keep], z[keep]
            uv_parts.append(np.stack([u, v], axis=1).astype(np.uint16))
            z_parts.append(z.astype(np.float32) if is_float else z.astype(np.uint16))
            counts.append(z.shape[0])
        if not counts:
            raise ValueError("a depth video needs at least one frame")
        self.depth_unit = float(depth_unit if depth_unit is not None else (1.0 if is_float else 1e-3))
        self._counts = np.asarray(counts, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self._counts)]).astype(np.int64)
        self.uv = np.concatenate(uv_parts)  # (P, 2) uint16
        self.z = np.concatenate(z_parts)  # (P,) raw depth

    @classmethod
    def from_arrays(cls, uv: np.ndarray, z: np.ndarray, offsets: np.ndarray, intrinsics: CameraIntrinsics, *,
                    depth_unit: float, scale: float = 1.0) -> "SparseDepthVideo":
        """Rebuild from the arrays of :meth:`arrays` (e.g. loaded from an .npz)."""
        self = cls.__new__(cls)
        self.intrinsics = intrinsics
        self.scale = float(scale)
        self.depth_unit = float(depth_unit)
        self.uv = np.asarray(uv, dtype=np.uint16)
        self.z = np.asarray(z)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        if self.offsets.ndim != 1 or self.offsets[0] != 0 or self.offsets[-1] != self.z.shape[0] \
                or self.uv.shape != (self.z.shape[0], 2) or np.any(np.diff(self.offsets) < 0):
            raise ValueError("inconsistent sparse depth arrays (uv, z, offsets)")
        self._counts = np.diff(self.offsets)
        return self

    def arrays(self) -> dict[str, np.ndarray]:
        return {"uv": self.uv, "z": self.z, "offsets": self.offsets}

    @property
    def num_frames(self) -> int:
        return int(self._counts.shape[0])

    @property
    def counts(self) -> np.ndarray:
        return self._counts

    @property
    def nbytes(self) -> int:
        return int(self.uv.nbytes + self.z.nbytes + self.offsets.nbytes)

    def gather(self, frame: int, idx: np.ndarray) -> np.ndarray:
        """Points ``idx`` of frame ``frame`` -> (n, 3) float32 (metres x scale)."""
        rows = self.offsets[frame] + np.asarray(idx, dtype=np.int64)
        uv = self.uv[rows]
        z = self.z[rows].astype(np.float64) * self.depth_unit
        return backproject(uv[:, 0], uv[:, 1], z, self.intrinsics, self.scale)

    def frame_points(self, frame: int) -> np.ndarray:
        """All points of one frame -> (P_f, 3) float32."""
        return self.gather(frame, np.arange(self._counts[frame]))
