"""The popularity baseline: the most frequent training tracks, whatever the input."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from segue.data.dataset import Dataset
from segue.data.holdout import Sequences
from segue.scorers.base import check_not_empty
from segue.scorers.baseline import Baseline


class PopularityBaseline(Baseline):
    """Score each track by its training count; every position of every sequence gets the same scores."""

    name = "pop"

    def fit_counts(self, dataset: Dataset, sequences: Sequences, progress: bool) -> None:
        pass  # the training counts are all it needs, and every baseline has them

    def arrays(self) -> dict[str, np.ndarray]:
        return {}

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        pass

    def prefix_scores(self, sequences: Sequence[np.ndarray]) -> list[torch.Tensor]:
        scores = torch.from_numpy(self.popularity).float() + self.tie_break()
        return [scores.expand(len(sequence), -1) for sequence in sequences]

    def scores_after(self, sequences: Sequence[np.ndarray]) -> torch.Tensor:
        check_not_empty(sequences)
        scores = torch.from_numpy(self.popularity).float() + self.tie_break()
        return scores.expand(len(sequences), -1).clone()
