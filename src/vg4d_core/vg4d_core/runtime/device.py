"""Device and numeric precision: one rule for training, evaluation, benchmarks and the node.

* ``pick_device("auto" | "cpu" | "cuda", local_rank)``: CUDA when available
  for "auto"; under torchrun each process takes GPU ``local_rank``.
* ``amp_dtype_for("auto" | "bf16" | "off", device)``: bf16 autocast on CUDA
  by default, fp32 on CPU (CPU bf16 is slower than fp32 on most x86 cores);
  "bf16" forces it, "off" disables it.
"""
from __future__ import annotations

import contextlib
from typing import Literal

import torch

DeviceName = Literal["auto", "cpu", "cuda"]
AmpMode = Literal["auto", "bf16", "off"]
DEVICE_NAMES: tuple[str, ...] = ("auto", "cpu", "cuda")
AMP_MODES: tuple[str, ...] = ("auto", "bf16", "off")


def pick_device(name: str, local_rank: int | None = None) -> torch.device:
    """Resolve a device name; ``local_rank`` (torchrun's LOCAL_RANK) picks the GPU."""
    if name not in DEVICE_NAMES:
        raise ValueError(f"device must be one of {list(DEVICE_NAMES)}, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch.cuda.is_available() is False "
                         "(no GPU visible, or a CPU-only torch build)")
    if name == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", torch.cuda.current_device() if local_rank is None else local_rank)


def amp_dtype_for(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``amp`` on ``device`` (None: full fp32)."""
    if amp not in AMP_MODES:
        raise ValueError(f"amp must be one of {list(AMP_MODES)}, got {amp!r}")
    if amp == "bf16" or (amp == "auto" and device.type == "cuda"):
        return torch.bfloat16
    return None


def autocast(device: torch.device, dtype: torch.dtype | None):
    """``torch.autocast`` for ``device`` when ``dtype`` is set, else a no-op context."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
