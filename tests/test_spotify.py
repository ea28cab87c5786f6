"""Spotify client and sign-in: real spotipy against the fake Spotify server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import socket
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3.util.connection
from fake_spotify import FakeSpotify, make_track

from segue.errors import UserError
from segue.spotify.auth import (
    CLIENT_ID_ENV,
    SCOPES,
    TOKEN_PATH_ENV,
    PrivateTokenCache,
    SpotifySignIn,
    client_id_from_env,
    redirect_uri,
    token_cache_path,
)
from segue.spotify.client import SpotifyClient, SpotifyError

CALLBACK = redirect_uri(8765)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Fail any connection spotipy opens to a host other than 127.0.0.1, so no test reaches Spotify itself."""
    original = urllib3.util.connection.create_connection

    def connect(address, *args, **kwargs):
        assert address[0] == "127.0.0.1", f"a test connected to {address[0]}"
        return original(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", connect)


@pytest.fixture
def fake():
    with FakeSpotify() as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def cache_path(tmp_path):
    return tmp_path / "config" / "segue" / "spotify-token.json"


def sign_in_for(fake: FakeSpotify, cache_path) -> SpotifySignIn:
    return SpotifySignIn("test-client", CALLBACK, cache_path, accounts_prefix=fake.accounts_prefix)


def client_for(fake: FakeSpotify, sign_in: SpotifySignIn, sleeps: list[float]) -> SpotifyClient:
    return SpotifyClient(sign_in.auth_manager, api_prefix=fake.api_prefix, sleep=sleeps.append)


@pytest.fixture
def client(fake, cache_path, sleeps) -> SpotifyClient:
    PrivateTokenCache(cache_path).save_token_to_cache(fake.token_info(SCOPES))
    return client_for(fake, sign_in_for(fake, cache_path), sleeps)


def count(fake: FakeSpotify, method: str, path: str) -> int:
    return fake.requests.count((method, path))


def test_playlists_follow_next_links(fake, client):
    fake.page_size = 2
    fake.add_playlist("road", "Road trip", [make_track(20)])
    fake.add_playlist("gym", "Gym", owner_id="coach")

    playlists = client.playlists()

    assert [playlist.id for playlist in playlists] == ["mix", "band", "radio", "road", "gym"]
    assert count(fake, "GET", "/v1/me/playlists") == 3
    assert [playlist.readable for playlist in playlists] == [True, True, False, True, False]
    assert playlists[0].owner == "Listener"
    assert playlists[1].owner == "Friend"
    assert playlists[1].collaborative
    assert playlists[0].tracks_total == 8
    assert playlists[0].images == ["https://i.test/mix/640"]


def test_playlist_details(client):
    playlist = client.playlist("radio")

    assert playlist.name == "Daily radio"
    assert playlist.owner_id == "spotify"
    assert not playlist.readable


def test_playlist_items_across_pages(fake, client):
    fake.page_size = 2

    items = client.playlist_items("mix")

    assert count(fake, "GET", "/v1/playlists/mix/items") == 4
    assert [track.uri for track in items.tracks] == [f"spotify:track:{number:022d}" for number in (1, 2, 3, 4)]
    assert items.skipped_null == 2
    assert items.skipped_local == 1
    assert items.skipped_other == 1


def test_playlist_items_fields(client):
    tracks = client.playlist_items("mix").tracks

    # Track 4 is in the older entry shape, under "track".
    assert tracks[3].title == "Song 4"
    assert tracks[3].artist == "Artist, Guest"
    assert tracks[3].album == "Album 4"
    assert tracks[3].duration_ms == 180_004
    assert tracks[3].image == "https://i.test/4/64"


def test_collaborative_playlist_items_read(client):
    items = client.playlist_items("band")

    assert len(items.tracks) == 2


def test_others_playlist_items_forbidden(client):
    with pytest.raises(SpotifyError) as raised:
        client.playlist_items("radio")

    assert raised.value.status == 403
    assert raised.value.code == "FORBIDDEN"
    assert "own or collaborate on" in str(raised.value)


def test_unknown_playlist_not_found(client):
    with pytest.raises(SpotifyError) as raised:
        client.playlist("nothere")

    assert raised.value.status == 404
    assert raised.value.code == "NOT_FOUND"


def test_devices_listed(client):
    devices = client.devices()

    assert [(device.id, device.is_active) for device in devices] == [("phone", True), ("speaker", False)]
    assert devices[1].name == "Kitchen speaker"
    assert devices[1].type == "Speaker"
    assert devices[1].volume_percent == 40


def test_playback_none_when_idle(fake, client):
    assert client.playback() is None
    assert count(fake, "GET", "/v1/me/player") == 1


def test_player_commands_change_state(fake, client):
    client.play(device_id="speaker", context_uri="spotify:playlist:mix", offset=1, position_ms=5000)

    playback = client.playback()
    assert playback.device.id == "speaker"
    assert playback.is_playing
    assert playback.track.uri == f"spotify:track:{2:022d}"
    assert playback.progress_ms == 5000
    assert playback.context_uri == "spotify:playlist:mix"

    client.next()
    assert fake.state["index"] == 2
    client.previous()
    assert fake.state["index"] == 1
    client.pause()
    assert not fake.state["is_playing"]
    client.resume()
    assert fake.state["is_playing"]
    client.seek(1234)
    assert fake.state["progress_ms"] == 1234
    client.volume(30)
    assert fake.devices[1]["volume_percent"] == 30
    client.transfer("phone", play=True)
    assert fake.state["device_id"] == "phone"


def test_play_uris(fake, client):
    uris = [f"spotify:track:{7:022d}", f"spotify:track:{8:022d}"]

    client.play(uris=uris)

    assert fake.state["uris"] == uris
    assert fake.state["context_uri"] is None
    assert fake.state["is_playing"]


def test_invalid_player_arguments_rejected(fake, client):
    with pytest.raises(ValueError):
        client.play(uris=["spotify:track:x"], context_uri="spotify:playlist:mix")
    with pytest.raises(ValueError):
        client.seek(-1)
    with pytest.raises(ValueError):
        client.volume(101)
    assert not any(path.startswith("/v1/me/player") for _, path in fake.requests)


def test_no_active_device_conflict(fake, client):
    fake.state["device_id"] = None

    with pytest.raises(SpotifyError) as raised:
        client.pause()

    assert raised.value.status == 409
    assert raised.value.code == "NO_ACTIVE_DEVICE"
    assert "pick a device" in str(raised.value)


def test_premium_required(fake, client):
    fake.fail("/v1/me/player/play", 403, reason="PREMIUM_REQUIRED")

    with pytest.raises(SpotifyError) as raised:
        client.play(uris=[f"spotify:track:{1:022d}"])

    assert raised.value.status == 403
    assert raised.value.code == "PREMIUM_REQUIRED"
    assert "Premium" in str(raised.value)


def test_short_rate_limit_retried(fake, client, sleeps):
    fake.fail("/v1/me/player/devices", 429, retry_after=2)

    devices = client.devices()

    assert len(devices) == 2
    assert sleeps == [2]
    assert count(fake, "GET", "/v1/me/player/devices") == 2


def test_long_rate_limit_raised(fake, client, sleeps):
    fake.fail("/v1/me/player/devices", 429, retry_after=120)

    with pytest.raises(SpotifyError) as raised:
        client.devices()

    assert raised.value.status == 429
    assert raised.value.code == "RATE_LIMITED"
    assert raised.value.retry_after == 120
    assert "120 seconds" in str(raised.value)
    assert sleeps == []
    assert count(fake, "GET", "/v1/me/player/devices") == 1


def test_repeated_rate_limit_raised(fake, client, sleeps):
    fake.fail("/v1/me/player/devices", 429, retry_after=1, times=2)

    with pytest.raises(SpotifyError) as raised:
        client.devices()

    assert raised.value.code == "RATE_LIMITED"
    assert sleeps == [1]
    assert count(fake, "GET", "/v1/me/player/devices") == 2


def test_server_error_bad_gateway(fake, client):
    fake.fail("/v1/me/player/devices", 500)

    with pytest.raises(SpotifyError) as raised:
        client.devices()

    assert raised.value.status == 502
    assert raised.value.code == "SPOTIFY_ERROR"


def test_unreachable_spotify_bad_gateway(fake, cache_path):
    PrivateTokenCache(cache_path).save_token_to_cache(fake.token_info(SCOPES))
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    sign_in = sign_in_for(fake, cache_path)
    client = SpotifyClient(sign_in.auth_manager, api_prefix=f"http://127.0.0.1:{closed_port}/v1/")

    with pytest.raises(SpotifyError) as raised:
        client.devices()

    assert raised.value.status == 502
    assert "could not be reached" in str(raised.value)


def test_revoked_token_unauthorized(fake, client):
    fake.revoke()

    with pytest.raises(SpotifyError) as raised:
        client.devices()

    assert raised.value.status == 401
    assert raised.value.code == "UNAUTHORIZED"
    assert "sign in again" in str(raised.value)


def test_expired_token_refreshed(fake, cache_path, sleeps):
    PrivateTokenCache(cache_path).save_token_to_cache(fake.token_info(SCOPES, expires_in=0))
    client = client_for(fake, sign_in_for(fake, cache_path), sleeps)

    assert client.me() == {"id": "listener", "display_name": "Listener"}
    assert count(fake, "POST", "/api/token") == 1
    cached = json.loads(cache_path.read_text())
    assert cached["access_token"] in fake.tokens
    assert cached["expires_in"] == 3600


def test_concurrent_refresh_once(fake, cache_path, sleeps):
    PrivateTokenCache(cache_path).save_token_to_cache(fake.token_info(SCOPES, expires_in=0))
    client = client_for(fake, sign_in_for(fake, cache_path), sleeps)
    start = threading.Barrier(4)

    def list_devices(_):
        start.wait()
        return client.devices()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(list_devices, range(4)))

    assert [len(devices) for devices in results] == [2, 2, 2, 2]
    assert count(fake, "POST", "/api/token") == 1


