"""The one interface every compared model implements: score each track as the next one.

Neural models of a trained run and the count-based baselines all answer the same two
questions, so evaluation, comparison and recommending never ask which kind they hold:

- ``prefix_scores``: for each position of a sequence, the score of every track as the next one.
  The `next` protocol ranks every target of a playlist from one call.
- ``scores_after``: the scores after a whole sequence, for recommending and the other protocols.
- ``read``: a ``ScorerState`` after a sequence, which one more track advances by one step. A
  listening session keeps one and advances it on each thumbs-up.

Scores are track indices' scores over the dataset's index space; higher means more likely next.
Padding and OOV always score -inf, so they are never recommended. Scores of different calls are
comparable only within one model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence

import numpy as np
import torch

from segue.data.dataset import OOV


class Scorer(ABC):
    """Scores every track index as the track that follows a sequence of track indices.

    Sequences are int arrays of dataset track indices (``Dataset.tracks``): 1 marks an OOV track,
    which a scorer reads as an unknown track rather than skipping it, as training did.
    """

    name: str
    num_indices: int
    # True when scores are log-probabilities, so that a loss can be reported beside the rankings.
    log_probabilities: bool = False

    @abstractmethod
    def prefix_scores(self, sequences: Sequence[np.ndarray]) -> list[torch.Tensor]:
        """Return, for each sequence of n tracks, an (n, num_indices) float tensor.

        Row t scores the track after ``sequence[: t + 1]``, as if the sequence ended there.
        """

    def scores_after(self, sequences: Sequence[np.ndarray]) -> torch.Tensor:
        """Return (B, num_indices) scores of the track after each whole, non-empty sequence."""
        check_not_empty(sequences)
        return torch.stack([scores[-1] for scores in self.prefix_scores(sequences)])

    def recommend(
        self,
        sequence: np.ndarray,
        k: int = 10,
        exclude: Iterable[int] = (),
        allow_repeats: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the indices and scores of the k best next tracks, best first.

        Tracks of the sequence are left out unless ``allow_repeats``; ``exclude`` leaves out more.
        Fewer than k come back when fewer tracks can be recommended.
        """
        sequence = np.asarray(sequence, dtype=np.int64)
        scores = self.scores_after([sequence])[0]
        leave_out = list(exclude) if allow_repeats else [*sequence.tolist(), *exclude]
        if leave_out:
            scores[torch.as_tensor(leave_out, dtype=torch.long)] = float("-inf")
        values, indices = top_k(scores, k)
        return indices.numpy(), values.numpy()

    def read(self, sequence: Sequence[int]) -> ScorerState:
        """Return the state after reading a non-empty sequence, to be advanced one track at a time.

        ``read(s).advance(x).scores()`` equals ``read(s + [x]).scores()``. The default state
        scores the whole sequence again after each track, which suits scorers that read only the
        last few tracks. Recurrent models override it to step from their saved state.
        """
        return SequenceState(self, np.asarray(sequence, dtype=np.int64))


class ScorerState(ABC):
    """A scorer's state after reading a sequence: the next track's scores, and the step to one more track.

    States are immutable, so a caller can keep an earlier one and several threads can share one.
    """

    @abstractmethod
    def scores(self) -> torch.Tensor:
        """Return the (num_indices,) scores of the track after the sequence; callers must not modify them."""

    @abstractmethod
    def advance(self, track: int) -> ScorerState:
        """Return the state after one more track."""


class SequenceState(ScorerState):
    """The state of a scorer that keeps the whole sequence and scores it with ``scores_after``."""

    def __init__(self, scorer: Scorer, sequence: np.ndarray) -> None:
        check_not_empty([sequence])
        self.scorer, self.sequence = scorer, sequence
        self._scores: torch.Tensor | None = None

    def scores(self) -> torch.Tensor:
        # Computed on first use and kept. Two threads may both compute it, with equal results.
        if self._scores is None:
            self._scores = self.scorer.scores_after([self.sequence])[0]
        return self._scores

    def advance(self, track: int) -> SequenceState:
        return SequenceState(self.scorer, np.append(self.sequence, np.int64(track)))


def top_k(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the k highest finite scores of a 1-D tensor and their indices, best first.

    Ties keep the lower index first, so rankings do not depend on the sort's internals.
    """
    k = min(k, int(torch.isfinite(scores).sum()))
    if k == 0:
        return scores[:0], torch.zeros(0, dtype=torch.long)

    # torch.topk finds the k-th best score in linear time but orders ties arbitrarily, so only the
    # candidates at or above it, usually k of them, go through the stable sort.
    threshold = torch.topk(scores, k, sorted=False).values.min()
    candidates = torch.nonzero(scores >= threshold).squeeze(1)  # ascending indices
    order = torch.sort(scores[candidates], descending=True, stable=True).indices[:k]
    chosen = candidates[order]
    return scores[chosen], chosen


def unscorable(num_indices: int) -> torch.Tensor:
    """Return the mask of indices never recommended: padding and OOV."""
    mask = torch.zeros(num_indices, dtype=torch.bool)
    mask[: OOV + 1] = True
    return mask


def check_not_empty(sequences: Sequence[np.ndarray]) -> None:
    for i, sequence in enumerate(sequences):
        if len(sequence) == 0:
            raise ValueError(f"sequence {i} is empty: a scorer needs at least one track to follow")
