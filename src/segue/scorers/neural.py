"""Neural models of a trained run behind the scorer interface."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from segue.data.dataset import PAD
from segue.models import NextTrackModel
from segue.scorers.base import Scorer, check_not_empty


class NeuralScorer(Scorer):
    """Score with a trained ``NextTrackModel`` that reads at most ``context`` tracks at a time.

    ``prefix_scores`` cuts a sequence into windows of ``context`` tracks exactly as training and
    validation did, each window a fresh episode, so every position is scored once. The first
    positions of a later window therefore see only the tracks since the window began.
    ``scores_after`` reads the last ``context`` tracks, as recommending does.
    """

    def __init__(self, model: NextTrackModel, context: int) -> None:
        self.model, self.context = model.eval(), context
        self.name = model.config.model
        self.num_indices = model.num_indices
        self.log_probabilities = model.config.output == "softmax"

    @torch.no_grad()
    def prefix_scores(self, sequences: Sequence[np.ndarray]) -> list[torch.Tensor]:
        windows, owners = [], []
        for i, sequence in enumerate(sequences):
            for start in range(0, len(sequence), self.context):
                windows.append(np.asarray(sequence[start : start + self.context], dtype=np.int64))
                owners.append(i)
        if not windows:
            return [torch.empty(0, self.num_indices) for _ in sequences]

        features = self._features(windows)  # (windows, context, F)
        pieces: list[list[torch.Tensor]] = [[] for _ in sequences]
        for window, owner, feature in zip(windows, owners, features):
            pieces[owner].append(feature[: len(window)])
        return [
            self.model.output.scores(torch.cat(parts), self.model.embedding.weight)
            if parts
            else torch.empty(0, self.num_indices)
            for parts in pieces
        ]

    @torch.no_grad()
    def scores_after(self, sequences: Sequence[np.ndarray]) -> torch.Tensor:
        check_not_empty(sequences)
        windows = [np.asarray(sequence[-self.context :], dtype=np.int64) for sequence in sequences]
        features = self._features(windows)
        last = features[torch.arange(len(windows)), torch.tensor([len(w) - 1 for w in windows])]  # (B, F)
        return self.model.output.scores(last, self.model.embedding.weight)

    def _features(self, windows: list[np.ndarray]) -> torch.Tensor:
        longest = max(len(window) for window in windows)
        batch = np.full((len(windows), longest), PAD, dtype=np.int64)
        for i, window in enumerate(windows):
            batch[i, : len(window)] = window
        features, _ = self.model(torch.from_numpy(batch))
        return features  # (B, T, F)
