"""Evaluation programs: ``vg4d evaluate`` (metrics.json, confusion.png). Metrics
themselves live in :mod:`vg4d_core.runtime.metrics`, shared with training and replay."""
