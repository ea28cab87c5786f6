"""Spotify Web API calls the app makes: the listener's playlists, their tracks, devices and playback control.

``SpotifyClient`` wraps spotipy and turns every failure into a ``SpotifyError`` with an HTTP status,
a code and one sentence for the listener with the next step to take.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import requests
import spotipy

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The maximum page size that /me/playlists and /playlists/{id}/items accept.
_PAGE_LIMIT = 50
_MIN_IMAGE_WIDTH = 64


class SpotifyError(Exception):
    """An error of the Spotify Web API, as the page should show it.

    ``status`` is the HTTP status the app returns, ``code`` a stable name such as ``NO_ACTIVE_DEVICE``,
    ``message`` one sentence for the listener and ``retry_after`` the seconds to wait after ``RATE_LIMITED``.
    """

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class SpotifyTrack:
    uri: str
    title: str
    artist: str  # all artists, joined with ", "
    album: str | None
    duration_ms: int | None
    image: str | None  # the smallest album image at least 64 pixels wide, else any


@dataclass(frozen=True)
class SpotifyPlaylist:
    id: str
    name: str
    owner: str  # display name, else the owner's user ID
    owner_id: str
    collaborative: bool
    tracks_total: int | None
    images: list[str]
    readable: bool  # Spotify returns the tracks only to the owner and to collaborators


@dataclass(frozen=True)
class PlaylistItems:
    tracks: list[SpotifyTrack]
    skipped_null: int  # entries without a track, such as tracks removed from Spotify
    skipped_local: int  # local files, which Spotify Connect devices cannot play
    skipped_other: int  # episodes and entries without a track URI


@dataclass(frozen=True)
class Device:
    id: str
    name: str
    type: str
    is_active: bool
    volume_percent: int | None


@dataclass(frozen=True)
class Playback:
    device: Device | None
    is_playing: bool
    track: SpotifyTrack | None  # None while an episode or an advert plays
    progress_ms: int
    context_uri: str | None


class SpotifyClient:
    """Calls to the Spotify Web API for the signed-in listener.

    ``auth_manager`` is a spotipy auth manager, such as ``SpotifySignIn.auth_manager``. A 429 response whose
    Retry-After is at most ``max_wait`` seconds is retried once after ``sleep(retry_after)``.
    """

    def __init__(
        self,
        auth_manager: spotipy.oauth2.SpotifyAuthBase,
        api_prefix: str = "https://api.spotify.com/v1/",
        max_wait: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        # A plain session, because spotipy's default session retries with urllib3, which sleeps through
        # Retry-After itself and reports a 429 or 5xx response without its status or headers.
        self._spotify = spotipy.Spotify(
            auth_manager=auth_manager, requests_session=requests.Session(), requests_timeout=10
        )
        # spotipy 2.26 has no constructor argument for the API address, and it appends paths to it as they are.
        self._prefix = api_prefix.rstrip("/") + "/"
        self._spotify.prefix = self._prefix
        self._max_wait = max_wait
        self._sleep = sleep
        self._me: dict | None = None

    def me(self) -> dict:
        """Return the listener's ``{"id", "display_name"}``, fetched once and then cached."""
        if self._me is None:
            profile = self._call("me", self._spotify.me)
            self._me = {"id": profile["id"], "display_name": profile.get("display_name")}
        return self._me

    def playlists(self) -> list[SpotifyPlaylist]:
        """Fetch every playlist the listener owns or follows, all pages."""
        first = self._call("playlists", partial(self._spotify.current_user_playlists, limit=_PAGE_LIMIT))
        user_id = self.me()["id"]
        return [_playlist(entry, user_id) for entry in self._all_items("playlists", first) if entry]

    def playlist(self, playlist_id: str) -> SpotifyPlaylist:
        """Fetch one playlist's details, without its tracks."""
        entry = self._call("playlist", partial(self._spotify.playlist, playlist_id))
        return _playlist(entry, self.me()["id"])

    def playlist_items(self, playlist_id: str) -> PlaylistItems:
        """Fetch the tracks of a playlist, all pages, skipping and counting entries that are not playable tracks."""
        try:
            first = self._call("playlist_items", partial(self._spotify.playlist_items, playlist_id, limit=_PAGE_LIMIT))
        except SpotifyError as error:
            if error.code != "FORBIDDEN":
                raise
            raise SpotifyError(
                403,
                "FORBIDDEN",
                "Spotify shares the tracks only of playlists you own or collaborate on: "
                "copy this playlist into one of your own to use it.",
            ) from error
        return _playlist_items(self._all_items("playlist_items", first))

    def devices(self) -> list[Device]:
        """Fetch the listener's Spotify Connect devices."""
        answer = self._call("devices", self._spotify.devices) or {}
        # A device without an ID cannot be the target of any command.
        return [_device(entry) for entry in answer.get("devices") or [] if entry and entry.get("id")]

    def playback(self) -> Playback | None:
        """Fetch the playback state, or None when nothing is playing on any device (HTTP 204)."""
        state = self._call("playback", self._spotify.current_playback)
        if not state:
            return None
        device = state.get("device")
        context = state.get("context") or {}
        return Playback(
            device=_device(device) if device and device.get("id") else None,
            is_playing=bool(state.get("is_playing")),
            track=_track(state.get("item")),
            progress_ms=state.get("progress_ms") or 0,
            context_uri=context.get("uri"),
        )

    def play(
        self,
        device_id: str | None = None,
        uris: Sequence[str] | None = None,
        context_uri: str | None = None,
        offset: int | None = None,
        position_ms: int | None = None,
    ) -> None:
        """Start playing ``uris``, or ``context_uri`` (a playlist or album) from position ``offset``."""
        # spotipy only logs these two mistakes and sends nothing, so they are checked here.
        if uris is not None and context_uri is not None:
            raise ValueError("play takes uris or context_uri, not both")
        if isinstance(uris, str):
            raise TypeError(f"uris must be a list of track URIs, not the string {uris!r}")
        request = partial(
            self._spotify.start_playback,
            device_id=device_id,
            uris=list(uris) if uris is not None else None,
            context_uri=context_uri,
            offset={"position": offset} if offset is not None else None,
            position_ms=position_ms,
        )
        self._call("play", request)

    def pause(self, device_id: str | None = None) -> None:
        self._call("pause", partial(self._spotify.pause_playback, device_id))

    def resume(self, device_id: str | None = None) -> None:
        """Resume playback where it paused: a play request without a body."""
        self._call("resume", partial(self._spotify.start_playback, device_id))

    def next(self, device_id: str | None = None) -> None:
        self._call("next", partial(self._spotify.next_track, device_id))

    def previous(self, device_id: str | None = None) -> None:
        self._call("previous", partial(self._spotify.previous_track, device_id))

    def seek(self, position_ms: int, device_id: str | None = None) -> None:
        # spotipy ignores a position that is not an int without sending anything.
        if not isinstance(position_ms, int) or position_ms < 0:
            raise ValueError(f"position_ms must be a non-negative int, not {position_ms!r}")
        self._call("seek", partial(self._spotify.seek_track, position_ms, device_id))

    def volume(self, percent: int, device_id: str | None = None) -> None:
        # spotipy ignores an invalid volume without sending anything.
        if not isinstance(percent, int) or not 0 <= percent <= 100:
            raise ValueError(f"volume must be an int from 0 to 100, not {percent!r}")
        self._call("volume", partial(self._spotify.volume, percent, device_id))

    def transfer(self, device_id: str, play: bool = False) -> None:
        """Move playback to ``device_id``. With ``play`` it starts there, otherwise it stays paused or playing."""
        self._call("transfer", partial(self._spotify.transfer_playback, device_id, force_play=play))

    def _all_items(self, action: str, page: dict | None) -> Iterator[Any]:
        """Yield the items of a paging object and of every page after it."""
        while page:
            yield from page.get("items") or []
            next_url = page.get("next")
            if not next_url:
                return
            # The access token goes with every request, so it must not follow a link to another host.
            if not next_url.startswith(self._prefix):
                logger.warning("Spotify %s: page link %s is outside %s", action, next_url, self._prefix)
                raise SpotifyError(
                    502, "SPOTIFY_ERROR", "Spotify returned a page link outside its API: try again later."
                )
            page = self._call(action, partial(self._spotify.next, page))

    def _call(self, action: str, request: Callable[[], T]) -> T:
        """Send ``request``, retry it once after a short rate limit, and raise any failure as a SpotifyError."""
        result, error = self._attempt(request)
        if error is not None and self._should_wait(error):
            logger.info("Spotify %s: rate limited, retrying in %d seconds", action, error.retry_after)
            self._sleep(error.retry_after)
            result, error = self._attempt(request)

        if error is not None:
            logger.warning("Spotify %s failed: HTTP %d %s (%s)", action, error.status, error.code, error.__cause__)
            raise error
        return result

    def _attempt(self, request: Callable[[], T]) -> tuple[T | None, SpotifyError | None]:
        try:
            return request(), None
        except SpotifyError as error:
            # The auth manager raises it when no token is cached.
            return None, error
        except spotipy.SpotifyException as exception:
            return None, _from_api_error(exception)
        except spotipy.SpotifyOauthError as exception:
            return None, _from_token_error(exception)
        except requests.RequestException as exception:
            message = "Spotify could not be reached: check the internet connection and try again."
            error = SpotifyError(502, "SPOTIFY_ERROR", message)
            error.__cause__ = exception
            return None, error

    def _should_wait(self, error: SpotifyError) -> bool:
        return error.code == "RATE_LIMITED" and error.retry_after is not None and error.retry_after <= self._max_wait


