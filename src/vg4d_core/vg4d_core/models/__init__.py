"""PSTConv / im-PSTConv and the im-PSTNet encoder.

* :mod:`.config` - :class:`IMPSTNetConfig` (architecture dataclass, YAML in
  ``config/model/``) and :func:`load_model_config`.
* :mod:`.neighbourhood` - anchor sampling and spatio-temporal ball queries for
  a whole clip in one call.
* :mod:`.pstconv` - :class:`PSTConv` (PSTNet) and :class:`IMPSTConv` (VG4D eq. 8).
* :mod:`.impstnet` - :class:`IMPSTNet`: backbone + classifier + projection head.
* :mod:`.cost` - multiply-accumulate counts (naive vs as implemented).
"""
from .config import IMPSTNetConfig, LayerConfig, load_model_config
from .impstnet import IMPSTNet
from .pstconv import IMPSTConv, PSTConv

__all__ = ["IMPSTConv", "IMPSTNet", "IMPSTNetConfig", "LayerConfig", "PSTConv", "load_model_config"]
