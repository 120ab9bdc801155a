"""Spatio-temporal neighbourhoods of a PST convolution, for a whole clip at once.

A PST convolution with temporal kernel ``l`` (odd), stride ``s`` and padding
``(p0, p1)`` looks, for each anchor window ``j``, at the padded frames
``j*s, ..., j*s + l - 1``; the middle one is the anchor frame, on which
anchors are chosen by farthest point sampling, and each of the ``l`` frames
contributes the ``k`` ball-query neighbours of every anchor.

Instead of PSTNet's two Python loops (anchor frames x offsets) this module
builds every index in three calls: one frame-index table, one FPS call over
the ``B*T'`` anchor frames and one ball-query call over the ``B*T'*l``
(anchor frame, neighbour frame) pairs.

Padding never materialises frames: a padded position maps to a source frame
by clamping (``replicate``) or is flagged as a zero frame (``zeros``: PSTNet's
zero frame has every point at the origin with zero features, so every
neighbour of every anchor there is the origin, whatever the ball query says).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import ops
from .config import check_choice, temporal_output_frames


@dataclass
class TemporalWindows:
    """Which source frame each (anchor window, offset) reads.

    ``frame`` (T', l) int64 source frame index in [0, L) (clamped);
    ``is_pad`` (T', l) bool, True where the position is a zero padding frame
    (only in ``zeros`` mode). The anchor frame of window ``j`` is column
    ``l // 2``. ``has_pad`` / ``anchor_has_pad`` say, as Python booleans (no
    device synchronisation), whether any neighbour / anchor frame is padding.
    """

    frame: torch.Tensor
    is_pad: torch.Tensor
    has_pad: bool = False
    anchor_has_pad: bool = False

    @property
    def num_windows(self) -> int:
        return self.frame.shape[0]

    @property
    def kernel(self) -> int:
        return self.frame.shape[1]

    @property
    def anchor_frame(self) -> torch.Tensor:
        """(T',) source frame of each window's anchor frame."""
        return self.frame[:, self.kernel // 2]

    @property
    def anchor_is_pad(self) -> torch.Tensor:
        """(T',) True where the anchor frame itself is a zero padding frame."""
        return self.is_pad[:, self.kernel // 2]


def temporal_windows(num_frames: int, kernel: int, stride: int, padding: tuple[int, int],
                     mode: str, device: torch.device | str = "cpu") -> TemporalWindows:
    """Frame table of a temporal convolution over ``num_frames`` frames.

    Windows start at padded positions ``0, s, 2s, ...`` while ``l`` frames
    fit, which is PSTNet's ``range(l//2, L + p0 + p1 - l//2, s)`` of anchor
    frames. Raises ValueError when the padded clip is shorter than the kernel.
    """
    if kernel < 1 or kernel % 2 != 1:
        raise ValueError(f"temporal kernel must be odd and >= 1, got {kernel}")
    if stride < 1:
        raise ValueError(f"temporal stride must be >= 1, got {stride}")
    check_choice("padding_mode", mode)
    p0, p1 = padding
    n_windows = temporal_output_frames(num_frames, kernel, stride, (p0, p1))
    if n_windows < 1:
        raise ValueError(
            f"clip of {num_frames} frames (+ padding {p0}+{p1}) is shorter than the temporal kernel {kernel}"
        )
    start = torch.arange(n_windows, device=device) * stride
    src = start[:, None] + torch.arange(kernel, device=device)[None, :] - p0  # (T', l) in source frames
    outside = (src < 0) | (src >= num_frames)
    is_pad = outside if mode == "zeros" else torch.zeros_like(outside)
    # the same facts from plain integers: window j reads padded frames j*s .. j*s + l - 1
    last = (n_windows - 1) * stride
    has_pad = mode == "zeros" and (p0 > 0 or last + kernel - 1 - p0 >= num_frames)
    centre = kernel // 2
    anchor_has_pad = mode == "zeros" and (centre - p0 < 0 or last + centre - p0 >= num_frames)
    return TemporalWindows(frame=src.clamp(0, num_frames - 1), is_pad=is_pad, has_pad=has_pad,
                           anchor_has_pad=anchor_has_pad)


@torch.no_grad()
@torch.compiler.disable  # FPS and ball query are data-dependent index searches; compile the dense math only
def sample_and_query(xyz: torch.Tensor, windows: TemporalWindows, num_anchors: int, radius: float, k: int,
                     empty: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Anchors and neighbours of every window of a clip.

    Args:
        xyz: (B, L, N, 3) float coordinates.
        windows: the layer's :class:`TemporalWindows` for L frames.
        num_anchors: M, anchors per anchor frame (FPS, starting at point 0).
        radius, k, empty: ball query parameters (see :func:`vg4d_core.ops.ball_query`).

    Returns:
        anchor_idx: (B, T', M) int64 point index of each anchor in its anchor frame.
        neighbour_idx: (B, T', M, l, k) int64 point index of each neighbour in
        its neighbour frame ``windows.frame[t', i]`` (meaningless where that
        frame is a zero padding frame: the caller masks those).
    """
    b, _, n, _ = xyz.shape
    t_out, l = windows.frame.shape
    with torch.autocast(xyz.device.type, enabled=False):
        xyz = xyz.float()
        anchor_frames = xyz[:, windows.anchor_frame]  # (B, T', N, 3)
        if windows.anchor_has_pad:
            anchor_frames = anchor_frames.masked_fill(windows.anchor_is_pad[None, :, None, None], 0.0)
        anchor_frames = anchor_frames.reshape(b * t_out, n, 3)
        anchor_idx = ops.furthest_point_sample(anchor_frames, num_anchors)  # (B*T', M)
        anchors = anchor_frames.gather(1, anchor_idx[..., None].expand(-1, -1, 3))  # (B*T', M, 3)
        # one ball query over all (anchor frame, neighbour frame) pairs
        frames = xyz[:, windows.frame.reshape(-1)].reshape(b * t_out * l, n, 3)
        centres = anchors.reshape(b, t_out, 1, num_anchors, 3).expand(b, t_out, l, num_anchors, 3)
        idx = ops.ball_query(frames, centres.reshape(b * t_out * l, num_anchors, 3), radius, k, empty=empty)
        idx = idx.reshape(b, t_out, l, num_anchors, k).permute(0, 1, 3, 2, 4)  # (B, T', M, l, k)
    return anchor_idx.reshape(b, t_out, num_anchors), idx.contiguous()
