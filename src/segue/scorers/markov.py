"""The first-order Markov baseline: what followed the last track in training, then what shared its playlists."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import torch

from segue.data.dataset import OOV, PAD, Dataset
from segue.data.holdout import Sequences
from segue.scorers.base import check_not_empty
from segue.scorers.baseline import Baseline
from segue.scorers.cooccurrence import cosine_neighbors, csr_arrays, csr_from_arrays, dense_rows, playlist_matrix

logger = logging.getLogger(__name__)

# Weight of the co-occurrence similarity added to the transition counts. Scores use counts, which
# rank a row's tracks the same way as its probabilities do. On the count scale one transition (1)
# outweighs any fallback (at most 1e-3, since cosine is at most 1), so the tracks seen after the
# last one always rank first. With probabilities, a fixed weight could outrank the rare transitions
# of a track followed by thousands of others. The fallback orders the tracks never seen after the
# last one, and outweighs the popularity tie-break (below 1e-6) for similarities above 1e-3.
FALLBACK_WEIGHT = 1e-3


class MarkovBaseline(Baseline):
    """Score each track by how often it directly followed the prefix's last in-vocabulary track.

    Transition counts T_ij count the times j directly follows i in a training sequence. An OOV
    position breaks the chain, so no transition enters or leaves it. ``transition_probabilities``
    returns T row-normalised. The item-kNN similarity row of the same track, weighted by
    ``FALLBACK_WEIGHT``, orders the tracks that never followed it. A prefix without any
    in-vocabulary track gets the popularity tie-break alone.
    """

    name = "markov"

    def fit_counts(self, dataset: Dataset, sequences: Sequences, progress: bool) -> None:
        tracks, owner = sequences.concatenated()
        same_sequence = owner[1:] == owner[:-1]
        known = (tracks[:-1] > OOV) & (tracks[1:] > OOV)
        pair = same_sequence & known
        sources, targets = tracks[:-1][pair], tracks[1:][pair]

        ones = np.ones(len(sources), dtype=np.float32)
        shape = (self.num_indices, self.num_indices)
        self.transitions = sp.csr_matrix((ones, (sources, targets)), shape=shape)  # (tracks, tracks) counts
        self.transitions.sum_duplicates()

        self.similarity = cosine_neighbors(playlist_matrix(sequences, self.num_indices), self.config.neighbors)
        logger.info("Markov: %d transitions, %d fallback similarities", self.transitions.nnz, self.similarity.nnz)

    def transition_probabilities(self) -> sp.csr_matrix:
        """Return the transition counts normalised per row, P(next = j | last = i). Empty rows stay empty."""
        totals = np.asarray(self.transitions.sum(axis=1)).ravel()  # (tracks,)
        inverse = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
        return sp.csr_matrix(sp.diags(inverse) @ self.transitions, dtype=np.float32)

    def arrays(self) -> dict[str, np.ndarray]:
        return {**csr_arrays("transitions", self.transitions), **csr_arrays("similarity", self.similarity)}

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        self.transitions = csr_from_arrays("transitions", arrays, self.num_indices)
        self.similarity = csr_from_arrays("similarity", arrays, self.num_indices)

    def prefix_scores(self, sequences: Sequence[np.ndarray]) -> list[torch.Tensor]:
        tie_break = self.tie_break()
        results = []
        for sequence in sequences:
            last = last_known(np.asarray(sequence, dtype=np.int64))  # (n,)
            scores = dense_rows(self.transitions, last) + FALLBACK_WEIGHT * dense_rows(self.similarity, last)
            results.append(torch.from_numpy(scores) + tie_break)  # (n, tracks)
        return results

    def scores_after(self, sequences: Sequence[np.ndarray]) -> torch.Tensor:
        check_not_empty(sequences)
        last = np.array([last_known(np.asarray(sequence, dtype=np.int64))[-1] for sequence in sequences])  # (B,)
        scores = dense_rows(self.transitions, last) + FALLBACK_WEIGHT * dense_rows(self.similarity, last)
        return torch.from_numpy(scores) + self.tie_break()  # (B, tracks)


def last_known(sequence: np.ndarray) -> np.ndarray:
    """Return, for each position, the last in-vocabulary track up to it, or PAD before the first one.

    Both matrices have an empty PAD row, so a prefix of only OOV tracks scores zero before the tie-break.
    """
    positions = np.where(sequence > OOV, np.arange(len(sequence)), -1)
    latest = np.maximum.accumulate(positions) if len(sequence) else positions
    return np.where(latest >= 0, sequence[latest], PAD)
