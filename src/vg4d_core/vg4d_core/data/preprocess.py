"""The NTU conversion runner behind ``vg4d preprocess ntu``: raw NTU RGB+D -> the compact training cache.

Command line: :mod:`vg4d_core.data.preprocess_cli`. The per-frame depth
conversion (valid pixels -> random subset -> back-projection) is
:func:`vg4d_core.data.depth_sampling.sample_like_cache`, the function a live
sensor node calls too; this module adds reading the PNGs, quantisation, RGB,
writing, the worker pool and the report.

* Every depth video under ``RAW/nturgb+d_depth_masked`` is converted (all 120
  actions), each by one worker process; a progress bar counts videos and
  frames per second. Entries that are not NTU video folders (misnamed
  folders, files) are ignored, counted and named in the summary; a root
  with no NTU video folder at all is an error (nothing to convert).
* Resumable: finished videos (their ``.npz`` exists: files are renamed into
  place only when complete) are skipped, so a killed run continues where it
  stopped. A run whose settings differ from the cache's refuses to start.
* Problems are reported by file name and the run continues: a corrupt or
  unreadable depth PNG, a video without frames or whose frames are all empty,
  or (with RGB) a missing or undecodable ``_rgb.avi`` make that video fail
  (it is not written); an all-zero depth frame is a warning (the video is
  kept, the frame is filled from its neighbours at training time). The run
  ends with a summary (also in ``CACHE/report.json``) and exit status 1 if
  any video failed.
* Cached coordinates are the float32 points of
  :func:`~vg4d_core.data.depth_sampling.sample_like_cache` rounded to the
  nearest ``quantum`` (1 mm by default).
* Depth and RGB stay aligned: the cache stores one RGB frame per depth frame
  (:func:`vg4d_core.data.rgb.align_to_depth`).

Format and sizes: :mod:`vg4d_core.data.cache`.
"""
from __future__ import annotations

import sys
import time
import zlib
from dataclasses import asdict
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from vg4d_core.data import ntu
from vg4d_core.data.cache import (CacheSettings, IndexEntry, REPORT_FILE, VIDEOS_DIR, read_index, read_settings,
                                  read_video_meta, video_path, write_index, write_settings, write_video)
from vg4d_core.data.depth import convention
from vg4d_core.data.depth_sampling import quantise_points, sample_like_cache
from vg4d_core.data.png16 import _unfilter16
from vg4d_core.data.rgb import align_to_depth, encode_jpeg_frames, read_video
from vg4d_core.provenance import save_json

# RGB and depth frame counts further apart than this are reported (alignment still spreads both over
# the same duration)
_RGB_MISMATCH_WARN = 0.1


class VideoError(Exception):
    """A video that cannot be converted; the message names the file."""


def _video_seed(seed: int, name: str) -> np.random.SeedSequence:
    # crc32, not hash(): stable across processes and Python runs
    return np.random.SeedSequence([int(seed), zlib.crc32(name.encode())])


def convert_depth_frames(frame_paths: Sequence[Path], settings: CacheSettings, rng: np.random.Generator
                         ) -> tuple[dict[str, np.ndarray], list[str]]:
    """Masked depth PNGs of one video -> cache arrays (points, counts, valid_pixels) and warnings.

    Raises VideoError naming the file for unreadable frames, or when no frame has points.
    """
    intrinsics, _ = convention(settings.convention)
    p = settings.points_per_frame
    points = np.zeros((len(frame_paths), p, 3), np.int16)
    counts = np.zeros(len(frame_paths), np.int32)
    valid = np.zeros(len(frame_paths), np.int32)
    warnings = []
    for f, path in enumerate(frame_paths):
        try:
            depth = ntu.read_depth_png(path, expected_size=(intrinsics.width, intrinsics.height))
        except ValueError as exc:
            raise VideoError(str(exc)) from None
        frame_points, count = sample_like_cache(depth, settings, rng, return_count=True)
        valid[f] = count
        if count == 0:
            warnings.append(f"all-zero depth frame {path}")
            continue
        try:
            points[f, :frame_points.shape[0]] = quantise_points(frame_points, settings.quantum)
        except ValueError as exc:
            raise VideoError(f"{path}: {exc}") from None
        counts[f] = frame_points.shape[0]
    if not counts.any():
        raise VideoError(f"{frame_paths[0].parent}: every depth frame is empty")
    return {"points": points, "counts": counts, "valid_pixels": valid}, warnings


def convert_rgb(rgb_path: Path, num_depth: int, settings: CacheSettings
                ) -> tuple[dict[str, np.ndarray], list[str], int]:
    """RGB video -> one JPEG per depth frame (aligned in time), warnings, RGB frame count."""
    if not rgb_path.is_file():
        raise VideoError(f"missing RGB video {rgb_path}")
    try:
        frames, n = read_video(rgb_path, size=settings.rgb_size, fit=settings.rgb_fit)
    except (ValueError, OSError) as exc:
        raise VideoError(str(exc)) from None
    warnings = []
    if abs(n - num_depth) > _RGB_MISMATCH_WARN * num_depth:
        warnings.append(f"{rgb_path}: {n} RGB frames for {num_depth} depth frames (aligned by time)")
    blob, offsets = encode_jpeg_frames(frames[align_to_depth(num_depth, n)], quality=settings.jpeg_quality)
    return {"rgb_jpeg": blob, "rgb_offsets": offsets}, warnings, n


