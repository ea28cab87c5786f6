"""Spotify sign-in for the local app: the authorization code flow with PKCE, and a private token cache.

The app sends the listener to ``SpotifySignIn.authorize_url()``. Spotify redirects back to
``http://127.0.0.1:PORT/callback``, where the app calls ``complete()`` with the query parameters. The tokens
are then cached in a file that only the listener can read, and ``auth_manager`` refreshes them as needed.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from collections import OrderedDict
from pathlib import Path

import platformdirs
import requests
import spotipy
from spotipy.cache_handler import CacheHandler

from segue.errors import UserError
from segue.spotify.client import SpotifyError

logger = logging.getLogger(__name__)

SCOPES = "playlist-read-private playlist-read-collaborative user-read-playback-state user-modify-playback-state"
CLIENT_ID_ENV = "SPOTIPY_CLIENT_ID"
TOKEN_PATH_ENV = "SEGUE_SPOTIFY_TOKEN"

# Sign-ins started in other browser tabs stay valid until this many newer ones have started.
_MAX_PENDING = 5
_TOKEN_KEYS = ("access_token", "refresh_token", "expires_at", "scope")


def client_id_from_env() -> str:
    """Return the Spotify app's client ID from the environment, raising UserError when it is not set."""
    client_id = os.environ.get(CLIENT_ID_ENV, "").strip()
    if not client_id:
        raise UserError(
            f"set {CLIENT_ID_ENV} to your Spotify app's client ID "
            "(create an app at https://developer.spotify.com/dashboard)"
        )
    return client_id


def redirect_uri(port: int) -> str:
    """Return the callback address to register in the Spotify app. Spotify rejects ``localhost`` there."""
    return f"http://127.0.0.1:{port}/callback"


def token_cache_path() -> Path:
    """Return the token cache file: ``$SEGUE_SPOTIFY_TOKEN``, else ``spotify-token.json`` in Segue's config folder."""
    override = os.environ.get(TOKEN_PATH_ENV)
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path("segue") / "spotify-token.json"


class PrivateTokenCache(CacheHandler):
    """A spotipy token cache in a JSON file with mode 0600, in a folder created with mode 0700."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def get_cached_token(self) -> dict | None:
        """Return the cached token, or None when there is none or the file is unreadable."""
        try:
            token = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            logger.warning("Ignoring the Spotify token cache %s: cannot read it: %s", self.path, error)
            return None

        if not isinstance(token, dict) or any(key not in token for key in _TOKEN_KEYS):
            logger.warning("Ignoring the Spotify token cache %s: it lacks one of %s", self.path, ", ".join(_TOKEN_KEYS))
            return None
        return token

    def save_token_to_cache(self, token_info: dict) -> None:
        """Write the token atomically, so a reader never sees half a file."""
        temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # The file is created with mode 0600 so that the token is never readable by others, even briefly.
            # Limitation: the modes have no effect on Windows, where the file gets the folder's permissions.
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(token_info, file)
            os.replace(temporary, self.path)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise UserError(f"{self.path}: cannot save the Spotify sign-in: {error}") from error

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)


class _AppPKCE(spotipy.SpotifyPKCE):
    """spotipy's PKCE flow, but raising where spotipy would prompt on the terminal for a sign-in."""

    def __init__(self, **options):
        super().__init__(**options)
        self._token_lock = threading.Lock()

    def get_access_token(self, code: str | None = None, check_cache: bool = True) -> str:
        # Spotify may replace the refresh token on each refresh, so two concurrent refreshes would leave
        # the second one with a refresh token that Spotify has already rejected.
        with self._token_lock:
            return super().get_access_token(code, check_cache)

    def get_authorization_code(self, response: str | None = None) -> str:
        raise SpotifyError(401, "UNAUTHORIZED", "You are not signed in to Spotify: sign in first.")


class SpotifySignIn:
    """The sign-in of one Spotify app (``client_id``) for the local web app, with tokens cached at ``cache_path``.

    ``accounts_prefix`` is the address of Spotify's accounts service, which tests point at a fake server.
    """

    def __init__(
        self,
        client_id: str,
        redirect_uri: str,
        cache_path: Path,
        accounts_prefix: str = "https://accounts.spotify.com/",
    ):
        self._cache = PrivateTokenCache(cache_path)
        self._pkce = _AppPKCE(
            client_id=client_id,
            redirect_uri=redirect_uri,
            scope=SCOPES.split(),
            cache_handler=self._cache,
            open_browser=False,
            requests_timeout=10,
        )
        accounts_prefix = accounts_prefix.rstrip("/") + "/"
        self._pkce.OAUTH_AUTHORIZE_URL = accounts_prefix + "authorize"
        self._pkce.OAUTH_TOKEN_URL = accounts_prefix + "api/token"
        # Each pending state maps to the PKCE code verifier of its authorize URL.
        self._pending: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def auth_manager(self) -> spotipy.SpotifyPKCE:
        """The spotipy auth manager to pass to ``SpotifyClient``."""
        return self._pkce

    def authorize_url(self) -> str:
        """Start a sign-in: return the Spotify page to send the listener to, with a new state and PKCE challenge."""
        state = secrets.token_urlsafe(16)
        with self._lock:
            self._pkce.get_pkce_handshake_parameters()
            self._pending[state] = self._pkce.code_verifier
            while len(self._pending) > _MAX_PENDING:
                self._pending.popitem(last=False)
            return self._pkce.get_authorize_url(state=state)

    def complete(self, code: str | None, state: str | None, error: str | None = None) -> None:
        """Finish a sign-in from the callback's query parameters: exchange ``code`` for tokens and cache them.

        Raises SpotifyError: UNAUTHORIZED when the listener declined or Spotify rejected the code,
        STATE_MISMATCH when ``state`` is not one that ``authorize_url`` issued or ``code`` is missing.
        """
        with self._lock:
            verifier = self._pending.pop(state, None) if state else None
            if error:
                logger.warning("Spotify sign-in returned error %r", error)
                raise SpotifyError(401, "UNAUTHORIZED", "Spotify sign-in was cancelled: sign in again to use Spotify.")
            if verifier is None or not code:
                logger.warning("Spotify sign-in callback rejected: unknown state or missing code")
                raise SpotifyError(
                    400, "STATE_MISMATCH", "The sign-in response did not match this app's request; sign in again."
                )
            self._exchange(code, verifier)

    def signed_in(self) -> bool:
        """Return whether a token with all of ``SCOPES`` is cached. Spotify may have revoked it since."""
        token = self._cache.get_cached_token()
        if token is None:
            return False
        return set(SCOPES.split()) <= set(str(token["scope"]).split())

    def sign_out(self) -> None:
        """Delete the cached tokens. The app stays authorized in the listener's Spotify account until removed there."""
        self._cache.delete()

    def _exchange(self, code: str, verifier: str) -> None:
        self._pkce.code_verifier = verifier
        try:
            self._pkce.get_access_token(code, check_cache=False)
        except spotipy.SpotifyOauthError as exception:
            logger.warning("Spotify rejected the sign-in code: %s", exception.error)
            raise SpotifyError(401, "UNAUTHORIZED", "Spotify rejected the sign-in: sign in again.") from exception
        except requests.RequestException as exception:
            logger.warning("Spotify sign-in failed: %r", exception)
            raise SpotifyError(
                502, "SPOTIFY_ERROR", "Spotify could not be reached: check the internet connection and sign in again."
            ) from exception
        logger.info("Signed in to Spotify, token cached in %s", self._cache.path)
