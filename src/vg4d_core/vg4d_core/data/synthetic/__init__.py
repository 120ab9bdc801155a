"""Synthetic RGB-D action videos: procedurally animated figures, rendered to
depth (uint16 mm, masked like NTU's) and RGB, in memory or in NTU's layout.

The eight classes come in pairs built to need a particular modality:

* appearance pairs - identical motion and geometry, only the colour or
  texture of a hand-held object differs, so the depth (and the point cloud)
  of the two classes is *bit-identical* for the same nuisance draw:
  (0) lift red cup / (1) lift blue cup; (2) wave plain board /
  (3) wave checkered board (same mean colour);
* depth pairs - the second class is the first mirrored through the subject's
  depth plane (z = the pelvis's distance) along the camera rays
  (:func:`depth_mirror`: each sphere keeps its image, its depth goes to the
  other side of the plane), so the motion towards the camera becomes motion
  away from it, and the RGB of the two classes is *bit-identical* for the same
  nuisance draw (the colour camera sees both as the first class):
  (4) lean toward camera / (5) lean away from camera; (6) step toward camera /
  (7) step away from camera.

So each modality alone has a ceiling of 75 % (it can tell only the pairs of
the other kind apart) and only their fusion can reach 100 %.

Everything else is nuisance, drawn per video from a seeded generator
(:class:`Nuisance`): body size, position, distance, timing, amplitude,
clothing, wall colour, sensor noise. A video is a pure function of
(class, nuisance), so generation is deterministic by seed and any pair of
classes can be rendered with the same nuisance.

Geometry: camera optical frame (x right, y down, z forward, metres), the
Kinect v2 depth intrinsics scaled by ``image_scale`` (1.0 = 512 x 424);
bodies are unions of spheres plus one textured rectangle (the board), ray
traced exactly per pixel (a few ms per frame at half resolution).

Modules (every public name is importable from this package too):

* :mod:`.scene` - the classes, :class:`Nuisance`, :func:`pose` (the figure
  at a video phase), :func:`video_nuisance`;
* :mod:`.render` - :class:`Renderer`, :class:`Room`, :func:`render_video`,
  :func:`synthetic_intrinsics`;
* :mod:`.people` - several people in one view: :func:`make_people_scene`
  (scripted scenes: apart, side by side, crossing, entering / leaving),
  :func:`render_people` (depth, RGB, instance image, per-person truth);
* :mod:`.dataset` - :class:`SyntheticActions` (in memory);
* :mod:`.ntu_layout` - :func:`write_ntu_layout` (NTU's on-disk layout);
* :mod:`.cli` - ``vg4d synth``.

``vg4d synth --out ROOT --videos N`` writes
``ROOT/nturgb+d_depth_masked/<name>/MDepth-%08d.png`` (16-bit, mm) and
``ROOT/nturgb+d_rgb/<name>_rgb.avi`` (MJPG) at full 512 x 424, with NTU names
(action = class + 1, performers alternating between NTU60 cross-subject
train and test performers), so ``vg4d preprocess ntu`` and the NTU dataset
read it like the real thing.
"""
from __future__ import annotations

import importlib

# Names load on first use (PEP 562): ``vg4d synth`` and a ROS node that only renders do not import
# torch (the dataset module does).
_EXPORTS = {
    "APPEARANCE_PAIRS": "vg4d_core.data.synthetic.scene",
    "CLASS_NAMES": "vg4d_core.data.synthetic.scene",
    "DEPTH_PAIRS": "vg4d_core.data.synthetic.scene",
    "LEAN_DEG": "vg4d_core.data.synthetic.scene",
    "NUM_CLASSES": "vg4d_core.data.synthetic.scene",
    "STEP_M": "vg4d_core.data.synthetic.scene",
    "Nuisance": "vg4d_core.data.synthetic.scene",
    "BOARD_CELLS": "vg4d_core.data.synthetic.scene",
    "BOARD_HALF_M": "vg4d_core.data.synthetic.scene",
    "Gait": "vg4d_core.data.synthetic.scene",
    "Scene": "vg4d_core.data.synthetic.scene",
    "colour_class": "vg4d_core.data.synthetic.scene",
    "depth_mirror": "vg4d_core.data.synthetic.scene",
    "pose": "vg4d_core.data.synthetic.scene",
    "sample_nuisance": "vg4d_core.data.synthetic.scene",
    "video_nuisance": "vg4d_core.data.synthetic.scene",
    "Renderer": "vg4d_core.data.synthetic.render",
    "Room": "vg4d_core.data.synthetic.render",
    "SyntheticVideo": "vg4d_core.data.synthetic.render",
    "render_video": "vg4d_core.data.synthetic.render",
    "room_from_config": "vg4d_core.data.synthetic.render",
    "synthetic_intrinsics": "vg4d_core.data.synthetic.render",
    "PeopleScene": "vg4d_core.data.synthetic.people",
    "make_people_scene": "vg4d_core.data.synthetic.people",
    "render_people": "vg4d_core.data.synthetic.people",
    "SyntheticActions": "vg4d_core.data.synthetic.dataset",
    "ntu_name": "vg4d_core.data.synthetic.ntu_layout",
    "write_ntu_layout": "vg4d_core.data.synthetic.ntu_layout",
    "write_ntu_video": "vg4d_core.data.synthetic.ntu_layout",
    "main": "vg4d_core.data.synthetic.cli",
    "KINECT_V2_DEPTH": "vg4d_core.data.depth",  # was importable from the single module
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vg4d_core.data.synthetic' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
