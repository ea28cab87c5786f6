"""Next-track models: an LSTM, the NTM, MANN with LRUA, and their hybrid."""

from segue.models.config import MODEL_NAMES, OUTPUT_NAMES, ModelConfig
from segue.models.model import NextTrackModel

__all__ = ["MODEL_NAMES", "OUTPUT_NAMES", "ModelConfig", "NextTrackModel"]
