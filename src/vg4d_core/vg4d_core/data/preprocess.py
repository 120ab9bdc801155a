"""``vg4d preprocess ntu``: raw NTU RGB+D -> the compact training cache.

::

    vg4d preprocess ntu --root RAW --out CACHE --workers N [--points 2048]
                        [--convention kinect_v2|pstnet] [--no-rgb] [--rgb-size 224]

* Every depth video under ``RAW/nturgb+d_depth_masked`` is converted (all 120
  actions; names that are not NTU names are ignored), each by one worker
  process; a progress bar counts videos and frames per second.
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
* Depth and RGB stay aligned: the cache stores one RGB frame per depth frame
  (:func:`vg4d_core.data.rgb.align_to_depth`).

Format and sizes: :mod:`vg4d_core.data.cache`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zlib
from dataclasses import asdict
from pathlib import Path
from typing import Iterable, Sequence

import numba
import numpy as np

from vg4d_core.data import ntu
from vg4d_core.data.cache import (REPORT_FILE, VIDEOS_DIR, CacheSettings, IndexEntry, read_index,
                                  read_settings, read_video_meta, video_path, write_index, write_settings,
                                  write_video)
from vg4d_core.data.depth import convention

# RGB and depth frame counts further apart than this are reported (alignment still spreads both over
# the same duration)
_RGB_MISMATCH_WARN = 0.1


class VideoError(Exception):
    """A video that cannot be converted; the message names the file."""


@numba.njit(cache=True, nogil=True)
def _sample_quantised(depth, ranks, fx, fy, cx, cy, metres_per_unit, inv_quantum, out):  # pragma: no cover
    """Back-project the valid pixels of ``depth`` whose raster rank is in ``ranks`` (sorted) into
    ``out`` (len(ranks), 3) int16, in units of the quantum; returns the largest |coordinate| in units.

    The same formula as :func:`vg4d_core.data.depth.backproject`, fused with the pixel scan so the
    frame is read once and only the kept points are converted.
    """
    h, w = depth.shape
    n = ranks.shape[0]
    k = 0
    rank = 0
    peak = 0.0
    for v in range(h):
        if k == n:
            break
        for u in range(w):
            d = depth[v, u]
            if d == 0:
                continue
            if rank == ranks[k]:
                z = d * metres_per_unit
                q0 = np.rint((u - cx) * z / fx * inv_quantum)
                q1 = np.rint((v - cy) * z / fy * inv_quantum)
                q2 = np.rint(z * inv_quantum)
                peak = max(peak, abs(q0), abs(q1), abs(q2))
                out[k, 0] = np.int16(max(min(q0, 32767.0), -32768.0))
                out[k, 1] = np.int16(max(min(q1, 32767.0), -32768.0))
                out[k, 2] = np.int16(max(min(q2, 32767.0), -32768.0))
                k += 1
                if k == n:
                    break
            rank += 1
    return peak


def _video_seed(seed: int, name: str) -> np.random.SeedSequence:
    # crc32, not hash(): stable across processes and Python runs
    return np.random.SeedSequence([int(seed), zlib.crc32(name.encode())])


def convert_depth_frames(frame_paths: Sequence[Path], settings: CacheSettings, rng: np.random.Generator
                         ) -> tuple[dict[str, np.ndarray], list[str]]:
    """Masked depth PNGs of one video -> cache arrays (points, counts, valid_pixels) and warnings.

    Raises VideoError naming the file for unreadable frames, or when no frame has points.
    """
    intrinsics, scale = convention(settings.convention)
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
        count = int(np.count_nonzero(depth))
        valid[f] = count
        if count == 0:
            warnings.append(f"all-zero depth frame {path}")
            continue
        if count > p:  # a uniform random subset, kept in raster order
            ranks = np.sort(rng.choice(count, size=p, replace=False))
        else:
            ranks = np.arange(count)
        peak = _sample_quantised(depth, ranks.astype(np.int64), intrinsics.fx, intrinsics.fy, intrinsics.cx,
                                 intrinsics.cy, 1e-3 * scale, 1.0 / settings.quantum, points[f])
        if peak > 32767:
            raise VideoError(f"{path}: coordinates beyond the int16 cache range "
                             f"(+-{32767 * settings.quantum:g}); use a larger quantum")
        counts[f] = ranks.shape[0]
    if not counts.any():
        raise VideoError(f"{frame_paths[0].parent}: every depth frame is empty")
    return {"points": points, "counts": counts, "valid_pixels": valid}, warnings


def convert_rgb(rgb_path: Path, num_depth: int, settings: CacheSettings
                ) -> tuple[dict[str, np.ndarray], list[str], int]:
    """RGB video -> one JPEG per depth frame (aligned in time), warnings, RGB frame count."""
    from vg4d_core.data.rgb import align_to_depth, encode_jpeg_frames, read_video

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
    """Compile (or load from numba's cache) the kernels once, before workers fork."""
    from vg4d_core.data.png16 import _unfilter16

    _unfilter16(np.zeros(5, np.uint8), 1, 2)
    _sample_quantised(np.ones((1, 1), np.uint16), np.zeros(1, np.int64), 1.0, 1.0, 0.0, 0.0, 1e-3, 1e3,
                      np.zeros((1, 3), np.int16))


def _worker_init() -> None:
    import cv2

    cv2.setNumThreads(1)  # one process per core; OpenCV's own threads would oversubscribe


def _convert_job(job: tuple) -> dict:
    root, name, out, settings = job
    return convert_video(root, name, out, settings)


def run(root: str | Path, out: str | Path, settings: CacheSettings, *, workers: int = 1,
        names: Iterable[str] | None = None, progress: bool = True, log=None) -> dict:
    """Convert every (or the given) video not yet in the cache; returns the run's report.

    ``log``: text stream for the progress bar and summary (default: the current ``sys.stderr``).
    """
    log = sys.stderr if log is None else log
    root, out = Path(root), Path(out)
    existing = read_settings(out)
    if existing is not None and existing != settings:
        diff = {k: (v, getattr(settings, k)) for k, v in asdict(existing).items() if getattr(settings, k) != v}
        raise ValueError(f"{out} was made with other settings (cache value, requested): {diff}; "
                         f"use another --out or the same options")
    all_names = sorted(names) if names is not None else ntu.list_depth_videos(root)  # fails early on a bad root
    out.mkdir(parents=True, exist_ok=True)
    write_settings(out, settings)
    (out / VIDEOS_DIR).mkdir(exist_ok=True)
    for stale in (out / VIDEOS_DIR).glob(".*.tmp"):  # left by a killed run
        stale.unlink()
    done = {n for n in all_names if video_path(out, n).is_file()}
    todo = [n for n in all_names if n not in done]
    print(f"vg4d preprocess ntu: {len(all_names)} videos under {root}, {len(done)} already cached, "
          f"{len(todo)} to convert with {workers} worker(s)", file=log)

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
        "videos_total": len(all_names), "videos_skipped": len(done), "videos_converted": len(converted),
        "videos_failed": len(failed), "frames_converted": int(sum(r["frames"] for r in converted)),
        "seconds": elapsed, "frames_per_s": sum(r["frames"] for r in results) / elapsed if elapsed > 0 else None,
        "bytes_per_video": (float(np.mean([r["bytes"] for r in converted])) if converted else None),
        "failures": failed, "warnings": warnings,
    }
    tmp = out / f".{REPORT_FILE}.tmp"
    tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / REPORT_FILE)
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


