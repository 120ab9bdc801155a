"""Training objectives as small modules.

Contract (every objective follows it, so the one training loop serves every
stage):

    objective(outputs: Mapping[str, Tensor], batch: Mapping[str, Any]) -> dict[str, Tensor]

* ``outputs`` is the model's output dict (e.g. im-PSTNet's ``logits`` (B, K),
  ``embedding`` (B, D) unit vectors, ``features`` (B, C)).
* ``batch`` is the collated batch on the training device (``points``,
  ``label`` (B,) int64, and ``rgb``, ``video_features`` ... when present).
* The result has ``"loss"``: the scalar to back-propagate (float32), and one
  entry per named term (``"loss_ce"``, ``"loss_pc_text"`` ...), detached,
  which the loop logs.

Objectives hold learnable state only when the method asks for it (the
cross-modal logit scale); the loop puts their trainable parameters into the
optimizer beside the model's.
"""
