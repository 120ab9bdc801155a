"""Already-serialised CDR samples in and out of cyclonedds (the payload fast path).

cyclonedds 11.0.1's Python ``DataWriter.write`` / ``DataReader.take`` run the
binding's own per-field encoder, which turns ``sequence[uint8]`` into Python
lists (tens of ms for one camera image). Underneath, both call the C-layer
functions ``_clayer.ddspy_write(writer_ref, bytes)`` and
``_clayer.ddspy_take(reader_ref, mask, n) -> [(bytes, SampleInfo)]`` on the
complete serialised sample (4-byte encapsulation header + XCDR1 body, padded
to a multiple of 4). This module calls them directly with bytes made by
rosbags' numpy CDR codec. These are internals: they are pinned to the
cyclonedds version below and checked once at import, so a changed binding
fails here with a clear message instead of misbehaving on the wire.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

TESTED_CYCLONEDDS = "11.0.1"


class RawPathError(RuntimeError):
    """The cyclonedds binding lacks the raw-sample functions this module relies on."""


def _load():
    try:
        from cyclonedds import _clayer
        from cyclonedds.core import InstanceState, SampleState, ViewState
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RawPathError(f"cyclonedds is not importable: {exc}") from exc
    missing = [n for n in ("ddspy_write", "ddspy_write_ts", "ddspy_take") if not hasattr(_clayer, n)]
    if missing:
        try:
            found = version("cyclonedds")
        except PackageNotFoundError:  # pragma: no cover
            found = "unknown"
        raise RawPathError(f"cyclonedds {found}: cyclonedds._clayer lacks {missing}; the raw CDR path "
                           f"was written for cyclonedds=={TESTED_CYCLONEDDS}")
    return _clayer, int(SampleState.Any | ViewState.Any | InstanceState.Any)


_clayer, _ANY = _load()


def pad4(payload) -> bytes:
    """A serialised sample as bytes padded with zeros to a multiple of 4 (what the binding writes)."""
    data = bytes(payload)
    rest = len(data) % 4
    return data + b"\0" * (4 - rest) if rest else data


def write_raw(writer, payload, timestamp_ns: int | None = None) -> None:
    """Write one serialised sample (encapsulation header + CDR body) on a ``DataWriter``."""
    data = pad4(payload)
    if len(data) < 4 or data[0] != 0 or data[1] not in (0, 1):
        raise ValueError("payload does not start with a CDR_BE / CDR_LE (XCDR1) encapsulation header")
    ret = (_clayer.ddspy_write(writer._ref, data) if timestamp_ns is None
           else _clayer.ddspy_write_ts(writer._ref, data, int(timestamp_ns)))
    if ret < 0:
        from cyclonedds.core import DDSException
        raise DDSException(ret, f"while writing a raw sample on {writer!r}")


def take_raw(reader, max_samples: int = 32) -> list[tuple[bytes, object]]:
    """Take up to ``max_samples`` samples from a ``DataReader`` as ``(bytes, SampleInfo)``.

    Only samples with ``valid_data`` are returned (dispose / unregister
    notifications carry no message).
    """
    ret = _clayer.ddspy_take(reader._ref, _ANY, int(max_samples))
    if isinstance(ret, int):
        from cyclonedds.core import DDSException
        raise DDSException(ret, f"while taking raw samples from {reader!r}")
    return [(data, info) for data, info in ret if info.valid_data]