def convert_video(root: str | Path, name: str, out: str | Path, settings: CacheSettings) -> dict:
    """Convert and write one video; returns a result record (never raises for bad data).

    Record: ``{"name", "ok", "frames", "error", "warnings", "seconds", "bytes"}``.
    """
    t0 = time.perf_counter()
    record = {"name": name, "ok": False, "frames": 0, "error": None, "warnings": [], "seconds": 0.0, "bytes": 0}
    try:
        if settings.rgb and not ntu.rgb_video_path(root, name).is_file():  # before the depth work
            raise VideoError(f"missing RGB video {ntu.rgb_video_path(root, name)}")
        frame_paths = ntu.list_depth_frames(ntu.depth_video_dir(root, name))
        if not frame_paths:
            raise VideoError(f"{ntu.depth_video_dir(root, name)}: no MDepth-*.png frames")
        rng = np.random.default_rng(_video_seed(settings.seed, name))
        arrays, warnings = convert_depth_frames(frame_paths, settings, rng)
        num_rgb = 0
        if settings.rgb:
            rgb_arrays, rgb_warnings, num_rgb = convert_rgb(ntu.rgb_video_path(root, name), len(frame_paths), settings)
            arrays.update(rgb_arrays)
            warnings += rgb_warnings
        meta = {"name": name, "num_frames": len(frame_paths), "num_rgb_frames": num_rgb, **asdict(settings)}
        path = write_video(out, name, arrays, meta)
        record.update(ok=True, frames=len(frame_paths), warnings=warnings, bytes=path.stat().st_size)
    except VideoError as exc:
        record["error"] = str(exc)
    except OSError as exc:  # unreadable folder, disk full: report and go on
        record["error"] = f"{name}: {type(exc).__name__}: {exc}"
    record["seconds"] = time.perf_counter() - t0
    return record


def _compile_kernels() -> None:
    """Compile (or load from numba's cache) the PNG kernel once, before workers fork."""
    _unfilter16(np.zeros(5, np.uint8), 1, 2)


def _worker_init() -> None:
    import cv2

    cv2.setNumThreads(1)  # one process per core; OpenCV's own threads would oversubscribe


def _convert_job(job: tuple) -> dict:
    root, name, out, settings = job
    return convert_video(root, name, out, settings)


