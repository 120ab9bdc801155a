"""X-CLIP (transformers' ``XCLIPModel``) as a :class:`VLMBackend`.

The paper's VLM is ``microsoft/xclip-base-patch16-kinetics-600`` (ViT-B/16,
8 frames). Loading is offline only: a ``save_pretrained`` directory or a
snapshot already in the Hugging Face cache (:mod:`vg4d_core.vlm.loading`).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from vg4d_core.vlm.base import TextBank, VideoEncoding, VLMBackend
from vg4d_core.vlm.config import VLMConfig
from vg4d_core.vlm.loading import resolve_model_dir
from vg4d_core.vlm.preprocess import PreprocessSpec

# PIL resample codes found in processor configs (2 = BILINEAR, 3 = BICUBIC).
_RESAMPLE = {2: "bilinear", 3: "bicubic"}


def xclip_preprocess_spec(model_dir: Path | None, image_size: int) -> PreprocessSpec:
    """Preprocessing of an X-CLIP checkpoint.

    From the saved ``preprocessor_config.json`` when present (keys of
    transformers' image processors: ``size``, ``crop_size``, ``image_mean``,
    ``image_std``, ``resample``, ``do_center_crop``). Otherwise the defaults
    of ``VideoMAEImageProcessor``, the image processor ``XCLIPProcessor``
    wraps (transformers' ``IMAGENET_STANDARD_MEAN/STD``, bilinear, shortest
    edge resize + centre crop), at the vision config's ``image_size``.
    """
    from transformers.utils.constants import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD

    data: dict[str, Any] = {}
    path = None if model_dir is None else Path(model_dir) / "preprocessor_config.json"
    if path is not None and path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))

    def hw(value: Any, default: int) -> tuple[int, int]:
        if value is None:
            return (default, default)
        if isinstance(value, int):
            return (value, value)
        if "height" in value and "width" in value:
            return (int(value["height"]), int(value["width"]))
        if "shortest_edge" in value:
            return (int(value["shortest_edge"]),) * 2
        raise ValueError(f"{path}: cannot read a size from {value!r}")

    size_raw = data.get("size", {"shortest_edge": image_size})
    squash = isinstance(size_raw, dict) and "height" in size_raw
    size = hw(size_raw, image_size)
    crop = hw(data.get("crop_size"), image_size) if data.get("do_center_crop", True) else size
    resample = data.get("resample", 2)
    if resample not in _RESAMPLE:
        raise ValueError(f"{path}: resample {resample!r} unsupported (want one of {sorted(_RESAMPLE)})")
    return PreprocessSpec(
        size=size if squash else size[0],
        crop=crop,
        mean=tuple(float(v) for v in data.get("image_mean", IMAGENET_STANDARD_MEAN)),
        std=tuple(float(v) for v in data.get("image_std", IMAGENET_STANDARD_STD)),
        interpolation=_RESAMPLE[resample],
        resize_mode="squash" if squash else "shortest",
    )


class XCLIPBackend(VLMBackend):
    """``XCLIPModel`` behind :class:`VLMBackend`.

    ``encode_video``: the MIT-pooled, projected video embedding
    (``get_video_features().pooler_output``), normalised. ``encode_text``:
    ``get_text_features().pooler_output``, normalised (unconditioned).
    ``video_text_logits``: the prompt-generator-conditioned logits of
    ``XCLIPModel.forward`` (``logits_per_video``).
    """

    kind = "xclip"

    def __init__(self, model, tokenizer, config: VLMConfig, preprocess_spec: PreprocessSpec):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        vc = model.config.vision_config
        self.embed_dim = int(model.config.projection_dim)
        # X-CLIP's MIT has one position embedding per frame: T is fixed by the checkpoint.
        self.num_frames = int(vc.num_frames)
        if config.num_frames is not None and config.num_frames != self.num_frames:
            raise ValueError(f"xclip: config asks for num_frames={config.num_frames} but the checkpoint "
                             f"{config.model!r} is built for {self.num_frames}")
        self.preprocess_spec = preprocess_spec
        self._max_length = int(model.config.text_config.max_position_embeddings)

    @classmethod
    def from_config(cls, config: VLMConfig) -> "XCLIPBackend":
        """Load offline from ``config.model`` (local dir or HF cache); see :mod:`.loading`."""
        from transformers import AutoTokenizer, XCLIPModel

        if config.backend != "xclip":
            raise ValueError(f"XCLIPBackend: config.backend is {config.backend!r}, not 'xclip'")
        model_dir = resolve_model_dir(config.model, cache_dir=config.cache_dir, revision=config.revision,
                                      required=("config.json",))
        model = XCLIPModel.from_pretrained(model_dir, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        spec = xclip_preprocess_spec(model_dir, int(model.config.vision_config.image_size))
        return cls(model.eval(), tokenizer, config, spec)

    @property
    def logit_scale(self) -> Tensor:
        return self.model.logit_scale.exp()

    def _tokens(self, texts: Sequence[str]) -> dict[str, Tensor]:
        tok = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self._max_length,
                             return_tensors="pt")
        return {"input_ids": tok["input_ids"].to(self.device), "attention_mask": tok["attention_mask"].to(self.device)}

    def embed_texts(self, texts: Sequence[str]) -> Tensor:
        if isinstance(texts, str) or not len(texts):
            raise ValueError("xclip: texts must be a non-empty list of strings")
        out = self.model.get_text_features(**self._tokens(texts))
        # transformers 5.x returns an output object whose pooler_output is the projected
        # embedding; releases before returned the tensor itself
        return out if isinstance(out, Tensor) else out.pooler_output  # (K, D), before normalisation

    def encode_video_outputs(self, pixels: Tensor) -> VideoEncoding:
        """As ``XCLIPModel.forward``: MIT-pooled video embedding + prompt context.

        pixels (B, T, 3, S, S) -> embedding (B, D) unit, prompt_context (B, P, D)
        (P = patches per frame, averaged over frames).
        """
        self.check_pixels(pixels)
        m = self.model
        b, t = pixels.shape[:2]
        vis = m.vision_model(pixel_values=pixels.flatten(0, 1))
        frame_embeds = m.visual_projection(vis.pooler_output).view(b, t, -1)  # (B, T, D)
        video = m.mit(frame_embeds).pooler_output  # (B, D)
        patches = m.prompts_visual_layernorm(vis.last_hidden_state[:, 1:, :]) @ m.prompts_visual_projection
        context = patches.view(b, t, -1, video.shape[-1]).mean(dim=1)  # (B, P, D)
        return VideoEncoding(F.normalize(video.float(), dim=-1), context)

    def _conditioned_logits(self, video: VideoEncoding, bank: TextBank) -> Tensor:
        if video.prompt_context is None:
            raise ValueError("xclip: video_text_logits needs a VideoEncoding with prompt_context")
        raw = bank.raw.to(video.embedding.device)  # (M, K, D)
        m_, k, d = raw.shape
        b = video.embedding.shape[0]
        text = raw.unsqueeze(1).expand(m_, b, k, d).reshape(m_ * b, k, d)
        context = video.prompt_context.repeat(m_, 1, 1)  # (M*B, P, D), template-major like text
        cond = text + self.model.prompts_generator(text, context)
        cond = F.normalize(cond.float(), dim=-1).view(m_, b, k, d)
        cond = cond[0] if m_ == 1 else F.normalize(cond.mean(dim=0), dim=-1)  # ensemble rule
        return self.logit_scale * torch.einsum("bd,bkd->bk", video.embedding, cond)
