"""The app's JSON API over the offline catalog, and the preview player, as the page uses them."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi.testclient import TestClient

from segue.app.build import build_app
from segue.app.library import AppError
from segue.app.offline import UNKNOWN_DURATION_MS, OfflineLibrary, PreviewPlayer
from segue.cli import main


@pytest.fixture
def client(mpd_markov_run, feedback_log):
    app, recommender = build_app(mpd_markov_run, feedback=feedback_log)
    with TestClient(app) as opened:
        yield opened
    recommender.close()


def first_test_playlist(mpd_sample) -> str:
    return str(mpd_sample.keys[int(mpd_sample.playlists_in("test")[0])])


def test_status_and_playlists(client, mpd_sample):
    assert client.get("/api/status").json() == {"mode": "offline", "signed_in": None, "run": "markov", "model": "markov"}

    page = client.get("/api/playlists", params={"limit": 5}).json()
    assert page["total"] == 5_410
    # Test playlists first, in dataset order.
    test_keys = [str(mpd_sample.keys[row]) for row in mpd_sample.playlists_in("test")[:5]]
    assert [item["id"] for item in page["items"]] == test_keys
    assert {item["owner"] for item in page["items"]} == {"test split"}

    later = client.get("/api/playlists", params={"offset": 523, "limit": 2}).json()
    assert {item["owner"] for item in later["items"]} == {"valid split"}


def test_playlist_lists_catalog_tracks(client, mpd_sample):
    key = first_test_playlist(mpd_sample)
    listed = client.get(f"/api/playlists/{key}").json()
    row = int(mpd_sample.playlists_in("test")[0])
    assert len(listed["tracks"]) == listed["tracks_total"] == mpd_sample.lengths[row]
    with mpd_sample.catalog() as catalog:
        first = catalog.execute("SELECT uri, name, artist FROM tracks WHERE idx = ?", (int(mpd_sample.sequence(row, full=True)[0]),)).fetchone()
    assert listed["tracks"][0]["uri"] == first["uri"]
    assert (listed["tracks"][0]["title"], listed["tracks"][0]["artist"]) == (first["name"], first["artist"])


def test_feedback_changes_recommendations(client, mpd_sample, feedback_log):
    key = "mpd:2482"
    before = client.get(f"/api/playlists/{key}/recommendations", params={"k": 10}).json()
    assert len(before["tracks"]) == 10
    top = before["tracks"][0]["uri"]

    after = client.post(f"/api/playlists/{key}/feedback", json={"track": top, "feedback": "dislike"}).json()
    assert top not in [item["uri"] for item in after["tracks"]]
    assert after["disliked"] == 1
    liked = after["tracks"][0]["uri"]
    again = client.post(f"/api/playlists/{key}/feedback", json={"track": liked, "feedback": "like", "k": 20}).json()
    assert len(again["tracks"]) == 20
    assert liked not in [item["uri"] for item in again["tracks"]]
    assert again["input_tracks"] == before["input_tracks"] + 1
    assert again["session"] == before["session"]

    with sqlite3.connect(feedback_log) as connection:
        rows = connection.execute("SELECT playlist, track, value FROM feedback ORDER BY id").fetchall()
    assert rows == [(key, top, -1), (key, liked, 1)]


def test_sessions_survive_a_restart(mpd_markov_run, feedback_log):
    key = "mpd:2482"
    app, recommender = build_app(mpd_markov_run, feedback=feedback_log)
    with TestClient(app) as client:
        top = client.get(f"/api/playlists/{key}/recommendations").json()["tracks"][0]["uri"]
        client.post(f"/api/playlists/{key}/feedback", json={"track": top, "feedback": "dislike"})
    recommender.close()

    app, recommender = build_app(mpd_markov_run, feedback=feedback_log)
    with TestClient(app) as client:
        restored = client.get(f"/api/playlists/{key}/recommendations", params={"k": 100}).json()
    recommender.close()
    assert restored["disliked"] == 1
    assert top not in [item["uri"] for item in restored["tracks"]]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("get", "/api/playlists/nope:1", None, 404, "playlist 'nope:1' not found"),
        ("get", "/api/playlists/nope:1/recommendations", None, 404, "playlist 'nope:1' not found"),
        ("get", "/api/playlists/mpd:2482/recommendations?k=0", None, 422, "k: Input should be greater than or equal to 1"),
        ("get", "/api/playlists?limit=1000", None, 422, "limit: Input should be less than or equal to 200"),
        ("post", "/api/playlists/mpd:2482/feedback", {"track": "spotify:track:bad", "feedback": "like"}, 422, "is not a valid Spotify track"),
        ("post", "/api/playlists/mpd:2482/feedback", {"track": "spotify:track:7KXjTSCq5nL1LoYtL7XAwS", "feedback": "love"}, 422, "feedback: Input should be 'like' or 'dislike'"),
        ("post", "/api/playlists/mpd:2482/feedback", {"feedback": "like"}, 422, "track: Field required"),
        ("put", "/api/player/volume", {"percent": 101}, 422, "percent: Input should be less than or equal to 100"),
        ("put", "/api/player/volume", {"percent": "loud"}, 422, "percent: Input should be a valid integer"),
        ("put", "/api/player/seek", {"position_ms": -5}, 422, "position_ms: Input should be greater than or equal to 0"),
        ("put", "/api/player/play", {}, 422, "give either `track` or `playlist`"),
        ("put", "/api/player/play", {"track": "https://open.spotify.com/album/7KXjTSCq5nL1LoYtL7XAwS"}, 422, "is a Spotify album reference"),
        ("put", "/api/player/play", {"track": "spotify:track:0000000000000000000000"}, 404, "not found in the dataset's catalog"),
        ("put", "/api/player/play", {"playlist": "mpd:2482", "offset": 5000}, 422, "offset 5000 is outside playlist"),
        ("put", "/api/player/play", {"playlist": "mpd:2482", "device": "phone"}, 404, "device 'phone' not found"),
        ("put", "/api/player/device", {"device": "phone"}, 404, "device 'phone' not found"),
        ("post", "/api/player/next", None, 409, "nothing is playing"),
        ("post", "/api/playlists/mpd:2482/feedback", {"track": "spotify:track:0000000000000000000000", "feedback": "like"}, 404, "not found in the dataset's catalog"),
        ("post", "/api/playlists/mpd:2482/feedback", {"track": "x" * 201, "feedback": "like"}, 422, "track: String should have at most 200 characters"),
        ("post", "/api/playlists/mpd:2482/feedback", {"track": "spotify:track:7KXjTSCq5nL1LoYtL7XAwS", "feedback": "like", "k": True}, 422, "k: Input should be a valid integer"),
        ("put", "/api/player/volume", {"percent": "50"}, 422, "percent: Input should be a valid integer"),
        ("put", "/api/player/volume", {"percent": 50, "mute": True}, 422, "mute: Extra inputs are not permitted"),
        ("put", "/api/player/play", {"playlist": "mpd:2482", "offset": "1"}, 422, "offset: Input should be a valid integer"),
        ("get", "/api/nothing", None, 404, "GET /api/nothing: Not Found"),
        ("post", "/api/status", None, 405, "POST /api/status: Method Not Allowed"),
    ],
)
def test_bad_input_gets_a_clear_4xx(client, method, path, body, status, message):
    response = client.request(method.upper(), path, json=body)
    assert response.status_code == status
    assert message in response.json()["message"]
    assert response.json()["error"]


def test_player_commands(client):
    assert client.get("/api/player").json() == {"state": None}
    assert client.get("/api/devices").json()["devices"][0]["name"] == "Preview (no audio)"

    state = client.put("/api/player/play", json={"playlist": "mpd:2482", "offset": 3}).json()["state"]
    assert state["is_playing"] is True
    assert state["preview"] is True
    assert state["context"] == "mpd:2482"
    fourth = client.get("/api/playlists/mpd:2482").json()["tracks"][3]
    assert state["track"]["uri"] == fourth["uri"]
    assert state["duration_ms"] == UNKNOWN_DURATION_MS

    assert client.put("/api/player/pause").json()["state"]["is_playing"] is False
    assert client.put("/api/player/seek", json={"position_ms": 60_000}).json()["state"]["progress_ms"] == 60_000
    fifth = client.post("/api/player/next").json()["state"]["track"]
    assert fifth["uri"] == client.get("/api/playlists/mpd:2482").json()["tracks"][4]["uri"]
    assert client.put("/api/player/volume", json={"percent": 30}).json()["state"]["device"]["volume_percent"] == 30
    assert client.put("/api/player/resume").json()["state"]["is_playing"] is True


def test_page_and_openapi(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "<title>Segue</title>" in page.text
    assert client.get("/static/app.js").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/playlists", "/api/playlists/{playlist_id}/feedback", "/api/player/play"} <= set(paths)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_preview_player_moves_through_durations(mpd_sample, mpd_markov_run):
    from segue.recommending import Recommender

    with Recommender.load(mpd_markov_run, feedback=False) as recommender:
        library = OfflineLibrary(recommender.dataset, recommender.lookup)
        clock = Clock()
        player = PreviewPlayer(library, clock)
        tracks = library.playlist("mpd:2482").tracks

        player.play(None, "mpd:2482", 0, None)
        clock.now += 30
        assert player.state().progress_ms == 30_000
        # Past the end of the first track, the second plays, 5 s in.
        clock.now += UNKNOWN_DURATION_MS / 1000 - 30 + 5
        state = player.state()
        assert (state.track.uri, state.progress_ms) == (tracks[1].uri, 5_000)

        player.pause()
        clock.now += 1000
        assert player.state().progress_ms == 5_000
        # `previous` within the first 3 s goes back a track; later it restarts the track.
        player.seek(2_000)
        player.previous()
        assert (player.state().track.uri, player.state().progress_ms) == (tracks[0].uri, 0)
        player.seek(10_000)
        player.previous()
        assert (player.state().track.uri, player.state().progress_ms) == (tracks[0].uri, 0)

        # One track alone stops at its end.
        player.play(tracks[7].uri, None, 0, None)
        clock.now += UNKNOWN_DURATION_MS / 1000 + 1
        state = player.state()
        assert (state.is_playing, state.progress_ms, state.track.uri) == (False, 0, tracks[7].uri)
        with pytest.raises(AppError, match="device 'tv' not found"):
            player.transfer("tv")


def test_concurrent_first_requests_start_one_session(client, feedback_log):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: client.get("/api/playlists/mpd:2482/recommendations").json()["session"], range(8)))
    assert len(set(answers)) == 1
    with sqlite3.connect(feedback_log) as connection:
        logged = connection.execute("SELECT id FROM sessions WHERE playlist = 'mpd:2482'").fetchall()
    assert logged == [(answers[0],)]


def test_invalid_json_body(client):
    response = client.put("/api/player/volume", content=b"{percent: 5", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["message"].startswith("the request body is not valid JSON")
    plain = client.put("/api/player/volume", content=b'{"percent": 5}')
    assert plain.json()["message"] == "the request body must be a JSON object, sent with Content-Type: application/json"


def test_error_shape_in_openapi(client):
    responses = client.get("/openapi.json").json()["paths"]["/api/player/volume"]["put"]["responses"]
    assert responses["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")


def test_busy_port_is_a_user_error(mpd_markov_run, capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["app", "--run", str(mpd_markov_run), "--port", str(port)]) == 2
    captured = capsys.readouterr()
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in captured.err
    assert "open http" not in captured.out
