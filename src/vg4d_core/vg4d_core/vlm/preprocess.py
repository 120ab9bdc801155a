"""Vectorised frame preprocessing for the vision-language backends.

Frames arrive as ``uint8`` RGB ``(B, T, H, W, 3)``; a backend wants floats
``(B, T, 3, S, S)``: resized, centre-cropped and normalised with the mean/std
its own processor config names. One ``torch.nn.functional.interpolate`` call
resizes all B*T frames at once (no per-frame PIL round trip).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class PreprocessSpec:
    """How one backend turns frames into pixels.

    Fields:
        size: resize target in pixels: the shortest edge for ``resize_mode
            = "shortest"`` (aspect kept), or ``(H, W)`` for ``"squash"``.
        crop: centre-crop ``(H, W)`` taken after the resize.
        mean, std: per-channel RGB normalisation of pixels scaled to [0, 1].
        interpolation: ``bilinear`` or ``bicubic`` (antialiased, as PIL's
            downscaling is).
        resize_mode: ``shortest`` or ``squash``.
    """

    size: int | tuple[int, int]
    crop: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: Literal["bilinear", "bicubic"] = "bilinear"
    resize_mode: Literal["shortest", "squash"] = "shortest"

    def __post_init__(self) -> None:
        if len(self.mean) != 3 or len(self.std) != 3:
            raise ValueError(f"PreprocessSpec: mean/std need 3 channels, got {self.mean} / {self.std}")
        if any(s <= 0 for s in self.std):
            raise ValueError(f"PreprocessSpec: std must be positive, got {self.std}")
        if self.interpolation not in ("bilinear", "bicubic"):
            raise ValueError(f"PreprocessSpec: interpolation {self.interpolation!r} is not bilinear/bicubic")
        if self.resize_mode not in ("shortest", "squash"):
            raise ValueError(f"PreprocessSpec: resize_mode {self.resize_mode!r} is not shortest/squash")


def preprocess_frames(frames: Tensor, spec: PreprocessSpec) -> Tensor:
    """``uint8 (B, T, H, W, 3)`` RGB frames -> ``float32 (B, T, 3, Hc, Wc)`` pixels.

    ``(Hc, Wc) = spec.crop``. Values: ``(frame / 255 - mean) / std``.
    """
    if not isinstance(frames, Tensor):
        raise TypeError(f"preprocess: frames must be a torch.Tensor, got {type(frames).__name__}")
    if frames.dtype != torch.uint8:
        raise ValueError(f"preprocess: frames must be uint8 RGB, got dtype {frames.dtype}")
    if frames.dim() != 5 or frames.shape[-1] != 3:
        raise ValueError(f"preprocess: frames must be (B, T, H, W, 3), got shape {tuple(frames.shape)}")
    b, t, h, w, _ = frames.shape
    x = frames.reshape(b * t, h, w, 3).permute(0, 3, 1, 2).float().div_(255.0)  # (BT, 3, H, W)
    if spec.resize_mode == "shortest":
        short = spec.size if isinstance(spec.size, int) else min(spec.size)
        # the long edge is truncated, as transformers' and torchvision's resize do
        # (64x48 -> shortest 32 gives 42x32, not 43x32)
        out_hw = (short, int(w * short / h)) if h <= w else (int(h * short / w), short)
    else:
        out_hw = (spec.size, spec.size) if isinstance(spec.size, int) else tuple(spec.size)
    if out_hw != (h, w):
        x = F.interpolate(x, size=out_hw, mode=spec.interpolation, align_corners=False, antialias=True)
    ch, cw = spec.crop
    hh, ww = x.shape[-2:]
    if ch > hh or cw > ww:
        raise ValueError(f"preprocess: crop {spec.crop} is larger than the resized frame {(hh, ww)}")
    top, left = (hh - ch) // 2, (ww - cw) // 2
    x = x[:, :, top:top + ch, left:left + cw]
    if spec.interpolation == "bicubic":  # bicubic overshoots; PIL clips to the pixel range
        x = x.clamp_(0.0, 1.0)
    mean = torch.tensor(spec.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    x = (x - mean) / std
    return x.reshape(b, t, 3, ch, cw).contiguous()
