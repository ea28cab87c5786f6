"""The dataset's SQLite catalog: track metadata and playlist metadata.

Tables:

- ``tracks``: every distinct track. ``idx`` is its index in ``tracks_full.npy``; tracks with
  ``idx`` below ``2 + vocabulary`` are the model vocabulary and keep the same index in
  ``tracks.npy``.
- ``playlists``: one row per playlist; ``row`` is its position in the CSR arrays.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from segue.data.records import TRACK_FIELDS, PlaylistRecord
from segue.data.split import SPLIT_NAMES

CATALOG_FILE = "catalog.sqlite"

_SCHEMA = """
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
CREATE TABLE scratch.staged_tracks (
    provisional INTEGER PRIMARY KEY,
    uri TEXT NOT NULL,
    name TEXT, artist TEXT, album TEXT, duration_ms INTEGER, artist_uri TEXT, album_uri TEXT
);
"""

_TRACKS = """
CREATE TABLE tracks (
    idx INTEGER PRIMARY KEY,
    uri TEXT NOT NULL UNIQUE,
    name TEXT,
    artist TEXT,
    album TEXT,
    duration_ms INTEGER,
    artist_uri TEXT,
    album_uri TEXT,
    train_count INTEGER NOT NULL,
    count INTEGER NOT NULL
);
CREATE INDEX tracks_artist ON tracks (artist);
"""


class CatalogWriter:
    """Writes the catalog while files stream in, then numbers tracks once the vocabulary is known.

    Tracks are staged under provisional ids (order of first appearance) because their final
    index depends on counts over all files.
    """

    def __init__(self, path: Path) -> None:
        # Staged tracks live in a scratch database beside the catalog, deleted when numbering is
        # done, so that the catalog never carries their free pages.
        self.scratch_path = path.with_name(path.name + ".scratch")
        self.connection = sqlite3.connect(path)
        self.connection.execute("ATTACH DATABASE ? AS scratch", (str(self.scratch_path),))
        for schema in ("main", "scratch"):
            self.connection.execute(f"PRAGMA {schema}.journal_mode = OFF")
            self.connection.execute(f"PRAGMA {schema}.synchronous = OFF")
        self.connection.executescript(_SCHEMA)

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
    ) -> None:
        self.connection.executemany(
            "INSERT INTO playlists VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (first_row + i, r.key, source, r.name, r.description, SPLIT_NAMES[s], int(n), r.extra)
                for i, (r, s, n) in enumerate(zip(records, splits, lengths))
            ),
        )

    def stage_tracks(self, rows: list[tuple]) -> None:
        """Stage new tracks as (provisional id, uri, *TRACK_FIELDS) tuples."""
        self.connection.executemany(f"INSERT INTO staged_tracks VALUES ({','.join('?' * (2 + len(TRACK_FIELDS)))})", rows)

    def fill_tracks(self, rows: list[tuple]) -> None:
        """Fill metadata missing so far from a later file: (provisional id, *TRACK_FIELDS) tuples."""
        assignments = ", ".join(f"{name} = COALESCE({name}, ?)" for name in TRACK_FIELDS)
        self.connection.executemany(
            f"UPDATE staged_tracks SET {assignments} WHERE provisional = ?", (row[1:] + row[:1] for row in rows)
        )

    def number_tracks(self, index_of_provisional: np.ndarray, train_counts: np.ndarray, counts: np.ndarray) -> None:
        """Move staged tracks into ``tracks`` under their final index."""
        self.connection.execute(
            "CREATE TABLE scratch.numbering (provisional INTEGER PRIMARY KEY, idx, train_count, count)"
        )
        self.connection.executemany(
            "INSERT INTO scratch.numbering VALUES (?, ?, ?, ?)",
            zip(
                range(len(index_of_provisional)),
                index_of_provisional.tolist(),
                train_counts.tolist(),
                counts.tolist(),
            ),
        )
        self.connection.executescript(_TRACKS)
        columns = ", ".join(TRACK_FIELDS)
        self.connection.execute(
            f"INSERT INTO tracks (idx, uri, {columns}, train_count, count) "
            f"SELECT n.idx, s.uri, {', '.join('s.' + name for name in TRACK_FIELDS)}, n.train_count, n.count "
            "FROM scratch.staged_tracks s JOIN scratch.numbering n USING (provisional) ORDER BY n.idx"
        )

    def playlist_keys(self) -> list[str]:
        return [key for (key,) in self.connection.execute("SELECT key FROM playlists ORDER BY row")]

    def close(self) -> None:
        self.connection.commit()
        self.connection.execute("DETACH DATABASE scratch")
        self.connection.close()
        self.scratch_path.unlink()


def open_catalog(path: Path) -> sqlite3.Connection:
    """Open a dataset's catalog read-only."""
    connection = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    return connection