def test_revoked_refresh_token_unauthorized(fake, cache_path, sleeps):
    PrivateTokenCache(cache_path).save_token_to_cache(fake.token_info(SCOPES, expires_in=0))
    fake.revoke()
    client = client_for(fake, sign_in_for(fake, cache_path), sleeps)

    with pytest.raises(SpotifyError) as raised:
        client.devices()

    assert raised.value.code == "UNAUTHORIZED"


def test_not_signed_in_unauthorized(fake, cache_path, sleeps):
    client = client_for(fake, sign_in_for(fake, cache_path), sleeps)

    with pytest.raises(SpotifyError) as raised:
        client.devices()

    assert raised.value.code == "UNAUTHORIZED"
    assert "not signed in" in str(raised.value)
    assert fake.requests == []


def test_authorize_url_parameters(fake, cache_path):
    sign_in = sign_in_for(fake, cache_path)

    first = parse_qs(urlsplit(sign_in.authorize_url()).query)
    second = parse_qs(urlsplit(sign_in.authorize_url()).query)

    assert sign_in.authorize_url().startswith(f"{fake.accounts_prefix}authorize?")
    assert first["client_id"] == ["test-client"]
    assert first["redirect_uri"] == ["http://127.0.0.1:8765/callback"]
    assert first["response_type"] == ["code"]
    assert first["code_challenge_method"] == ["S256"]
    assert set(first["scope"][0].split()) == set(SCOPES.split())
    assert first["state"][0]
    assert first["state"] != second["state"]
    assert first["code_challenge"] != second["code_challenge"]


