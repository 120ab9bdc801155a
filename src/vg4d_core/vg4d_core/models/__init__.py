"""PSTConv / im-PSTConv and the im-PSTNet encoder.

* :mod:`.config` - :class:`IMPSTNetConfig` (architecture dataclass, YAML in
  ``config/model/``) and :func:`load_model_config`.
* :mod:`.neighbourhood` - anchor sampling and spatio-temporal ball queries for
  a whole clip in one call.
* :mod:`.pstconv` - :class:`PSTConv`: PSTNet's layer with the two im-PSTConv switches (VG4D eq. 8).
* :mod:`.impstnet` - :class:`IMPSTNet`: backbone + classifier + projection head.
* :mod:`.cost` - multiply-accumulate counts (naive vs as implemented).
"""
from .config import IMPSTNetConfig, LayerConfig, load_model_config
from .impstnet import IMPSTNet
from .pstconv import PSTConv

__all__ = ["IMPSTNet", "IMPSTNetConfig", "LayerConfig", "PSTConv", "load_model_config"]
