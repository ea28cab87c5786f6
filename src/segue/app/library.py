"""The app's view of a music source: playlists, tracks, devices and playback.

The offline library (the run's dataset) and Spotify implement the same two interfaces, so the
server and the page never ask which one they have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class AppError(Exception):
    """An error the page shows as one sentence, with the HTTP status and a code for scripts."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


@dataclass(frozen=True)
class Track:
    """A track as the page lists it; metadata the source lacks is None."""

    uri: str
    title: str | None
    artist: str | None
    album: str | None = None
    duration_ms: int | None = None
    image: str | None = None


@dataclass(frozen=True)
class Playlist:
    """A playlist's header: ``readable`` is False when its tracks cannot be listed."""

    id: str
    name: str
    owner: str
    tracks_total: int | None
    images: list[str] = field(default_factory=list)
    readable: bool = True


@dataclass(frozen=True)
class PlaylistTracks:
    """A playlist with its tracks, how many entries were skipped and why, and a note for the page."""

    playlist: Playlist
    tracks: list[Track]
    skipped: dict[str, int] = field(default_factory=dict)
    message: str | None = None


@dataclass(frozen=True)
class Device:
    id: str
    name: str
    type: str
    is_active: bool
    volume_percent: int | None


@dataclass(frozen=True)
class PlayerState:
    """The playback state. ``preview`` is True when playback is simulated, with no audio."""

    device: Device | None
    is_playing: bool
    track: Track | None
    progress_ms: int
    duration_ms: int | None
    context: str | None = None
    preview: bool = False


class Library(Protocol):
    mode: str  # "offline" or "spotify"

    def playlists(self, offset: int, limit: int) -> tuple[list[Playlist], int]:
        """Return one page of playlists and the total number."""

    def playlist(self, playlist_id: str) -> PlaylistTracks:
        """Return a playlist with its tracks; raise AppError 404 when there is no such playlist."""


class Player(Protocol):
    def devices(self) -> list[Device]: ...

    def state(self) -> PlayerState | None: ...

    def play(self, track: str | None, playlist: str | None, offset: int, device: str | None) -> None:
        """Play one track, or a playlist from position ``offset``, on ``device`` (None: the active one)."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def next(self) -> None: ...

    def previous(self) -> None: ...

    def seek(self, position_ms: int) -> None: ...

    def volume(self, percent: int) -> None: ...

    def transfer(self, device: str) -> None: ...
