"""The app over a fake Spotify on 127.0.0.1: sign-in, playlists, playback and every error case."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from browser import browser_page, free_port, screenshot, serve
from fake_spotify import FakeSpotify, make_track
from segue.app.server import create_app
from segue.app.spotify import SpotifyLibrary, SpotifyPlayer
from segue.recommending import Recommender
from segue.spotify.auth import SCOPES, PrivateTokenCache, SpotifySignIn, redirect_uri
from segue.spotify.client import SpotifyClient


@pytest.fixture
def fake(mpd_sample):
    with FakeSpotify() as server:
        # A playlist of real MPD songs, so that its tracks are in the model's vocabulary.
        with mpd_sample.catalog() as catalog:
            rows = catalog.execute("SELECT uri, name, artist FROM tracks WHERE idx BETWEEN 2 AND 6 ORDER BY idx").fetchall()
        tracks = []
        for number, row in enumerate(rows):
            track = make_track(100 + number, row["name"], row["artist"])
            track.update(uri=row["uri"], id=row["uri"].rsplit(":", 1)[1])
            tracks.append(track)
        server.add_playlist("hits", "Hits", tracks)
        yield server


class Setup:
    """The app wired to the fake: ``client`` is a TestClient, ``slept`` the rate-limit waits."""

    def __init__(self, fake, run, tmp_path, port: int, signed_in: bool) -> None:
        self.cache = tmp_path / "spotify-token.json"
        if signed_in:
            PrivateTokenCache(self.cache).save_token_to_cache(fake.token_info(SCOPES))
        self.sign_in = SpotifySignIn("test-client", redirect_uri(port), self.cache, accounts_prefix=fake.accounts_prefix)
        self.slept: list[float] = []
        spotify = SpotifyClient(self.sign_in.auth_manager, api_prefix=fake.api_prefix, sleep=self.slept.append)
        self.recommender = Recommender.load(run, feedback=tmp_path / "feedback.sqlite")
        library = SpotifyLibrary(spotify)
        self.app = create_app(self.recommender, library, SpotifyPlayer(spotify, library), self.sign_in)


@pytest.fixture
def signed_in(fake, mpd_markov_run, tmp_path):
    setup = Setup(fake, mpd_markov_run, tmp_path, 8765, signed_in=True)
    with TestClient(setup.app) as client:
        yield client
    setup.recommender.close()


def test_sign_in_with_pkce_and_state(fake, mpd_markov_run, tmp_path):
    setup = Setup(fake, mpd_markov_run, tmp_path, 8765, signed_in=False)
    with TestClient(setup.app, follow_redirects=False) as client:
        assert client.get("/api/status").json()["signed_in"] is False
        response = client.get("/api/playlists")
        assert (response.status_code, response.json()["error"]) == (401, "UNAUTHORIZED")
        assert "sign in" in response.json()["message"]

        # /login sends the browser to Spotify, which sends it back to /callback.
        authorize = client.get("/login").headers["location"]
        assert authorize.startswith(fake.accounts_prefix + "authorize?")
        assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback" in authorize
        back = fake.approve(authorize)

        wrong = client.get("/callback", params={"code": back["code"], "state": "forged"})
        assert (wrong.status_code, wrong.json()["error"]) == (400, "STATE_MISMATCH")
        assert not setup.cache.exists()

        done = client.get("/callback", params=back)
        assert (done.status_code, done.headers["location"]) == (307, "/")
        assert client.get("/api/status").json()["signed_in"] is True
        assert setup.cache.stat().st_mode & 0o777 == 0o600
        assert [item["id"] for item in client.get("/api/playlists").json()["items"]] == ["mix", "band", "radio", "hits"]

        cancelled = client.get("/callback", params={"error": "access_denied", "state": "x"})
        assert cancelled.status_code == 401
        assert client.post("/api/logout").json() == {"signed_in": False}
        assert not setup.cache.exists()
    setup.recommender.close()


def test_playlists_and_their_items(signed_in, fake):
    fake.page_size = 2  # the 4 playlists take 2 pages, followed through absolute `next` links
    page = signed_in.get("/api/playlists").json()
    assert page["total"] == 4
    assert [(item["name"], item["owner"], item["readable"]) for item in page["items"]] == [
        ("Morning mix", "Listener", True), ("Band practice", "Friend", True), ("Daily radio", "Spotify", False), ("Hits", "Listener", True),
    ]

    mix = signed_in.get("/api/playlists/mix").json()
    assert [track["title"] for track in mix["tracks"]] == ["Song 1", "Song 2", "Song 3", "Song 4"]
    assert mix["skipped"] == {"unavailable": 2, "local files": 1, "other": 1}
    assert mix["message"] == "Skipped 4 entries that are not playable Spotify tracks: 2 unavailable entries, 1 local file, 1 episode or other item."
    assert mix["images"] == ["https://i.test/mix/640"]

    radio = signed_in.get("/api/playlists/radio").json()
    assert radio["tracks"] == []
    assert "only of playlists you own or collaborate on" in radio["message"]
    assert signed_in.get("/api/playlists/radio/recommendations").json()["popularity_only"] is True

    missing = signed_in.get("/api/playlists/nope")
    assert missing.status_code == 404


def test_recommendations_and_feedback_on_spotify_tracks(signed_in):
    first = signed_in.get("/api/playlists/hits/recommendations").json()
    assert (first["input_tracks"], first["popularity_only"]) == (5, False)
    top = first["tracks"][0]["uri"]
    after = signed_in.post("/api/playlists/hits/feedback", json={"track": top, "feedback": "dislike"}).json()
    assert top not in [item["uri"] for item in after["tracks"]]

    # A Spotify playlist of tracks outside the vocabulary: the response counts them.
    mix = signed_in.get("/api/playlists/mix/recommendations").json()
    assert (mix["unknown_tracks"], mix["popularity_only"]) == (4, True)
    # A thumbs-up on such a track is logged, and the page learns that it changed nothing.
    liked = signed_in.post("/api/playlists/mix/feedback", json={"track": "spotify:track:0000000000000000000001", "feedback": "like"}).json()
    assert (liked["known"], liked["liked"], liked["unknown_tracks"]) == (False, 0, 4)


def test_playback_commands(signed_in, fake):
    devices = signed_in.get("/api/devices").json()["devices"]
    assert [(device["name"], device["is_active"]) for device in devices] == [("Phone", True), ("Kitchen speaker", False)]
    assert signed_in.get("/api/player").json() == {"state": None}

    state = signed_in.put("/api/player/play", json={"playlist": "hits", "offset": 2}).json()["state"]
    assert state["is_playing"] is True
    assert fake.state["context_uri"] == "spotify:playlist:hits"
    hits = signed_in.get("/api/playlists/hits").json()["tracks"]
    assert state["track"]["uri"] == hits[2]["uri"]

    # Mix has skipped entries before its 4th track, so the listed tracks are sent as the queue.
    signed_in.put("/api/player/play", json={"playlist": "mix", "offset": 3})
    assert fake.state["uris"] == ["spotify:track:0000000000000000000004"]
    assert signed_in.post("/api/player/next").status_code == 200
    assert signed_in.put("/api/player/pause").json()["state"]["is_playing"] is False
    assert signed_in.put("/api/player/seek", json={"position_ms": 5000}).status_code == 200
    assert fake.state["progress_ms"] == 5000
    assert signed_in.put("/api/player/volume", json={"percent": 25}).status_code == 200
    signed_in.put("/api/player/device", json={"device": "speaker"})
    assert fake.state["device_id"] == "speaker"


@pytest.mark.parametrize(
    ("status", "reason", "retry_after", "expected_status", "code", "message"),
    [
        (404, "NO_ACTIVE_DEVICE", None, 409, "NO_ACTIVE_DEVICE", "No active Spotify device: pick a device first."),
        (403, "PREMIUM_REQUIRED", None, 403, "PREMIUM_REQUIRED", "Playback control needs Spotify Premium."),
        (429, None, 120, 429, "RATE_LIMITED", "try again in 120 seconds"),
        (401, None, None, 401, "UNAUTHORIZED", "sign in again"),
        (500, None, None, 502, "SPOTIFY_ERROR", "Spotify returned an error"),
    ],
)
def test_spotify_errors_reach_the_page(signed_in, fake, status, reason, retry_after, expected_status, code, message):
    fake.fail("/v1/me/player/play", status, reason=reason, retry_after=retry_after)
    response = signed_in.put("/api/player/play", json={"track": "spotify:track:7KXjTSCq5nL1LoYtL7XAwS"})
    assert response.status_code == expected_status
    assert response.json()["error"] == code
    assert message in response.json()["message"]
    if retry_after is not None:
        assert response.headers["retry-after"] == str(retry_after)


def test_short_rate_limit_is_waited_out(signed_in, fake):
    fake.fail("/v1/me/player/devices", 429, retry_after=2)
    assert len(signed_in.get("/api/devices").json()["devices"]) == 2
    assert fake.requests.count(("GET", "/v1/me/player/devices")) == 2


def test_revoked_sign_in_asks_to_sign_in_again(signed_in, fake):
    fake.revoke()
    response = signed_in.get("/api/devices")
    assert (response.status_code, response.json()["error"]) == (401, "UNAUTHORIZED")


def test_browser_sign_in_playlists_devices_and_errors(fake, mpd_markov_run, tmp_path):
    port = free_port()
    setup = Setup(fake, mpd_markov_run, tmp_path, port, signed_in=False)
    with serve(setup.app, port) as address, browser_page() as page:
        page.goto(address + "/")
        page.click("text=Sign in with Spotify")
        # The fake approves at once and sends the browser back through /callback to the page.
        page.wait_for_selector("#playlists li")
        assert page.locator("#playlists li").all_inner_texts() == ["Morning mix", "Band practice", "Daily radio", "Hits"]
        page.wait_for_function("document.querySelectorAll('#devices option').length === 2")
        assert page.locator("#devices option").all_inner_texts() == ["Phone · Smartphone", "Kitchen speaker · Speaker"]

        page.click("#playlists li[data-id='mix']")
        page.wait_for_selector("#recommendations tbody tr")
        assert page.locator("#tracks tbody tr").count() == 4
        assert "Skipped 4 entries" in page.inner_text("#playlist-message")

        page.click("#playlists li[data-id='radio']")
        page.wait_for_function("document.getElementById('playlist-name').textContent === 'Daily radio'")
        assert "only of playlists you own or collaborate on" in page.inner_text("#playlist-message")

        page.click("#playlists li[data-id='hits']")
        page.wait_for_function("document.querySelectorAll('#tracks tbody tr').length === 5")
        fake.fail("/v1/me/player/play", 404, reason="NO_ACTIVE_DEVICE")
        page.dblclick("#tracks tbody tr:nth-child(1)")
        page.wait_for_selector("#toast:not([hidden])")
        assert page.inner_text("#toast") == "No active Spotify device: pick a device first."

        page.dblclick("#tracks tbody tr:nth-child(2)")
        page.wait_for_function("document.getElementById('toggle').getAttribute('aria-label') === 'Pause'")
        screenshot(page, "spotify")
    setup.recommender.close()
