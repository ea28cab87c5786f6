"""Parsed source files: playlists and tracks numbered within one file, before dataset-wide indices."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

# Track metadata kept in the catalog, in this order. Any of them may be missing (None).
TRACK_FIELDS = ("name", "artist", "album", "duration_ms", "artist_uri", "album_uri")

# A file keeps at most this many messages about what it skipped; counts are always exact.
MAX_SKIPPED_MESSAGES = 20


@dataclass
class PlaylistRecord:
    """One playlist's own metadata; its tracks live in :class:`ParsedFile` rows."""

    key: str
    name: str | None = None
    description: str | None = None
    extra: str | None = None  # remaining scalar fields as a JSON object, or None
    challenge: bool = False  # a RecSys Challenge 2018 playlist with withheld tracks


@dataclass
class ParsedFile:
    """All playlists of one source file, with tracks numbered locally in first-seen order.

    ``rows`` contains local track ids for every playlist concatenated; ``lengths`` gives how many
    rows belong to each playlist. ``uris[i]`` and ``track_values[i]`` describe local
    track i.
    """

    path: str
    kind: str  # "mpd" or "table"
    size: int
    sha256: str
    uris: list[str]
    track_values: list[tuple]
    rows: np.ndarray  # (rows,) int32
    lengths: np.ndarray  # (playlists,) int64
    playlists: list[PlaylistRecord]
    dropped: Counter = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)  # first messages about skipped playlists or rows


class FileBuilder:
    """Collects playlists of one file and numbers its distinct tracks.

    A playlist is staged with :meth:`stage_track` calls and kept with :meth:`commit`, or thrown
    away with :meth:`rollback` when it turns out to be invalid, so that a skipped playlist
    leaves no tracks behind.
    """

    def __init__(self) -> None:
        self.local_ids: dict[str, int] = {}
        self.uris: list[str] = []
        self.track_values: list[tuple] = []
        self.rows: list[int] = []
        self.lengths: list[int] = []
        self.playlists: list[PlaylistRecord] = []
        self.dropped: Counter = Counter()
        self.skipped: list[str] = []
        self._mark = (0, 0)

    def begin(self) -> None:
        self._mark = (len(self.uris), len(self.rows))

    def add_track(self, uri: str, values: tuple) -> int:
        """Number a track not seen before in this file and return its local id."""
        local_id = len(self.uris)
        self.local_ids[uri] = local_id
        self.uris.append(uri)
        self.track_values.append(values)
        return local_id

    def commit(self, playlist: PlaylistRecord, local_ids: list[int]) -> None:
        self.rows.extend(local_ids)
        self.lengths.append(len(local_ids))
        self.playlists.append(playlist)

    def skip(self, message: str) -> None:
        """Undo the playlist staged since :meth:`begin` and count it as invalid."""
        self.rollback()
        self.dropped["invalid_playlist"] += 1
        if len(self.skipped) < MAX_SKIPPED_MESSAGES:
            self.skipped.append(message)

    def rollback(self) -> None:
        tracks_before, rows_before = self._mark
        for uri in self.uris[tracks_before:]:
            del self.local_ids[uri]
        del self.uris[tracks_before:]
        del self.track_values[tracks_before:]
        del self.rows[rows_before:]

    def build(self, path: str, kind: str, size: int, sha256: str) -> ParsedFile:
        return ParsedFile(
            path=path,
            kind=kind,
            size=size,
            sha256=sha256,
            uris=self.uris,
            track_values=self.track_values,
            rows=np.asarray(self.rows, dtype=np.int32),
            lengths=np.asarray(self.lengths, dtype=np.int64),
            playlists=self.playlists,
            dropped=self.dropped,
            skipped=self.skipped,
        )