def _print_summary(report: dict, log) -> None:
    print(f"converted {report['videos_converted']} videos ({report['frames_converted']} frames) in "
          f"{report['seconds']:.1f} s"
          + (f", {report['frames_per_s']:.0f} frames/s" if report["frames_per_s"] else "")
          + f"; skipped {report['videos_skipped']} already cached; failed {report['videos_failed']}", file=log)
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vg4d preprocess", description="convert a raw dataset into a training cache")
    sub = parser.add_subparsers(dest="dataset", required=True)
    p = sub.add_parser("ntu", help="NTU RGB+D 60/120 (masked depth PNGs + RGB AVIs)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", required=True, type=Path, help="folder holding nturgb+d_depth_masked/ and nturgb+d_rgb/")
    p.add_argument("--out", required=True, type=Path, help="cache folder (created; re-use it to resume)")
    p.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1)), help="processes (default: all cores)")
    p.add_argument("--points", type=int, default=CacheSettings.points_per_frame, help="points stored per frame")
    p.add_argument("--convention", default="kinect_v2", choices=["kinect_v2", "pstnet"],
                   help="kinect_v2: metres with Kinect v2 intrinsics; pstnet: PSTNet's focal-280 units")
    p.add_argument("--no-rgb", action="store_true", help="depth only (no RGB frames in the cache)")
    p.add_argument("--rgb-size", type=int, default=CacheSettings.rgb_size)
    p.add_argument("--rgb-fit", default=CacheSettings.rgb_fit, choices=["crop", "stretch", "pad"])
    p.add_argument("--seed", type=int, default=0, help="seed of the per-frame point subsets")
    p.add_argument("--limit", type=int, default=0, help="convert only the first N videos (0 = all)")
    p.add_argument("--no-progress", action="store_true")
    return parser


def main(argv: Sequence[str]) -> int:
    parser = _parser()
    args = parser.parse_args(list(argv))
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    try:
        settings = CacheSettings(convention=args.convention, points_per_frame=args.points, rgb=not args.no_rgb,
                                 rgb_size=args.rgb_size, rgb_fit=args.rgb_fit, seed=args.seed)
        names = None
        if args.limit:
            names = ntu.list_depth_videos(args.root)[:args.limit]
        report = run(args.root, args.out, settings, workers=args.workers, names=names,
                     progress=not args.no_progress)
    except (ValueError, FileNotFoundError) as exc:
        print(f"vg4d preprocess ntu: error: {exc}", file=sys.stderr)
        return 2
    return 1 if report["videos_failed"] else 0
