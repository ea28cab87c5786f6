"""The session-kNN baseline: tracks of the training playlists most similar to the recent input."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import torch

from segue.data.dataset import OOV, Dataset
from segue.data.holdout import Sequences
from segue.scorers.base import check_not_empty
from segue.scorers.baseline import Baseline
from segue.scorers.cooccurrence import keep_largest, playlist_matrix

logger = logging.getLogger(__name__)


class SessionKNNBaseline(Baseline):
    """Score each track by the similarity of the training playlists that contain it to the input.

    This is V-SKNN, session-based nearest neighbours with a linearly decaying weight on older input
    tracks, from M. Ludewig and D. Jannach, "Evaluation of Session-based Recommendation Algorithms",
    2018 (arXiv:1803.09587), where the last track weighs 1 and earlier ones less. Here the track m
    positions before the end weighs max(0, 1 - m / ``config.recent``), so tracks ``recent`` or more
    positions back are ignored. A repeated track keeps its most recent weight. The similarity of a
    training playlist n is the cosine of this weighted vector q and n's binary track vector. Cosine,
    rather than the paper's dot product, keeps long playlists from winning by length alone. The
    ``config.neighbors`` most similar playlists each add their similarity to every track they contain.
    """

    name = "sknn"

    def fit_counts(self, dataset: Dataset, sequences: Sequences, progress: bool) -> None:
        self._set_playlists(playlist_matrix(sequences, self.num_indices))
        logger.info("session-kNN: %d training playlists, %d track entries", self.playlists.shape[0], self.playlists.nnz)

    def _set_playlists(self, playlists: sp.csr_matrix) -> None:
        self.playlists = playlists  # (playlists, tracks) binary
        self.by_track = playlists.T.tocsr()  # (tracks, playlists)
        self.playlist_norms = np.sqrt(np.diff(playlists.indptr)).astype(np.float32)  # (playlists,)

    def arrays(self) -> dict[str, np.ndarray]:
        # The matrix is binary, so its index arrays are its whole content.
        return {
            "playlists_indptr": self.playlists.indptr.astype(np.int64),
            "playlists_indices": self.playlists.indices.astype(np.int32),
        }

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        indptr, indices = arrays["playlists_indptr"], arrays["playlists_indices"]
        ones = np.ones(len(indices), dtype=np.float32)
        self._set_playlists(sp.csr_matrix((ones, indices, indptr), shape=(len(indptr) - 1, self.num_indices)))

    def prefix_scores(self, sequences: Sequence[np.ndarray]) -> list[torch.Tensor]:
        tie_break = self.tie_break()
        results = []
        for sequence in sequences:
            weights = self.neighbor_weights(np.asarray(sequence, dtype=np.int64))  # (n, playlists)
            scores = (weights @ self.playlists).toarray().astype(np.float32, copy=False)  # (n, tracks)
            results.append(torch.from_numpy(scores) + tie_break)
        return results

    def scores_after(self, sequences: Sequence[np.ndarray]) -> torch.Tensor:
        check_not_empty(sequences)
        # Only the last ``recent`` tracks weigh in the query of the whole sequence.
        last = [self.neighbor_weights(np.asarray(sequence[-self.config.recent :], dtype=np.int64))[-1] for sequence in sequences]
        scores = (sp.vstack(last) @ self.playlists).toarray().astype(np.float32, copy=False)  # (B, tracks)
        return torch.from_numpy(scores) + self.tie_break()

    def neighbor_weights(self, sequence: np.ndarray) -> sp.csr_matrix:
        """Return, for each prefix, the cosine similarity of its neighbour playlists, and 0 for the others."""
        queries = recency_queries(sequence, self.config.recent, self.num_indices)  # (n, tracks)
        similarity = (queries @ self.by_track).tocsr()  # (n, playlists)

        rows = np.repeat(np.arange(similarity.shape[0]), np.diff(similarity.indptr))
        query_norms = np.sqrt(np.asarray(queries.multiply(queries).sum(axis=1)).ravel())  # (n,)
        similarity.data /= query_norms[rows] * self.playlist_norms[similarity.indices]
        return keep_largest(similarity, self.config.neighbors)


def recency_queries(sequence: np.ndarray, recent: int, num_indices: int) -> sp.csr_matrix:
    """Return the weighted track vector of every prefix: row t weighs the tracks of ``sequence[: t + 1]``.

    The track m positions before t weighs 1 - m / recent. Tracks ``recent`` or more positions back,
    padding and OOV are left out.
    """
    n = len(sequence)
    back = np.arange(min(n, recent))  # (window,)
    prefix = np.repeat(np.arange(n), len(back))  # (n * window,)
    position = prefix - np.tile(back, n)
    weight = np.tile(1.0 - back / recent, n).astype(np.float32)

    valid = position >= 0
    prefix, position, weight = prefix[valid], position[valid], weight[valid]
    track = sequence[position]
    known = track > OOV
    prefix, track, weight = prefix[known], track[known], weight[known]

    # Entries run by prefix, most recent first, so the first of each (prefix, track) pair is the
    # most recent occurrence of a repeated track.
    _, first = np.unique(prefix * num_indices + track, return_index=True)
    return sp.csr_matrix((weight[first], (prefix[first], track[first])), shape=(n, num_indices))
