"""Sparse helpers shared by the count-based baselines: playlist x track matrices and cosine neighbours."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from segue.data.dataset import OOV
from segue.data.holdout import Sequences

# Rows of the track x track product computed at once. Each block holds every co-occurrence of its
# tracks before the neighbour cut, so the block size bounds the peak memory of fitting.
SIMILARITY_BLOCK_ROWS = 4096


def playlist_matrix(sequences: Sequences, num_indices: int) -> sp.csr_matrix:
    """Return the binary sequence x track matrix: 1 where a sequence contains a vocabulary track.

    A track repeated in a sequence still counts once. Padding and OOV columns stay empty.
    """
    tracks, owner = sequences.concatenated()
    known = tracks > OOV
    ones = np.ones(int(known.sum()), dtype=np.float32)
    matrix = sp.csr_matrix((ones, (owner[known], tracks[known])), shape=(len(sequences), num_indices))  # (sequences, tracks)

    # The constructor sums repeats, and binary membership is what cosine similarity compares.
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def keep_largest(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Return a copy of ``matrix`` with only the k largest stored values of each row.

    Ties keep the lower column index, so the result does not depend on the sort's internals.
    """
    matrix = matrix.tocsr()
    counts = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(matrix.shape[0]), counts)

    # One sort by row, then descending value, then column, ranks every entry within its row.
    order = np.lexsort((matrix.indices, -matrix.data, rows))
    rank = np.arange(len(order)) - matrix.indptr[rows[order]]
    selected = order[rank < k]

    indptr = np.zeros(matrix.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.minimum(counts, k), out=indptr[1:])
    result = sp.csr_matrix((matrix.data[selected], matrix.indices[selected], indptr), shape=matrix.shape)
    result.sort_indices()
    return result


def cosine_neighbors(playlists: sp.csr_matrix, neighbors: int) -> sp.csr_matrix:
    """Return the track x track cosine similarity of co-occurrence, with ``neighbors`` entries per row.

    With X the binary playlist x track matrix and C = X^T X without its diagonal, the similarity is
    C_ij / sqrt(n_i n_j), where n_i counts the playlists containing track i. Only the largest
    ``neighbors`` values of each row are kept, so the result has at most ``neighbors`` entries per
    track however large the vocabulary is.
    """
    num_indices = playlists.shape[1]
    by_track = playlists.T.tocsr()  # (tracks, playlists)
    holding = np.diff(by_track.indptr).astype(np.float64)  # (tracks,)
    scale = np.divide(1.0, np.sqrt(holding), out=np.zeros_like(holding), where=holding > 0)

    # Limitation: a block contains every co-occurrence of its tracks before the cut to ``neighbors``.
    # Fitting on the full MPD (2.26 million tracks) has not been measured and may need smaller blocks.
    blocks = []
    for start in range(0, num_indices, SIMILARITY_BLOCK_ROWS):
        stop = min(start + SIMILARITY_BLOCK_ROWS, num_indices)
        block = (by_track[start:stop] @ playlists).tocoo()  # (block, tracks)
        rows = block.row.astype(np.int64) + start
        other = rows != block.col
        rows, columns = rows[other], block.col[other]

        values = (block.data[other] * scale[rows] * scale[columns]).astype(np.float32)
        similarity = sp.csr_matrix((values, (rows - start, columns)), shape=block.shape)
        blocks.append(keep_largest(similarity, neighbors))
    return sp.vstack(blocks, format="csr", dtype=np.float32)


def csr_arrays(prefix: str, matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    """Return a CSR matrix as named arrays ``{prefix}_indptr``, ``_indices`` and ``_data``, for saving."""
    return {
        f"{prefix}_indptr": matrix.indptr.astype(np.int64),
        f"{prefix}_indices": matrix.indices.astype(np.int32),
        f"{prefix}_data": matrix.data.astype(np.float32),
    }


def csr_from_arrays(prefix: str, arrays: dict[str, np.ndarray], num_columns: int) -> sp.csr_matrix:
    """Rebuild the CSR matrix that ``csr_arrays`` saved under ``prefix``."""
    indptr = arrays[f"{prefix}_indptr"]
    return sp.csr_matrix(
        (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], indptr), shape=(len(indptr) - 1, num_columns)
    )


def dense_rows(matrix: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Return the given rows of a CSR matrix as a dense float32 array."""
    return matrix[rows].toarray().astype(np.float32, copy=False)  # (len(rows), columns)