def _from_api_error(exception: spotipy.SpotifyException) -> SpotifyError:
    """Map an error response of the Web API to the error the app shows."""
    status, reason = exception.http_status, exception.reason
    error: SpotifyError
    if status == 401:
        error = SpotifyError(401, "UNAUTHORIZED", "Your Spotify sign-in has expired or was revoked: sign in again.")
    elif status == 403 and reason == "PREMIUM_REQUIRED":
        error = SpotifyError(403, "PREMIUM_REQUIRED", "Playback control needs Spotify Premium.")
    elif status == 403:
        error = SpotifyError(403, "FORBIDDEN", "Spotify does not allow this for your account.")
    elif status == 404 and reason == "NO_ACTIVE_DEVICE":
        error = SpotifyError(409, "NO_ACTIVE_DEVICE", "No active Spotify device: pick a device first.")
    elif status == 404:
        error = SpotifyError(404, "NOT_FOUND", "Spotify has no such playlist, track or device: reload the page.")
    elif status == 429:
        error = _rate_limited(exception.headers or {})
    else:
        error = SpotifyError(502, "SPOTIFY_ERROR", f"Spotify returned an error (HTTP {status}): try again later.")
    error.__cause__ = exception
    return error


def _from_token_error(exception: spotipy.SpotifyOauthError) -> SpotifyError:
    """Map a failed token refresh: a rejected refresh token means the listener must sign in again."""
    if exception.error in ("invalid_grant", "invalid_client"):
        error = SpotifyError(401, "UNAUTHORIZED", "Your Spotify sign-in has expired or was revoked: sign in again.")
    else:
        error = SpotifyError(502, "SPOTIFY_ERROR", "Spotify sign-in service returned an error: try again later.")
    error.__cause__ = exception
    return error


