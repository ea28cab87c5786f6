"""The Spotify library and player behind the app's interfaces, over ``SpotifyClient``."""

from __future__ import annotations

import threading
import time

from segue.app.library import AppError, Device, Playlist, PlayerState, PlaylistTracks, Track
from segue.spotify import client as spotify
from segue.spotify.client import SpotifyClient, SpotifyError

# The sidebar's playlists are read again after this long, so a new playlist shows up without a restart.
PLAYLISTS_TTL_S = 60.0
# The most listed tracks sent as a queue in place of the playlist context, to keep one request small.
MAX_QUEUE = 100
# Names of skipped entries on the page, as (plural, singular) per reason.
SKIP_NOUNS = {
    "unavailable": ("unavailable entries", "unavailable entry"),
    "local files": ("local files", "local file"),
    "other": ("episodes or other items", "episode or other item"),
}
NOT_SHARED = (
    "Spotify shares the tracks only of playlists you own or collaborate on, so this playlist's songs "
    "cannot be listed here. Recommendations fall back to the most popular songs."
)


class SpotifyLibrary:
    """The signed-in listener's playlists; each playlist's items are read when it is opened."""

    mode = "spotify"

    def __init__(self, client: SpotifyClient, clock=time.monotonic) -> None:
        self.client, self.clock = client, clock
        self.lock = threading.Lock()
        self._playlists: list[spotify.SpotifyPlaylist] = []
        self._read_at = float("-inf")
        self._listed: dict[str, PlaylistTracks] = {}

    def playlists(self, offset: int, limit: int) -> tuple[list[Playlist], int]:
        everything = self._all_playlists()
        return [_playlist(item) for item in everything[offset : offset + limit]], len(everything)

    def playlist(self, playlist_id: str) -> PlaylistTracks:
        header = next((item for item in self._all_playlists() if item.id == playlist_id), None)
        try:
            if header is None:
                header = self.client.playlist(playlist_id)
            if not header.readable:
                return PlaylistTracks(_playlist(header), [], message=NOT_SHARED)
            items = self.client.playlist_items(playlist_id)
        except SpotifyError as error:
            if error.code == "FORBIDDEN" and header is not None:
                return PlaylistTracks(_playlist(header), [], message=NOT_SHARED)
            if error.code == "NOT_FOUND":
                raise AppError(404, "NOT_FOUND", f"playlist {playlist_id!r} not found on Spotify") from None
            raise

        skipped = {"unavailable": items.skipped_null, "local files": items.skipped_local, "other": items.skipped_other}
        skipped = {reason: count for reason, count in skipped.items() if count}
        message = None
        if skipped:
            parts = ", ".join(f"{count} {SKIP_NOUNS[reason][count == 1]}" for reason, count in skipped.items())
            message = f"Skipped {sum(skipped.values())} entries that are not playable Spotify tracks: {parts}."
        listed = PlaylistTracks(_playlist(header), [_track(track) for track in items.tracks], skipped, message)
        with self.lock:
            self._listed[playlist_id] = listed
        return listed

    def listed(self, playlist_id: str) -> PlaylistTracks:
        """Return the playlist as last read, reading it if it was not."""
        with self.lock:
            found = self._listed.get(playlist_id)
        return found if found is not None else self.playlist(playlist_id)

    def _all_playlists(self) -> list[spotify.SpotifyPlaylist]:
        with self.lock:
            if self.clock() - self._read_at < PLAYLISTS_TTL_S:
                return self._playlists
        playlists = self.client.playlists()
        with self.lock:
            self._playlists, self._read_at = playlists, self.clock()
        return playlists


class SpotifyPlayer:
    """Playback on the listener's Spotify Connect devices."""

    def __init__(self, client: SpotifyClient, library: SpotifyLibrary) -> None:
        self.client, self.library = client, library

    def devices(self) -> list[Device]:
        return [_device(device) for device in self.client.devices()]

    def state(self) -> PlayerState | None:
        playback = self.client.playback()
        if playback is None:
            return None
        track = _track(playback.track) if playback.track is not None else None
        device = _device(playback.device) if playback.device is not None else None
        duration = track.duration_ms if track is not None else None
        return PlayerState(device, playback.is_playing, track, playback.progress_ms, duration, playback.context_uri)

    def play(self, track: str | None, playlist: str | None, offset: int, device: str | None) -> None:
        if playlist is None:
            self.client.play(device_id=device, uris=[track])
            return

        listed = self.library.listed(playlist)
        if not 0 <= offset < max(len(listed.tracks), 1):
            raise AppError(422, "INVALID_REQUEST", f"offset {offset} is outside playlist {playlist!r} of {len(listed.tracks)} tracks")
        if listed.skipped:
            # Skipped entries shift Spotify's positions, so send the listed tracks from the offset.
            uris = [item.uri for item in listed.tracks[offset : offset + MAX_QUEUE]]
            self.client.play(device_id=device, uris=uris)
        else:
            self.client.play(device_id=device, context_uri=f"spotify:playlist:{playlist}", offset=offset)

    def pause(self) -> None:
        self.client.pause()

    def resume(self) -> None:
        self.client.resume()

    def next(self) -> None:
        self.client.next()

    def previous(self) -> None:
        self.client.previous()

    def seek(self, position_ms: int) -> None:
        self.client.seek(position_ms)

    def volume(self, percent: int) -> None:
        self.client.volume(percent)

    def transfer(self, device: str) -> None:
        self.client.transfer(device, play=True)


def _playlist(item: spotify.SpotifyPlaylist) -> Playlist:
    return Playlist(item.id, item.name, item.owner, item.tracks_total, list(item.images), item.readable)


def _track(item: spotify.SpotifyTrack) -> Track:
    return Track(item.uri, item.title, item.artist, item.album, item.duration_ms, item.image)


def _device(item: spotify.Device) -> Device:
    return Device(item.id, item.name, item.type, item.is_active, item.volume_percent)
