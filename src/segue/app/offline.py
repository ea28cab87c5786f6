"""The offline library and its preview player: the run's dataset, with playback simulated and silent."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from segue.app.library import AppError, Device, Playlist, PlayerState, PlaylistTracks, Track
from segue.data.dataset import Dataset
from segue.data.split import SPLIT_NAMES
from segue.recommending.tracks import TrackLookup

# Splits in the order the sidebar lists them: held-out playlists first, since the model never saw them.
SPLIT_ORDER = ("test", "valid", "train", "challenge")
# The preview player's length for a track whose duration the dataset lacks (the MPD sample has none).
UNKNOWN_DURATION_MS = 210_000
# `previous` restarts the current track when it has played longer than this, as music players do.
RESTART_AFTER_MS = 3_000
PREVIEW_DEVICE = Device("preview", "Preview (no audio)", "Computer", True, 50)


class OfflineLibrary:
    """The playlists of a dataset, test split first, with their tracks from the catalog."""

    mode = "offline"

    def __init__(self, dataset: Dataset, lookup: TrackLookup) -> None:
        self.dataset, self.lookup = dataset, lookup
        order = [SPLIT_NAMES.index(name) for name in SPLIT_ORDER if name in SPLIT_NAMES]
        self.rows = np.concatenate([np.flatnonzero(dataset.splits == split) for split in order])  # (playlists,)

    def playlists(self, offset: int, limit: int) -> tuple[list[Playlist], int]:
        rows = [int(row) for row in self.rows[offset : offset + limit]]
        found = {row: (name, split) for row, name, split in self.lookup.playlist_rows(rows)}
        page = [self._playlist(row, *found[row]) for row in rows]
        return page, len(self.rows)

    def playlist(self, playlist_id: str) -> PlaylistTracks:
        found = self.lookup.playlist(playlist_id)
        if found is None:
            raise AppError(404, "NOT_FOUND", f"playlist {playlist_id!r} not found in the dataset {self.dataset.path.name}")
        row, _ = found
        [(_, name, split)] = self.lookup.playlist_rows([row])

        indices = self.dataset.sequence(row, full=True).tolist()
        tracks = self.lookup.tracks(indices)
        listed = [_track(tracks[index]) for index in indices if index in tracks]
        return PlaylistTracks(self._playlist(row, name, split), listed)

    def track(self, uri: str) -> Track | None:
        index = self.lookup.indices_of([uri]).get(uri)
        if index is None:
            return None
        return _track(self.lookup.tracks([index])[index])

    def _playlist(self, row: int, name: str | None, split: str) -> Playlist:
        key = str(self.dataset.keys[row])
        return Playlist(key, name or f"Playlist {key}", f"{split} split", int(self.dataset.lengths[row]))


class PreviewPlayer:
    """A silent player with one device: it moves through each track's duration on the clock.

    A track without a known duration lasts ``UNKNOWN_DURATION_MS``. The queue is one track, or a
    playlist from a position, and playback stops after its last track.
    """

    def __init__(self, library: OfflineLibrary, clock: Callable[[], float] = time.monotonic) -> None:
        self.library, self.clock = library, clock
        self.lock = threading.Lock()
        self.queue: list[Track] = []
        self.index = 0
        self.context: str | None = None
        self.playing = False
        self.volume_percent = PREVIEW_DEVICE.volume_percent
        self._position_ms = 0  # while paused: the position; while playing: the position at _since
        self._since = 0.0

    def devices(self) -> list[Device]:
        return [self._device()]

    def state(self) -> PlayerState | None:
        with self.lock:
            if not self.queue:
                return None
            position = self._advance()
            track = self.queue[self.index]
            return PlayerState(self._device(), self.playing, track, position, _duration(track), self.context, preview=True)

    def play(self, track: str | None, playlist: str | None, offset: int, device: str | None) -> None:
        if device is not None:
            self._check_device(device)
        if playlist is not None:
            tracks = self.library.playlist(playlist).tracks
            if not tracks:
                raise AppError(409, "EMPTY_PLAYLIST", f"playlist {playlist!r} has no tracks to play")
            if not 0 <= offset < len(tracks):
                raise AppError(422, "INVALID_REQUEST", f"offset {offset} is outside playlist {playlist!r} of {len(tracks)} tracks")
            queue, start, context = tracks, offset, playlist
        elif track is not None:
            found = self.library.track(track)
            if found is None:
                raise AppError(404, "NOT_FOUND", f"track {track!r} not found in the dataset's catalog")
            queue, start, context = [found], 0, None
        else:
            raise AppError(422, "INVALID_REQUEST", "name a track or a playlist to play")

        with self.lock:
            self.queue, self.index, self.context = queue, start, context
            self._start_at(0, playing=True)

    def pause(self) -> None:
        with self.lock:
            self._require_queue()
            self._start_at(self._advance(), playing=False)

    def resume(self) -> None:
        with self.lock:
            self._require_queue()
            self._start_at(self._advance(), playing=True)

    def next(self) -> None:
        with self.lock:
            self._require_queue()
            self._advance()
            if self.index + 1 < len(self.queue):
                self.index += 1
                self._start_at(0, self.playing)
            else:
                self._start_at(0, playing=False)

    def previous(self) -> None:
        with self.lock:
            self._require_queue()
            if self._advance() <= RESTART_AFTER_MS and self.index > 0:
                self.index -= 1
            self._start_at(0, self.playing)

    def seek(self, position_ms: int) -> None:
        with self.lock:
            self._require_queue()
            self._advance()
            duration = _duration(self.queue[self.index])
            self._start_at(min(max(position_ms, 0), duration), self.playing)

    def volume(self, percent: int) -> None:
        with self.lock:
            self.volume_percent = percent

    def transfer(self, device: str) -> None:
        self._check_device(device)

    def _device(self) -> Device:
        return Device(PREVIEW_DEVICE.id, PREVIEW_DEVICE.name, PREVIEW_DEVICE.type, True, self.volume_percent)

    def _check_device(self, device: str) -> None:
        if device != PREVIEW_DEVICE.id:
            raise AppError(404, "NOT_FOUND", f"device {device!r} not found; offline, the only device is {PREVIEW_DEVICE.id!r}")

    def _require_queue(self) -> None:
        if not self.queue:
            raise AppError(409, "NOTHING_PLAYING", "nothing is playing: double-click a song or press Play first")

    def _start_at(self, position_ms: int, playing: bool) -> None:
        self._position_ms, self._since, self.playing = position_ms, self.clock(), playing

    def _advance(self) -> int:
        """Move past every track that has ended since the last call; return the current position."""
        while True:
            position = self._position_ms
            if self.playing:
                position += int(1000 * (self.clock() - self._since))
            duration = _duration(self.queue[self.index])
            if position < duration:
                return position
            if self.index + 1 >= len(self.queue):
                self._start_at(0, playing=False)
                return 0
            # The next track began when this one ended, so carry the time past its end over.
            self.index += 1
            self._position_ms, self._since = 0, self._since + (duration - self._position_ms) / 1000


def _duration(track: Track) -> int:
    return track.duration_ms or UNKNOWN_DURATION_MS


def _track(row) -> Track:
    return Track(row.uri, row.title, row.artist, row.album, row.duration_ms)