def test_sign_in_caches_private_token(fake, cache_path, sleeps):
    sign_in = sign_in_for(fake, cache_path)
    callback = fake.approve(sign_in.authorize_url())

    sign_in.complete(callback["code"], callback["state"])

    assert sign_in.signed_in()
    assert stat.S_IMODE(cache_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache_path.parent.stat().st_mode) == 0o700
    assert len(client_for(fake, sign_in, sleeps).devices()) == 2


def test_sign_in_earlier_tab_still_valid(fake, cache_path):
    sign_in = sign_in_for(fake, cache_path)
    earlier = fake.approve(sign_in.authorize_url())
    sign_in.authorize_url()

    sign_in.complete(earlier["code"], earlier["state"])

    assert sign_in.signed_in()


def test_sign_in_wrong_state_rejected(fake, cache_path):
    sign_in = sign_in_for(fake, cache_path)
    callback = fake.approve(sign_in.authorize_url())

    with pytest.raises(SpotifyError) as raised:
        sign_in.complete(callback["code"], "forged")

    assert raised.value.status == 400
    assert raised.value.code == "STATE_MISMATCH"
    assert not cache_path.exists()
    assert not sign_in.signed_in()
    assert count(fake, "POST", "/api/token") == 0


def test_sign_in_state_used_once(fake, cache_path):
    sign_in = sign_in_for(fake, cache_path)
    callback = fake.approve(sign_in.authorize_url())
    sign_in.complete(callback["code"], callback["state"])

    with pytest.raises(SpotifyError) as raised:
        sign_in.complete(callback["code"], callback["state"])

    assert raised.value.code == "STATE_MISMATCH"


