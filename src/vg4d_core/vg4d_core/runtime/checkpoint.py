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
import re
import tempfile
import zipfile
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


# what to do about a file that is not a usable checkpoint (appended to every such error)
USE_A_VG4D_CHECKPOINT = "pass the last.pt or best.pt a `vg4d train` run wrote"
COPY_AGAIN = "copy the checkpoint again (the copy or the save was cut short), or use another one of the run"
ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive (PyTorch >= 1.6)
PICKLE_MAGIC = b"\x80"  # the legacy torch.save format begins with a pickle protocol opcode


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`atomic_save`; checks the format.

    Every refusal is a :class:`CheckpointError` that says what the file is
    (empty, text, not a torch file, a cut-short archive, another program's
    checkpoint) and what to do. Only ``weights_only=True`` loading is ever
    used or suggested: a vg4d checkpoint holds plain containers and tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    problem = sniff_checkpoint_file(path)
    if problem:
        raise CheckpointError(f"{path} {problem}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch's many ways of refusing a file; its reason, without its advice
        raise CheckpointError(f"cannot read checkpoint {path}: {torch_load_reason(exc)}; it is not a vg4d "
                              f"checkpoint or it is damaged: {USE_A_VG4D_CHECKPOINT}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a vg4d training checkpoint: {describe_foreign(ckpt)}; "
                              f"{USE_A_VG4D_CHECKPOINT}")
    for key in ("arch", "model", "epoch"):
        if key not in ckpt:
            raise CheckpointError(f"{path}: checkpoint has no {key!r} entry (an incomplete vg4d checkpoint); "
                                  f"{USE_A_VG4D_CHECKPOINT}")
    return ckpt


def sniff_checkpoint_file(path: Path) -> str | None:
    """What is wrong with a file that cannot be a ``torch.save`` archive, judged from its bytes (or None).

    Checked before ``torch.load`` because torch's own errors for these files
    (``EOFError('')``, ``KeyError('101')``, an unpickler opcode) do not say
    what the file is.
    """
    size = path.stat().st_size
    if size == 0:
        return f"is empty (0 bytes): {COPY_AGAIN}"
    with open(path, "rb") as fh:
        head = fh.read(256)
    if head.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError) as exc:  # a cut-short archive has no central directory
            return f"is a damaged or truncated checkpoint ({size} bytes; zip archive unreadable: {exc}): {COPY_AGAIN}"
        if not any(n.endswith("/data.pkl") for n in names):
            return (f"is a zip archive but not a torch.save file (it holds {names[:3]}"
                    f"{' ...' if len(names) > 3 else ''}): {USE_A_VG4D_CHECKPOINT}")
        return None
    if head.startswith(PICKLE_MAGIC):
        return None  # the legacy format: torch.load decides
    if all(b >= 0x20 or b in b"\t\n\r\f" for b in head) and b"\x7f" not in head:
        text = head[:60].decode("utf-8", errors="replace").splitlines()[0] if head.strip() else ""
        return f"is a text file, not a checkpoint (it begins {text!r}): {USE_A_VG4D_CHECKPOINT}"
    return f"is not a torch checkpoint (not a zip archive; it begins with bytes {head[:8].hex(' ')}): " \
           f"{USE_A_VG4D_CHECKPOINT}"


def torch_load_reason(exc: BaseException) -> str:
    """The reason in an error of ``torch.load``, on one line, without torch's advice.

    torch's refusals under ``weights_only=True`` explain how to load the file
    with ``weights_only=False``, which would execute whatever code the file
    holds: that advice is never passed on. What stays is the unpickler's
    reason (e.g. ``Unsupported global: GLOBAL torch.nn.modules.linear.Linear``).
    """
    text = str(exc)
    marker = "WeightsUnpickler error:"
    if marker in text:
        # a weights-only refusal: keep the first sentence of its first paragraph, what was found;
        # the rest is how to allow it
        paragraph = text.split(marker, 1)[1].strip().split("\n\n")[0]
        reason = next((s for s in _sentences(paragraph) if "weights_only" not in s), "").rstrip(".")
        return f"it holds Python objects other than tensors and plain containers ({reason})"
    return " ".join(s for s in _sentences(text) if "weights_only" not in s) or type(exc).__name__


def _sentences(text: str) -> list[str]:
    """``text`` on one line, cut into sentences."""
    return [s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if s]


def describe_foreign(obj: Any) -> str:
    """What a loaded object that is not a vg4d checkpoint looks like (for the error message)."""
    if not isinstance(obj, dict):
        return f"it holds a {type(obj).__name__}, not a dict"
    if "format" in obj:
        return f"it records format {obj['format']!r}, this vg4d reads format {FORMAT} (a different vg4d version)"
    keys = sorted(map(str, obj))
    listed = f"{keys[:6]}{' ...' if len(keys) > 6 else ''}"
    if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return (f"it is a bare state dict of {len(obj)} tensor(s) ({listed}), without the architecture and class "
                "names a vg4d checkpoint records")
    return f"a dict with keys {listed} and no vg4d 'format' entry (another program's checkpoint?)"


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
