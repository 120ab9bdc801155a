"""The layering holds: the runtime (and everything below it, and vg4d_ros's pure
modules) imports and runs with training, evaluation and bench unimportable.

Two checks: a static one (no module of a lower layer names a higher one in
an import statement, wherever the import sits) and a live one (a child
process blocks the upper packages, builds a checkpoint with the runtime
alone, and scores a clip through the predictor).
"""
from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "src" / "vg4d_core" / "vg4d_core"
ROS = REPO / "src" / "vg4d_ros" / "vg4d_ros"
PROGRAMS = ("vg4d_core.training", "vg4d_core.evaluation", "vg4d_core.bench", "vg4d_core.cli", "vg4d_ros")
# layer -> packages it must never import (its own layer and those below are fine)
FORBIDDEN = {
    "runtime": PROGRAMS,
    "models": PROGRAMS + ("vg4d_core.runtime",),
    "provenance.py": PROGRAMS + ("vg4d_core.runtime", "vg4d_core.models", "vg4d_core.data"),
    "ops": PROGRAMS + ("vg4d_core.runtime", "vg4d_core.models", "vg4d_core.data"),
    "data": PROGRAMS + ("vg4d_core.runtime", "vg4d_core.models"),
    "losses": PROGRAMS + ("vg4d_core.runtime",),
    "vlm": PROGRAMS + ("vg4d_core.runtime",),
}


def _imported_modules(path: Path, package: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names.add(mod)
            names.update(f"{mod}.{a.name}" for a in node.names)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_import_runs_up_the_layers(layer):
    folder = CORE / layer
    if not folder.exists():
        pytest.skip(f"{layer} not present")
    bad = []
    for path in sorted(folder.rglob("*.py")) if folder.is_dir() else [folder]:
        rel = path.relative_to(CORE.parent).with_suffix("")
        package = ".".join(rel.parts[:-1]) if path.name != "__init__.py" else ".".join(rel.parts[:-1])
        for name in _imported_modules(path, package):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer]):
                bad.append(f"{path.relative_to(REPO)} imports {name}")
    assert not bad, "\n".join(bad)


CHILD = textwrap.dedent('''
    import importlib, pkgutil, sys, tempfile
    from pathlib import Path

    BLOCKED = ("vg4d_core.training", "vg4d_core.evaluation", "vg4d_core.bench", "rclpy")

    class Block:
        def find_spec(self, name, path=None, target=None):
            if any(name == b or name.startswith(b + ".") for b in BLOCKED):
                raise ImportError(f"layering: {name} must not be imported here")
            return None

    sys.meta_path.insert(0, Block())

    import vg4d_core.runtime as rt
    for info in pkgutil.iter_modules(rt.__path__):
        importlib.import_module(f"vg4d_core.runtime.{info.name}")
    import vg4d_ros
    pure = []
    for info in pkgutil.walk_packages(vg4d_ros.__path__, "vg4d_ros."):
        if info.name.endswith(".rclpy_node") or info.name.startswith("vg4d_ros.programs"):
            continue  # the rclpy shell; the programs (demo, soak, benchmarks) may use the trainer
        importlib.import_module(info.name)
        pure.append(info.name)

    import torch
    from vg4d_core.runtime.architecture import build_point_encoder, point_encoder_arch
    from vg4d_core.runtime.checkpoint import FORMAT, atomic_save
    from vg4d_core.runtime.collate import collate_clips
    from vg4d_core.runtime.predictor import predictor_from_checkpoint
    from vg4d_core.models import load_model_config
    from vg4d_core.config import to_dict

    torch.manual_seed(0)
    arch = point_encoder_arch(to_dict(load_model_config("lite")), 3, 16)
    model = build_point_encoder(arch)
    with tempfile.TemporaryDirectory() as tmp:  # 7 MB: never left behind
        path = Path(tmp) / "ck.pt"
        atomic_save({"format": FORMAT, "arch": arch, "model": model.state_dict(), "epoch": 1,
                     "class_names": ["a", "b", "c"]}, path)
        predictor, ck = predictor_from_checkpoint(path, device="cpu")
    item = {"points": torch.rand(12, 64, 3), "label": 0, "video": "v"}
    scores = predictor(collate_clips([item, item]))
    assert set(scores) == {"pc"} and scores["pc"].shape == (2, 3), scores
    assert torch.allclose(scores["pc"].sum(1), torch.ones(2))
    loaded = [m for m in sys.modules if any(m == b or m.startswith(b + ".") for b in BLOCKED)]
    assert not loaded, loaded
    print("OK", len(pure))
''')


def test_runtime_and_ros_pure_modules_run_without_the_programs():
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600,
                          env={**__import__("os").environ, "NUMBA_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().startswith("OK")


def test_vg4d_core_never_imports_vg4d_ros():
    """vg4d_core is the lower package: no import statement of it names vg4d_ros (the command tables may
    name vg4d_ros modules as strings; they load them only when asked and say so when it is missing)."""
    bad = []
    for path in sorted(CORE.rglob("*.py")):
        rel = path.relative_to(CORE.parent).with_suffix("")
        for name in _imported_modules(path, ".".join(rel.parts[:-1])):
            if name == "vg4d_ros" or name.startswith("vg4d_ros."):
                bad.append(f"{path.relative_to(REPO)} imports {name}")
    assert not bad, "\n".join(bad)


# vg4d_ros's rooms -> the rooms each must never import (see the README's architecture section)
ROOMS_FORBIDDEN = {
    "pipeline": ("vg4d_ros.transports", "vg4d_ros.bags", "vg4d_ros.programs"),
    "transports": ("vg4d_ros.bags", "vg4d_ros.programs"),
    "bags": ("vg4d_ros.programs",),
}


@pytest.mark.parametrize("room", sorted(ROOMS_FORBIDDEN))
def test_vg4d_ros_rooms_import_only_downwards(room):
    bad = []
    for path in sorted((ROS / room).rglob("*.py")):
        rel = path.relative_to(ROS.parent).with_suffix("")
        for name in _imported_modules(path, ".".join(rel.parts[:-1])):
            if any(name == f or name.startswith(f + ".") for f in ROOMS_FORBIDDEN[room]):
                bad.append(f"{path.relative_to(REPO)} imports {name}")
    assert not bad, "\n".join(bad)


def test_the_pipeline_never_imports_rclpy_or_dds():
    """The pipeline room is ROS-free: it runs where neither rclpy nor cyclonedds is installed."""
    bad = []
    for path in sorted((ROS / "pipeline").rglob("*.py")):
        rel = path.relative_to(ROS.parent).with_suffix("")
        for name in _imported_modules(path, ".".join(rel.parts[:-1])):
            if name.split(".")[0] in ("rclpy", "cyclonedds", "rosbags"):
                bad.append(f"{path.relative_to(REPO)} imports {name}")
    assert not bad, "\n".join(bad)
