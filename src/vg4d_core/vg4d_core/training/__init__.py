"""im-PSTNet pre-training: recipe, loop, checkpoints, multi-process support (``vg4d train``)."""
from vg4d_core.training.config import OptimizerConfig, ScheduleConfig, TrainConfig, load_train_config

__all__ = ["OptimizerConfig", "ScheduleConfig", "TrainConfig", "load_train_config"]
