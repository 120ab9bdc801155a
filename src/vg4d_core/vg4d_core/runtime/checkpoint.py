"""Checkpoints: atomic writes, validated loads, architecture checks.

The runtime reads checkpoints to run models (a ROS node, replay, evaluation);
training writes them. What training alone needs (RNG states) lives in
:mod:`vg4d_core.training.rng`.

A checkpoint is one ``torch.save`` file holding plain containers and tensors
only (so it loads with ``weights_only=True``):

* ``format``: :data:`FORMAT`;
* ``arch``: what the weights fit - model class, number of classes, embedding
  size and the resolved model config; a mismatch is a :class:`CheckpointError`;
* ``model``, ``optimizer``, ``scheduler``: state dicts;
* ``epoch``: number of completed epochs; ``step``: optimizer steps so far;
* ``config`` (the TrainConfig), ``data_config``, ``class_names``;
* ``rng``: one :func:`rng_state` per training process (rank order);
* ``history``: the per-epoch metrics records written so far.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

import torch

FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint is unreadable or does not fit the model being built."""


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to ``path`` so that a reader (or a crash) never sees a partial file.

    The bytes go to a temporary file in the same directory (same filesystem,
    so the rename is atomic), are flushed and fsync'ed, then ``os.replace``
    swaps it in; the directory is fsync'ed so the rename survives a power cut.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        # whatever went wrong (including KeyboardInterrupt), the old file stays intact
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:  # some filesystems do not support fsync on directories
        pass
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`atomic_save`; checks the format."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        found = ckpt.get("format") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path} is not a vg4d training checkpoint (format {found!r}, expected {FORMAT})")
    for key in ("arch", "model", "epoch"):
        if key not in ckpt:
            raise CheckpointError(f"{path}: checkpoint has no {key!r} entry")
    return ckpt


def diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Human-readable differences between two nested plain structures."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            name = f"{prefix}.{k}" if prefix else str(k)
            if k not in a:
                out.append(f"{name}: missing in checkpoint, {b[k]!r} now")
            elif k not in b:
                out.append(f"{name}: {a[k]!r} in checkpoint, missing now")
            else:
                out += diff(a[k], b[k], name)
        return out
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        a, b = list(a), list(b)
    return [] if a == b else [f"{prefix or 'value'}: {a!r} in checkpoint, {b!r} now"]


def check_arch(ckpt_arch: Mapping[str, Any], expected: Mapping[str, Any], path: str | Path = "checkpoint") -> None:
    """Raise :class:`CheckpointError` naming every field where the checkpoint's
    architecture (class count, model config, ...) differs from ``expected``."""
    diffs = diff(dict(ckpt_arch), dict(expected))
    if diffs:
        raise CheckpointError(
            f"{path} was trained for a different model; differences:\n  " + "\n  ".join(diffs))
