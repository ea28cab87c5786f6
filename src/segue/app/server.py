"""The app's web server: the page, and a JSON API over the library, the player and the recommender.

Every error reaches the page as ``{"error": CODE, "message": SENTENCE}``, never as a stack trace:
a 4xx status for bad requests and Spotify's refusals, 502 when Spotify fails, and 500, logged
with its traceback, for a bug.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from pydantic import BaseModel, ConfigDict, Field

from segue import __version__
from segue.app.library import AppError, Library, Player
from segue.app.sessions import PlaylistSessions
from segue.recommending import Recommender, Session
from segue.spotify.client import SpotifyError
from segue.spotify.links import track_uri

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
MAX_RECOMMENDATIONS = 100


# Longer than any track URI, playlist or device ID, so a request cannot log megabytes of text.
MAX_ID_LENGTH = 200


class Body(BaseModel):
    # Strict: "50" or true is not a number, so a script's type mistake is reported, not guessed.
    model_config = ConfigDict(strict=True, extra="forbid")


class FeedbackRequest(Body):
    track: str = Field(max_length=MAX_ID_LENGTH, description="URI or open.spotify.com link of the track")
    feedback: Literal["like", "dislike"]
    k: int = Field(10, ge=1, le=MAX_RECOMMENDATIONS, description="recommendations to return afterwards")


class PlayRequest(Body):
    track: str | None = Field(None, max_length=MAX_ID_LENGTH, description="a track URI to play alone")
    playlist: str | None = Field(None, max_length=MAX_ID_LENGTH, description="a playlist ID to play from position `offset`")
    offset: int = Field(0, ge=0)
    device: str | None = Field(None, max_length=MAX_ID_LENGTH, description="device ID; default: the active device")


class SeekRequest(Body):
    position_ms: int = Field(ge=0)


class VolumeRequest(Body):
    percent: int = Field(ge=0, le=100)


class DeviceRequest(Body):
    device: str = Field(min_length=1, max_length=MAX_ID_LENGTH)


class ErrorBody(BaseModel):
    error: str = Field(description="a code for scripts, such as NOT_FOUND or NO_ACTIVE_DEVICE")
    message: str = Field(description="one sentence for the listener")
    retry_after: int | None = Field(None, description="seconds to wait, with status 429")


ERROR_RESPONSES = {status: {"model": ErrorBody} for status in (401, 403, 404, 409, 422, 429, 502)}


def create_app(recommender: Recommender, library: Library, player: Player, sign_in=None) -> FastAPI:
    """Build the app; ``sign_in`` is the Spotify sign-in (``SpotifySignIn``) in Spotify mode."""
    app = FastAPI(
        title="Segue",
        version=__version__,
        description="Next-song recommendations with thumbs-up and thumbs-down.",
        responses=ERROR_RESPONSES,
    )
    sessions = PlaylistSessions(recommender, library)
    _add_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/status", summary="What the app runs on")
    def status() -> dict:
        return {
            "mode": library.mode,
            "signed_in": sign_in.signed_in() if sign_in is not None else None,
            "run": recommender.loaded.path.name,
            "model": recommender.scorer.name,
        }

    @app.get("/api/playlists", summary="One page of the library's playlists")
    def playlists(offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=200)] = 100) -> dict:
        page, total = library.playlists(offset, limit)
        return {"items": [asdict(item) for item in page], "total": total, "offset": offset}

    @app.get("/api/playlists/{playlist_id}", summary="A playlist with its tracks")
    def playlist(playlist_id: str) -> dict:
        listed = library.playlist(playlist_id)
        return {
            **asdict(listed.playlist),
            "tracks": [asdict(track) for track in listed.tracks],
            "skipped": listed.skipped,
            "message": listed.message,
        }

    @app.get("/api/playlists/{playlist_id}/recommendations", summary="The next songs for a playlist")
    def recommendations(playlist_id: str, k: Annotated[int, Query(ge=1, le=MAX_RECOMMENDATIONS)] = 10) -> dict:
        return _recommendations(sessions.get(playlist_id), k)

    @app.post("/api/playlists/{playlist_id}/feedback", summary="Thumbs-up or thumbs-down on a track, then the next songs")
    def feedback(playlist_id: str, request: FeedbackRequest) -> dict:
        try:
            uri = track_uri(request.track)
        except ValueError as error:
            raise AppError(422, "INVALID_TRACK", str(error)) from None
        # Offline, the catalog is every track there is. Spotify tracks outside it are real songs
        # that the model does not know: their feedback is logged but changes nothing.
        if library.mode == "offline" and not recommender.lookup.indices_of([uri]):
            raise AppError(404, "NOT_FOUND", f"track {uri!r} not found in the dataset's catalog")
        session = sessions.get(playlist_id)
        if request.feedback == "like":
            known = session.like(uri)
        else:
            known = session.dislike(uri)
        logger.info("playlist %s: %s %s", playlist_id, request.feedback, uri)
        return {**_recommendations(session, request.k), "known": known}

    @app.get("/api/devices", summary="Playback devices")
    def devices() -> dict:
        return {"devices": [asdict(device) for device in player.devices()]}

    @app.get("/api/player", summary="What plays now")
    def player_state() -> dict:
        state = player.state()
        return {"state": asdict(state) if state is not None else None}

    @app.put("/api/player/play", summary="Play a track, or a playlist from a position")
    def play(request: PlayRequest) -> dict:
        if (request.track is None) == (request.playlist is None):
            raise AppError(422, "INVALID_REQUEST", "give either `track` or `playlist`, not both or neither")
        track = None
        if request.track is not None:
            try:
                track = track_uri(request.track)
            except ValueError as error:
                raise AppError(422, "INVALID_TRACK", str(error)) from None
        player.play(track, request.playlist, request.offset, request.device)
        return player_state()

    @app.put("/api/player/pause", summary="Pause")
    def pause() -> dict:
        player.pause()
        return player_state()

    @app.put("/api/player/resume", summary="Resume")
    def resume() -> dict:
        player.resume()
        return player_state()

    @app.post("/api/player/next", summary="Skip to the next track")
    def next_track() -> dict:
        player.next()
        return player_state()

    @app.post("/api/player/previous", summary="Go back to the previous track")
    def previous_track() -> dict:
        player.previous()
        return player_state()

    @app.put("/api/player/seek", summary="Move to a position of the current track")
    def seek(request: SeekRequest) -> dict:
        player.seek(request.position_ms)
        return player_state()

    @app.put("/api/player/volume", summary="Set the volume, 0 to 100")
    def volume(request: VolumeRequest) -> dict:
        player.volume(request.percent)
        return player_state()

    @app.put("/api/player/device", summary="Move playback to a device")
    def transfer(request: DeviceRequest) -> dict:
        player.transfer(request.device)
        return devices()

    if sign_in is not None:
        _add_sign_in(app, sign_in)
    return app


def _recommendations(session: Session, k: int) -> dict:
    return {
        "session": session.id,
        "popularity_only": session.popularity_only,
        "input_tracks": len(session.input),
        # The playlist's own unknown tracks, without tracks rated during the session.
        "unknown_tracks": session.playlist_length - session.playlist_known,
        "liked": len(session.liked),
        "disliked": len(session.disliked),
        "tracks": [
            {key: value for key, value in asdict(item).items() if key != "index"} for item in session.recommend(k)
        ],
    }


def _add_sign_in(app: FastAPI, sign_in) -> None:
    @app.get("/login", include_in_schema=False)
    def login() -> RedirectResponse:
        return RedirectResponse(sign_in.authorize_url())

    @app.get("/callback", include_in_schema=False)
    def callback(code: str | None = None, state: str | None = None, error: str | None = None) -> RedirectResponse:
        sign_in.complete(code, state, error)
        return RedirectResponse("/")

    @app.post("/api/logout", summary="Forget the Spotify sign-in")
    def logout() -> dict:
        sign_in.sign_out()
        return {"signed_in": False}


def _add_error_handlers(app: FastAPI) -> None:
    def error_response(status: int, code: str, message: str, retry_after: int | None = None) -> JSONResponse:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        body = {"error": code, "message": message}
        if retry_after is not None:
            body["retry_after"] = retry_after
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(AppError)
    def app_error(request: Request, error: AppError):
        return error_response(error.status, error.code, error.message, error.retry_after)

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, error: RequestValidationError):
        problems = []
        for problem in error.errors():
            if problem["type"] == "json_invalid":
                problems.append(f"the request body is not valid JSON ({problem.get('ctx', {}).get('error', 'decode error')})")
                continue
            if problem["type"] == "model_attributes_type":
                problems.append("the request body must be a JSON object, sent with Content-Type: application/json")
                continue
            where = ".".join(str(part) for part in problem["loc"] if part not in ("body", "query", "path"))
            problems.append(f"{where}: {problem['msg']}" if where else problem["msg"])
        return error_response(422, "INVALID_REQUEST", "; ".join(problems))

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, error: StarletteHTTPException):
        # Unknown paths and methods, in the same shape as every other error.
        codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
        message = f"{request.method} {request.url.path}: {error.detail}"
        return error_response(error.status_code, codes.get(error.status_code, "HTTP_ERROR"), message)

    @app.exception_handler(SpotifyError)
    def spotify_error(request: Request, error: SpotifyError):
        return error_response(error.status, error.code, error.message, error.retry_after)

    @app.exception_handler(Exception)
    def unexpected(request: Request, error: Exception):
        logger.exception("%s %s failed", request.method, request.url.path)
        return error_response(500, "INTERNAL_ERROR", f"the server failed: {type(error).__name__}: {error}")
