"""vg4d_core: pip- and colcon-installable (ament_python) package.

Executables:
* ``vg4d`` (console script): the namespaced CLI for pip users.
* ``lib/vg4d_core/train`` (data file): what ``ros2 run vg4d_core train``
  executes. It is installed as a data file, not a console script, so that a
  pip install does not put a generic ``train`` into a virtualenv's ``bin/``.
"""
import os
from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "vg4d_core"
HERE = Path(__file__).resolve().parent


def tree(src_dir: str, dest_prefix: str):
    """data_files entries mirroring this package's ``src_dir`` under ``dest_prefix``.

    Paths are relative to this file's folder, which is the working directory
    of both colcon and pip builds; everything installed lives inside the
    package folder, so a workspace holding only ``src/`` builds completely.
    """
    entries: dict[str, list[str]] = {}
    for path in sorted((HERE / src_dir).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            dest = Path(dest_prefix) / path.parent.relative_to(HERE / src_dir)
            entries.setdefault(str(dest), []).append(os.path.relpath(path, HERE))
    return sorted(entries.items())


INSTALL_REQUIRES = [
    # torch: install the build for your accelerator first (README); any 2.4+ works.
    "torch>=2.4",
    # Triton ships with torch's CUDA wheels; the CPU machines need it for the
    # interpreter-mode kernel tests. Unpinned so the resolver keeps torch's own pin.
    "triton>=3.0; platform_system == 'Linux' and platform_machine == 'x86_64'",
    "numba>=0.60",
    "numpy>=1.24",
    "scipy>=1.10",
    # X-CLIP backend; tested with 5.24 (get_*_features return output objects in 5.x,
    # vg4d_core.vlm.xclip reads pooler_output and also accepts the older bare tensor).
    "transformers>=5.0,<6",
    "opencv-python-headless>=4.8",
    "pyyaml>=6.0",
    "tqdm>=4.66",
    "matplotlib>=3.7",
]

setup(
    name=PACKAGE,
    version="0.1.0",
    description="VG4D 4D action recognition core (im-PSTNet, kernels, datasets, training)",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    python_requires=">=3.10",
    install_requires=INSTALL_REQUIRES,
    extras_require={
        # open_clip needs torchvision built for the same torch (a mismatched pair
        # fails at import with "operator torchvision::nms does not exist"); 3.x for
        # the offline "local-dir:" loading vg4d_core.vlm.openclip uses (tested: 3.3).
        "clip": ["open_clip_torch>=3.3,<4", "torchvision"],
        "test": ["pytest>=8", "colcon-common-extensions>=0.3"],
    },
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"lib/{PACKAGE}", ["scripts/train"]),
        *tree("config", f"share/{PACKAGE}/config"),
    ],
    entry_points={"console_scripts": ["vg4d = vg4d_core.cli:main"]},
    zip_safe=False,
    license="Apache-2.0",
)
