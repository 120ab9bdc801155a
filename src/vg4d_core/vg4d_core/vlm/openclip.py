"""open_clip image-text models as a :class:`VLMBackend` (per-frame features).

A clip's video embedding is the mean over time of the per-frame unit image
embeddings, re-normalised (the same averaging rule as the prompt ensemble;
a frame mean is the usual image-CLIP video baseline). ``open_clip_torch`` is
an optional dependency (the ``[clip]`` extra); it is imported only here.

Offline loading (never downloads): ``config.model`` is

* a directory holding ``open_clip_config.json`` and the weights (the layout
  of open_clip repos on the Hugging Face hub; ``local-dir:`` in open_clip);
* ``hf-hub:org/name`` or ``org/name``: that layout, found in the local HF cache;
* a weights file, with ``config.arch`` naming open_clip's model config.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch.nn.functional as F
from torch import Tensor

from vg4d_core.vlm.base import TextBank, VideoEncoding, VLMBackend
from vg4d_core.vlm.config import VLMConfig
from vg4d_core.vlm.loading import resolve_model_dir
from vg4d_core.vlm.preprocess import PreprocessSpec

DEFAULT_NUM_FRAMES = 8  # the paper's VLM input length; image CLIP has no own T


def _import_open_clip():
    try:
        import open_clip
    except ImportError as exc:  # missing extra or a torch/torchvision mismatch
        raise ImportError(
            f"the open_clip backend needs open_clip_torch and a torchvision built for this torch "
            f"(pip install -e 'src/vg4d_core[clip]'): {exc}"
        ) from exc
    return open_clip


def open_clip_preprocess_spec(cfg: dict[str, Any]) -> PreprocessSpec:
    """A :class:`PreprocessSpec` from open_clip's ``preprocess_cfg`` (``get_model_preprocess_cfg``)."""
    from open_clip.transform import PreprocessCfg

    merged = PreprocessCfg(**{k: v for k, v in cfg.items() if k in PreprocessCfg.__dataclass_fields__})
    size = merged.size if isinstance(merged.size, int) else tuple(merged.size)
    crop = (size, size) if isinstance(size, int) else size
    if merged.resize_mode not in ("shortest", "squash"):
        raise ValueError(f"open_clip: resize_mode {merged.resize_mode!r} is not supported (shortest, squash)")
    if merged.interpolation not in ("bilinear", "bicubic"):
        raise ValueError(f"open_clip: interpolation {merged.interpolation!r} is not supported (bilinear, bicubic)")
    return PreprocessSpec(size=size, crop=crop, mean=tuple(merged.mean), std=tuple(merged.std),
                          interpolation=merged.interpolation, resize_mode=merged.resize_mode)


class OpenCLIPBackend(VLMBackend):
    """An open_clip ``CLIP`` model; video = mean of per-frame unit embeddings."""

    kind = "open_clip"

    def __init__(self, model, tokenizer, config: VLMConfig, preprocess_spec: PreprocessSpec):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self.embed_dim = int(model.text_projection.shape[1]) if hasattr(model, "text_projection") and \
            model.text_projection is not None else int(model.visual.output_dim)
        self.num_frames = config.num_frames or DEFAULT_NUM_FRAMES
        self.preprocess_spec = preprocess_spec

    @classmethod
    def from_config(cls, config: VLMConfig) -> "OpenCLIPBackend":
        """Load offline from ``config.model``; see the module docstring."""
        open_clip = _import_open_clip()
        if config.backend != "open_clip":
            raise ValueError(f"OpenCLIPBackend: config.backend is {config.backend!r}, not 'open_clip'")
        file = Path(config.model).expanduser()
        if file.is_file():
            if not config.arch:
                raise ValueError(f"open_clip: model {config.model!r} is a weights file; set `arch` "
                                 f"to its open_clip model config (e.g. ViT-B-16)")
            model = open_clip.create_model(config.arch, pretrained=str(file), require_pretrained=True)
            tokenizer = open_clip.get_tokenizer(config.arch)
        else:
            model_dir = resolve_model_dir(config.model, cache_dir=config.cache_dir, revision=config.revision,
                                          required=("open_clip_config.json",))
            if not any(model_dir.glob(p) for p in ("*.safetensors", "*.bin", "*.pth")):
                raise FileNotFoundError(f"open_clip: no weights (*.safetensors, *.bin, *.pth) in {model_dir}")
            ref = f"local-dir:{model_dir}"
            model = open_clip.create_model(ref)
            tokenizer = open_clip.get_tokenizer(ref)
        spec = open_clip_preprocess_spec(open_clip.get_model_preprocess_cfg(model))
        return cls(model.eval(), tokenizer, config, spec)

    @property
    def logit_scale(self) -> Tensor:
        return self.model.logit_scale.exp()

    def embed_texts(self, texts: Sequence[str]) -> Tensor:
        if isinstance(texts, str) or not len(texts):
            raise ValueError("open_clip: texts must be a non-empty list of strings")
        tokens = self.tokenizer(list(texts)).to(self.device)
        return self.model.encode_text(tokens, normalize=False)

    def encode_video_outputs(self, pixels: Tensor) -> VideoEncoding:
        """(B, T, 3, S, S) -> embedding (B, D): per-frame unit features, mean over T, re-normalised."""
        self.check_pixels(pixels)
        b, t = pixels.shape[:2]
        frames = self.model.encode_image(pixels.flatten(0, 1), normalize=True).float().view(b, t, -1)
        return VideoEncoding(F.normalize(frames.mean(dim=1), dim=-1))

    def _conditioned_logits(self, video: VideoEncoding, bank: TextBank) -> Tensor:
        text = bank.features.to(video.embedding.device)  # (K, D); CLIP has no conditioning
        return self.logit_scale * video.embedding @ text.t()
