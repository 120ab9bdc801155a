"""The model of the ``vlm`` stage: a backend plus an RGB classification head.

Outputs (the dict the losses read):

* ``video_embedding`` (B, D) unit vectors (:meth:`VLMBackend.encode_video`);
* ``rgb_logits`` (B, K): the RGB classification head on that embedding
  (BatchNorm then linear: the unit embeddings of a video model sit in a narrow
  cone - cosine ~0.99 between any two videos of a fresh or small model - so a
  plain linear head on them would need weights ~50x their scale to separate
  classes and learns nothing at a sane learning rate; standardising each
  dimension over the batch first removes the shared direction);
* ``video_text_logits`` (B, K): the RGB-Text score over the class prompts
  (X-CLIP: video-conditioned text, see :mod:`vg4d_core.vlm.base`).

What trains is declared by :meth:`VLMClassifier.lock` (open_clip's tower
locking, for the whole backend): a locked backend has ``requires_grad=False``,
runs under ``torch.no_grad()`` and stays in eval mode even inside
``model.train()`` (no dropout, frozen norms), so the optimizer built from
:meth:`trainable_parameters` sees only the head.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from vg4d_core.vlm.base import TextBank, VLMBackend


class VLMClassifier(nn.Module):
    """Backend + ``BatchNorm1d(D) -> Linear(D, num_classes)`` RGB head.

    Args:
        backend: a loaded :class:`VLMBackend`.
        num_classes: K.
        class_texts: optional cached :class:`TextBank` (K classes) used when
            ``forward`` gets no text; kept as buffer ``class_text_raw``
            (M, K, D). Cached text carries no gradient into the text tower:
            pass texts to ``forward`` when the text tower trains.
    """

    def __init__(self, backend: VLMBackend, num_classes: int, class_texts: TextBank | None = None):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"VLMClassifier: num_classes must be >= 1, got {num_classes}")
        self.backend = backend
        self.num_classes = num_classes
        self.head_norm = nn.BatchNorm1d(backend.embed_dim)
        self.head = nn.Linear(backend.embed_dim, num_classes)
        self.register_buffer("class_text_raw", None)
        self._locked = False
        if class_texts is not None:
            self.set_class_texts(class_texts)

    def set_class_texts(self, bank: TextBank) -> None:
        """Cache the class texts (K must equal ``num_classes``)."""
        if bank.num_classes != self.num_classes:
            raise ValueError(f"VLMClassifier: class texts hold {bank.num_classes} classes, "
                             f"the head {self.num_classes}")
        self.class_text_raw = bank.raw.detach().to(self.head.weight.device)

    def lock(self, backend: bool = True) -> "VLMClassifier":
        """Freeze (``True``) or unfreeze the backend; the head always trains."""
        self._locked = backend
        for p in self.backend.parameters():
            p.requires_grad_(not backend)
        self.backend.train(self.training and not backend)
        return self

    @property
    def locked(self) -> bool:
        return self._locked

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The parameters an optimizer should get (``requires_grad`` ones)."""
        return [p for p in self.parameters() if p.requires_grad]

    def train(self, mode: bool = True) -> "VLMClassifier":
        super().train(mode)
        if self._locked:
            self.backend.eval()  # frozen norms and no dropout, whatever the stage says
        return self

    def forward(self, pixels: Tensor, text: TextBank | Sequence[str] | None = None) -> dict[str, Tensor]:
        """pixels (B, T, 3, S, S); text: K class prompts, a TextBank, or None (the cached bank)."""
        if text is None:
            if self.class_text_raw is None:
                raise ValueError("VLMClassifier.forward: no text given and no class texts cached "
                                 "(call set_class_texts)")
            text = TextBank(self.class_text_raw)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self._locked):
            video = self.backend.encode_video_outputs(pixels)
            vt_logits = self.backend.video_text_logits(video, text)
        if vt_logits.shape[1] != self.num_classes:
            raise ValueError(f"VLMClassifier.forward: {vt_logits.shape[1]} class texts for {self.num_classes} classes")
        return {
            "video_embedding": video.embedding,
            "rgb_logits": self.head(self.head_norm(video.embedding)),
            "video_text_logits": vt_logits,
        }
