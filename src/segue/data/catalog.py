"""The dataset's SQLite catalog: track metadata and playlist metadata.

Tables:

- ``tracks``: every distinct track. ``idx`` is its index in ``tracks_full.npy``; tracks with
  ``idx`` below ``2 + vocabulary`` are the model vocabulary and keep the same index in
  ``tracks.npy``.
- ``playlists``: one row per playlist; ``row`` is its position in the CSR arrays.
- ``artists``: tracks and rows per artist name, summed from ``tracks``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from segue.data.records import TRACK_FIELDS, PlaylistRecord
from segue.data.split import SPLIT_NAMES

CATALOG_FILE = "catalog.sqlite"

_PLAYLISTS = """
CREATE TABLE playlists (
    row INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    name TEXT,
    description TEXT,
    split TEXT NOT NULL,
    length INTEGER NOT NULL,
    extra TEXT
);
"""

_TRACKS = """
CREATE TABLE tracks (
    idx INTEGER PRIMARY KEY,
    uri TEXT NOT NULL,
    name TEXT,
    artist TEXT,
    album TEXT,
    duration_ms INTEGER,
    artist_uri TEXT,
    album_uri TEXT,
    train_count INTEGER NOT NULL,
    count INTEGER NOT NULL
);
"""

_TRACK_INDEXES = """
CREATE UNIQUE INDEX tracks_uri ON tracks (uri);
CREATE INDEX tracks_artist ON tracks (artist);
CREATE INDEX tracks_count ON tracks (count);
"""

_ARTISTS = """
CREATE TABLE artists (
    artist TEXT PRIMARY KEY,
    tracks INTEGER NOT NULL,
    train_count INTEGER NOT NULL,
    count INTEGER NOT NULL
);
CREATE INDEX artists_count ON artists (count);
"""


class CatalogWriter:
    """Writes playlists while files stream in, and all tracks at the end, when their index is known."""

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path)
        self.connection.execute("PRAGMA journal_mode = OFF")
        self.connection.execute("PRAGMA synchronous = OFF")
        self.connection.executescript(_PLAYLISTS)

    def find_keys(self, keys: list[str]) -> dict[str, str]:
        """Return key -> source file for those of ``keys`` already in the catalog."""
        found = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(self.connection.execute(f"SELECT key, source FROM playlists WHERE key IN ({marks})", chunk))
        return found

    def add_playlists(
        self, first_row: int, source: str, records: list[PlaylistRecord], splits: list[int], lengths: np.ndarray
    ) -> int:
        """Insert playlists numbered from ``first_row``; return how many were new (others are ignored)."""
        before = self.connection.total_changes
        self.connection.executemany(
            "INSERT OR IGNORE INTO playlists VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (first_row + i, r.key, source, r.name, r.description, SPLIT_NAMES[s], int(n), r.extra)
                for i, (r, s, n) in enumerate(zip(records, splits, lengths.tolist()))
            ),
        )
        return self.connection.total_changes - before

    def remove_playlists_from(self, first_row: int) -> None:
        self.connection.execute("DELETE FROM playlists WHERE row >= ?", (first_row,))

    def write_tracks(
        self, uris: list[str], values: list[tuple], index_of: np.ndarray, train_counts: np.ndarray, counts: np.ndarray
    ) -> None:
        """Write every track in index order; ``index_of``, counts and ``values`` are by provisional id."""
        self.connection.executescript(_TRACKS)
        by_index = np.argsort(index_of).tolist()
        indices, train_counts, counts = index_of.tolist(), train_counts.tolist(), counts.tolist()
        self.connection.executemany(
            f"INSERT INTO tracks VALUES ({', '.join('?' * (4 + len(TRACK_FIELDS)))})",
            ((indices[i], uris[i], *values[i], train_counts[i], counts[i]) for i in by_index),
        )
        # Indexes built after the bulk insert cost less than indexes kept up row by row.
        self.connection.executescript(_TRACK_INDEXES)
        self._write_artists(values, train_counts, counts)

    def _write_artists(self, values: list[tuple], train_counts: list[int], counts: list[int]) -> None:
        """Sum tracks and rows per artist name, so that statistics need no scan of all tracks."""
        artist_field = TRACK_FIELDS.index("artist")
        totals: dict[str, list[int]] = {}
        for track_values, train_count, count in zip(values, train_counts, counts):
            artist = track_values[artist_field]
            if artist is None:
                continue
            total = totals.get(artist)
            if total is None:
                totals[artist] = [1, train_count, count]
            else:
                total[0] += 1
                total[1] += train_count
                total[2] += count
        self.connection.executescript(_ARTISTS)
        self.connection.executemany(
            "INSERT INTO artists VALUES (?, ?, ?, ?)", ((name, *total) for name, total in totals.items())
        )

    def playlist_keys(self) -> list[str]:
        return [key for (key,) in self.connection.execute("SELECT key FROM playlists ORDER BY row")]

    def close(self) -> None:
        self.connection.commit()
        self.connection.close()


def open_catalog(path: Path) -> sqlite3.Connection:
    """Open a dataset's catalog read-only."""
    connection = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    return connection
