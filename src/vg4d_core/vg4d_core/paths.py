"""Where vg4d finds its configuration files and the shared real data.

Config lookup order (first existing wins):

1. ``$VG4D_CONFIG_DIR``;
2. the source tree's top-level ``config/`` (editable / in-tree use);
3. ``<prefix>/share/vg4d_core/config`` and ``<prefix>/share/vg4d_ros/config``
   (pip or colcon installs; ``prefix`` is ``sys.prefix`` or any entry of
   ``$AMENT_PREFIX_PATH``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[3]  # <repo>/src/vg4d_core/vg4d_core -> <repo>


def _candidate_config_dirs() -> list[Path]:
    dirs: list[Path] = []
    env = os.environ.get("VG4D_CONFIG_DIR")
    if env:
        dirs.append(Path(env))
    dirs.append(SOURCE_ROOT / "config")
    prefixes = [Path(sys.prefix)]
    prefixes += [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    for prefix in prefixes:
        for pkg in ("vg4d_core", "vg4d_ros"):
            dirs.append(prefix / "share" / pkg / "config")
    return dirs


def config_dir() -> Path:
    """The directory holding vg4d's YAML configs; raises if none is found."""
    for d in _candidate_config_dirs():
        if d.is_dir():
            return d
    tried = "\n  ".join(str(d) for d in _candidate_config_dirs())
    raise FileNotFoundError(f"vg4d config directory not found; tried:\n  {tried}\nset VG4D_CONFIG_DIR")


def resolve_config(name: str | os.PathLike) -> Path:
    """Resolve a config given as a path, or as a name relative to :func:`config_dir`.

    ``resolve_config("model/ntu.yaml")`` and ``resolve_config("config/model/ntu.yaml")``
    both work from any working directory.
    """
    p = Path(name)
    if p.is_file():
        return p
    rel = p.parts[1:] if p.parts and p.parts[0] == "config" else p.parts
    candidate = config_dir().joinpath(*rel) if rel else config_dir()
    if candidate.is_file():
        return candidate
    raise FileNotFoundError(f"config {name!s} not found (looked at {p} and {candidate})")


def resolve_named(name_or_path: str | os.PathLike, group: str) -> Path:
    """The one rule for naming a config: an existing path is used as is;
    otherwise ``ntu`` -> ``config/<group>/ntu.yaml`` (``.yaml`` optional, and
    ``<group>/ntu.yaml`` or ``config/<group>/ntu.yaml`` work too) from any
    working directory. Raises FileNotFoundError naming every place looked at.
    """
    p = Path(name_or_path)
    if p.is_file():
        return p
    cand = p if p.suffix in (".yaml", ".yml") else p.with_name(p.name + ".yaml")
    errors = []
    for rel in (Path(group) / cand, cand):
        try:
            return resolve_config(rel)
        except FileNotFoundError as exc:
            errors.append(str(exc))
    raise FileNotFoundError(f"{group} config {str(name_or_path)!r} not found: " + "; ".join(errors))


def shared_data_dir() -> Path:
    """Real data root: ``$VG4D_SHARED_DATA`` or ``<repo>/../shared/data``."""
    return Path(os.environ.get("VG4D_SHARED_DATA", SOURCE_ROOT.parent / "shared" / "data"))
