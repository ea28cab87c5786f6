"""Next-track models: the NTM, MANN with LRUA and their hybrid, and the LSTM, GRU and SASRec baselines."""

from segue.models.config import BASELINE_NAMES, MODEL_NAMES, NEURAL_MODEL_NAMES, OUTPUT_NAMES, ModelConfig
from segue.models.model import NextTrackModel

__all__ = ["BASELINE_NAMES", "MODEL_NAMES", "NEURAL_MODEL_NAMES", "OUTPUT_NAMES", "ModelConfig", "NextTrackModel"]
