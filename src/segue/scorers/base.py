"""The one interface every compared model implements: score each track as the next one.

Neural models of a trained run and the count-based baselines all answer the same two
questions, so evaluation, comparison and recommending never ask which kind they hold:

- ``prefix_scores``: for each position of a sequence, the score of every track as the next one.
  The `next` protocol ranks every target of a playlist from one call.
- ``scores_after``: the scores after a whole sequence, for recommending and the other protocols.

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


def top_k(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the k highest finite scores of a 1-D tensor and their indices, best first.

    Ties keep the lower index first, so rankings do not depend on the sort's internals.
    """
    k = min(k, int(torch.isfinite(scores).sum()))
    order = torch.sort(scores, descending=True, stable=True).indices[:k]
    return scores[order], order


def unscorable(num_indices: int) -> torch.Tensor:
    """Return the mask of indices never recommended: padding and OOV."""
    mask = torch.zeros(num_indices, dtype=torch.bool)
    mask[: OOV + 1] = True
    return mask


def check_not_empty(sequences: Sequence[np.ndarray]) -> None:
    for i, sequence in enumerate(sequences):
        if len(sequence) == 0:
            raise ValueError(f"sequence {i} is empty: a scorer needs at least one track to follow")
