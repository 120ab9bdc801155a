"""Cross-entropy of a classification head: the im-PSTNet pre-training objective."""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn


class ClassificationObjective(nn.Module):
    """``loss = CE(outputs[logits_key] (B, K), batch["label"] (B,))`` with optional label smoothing.

    Logits are cast to float32 first: under bf16 autocast the softmax of a
    wide head loses precision otherwise. Returns ``{"loss", "loss_ce"}``.
    """

    def __init__(self, label_smoothing: float = 0.0, logits_key: str = "logits") -> None:
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)
        self.logits_key = logits_key

    def forward(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        if self.logits_key not in outputs:
            raise KeyError(f"the objective needs model output {self.logits_key!r}; got {sorted(outputs)}")
        loss = F.cross_entropy(outputs[self.logits_key].float(), batch["label"],
                               label_smoothing=self.label_smoothing)
        return {"loss": loss, "loss_ce": loss.detach()}