def run(root: str | Path, out: str | Path, settings: CacheSettings, *, workers: int = 1,
        names: Iterable[str] | None = None, limit: int | None = None, progress: bool = True, log=None) -> dict:
    """Convert every (or the given) video not yet in the cache; returns the run's report.

    ``names``: the videos to convert (default: every NTU video folder under ``root``).
    ``limit``: only the first ``limit`` (>= 1) of them, in sorted order.
    ``log``: text stream for the progress bar and summary (default: the current ``sys.stderr``).
    Raises ValueError when the cache holds other settings, ``limit`` < 1, or there is no video
    to convert at all (e.g. every folder under the root is misnamed); FileNotFoundError for a bad root.
    """
    log = sys.stderr if log is None else log
    root, out = Path(root), Path(out)
    existing = read_settings(out)
    if existing is not None and existing != settings:
        diff = {k: (v, getattr(settings, k)) for k, v in asdict(existing).items() if getattr(settings, k) != v}
        raise ValueError(f"{out} was made with other settings (cache value, requested): {diff}; "
                         f"use another --out or the same options")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive number of videos, got {limit!r}")
    ignored: list[str] = []
    if names is not None:
        all_names = sorted(names)
    else:
        all_names, ignored = ntu.scan_depth_videos(root)  # fails early on a bad root
    if limit is not None:
        all_names = all_names[:limit]
    if not all_names:
        raise ValueError(_nothing_to_convert(root, ignored))
    out.mkdir(parents=True, exist_ok=True)
    write_settings(out, settings)
    (out / VIDEOS_DIR).mkdir(exist_ok=True)
    for stale in (out / VIDEOS_DIR).glob(".*.tmp"):  # left by a killed run
        stale.unlink()
    done = {n for n in all_names if video_path(out, n).is_file()}
    todo = [n for n in all_names if n not in done]
    print(f"vg4d preprocess ntu: {len(all_names)} videos under {root}, {len(done)} already cached, "
          f"{len(todo)} to convert with {workers} worker(s)", file=log)
    if ignored:
        print(f"ignored {len(ignored)} entries of {root / ntu.DEPTH_DIR} that are not NTU video folders: "
              f"{_examples(ignored)}", file=log)

    _compile_kernels()
    results: list[dict] = []
    t0 = time.perf_counter()
    jobs = [(str(root), n, str(out), settings) for n in todo]
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), unit="video", disable=not progress, file=log, dynamic_ncols=True)
    frames = 0
    pool = None
    try:
        if workers <= 1:
            _worker_init()
            iterator = map(_convert_job, jobs)
        else:
            import multiprocessing as mp

            pool = mp.get_context("fork").Pool(workers, initializer=_worker_init)
            iterator = pool.imap_unordered(_convert_job, jobs, chunksize=1)
        for rec in iterator:
            results.append(rec)
            frames += rec["frames"]
            bar.update(1)
            bar.set_postfix(frames_per_s=f"{frames / max(time.perf_counter() - t0, 1e-9):.0f}",
                            failed=sum(not r["ok"] for r in results), refresh=False)
            if not rec["ok"]:
                bar.write(f"FAILED {rec['name']}: {rec['error']}", file=log)
        if pool is not None:
            pool.close()
            pool.join()
    except BaseException:
        if pool is not None:
            pool.terminate()
        raise
    finally:
        bar.close()
    elapsed = time.perf_counter() - t0

    index_entries = _index_entries(out, all_names, results, settings.rgb)
    write_index(out, index_entries)
    failed = [{"name": r["name"], "error": r["error"]} for r in results if not r["ok"]]
    warnings = [w for r in results for w in r["warnings"]]
    converted = [r for r in results if r["ok"]]
    report = {
        "root": str(root), "out": str(out), "settings": asdict(settings), "workers": workers,
        "videos_total": len(all_names), "ignored": len(ignored), "ignored_examples": ignored[:_EXAMPLES],
        "videos_skipped": len(done), "videos_converted": len(converted),
        "videos_failed": len(failed), "frames_converted": int(sum(r["frames"] for r in converted)),
        "seconds": elapsed, "frames_per_s": sum(r["frames"] for r in results) / elapsed if elapsed > 0 else None,
        "bytes_per_video": (float(np.mean([r["bytes"] for r in converted])) if converted else None),
        "failures": failed, "warnings": warnings,
    }
    save_json(out / REPORT_FILE, report)  # atomic, with command, commit and machine
    _print_summary(report, log)
    return report


def _index_entries(out: Path, names: list[str], results: list[dict], rgb: bool) -> list[IndexEntry]:
    """Index of every finished video: this run's results, the previous index, or the file's own meta."""
    known: dict[str, IndexEntry] = {}
    try:
        known = {e.name: e for e in read_index(out)}
    except FileNotFoundError:
        pass
    for r in results:
        if r["ok"]:
            known[r["name"]] = IndexEntry(r["name"], int(r["frames"]), rgb)
    entries = []
    for name in names:
        if not video_path(out, name).is_file():
            continue
        entry = known.get(name)
        if entry is None:
            meta = read_video_meta(video_path(out, name))
            entry = IndexEntry(name, int(meta["num_frames"]), bool(meta["rgb"]))
        entries.append(entry)
    # videos cached earlier (from another root or with --limit) stay indexed
    listed = set(names)
    for name, entry in known.items():
        if name not in listed and video_path(out, name).is_file():
            entries.append(entry)
    return entries


_EXAMPLES = 5  # ignored names shown in the summary and kept in the report


def _examples(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_EXAMPLES])
    return shown + (f", ... ({len(names) - _EXAMPLES} more)" if len(names) > _EXAMPLES else "")


def _nothing_to_convert(root: Path, ignored: list[str]) -> str:
    base = Path(root) / ntu.DEPTH_DIR
    if not ignored:
        return f"no video folders under {base}: nothing to convert"
    return (f"no NTU video folder under {base}: all {len(ignored)} entries are ignored because their names are "
            f"not NTU names (SsssCcccPpppRrrrAaaa, e.g. S001C002P003R001A058): {_examples(ignored)}")


def _print_summary(report: dict, log) -> None:
    print(f"converted {report['videos_converted']} videos ({report['frames_converted']} frames) in "
          f"{report['seconds']:.1f} s"
          + (f", {report['frames_per_s']:.0f} frames/s" if report["frames_per_s"] else "")
          + f"; skipped {report['videos_skipped']} already cached; failed {report['videos_failed']}"
          + (f"; ignored {report['ignored']} entries that are not NTU video folders" if report["ignored"] else ""),
          file=log)
    if report["warnings"]:
        print(f"{len(report['warnings'])} warning(s):", file=log)
        for w in report["warnings"][:20]:
            print(f"  {w}", file=log)
        if len(report["warnings"]) > 20:
            print(f"  ... (all in {Path(report['out']) / REPORT_FILE})", file=log)
    if report["failures"]:
        print(f"{len(report['failures'])} video(s) FAILED (not cached; fix and re-run to add them):", file=log)
        for f in report["failures"]:
            print(f"  {f['name']}: {f['error']}", file=log)

