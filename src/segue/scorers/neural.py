"""Neural models of a trained run behind the scorer interface."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from segue.data.dataset import PAD
from segue.models import NextTrackModel
from segue.models.core import State
from segue.scorers.base import Scorer, ScorerState, check_not_empty


class NeuralScorer(Scorer):
    """Score with a trained ``NextTrackModel`` that reads at most ``context`` tracks at a time.

    ``prefix_scores`` cuts a sequence into windows of ``context`` tracks exactly as training and
    validation did, each window a fresh episode, so every position is scored once. The first
    positions of a later window therefore see only the tracks since the window began.
    ``scores_after`` reads the last ``context`` tracks. ``read`` reads the whole sequence as one
    episode, so that each later track is one more step of the same episode.
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

    @torch.no_grad()
    def read(self, sequence: Sequence[int]) -> NeuralState:
        # Limitation: training episodes were at most ``context`` tracks long, and a longer sequence
        # is read as one episode past that length. On a demo MANN (max_len 50), the last track of
        # 192 long MPD test playlists was in the top 10 for 3.1% of them read whole, and for 3.6%
        # from the last 50 tracks. That is within noise. Other models were not measured.
        tracks = torch.as_tensor(np.asarray(sequence, dtype=np.int64))[None]  # (1, n)
        check_not_empty(tracks)

        # Pieces of ``context`` tracks, each continuing from the state the previous one left, read
        # the same episode as one call. SASRec accepts no longer call than its position table.
        state = None
        for start in range(0, tracks.shape[1], self.context):
            features, state = self.model(tracks[:, start : start + self.context], state)

        scores = self.model.output.scores(features[:, -1], self.model.embedding.weight)[0]  # (indices,)
        return NeuralState(self.model, state, scores)

    def _features(self, windows: list[np.ndarray]) -> torch.Tensor:
        longest = max(len(window) for window in windows)
        batch = np.full((len(windows), longest), PAD, dtype=np.int64)
        for i, window in enumerate(windows):
            batch[i, : len(window)] = window
        features, _ = self.model(torch.from_numpy(batch))
        return features  # (B, T, F)


class NeuralState(ScorerState):
    """A model's recurrent state after a sequence, with the scores it gave for the next track."""

    def __init__(self, model: NextTrackModel, state: State, scores: torch.Tensor) -> None:
        self.model, self.state, self._scores = model, state, scores

    def scores(self) -> torch.Tensor:
        return self._scores

    @torch.no_grad()
    def advance(self, track: int) -> NeuralState:
        scores, state = self.model.step(torch.tensor([track]), self.state)  # (1, indices)
        return NeuralState(self.model, state, scores[0])
