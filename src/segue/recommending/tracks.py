"""Track lookups in a dataset's catalog for recommending: URIs to indices, and indices to metadata."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

# SQLite limits the parameters of one statement, so lookups go in chunks of this many.
CHUNK = 500


@dataclass(frozen=True)
class Track:
    """A catalog track; metadata the source did not have is None."""

    index: int
    uri: str
    title: str | None
    artist: str | None
    album: str | None
    duration_ms: int | None


class TrackLookup:
    """Thread-safe queries on a catalog connection, which one lock serialises."""

    def __init__(self, catalog: sqlite3.Connection) -> None:
        self.catalog = catalog
        self.lock = threading.Lock()

    def indices_of(self, uris: Iterable[str]) -> dict[str, int]:
        """Return the catalog index of each URI that the catalog has."""
        found: dict[str, int] = {}
        for chunk in _chunks(list(dict.fromkeys(uris))):
            marks = ",".join("?" * len(chunk))
            found.update(self._query(f"SELECT uri, idx FROM tracks WHERE uri IN ({marks})", chunk))
        return found

    def tracks(self, indices: Iterable[int]) -> dict[int, Track]:
        """Return the catalog tracks with these indices; indices not in the catalog are left out."""
        found: dict[int, Track] = {}
        for chunk in _chunks(list(dict.fromkeys(int(index) for index in indices))):
            marks = ",".join("?" * len(chunk))
            query = f"SELECT idx, uri, name, artist, album, duration_ms FROM tracks WHERE idx IN ({marks})"
            for row in self._query(query, chunk):
                found[row[0]] = Track(*row)
        return found

    def training_counts(self, num_indices: int) -> np.ndarray:
        """Return each vocabulary index's count in the training split, 0 for padding and OOV."""
        counts = np.zeros(num_indices, dtype=np.int64)
        rows = self._query("SELECT idx, train_count FROM tracks WHERE idx < ?", [num_indices])
        if rows:
            indices, values = zip(*rows)
            counts[list(indices)] = values
        counts[:2] = 0
        return counts

    def playlist(self, key: str) -> tuple[int, str | None] | None:
        """Return the row and name of the dataset playlist with this key, or None."""
        rows = self._query("SELECT row, name FROM playlists WHERE key = ?", [key])
        return (rows[0][0], rows[0][1]) if rows else None

    def playlist_rows(self, rows: list[int]) -> list[tuple[int, str | None, str]]:
        """Return (row, name, split) of the dataset playlists at these rows."""
        found: list[tuple[int, str | None, str]] = []
        for chunk in _chunks(rows):
            marks = ",".join("?" * len(chunk))
            found += self._query(f"SELECT row, name, split FROM playlists WHERE row IN ({marks})", chunk)
        return found

    def example_playlist_key(self) -> str | None:
        rows = self._query("SELECT key FROM playlists LIMIT 1", [])
        return rows[0][0] if rows else None

    def close(self) -> None:
        with self.lock:
            self.catalog.close()

    def _query(self, query: str, parameters: list) -> list[tuple]:
        with self.lock:
            return [tuple(row) for row in self.catalog.execute(query, parameters)]


def _chunks(items: list) -> Iterable[list]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
