"""vg4d_core: 4D point-cloud-video action recognition (VG4D, arXiv 2404.11605).

Subpackages, one concept each:

* :mod:`vg4d_core.ops` - point grouping ops (FPS, ball query, grouping) with
  naive, CPU (numba) and GPU (Triton) implementations.
* :mod:`vg4d_core.models` - PSTConv / im-PSTConv and the im-PSTNet encoder.
* :mod:`vg4d_core.data` - NTU RGB+D, MSR-Action3D, synthetic RGB-D actions.
* :mod:`vg4d_core.training` / :mod:`vg4d_core.evaluation` - training loop,
  checkpoints, metrics.
* :mod:`vg4d_core.bench` - benchmark commands (``vg4d bench ...``).

Importing this package pulls in no training-only dependency; heavy modules
are imported by the subpackages that need them.
"""

__version__ = "0.1.0"