def _rate_limited(headers: Any) -> SpotifyError:
    try:
        retry_after = int(headers.get("Retry-After"))
    except (TypeError, ValueError):
        # Limitation: a Retry-After given as an HTTP date is treated as missing. Spotify sends seconds.
        retry_after = None
    if retry_after is None:
        return SpotifyError(429, "RATE_LIMITED", "Spotify is rate limiting requests: try again in a minute.")
    message = f"Spotify is rate limiting requests: try again in {retry_after} seconds."
    return SpotifyError(429, "RATE_LIMITED", message, retry_after=retry_after)


def _playlist(entry: dict, user_id: str) -> SpotifyPlaylist:
    owner = entry.get("owner") or {}
    owner_id = owner.get("id") or ""
    collaborative = bool(entry.get("collaborative"))
    # Newer responses name the track summary "items", and older ones name it "tracks".
    summary = entry.get("items") if isinstance(entry.get("items"), dict) else entry.get("tracks")
    return SpotifyPlaylist(
        id=entry["id"],
        name=entry.get("name") or "",
        owner=owner.get("display_name") or owner_id,
        owner_id=owner_id,
        collaborative=collaborative,
        tracks_total=(summary or {}).get("total"),
        images=[image["url"] for image in entry.get("images") or [] if image and image.get("url")],
        readable=owner_id == user_id or collaborative,
    )


def _playlist_items(entries: Iterator[Any]) -> PlaylistItems:
    tracks: list[SpotifyTrack] = []
    skipped = {"null": 0, "local": 0, "other": 0}
    for entry in entries:
        # Newer responses put the track under "item", and older ones under "track".
        item = (entry.get("item") or entry.get("track")) if entry else None
        uri = (item or {}).get("uri") or ""
        track = _track(item)
        if entry and (entry.get("is_local") or uri.startswith("spotify:local:")):
            skipped["local"] += 1
        elif not item:
            skipped["null"] += 1
        elif track is None:
            skipped["other"] += 1
        else:
            tracks.append(track)
    return PlaylistItems(tracks, skipped["null"], skipped["local"], skipped["other"])


def _track(item: dict | None) -> SpotifyTrack | None:
    if not item or item.get("type", "track") != "track" or not item.get("uri"):
        return None
    album = item.get("album") or {}
    artists = [artist["name"] for artist in item.get("artists") or [] if artist and artist.get("name")]
    return SpotifyTrack(
        uri=item["uri"],
        title=item.get("name") or "",
        artist=", ".join(artists),
        album=album.get("name"),
        duration_ms=item.get("duration_ms"),
        image=_image(album.get("images") or []),
    )


def _image(images: list[dict]) -> str | None:
    """Return the smallest image at least 64 pixels wide, else the first one: a thumbnail that still looks sharp."""
    images = [image for image in images if image and image.get("url")]
    wide = [image for image in images if (image.get("width") or 0) >= _MIN_IMAGE_WIDTH]
    if wide:
        return min(wide, key=lambda image: image["width"])["url"]
    return images[0]["url"] if images else None


def _device(entry: dict) -> Device:
    return Device(
        id=entry["id"],
        name=entry.get("name") or "",
        type=entry.get("type") or "",
        is_active=bool(entry.get("is_active")),
        volume_percent=entry.get("volume_percent"),
    )
