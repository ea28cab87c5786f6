"""Training next-track models: settings, windows, the loop, checkpoints and run folders."""

from segue.training.config import Settings, TrainConfig, load_settings
from segue.training.loading import TrainedRun, load_run
from segue.training.trainer import TrainingDiverged, TrainResult, train

__all__ = [
    "Settings",
    "TrainConfig",
    "TrainResult",
    "TrainedRun",
    "TrainingDiverged",
    "load_run",
    "load_settings",
    "train",
]