def test_sign_in_cancelled(fake, cache_path):
    sign_in = sign_in_for(fake, cache_path)
    state = parse_qs(urlsplit(sign_in.authorize_url()).query)["state"][0]

    with pytest.raises(SpotifyError) as raised:
        sign_in.complete(None, state, error="access_denied")

    assert raised.value.status == 401
    assert raised.value.code == "UNAUTHORIZED"
    assert "cancelled" in str(raised.value)
    assert not sign_in.signed_in()


def test_sign_in_rejected_code(fake, cache_path):
    sign_in = sign_in_for(fake, cache_path)
    callback = fake.approve(sign_in.authorize_url())

    with pytest.raises(SpotifyError) as raised:
        sign_in.complete("not-a-code", callback["state"])

    assert raised.value.code == "UNAUTHORIZED"
    assert not cache_path.exists()


def test_sign_out_deletes_cache(fake, cache_path):
    PrivateTokenCache(cache_path).save_token_to_cache(fake.token_info(SCOPES))
    sign_in = sign_in_for(fake, cache_path)
    assert sign_in.signed_in()

    sign_in.sign_out()

    assert not cache_path.exists()
    assert not sign_in.signed_in()


def test_token_with_fewer_scopes_not_signed_in(fake, cache_path):
    PrivateTokenCache(cache_path).save_token_to_cache(fake.token_info("playlist-read-private"))

    assert not sign_in_for(fake, cache_path).signed_in()


def test_corrupt_cache_ignored(fake, cache_path, caplog):
    cache_path.parent.mkdir(parents=True)
    cache_path.write_text("{not json")

    with caplog.at_level(logging.WARNING, logger="segue.spotify.auth"):
        assert not sign_in_for(fake, cache_path).signed_in()

    assert "cannot read it" in caplog.text


def test_token_cache_path_override(monkeypatch, tmp_path):
    monkeypatch.setenv(TOKEN_PATH_ENV, str(tmp_path / "token.json"))
    assert token_cache_path() == tmp_path / "token.json"

    monkeypatch.delenv(TOKEN_PATH_ENV)
    assert token_cache_path().parts[-2:] == ("segue", "spotify-token.json")


def test_client_id_from_env(monkeypatch):
    monkeypatch.delenv(CLIENT_ID_ENV, raising=False)
    with pytest.raises(UserError, match=CLIENT_ID_ENV):
        client_id_from_env()

    monkeypatch.setenv(CLIENT_ID_ENV, "abc123")
    assert client_id_from_env() == "abc123"
