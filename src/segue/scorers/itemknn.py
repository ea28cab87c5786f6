"""The item-kNN baseline: tracks that share playlists with the input, by cosine similarity."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import torch

from segue.data.dataset import Dataset
from segue.data.holdout import Sequences
from segue.scorers.base import check_not_empty
from segue.scorers.baseline import Baseline
from segue.scorers.cooccurrence import cosine_neighbors, csr_arrays, csr_from_arrays, dense_rows, playlist_matrix

logger = logging.getLogger(__name__)


class ItemKNNBaseline(Baseline):
    """Score each track by its summed co-occurrence similarity to every input track so far.

    The similarity of tracks i and j is C_ij / sqrt(n_i n_j): C_ij counts the training playlists
    containing both and n_i those containing i, which is the cosine of the binary playlist vectors. Each track keeps only
    its ``config.neighbors`` most similar tracks, which bounds the fitted state to
    ``neighbors`` entries per track on large vocabularies. OOV inputs add nothing.
    """

    name = "itemknn"

    def fit_counts(self, dataset: Dataset, sequences: Sequences, progress: bool) -> None:
        self.similarity = cosine_neighbors(playlist_matrix(sequences, self.num_indices), self.config.neighbors)
        logger.info("item-kNN: %d similarities over %d tracks", self.similarity.nnz, self.num_indices)

    def arrays(self) -> dict[str, np.ndarray]:
        return csr_arrays("similarity", self.similarity)

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        self.similarity = csr_from_arrays("similarity", arrays, self.num_indices)

    def prefix_scores(self, sequences: Sequence[np.ndarray]) -> list[torch.Tensor]:
        tie_break = self.tie_break()
        results = []
        for sequence in sequences:
            # Padding and OOV rows of the similarity are empty, so those inputs add zeros.
            rows = torch.from_numpy(dense_rows(self.similarity, np.asarray(sequence, dtype=np.int64)))  # (n, tracks)
            results.append(torch.cumsum(rows, dim=0) + tie_break)
        return results

    def scores_after(self, sequences: Sequence[np.ndarray]) -> torch.Tensor:
        check_not_empty(sequences)
        # One row per sequence counting its tracks, times the similarity: the summed rows without
        # the dense (n, tracks) matrix of every prefix.
        lengths = [len(sequence) for sequence in sequences]
        tracks = np.concatenate([np.asarray(sequence, dtype=np.int64) for sequence in sequences])
        owners = np.repeat(np.arange(len(sequences)), lengths)
        counts = sp.csr_matrix((np.ones(len(tracks), dtype=np.float32), (owners, tracks)), shape=(len(sequences), self.num_indices))
        scores = (counts @ self.similarity).toarray().astype(np.float32, copy=False)  # (B, tracks)
        return torch.from_numpy(scores) + self.tie_break()
