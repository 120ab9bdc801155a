"""Evaluation of trained classifiers: video-level metrics, plots, ``vg4d evaluate``."""
from vg4d_core.evaluation.metrics import (confusion_matrix, per_class_accuracy, summarize, topk_accuracy,
                                          video_level)

__all__ = ["confusion_matrix", "per_class_accuracy", "summarize", "topk_accuracy", "video_level"]
