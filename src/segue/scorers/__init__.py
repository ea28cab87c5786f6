"""One scoring interface over every compared model: neural runs and count-based baselines."""

from segue.scorers.base import Scorer, top_k

__all__ = ["Scorer", "top_k"]
