"""A fake Spotify Web API and accounts service on 127.0.0.1, for tests that run real spotipy against it.

    with FakeSpotify() as fake:
        token = fake.issue_token()                       # a valid bearer token
        fake.fail("/v1/me/player/pause", 404, reason="NO_ACTIVE_DEVICE")
        client = SpotifyClient(auth_manager, api_prefix=fake.api_prefix)

Responses follow the shapes of Spotify's Web API reference: paging objects with absolute ``next`` links,
error bodies ``{"error": {"status", "message", "reason"}}`` and 204 for player commands and idle playback.
The state lives in plain attributes (``user``, ``playlists``, ``entries``, ``devices``, ``state``) that tests
may change between requests. ``requests`` lists the ``(method, path)`` of every request received.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

USER_ID = "listener"


def make_track(number: int, name: str | None = None, artist: str = "Artist") -> dict:
    """Return a Spotify track object whose ID is ``number`` padded to 22 digits."""
    return {
        "type": "track",
        "id": f"{number:022d}",
        "uri": f"spotify:track:{number:022d}",
        "name": name or f"Song {number}",
        "artists": [{"name": artist}, {"name": "Guest"}] if number % 2 == 0 else [{"name": artist}],
        "album": {
            "name": f"Album {number}",
            "images": [
                {"url": f"https://i.test/{number}/{size}", "width": size, "height": size} for size in (640, 300, 64)
            ],
        },
        "duration_ms": 180_000 + number,
    }


@dataclass
class _Failure:
    path: str
    method: str | None
    status: int
    reason: str | None
    retry_after: int | None
    remaining: int


class FakeSpotify:
    """The fake server, which ``start()`` serves in a background thread and ``stop()`` ends; also a context manager."""

    def __init__(self, page_size: int = 50):
        self.page_size = page_size  # the largest page it returns, whatever limit the client requests
        self.user = {"id": USER_ID, "display_name": "Listener"}
        self.tracks: dict[str, dict] = {}
        self.playlists: dict[str, dict] = {}
        self.entries: dict[str, list[dict | None]] = {}  # playlist ID to its raw playlist item entries
        self.devices = [
            {"id": "phone", "name": "Phone", "type": "Smartphone", "volume_percent": 60},
            {"id": "speaker", "name": "Kitchen speaker", "type": "Speaker", "volume_percent": 40},
        ]
        # Playback: "uris" is the play queue and "index" the position of the current track in it.
        self.state = {
            "device_id": "phone",
            "is_playing": False,
            "uris": [],
            "index": 0,
            "progress_ms": 0,
            "context_uri": None,
        }
        self.requests: list[tuple[str, str]] = []
        self.tokens: set[str] = set()
        self.refresh_tokens: dict[str, str] = {}  # refresh token to its scope
        self._failures: list[_Failure] = []
        self._codes: dict[str, dict] = {}  # authorization code to the parameters of its /authorize request
        self._add_default_playlists()
        self.app = self._build_app()
        self.port = 0

    @property
    def api_prefix(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/"

    @property
    def accounts_prefix(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> Self:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        self.port = listener.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [listener]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake Spotify server did not start within 10 seconds")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def add_playlist(
        self,
        playlist_id: str,
        name: str,
        tracks: Sequence[dict] = (),
        owner_id: str = USER_ID,
        collaborative: bool = False,
    ) -> dict:
        """Add a playlist of ``tracks`` (track objects). Tests may edit ``entries[playlist_id]`` for odd entries."""
        owner_name = self.user["display_name"] if owner_id == self.user["id"] else owner_id.title()
        self.playlists[playlist_id] = {
            "id": playlist_id,
            "name": name,
            "type": "playlist",
            "uri": f"spotify:playlist:{playlist_id}",
            "collaborative": collaborative,
            "owner": {"id": owner_id, "display_name": owner_name},
            "images": [{"url": f"https://i.test/playlist/{playlist_id}", "width": None, "height": None}],
        }
        self.entries[playlist_id] = [{"is_local": False, "item": track} for track in tracks]
        self.tracks.update((track["uri"], track) for track in tracks)
        return self.playlists[playlist_id]

    def fail(
        self,
        path: str,
        status: int,
        reason: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        method: str | None = None,
    ) -> None:
        """Make the next ``times`` requests to ``path`` (such as ``/v1/me/player/play``) fail with ``status``.

        The body is Spotify's error object with ``reason``, and ``retry_after`` adds a Retry-After header.
        ``method`` limits the failure to one HTTP method.
        """
        self._failures.append(_Failure(path, method, status, reason, retry_after, times))

    def issue_token(self) -> str:
        """Return a new access token that the API accepts."""
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return token

    def token_info(self, scope: str, expires_in: int = 3600) -> dict:
        """Return a new token as spotipy caches it. With ``expires_in`` below 60, spotipy refreshes it before use."""
        refresh_token = secrets.token_urlsafe(16)
        self.refresh_tokens[refresh_token] = scope
        info = {"access_token": self.issue_token(), "token_type": "Bearer", "expires_in": expires_in}
        info.update(refresh_token=refresh_token, scope=scope, expires_at=int(time.time()) + expires_in)
        return info

    def revoke(self) -> None:
        """Reject every token issued so far, as when the listener removes the app's access."""
        self.tokens.clear()
        self.refresh_tokens.clear()

    def approve(self, authorize_url: str) -> dict[str, str]:
        """Open ``authorize_url`` as the listener's browser would and return the query of the redirect."""
        response = requests.get(authorize_url, allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text
        return {key: values[0] for key, values in parse_qs(urlsplit(response.headers["location"]).query).items()}

    def _add_default_playlists(self) -> None:
        tracks = [make_track(number) for number in range(1, 9)]
        mix = self.add_playlist("mix", "Morning mix", tracks[:3])
        local = {"uri": "spotify:local:Band:Demo:Garage+take:201", "type": "track", "name": "Garage take"}
        episode = {"uri": "spotify:episode:0000000000000000000009", "type": "episode", "name": "Episode 9"}
        # Older responses name the entry's track "track". Null entries are tracks removed from Spotify.
        self.entries["mix"] += [
            {"is_local": False, "track": tracks[3]},
            None,
            {"is_local": False, "item": None},
            {"is_local": True, "item": local},
            {"is_local": False, "item": episode},
        ]
        self.tracks[tracks[3]["uri"]] = tracks[3]
        mix["images"] = [{"url": "https://i.test/mix/640", "width": 640, "height": 640}]
        self.add_playlist("band", "Band practice", tracks[4:6], owner_id="friend", collaborative=True)
        self.add_playlist("radio", "Daily radio", tracks[6:8], owner_id="spotify")

    def _build_app(self) -> FastAPI:
        app = FastAPI()
        app.middleware("http")(self._check_request)
        app.get("/authorize")(self._authorize)
        app.post("/api/token")(self._token)
        app.get("/v1/me")(self._me)
        app.get("/v1/me/")(self._me)
        app.get("/v1/me/playlists")(self._my_playlists)
        app.get("/v1/playlists/{playlist_id}")(self._playlist)
        app.get("/v1/playlists/{playlist_id}/items")(self._playlist_items)
        app.get("/v1/me/player/devices")(self._devices)
        app.get("/v1/me/player")(self._playback)
        app.put("/v1/me/player")(self._transfer)
        app.put("/v1/me/player/play")(self._play)
        app.put("/v1/me/player/pause")(self._pause)
        app.post("/v1/me/player/next")(self._next)
        app.post("/v1/me/player/previous")(self._previous)
        app.put("/v1/me/player/seek")(self._seek)
        app.put("/v1/me/player/volume")(self._volume)
        return app

    async def _check_request(self, request: Request, call_next):
        """Record the request, then reject it for a bad token or an injected failure."""
        path = request.url.path
        self.requests.append((request.method, path))
        if path.startswith("/v1/"):
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            if token not in self.tokens:
                return _error(401, "Invalid access token")
        for failure in self._failures:
            if failure.path == path and failure.method in (None, request.method) and failure.remaining > 0:
                failure.remaining -= 1
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else None
                return _error(failure.status, "Injected failure", failure.reason, headers)
        return await call_next(request)

    async def _authorize(self, request: Request):
        query = request.query_params
        missing = [name for name in ("client_id", "redirect_uri", "code_challenge") if not query.get(name)]
        if missing or query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
            return JSONResponse(
                {"error": "invalid_request", "error_description": f"missing {missing}"}, status_code=400
            )
        code = secrets.token_urlsafe(16)
        self._codes[code] = dict(query)
        redirect = {"code": code, "state": query["state"]} if "state" in query else {"code": code}
        return RedirectResponse(f"{query['redirect_uri']}?{urlencode(redirect)}", status_code=302)

    async def _token(self, request: Request):
        form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") == "refresh_token" and form.get("refresh_token") in self.refresh_tokens:
            # Like Spotify's PKCE flow, a refresh replaces the refresh token, and the old one stops working.
            return self._new_token(self.refresh_tokens.pop(form["refresh_token"]))
        if form.get("grant_type") == "authorization_code" and self._valid_code(form):
            return self._new_token(self._codes.pop(form["code"]).get("scope", ""))
        return JSONResponse({"error": "invalid_grant", "error_description": "Invalid grant"}, status_code=400)

    def _valid_code(self, form: dict) -> bool:
        issued = self._codes.get(form.get("code", ""))
        if issued is None:
            return False
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        same_client = (
            form.get("client_id") == issued["client_id"] and form.get("redirect_uri") == issued["redirect_uri"]
        )
        return same_client and challenge == issued["code_challenge"]

    def _new_token(self, scope: str) -> dict:
        refresh_token = secrets.token_urlsafe(16)
        self.refresh_tokens[refresh_token] = scope
        return {
            "access_token": self.issue_token(),
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": refresh_token,
            "scope": scope,
        }

    async def _me(self):
        return self.user

    async def _my_playlists(self, request: Request):
        return _page(request, [self._playlist_json(playlist_id) for playlist_id in self.playlists], self.page_size)

    async def _playlist(self, playlist_id: str):
        if playlist_id not in self.playlists:
            return _error(404, "Resource not found")
        return self._playlist_json(playlist_id)

    async def _playlist_items(self, request: Request, playlist_id: str):
        playlist = self.playlists.get(playlist_id)
        if playlist is None:
            return _error(404, "Resource not found")
        if playlist["owner"]["id"] != self.user["id"] and not playlist["collaborative"]:
            return _error(403, "Forbidden")
        return _page(request, self.entries[playlist_id], self.page_size)

    async def _devices(self):
        return {"devices": [self._device_json(device) for device in self.devices]}

    async def _playback(self):
        device = self._device(self.state["device_id"])
        if device is None or not self.state["uris"]:
            return Response(status_code=204)
        uri = self.state["uris"][self.state["index"]]
        context = self.state["context_uri"]
        return {
            "device": self._device_json(device),
            "is_playing": self.state["is_playing"],
            "progress_ms": self.state["progress_ms"],
            "item": self.tracks.get(uri, {"type": "track", "uri": uri, "name": uri, "artists": [], "album": {}}),
            "context": {"type": "playlist", "uri": context} if context else None,
            "currently_playing_type": "track",
        }

    async def _transfer(self, request: Request):
        body = await request.json()
        device = self._device(body["device_ids"][0])
        if device is None:
            return _error(404, "Device not found")
        self.state["device_id"] = device["id"]
        if body.get("play"):
            self.state["is_playing"] = True
        return Response(status_code=204)

    async def _play(self, request: Request, device_id: str | None = None):
        if (problem := self._target(device_id)) is not None:
            return problem
        body = json.loads(await request.body() or b"{}")
        if "context_uri" in body:
            playlist_id = body["context_uri"].rsplit(":", 1)[-1]
            entries = self.entries.get(playlist_id, [])
            self.state["uris"] = [entry["item"]["uri"] for entry in entries if entry and entry.get("item")]
        elif "uris" in body:
            self.state["uris"] = list(body["uris"])
        if "context_uri" in body or "uris" in body:
            self.state["context_uri"] = body.get("context_uri")
            self.state["index"] = body.get("offset", {}).get("position", 0)
            self.state["progress_ms"] = body.get("position_ms", 0)
        self.state["is_playing"] = True
        return Response(status_code=204)

    async def _pause(self, device_id: str | None = None):
        return self._command(device_id, is_playing=False)

    async def _next(self, device_id: str | None = None):
        last = max(len(self.state["uris"]) - 1, 0)
        return self._command(device_id, index=min(self.state["index"] + 1, last), progress_ms=0)

    async def _previous(self, device_id: str | None = None):
        return self._command(device_id, index=max(self.state["index"] - 1, 0), progress_ms=0)

    async def _seek(self, position_ms: int, device_id: str | None = None):
        return self._command(device_id, progress_ms=position_ms)

    async def _volume(self, volume_percent: int, device_id: str | None = None):
        if (problem := self._target(device_id)) is not None:
            return problem
        self._device(self.state["device_id"])["volume_percent"] = volume_percent
        return Response(status_code=204)

    def _command(self, device_id: str | None, **changes) -> Response:
        if (problem := self._target(device_id)) is not None:
            return problem
        self.state.update(changes)
        return Response(status_code=204)

    def _target(self, device_id: str | None) -> Response | None:
        """Make ``device_id`` the active device, or return the error Spotify gives when there is none."""
        if device_id is None:
            if self._device(self.state["device_id"]) is None:
                return _error(404, "Player command failed: No active device found", "NO_ACTIVE_DEVICE")
            return None
        if self._device(device_id) is None:
            return _error(404, "Device not found")
        self.state["device_id"] = device_id
        return None

    def _device(self, device_id: str | None) -> dict | None:
        return next((device for device in self.devices if device["id"] == device_id), None)

    def _device_json(self, device: dict) -> dict:
        return {**device, "is_active": device["id"] == self.state["device_id"], "is_restricted": False}

    def _playlist_json(self, playlist_id: str) -> dict:
        href = f"{self.api_prefix}playlists/{playlist_id}/items"
        return {**self.playlists[playlist_id], "items": {"href": href, "total": len(self.entries[playlist_id])}}


def _page(request: Request, items: list, page_size: int) -> dict | Response:
    """Return the paging object for ``items`` at the request's offset and limit (at most ``page_size``)."""
    limit = int(request.query_params.get("limit", 20))
    offset = int(request.query_params.get("offset", 0))
    if not 1 <= limit <= 50 or offset < 0:
        return _error(400, "Invalid limit or offset")
    limit = min(limit, page_size)

    def link(start: int) -> str:
        return str(request.url.include_query_params(limit=limit, offset=start))

    return {
        "href": str(request.url),
        "items": items[offset : offset + limit],
        "limit": limit,
        "next": link(offset + limit) if offset + limit < len(items) else None,
        "offset": offset,
        "previous": link(max(offset - limit, 0)) if offset > 0 else None,
        "total": len(items),
    }


def _error(status: int, message: str, reason: str | None = None, headers: dict | None = None) -> JSONResponse:
    body = {"status": status, "message": message}
    if reason:
        body["reason"] = reason
    return JSONResponse({"error": body}, status_code=status, headers=headers)
