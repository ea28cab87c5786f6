"""The Recommender API on every model: sessions, thumbs-up and thumbs-down, the feedback log."""

from __future__ import annotations

import csv
import io
import sqlite3
import subprocess
import sys
import threading

import pytest
import torch

from conftest import CONTEXT, track
from segue.errors import UserError
from segue.recommending import FeedbackLog, Recommender
from segue.recommending.feedback import DISLIKE, LIKE
from segue.recommending.recommender import Recommender as RecommenderClass
from segue.models import ModelConfig
from segue.scorers.neural import NeuralScorer
from segue.scorers.runs import train_or_fit
from segue.training import Settings


@pytest.fixture(scope="module")
def markov_run(cycle_dataset, tmp_path_factory):
    """A Markov baseline on the cycle data, for the tests that do not depend on the model."""
    run = tmp_path_factory.mktemp("markov") / "run"
    train_or_fit(cycle_dataset.path, run, Settings(ModelConfig(model="markov")), progress=False)
    return run


@pytest.fixture
def recommender(fitted, feedback_log):
    _, run, loaded = fitted
    with RecommenderClass(loaded, FeedbackLog(feedback_log)) as opened:
        yield opened


def uris(numbers) -> list[str]:
    return [f"spotify:track:cycle{n % 60:04d}" for n in numbers]


def scores_by_uri(session) -> dict[str, float]:
    return {item.uri: item.score for item in session.recommend(k=1000)}


# Longer than the training windows, so that reading the playlist spans more than one window.
LONG = uris(range(10, 10 + CONTEXT + 15))


def test_like_equals_fresh_session_with_track(recommender):
    session = recommender.start(LONG)
    # Off the cycle, so that the liked tracks change what comes next.
    session.like("spotify:track:cycle0003")
    session.like("spotify:track:cycle0033")
    fresh = recommender.start(LONG + ["spotify:track:cycle0003", "spotify:track:cycle0033"])

    liked, expected = scores_by_uri(session), scores_by_uri(fresh)
    assert liked.keys() == expected.keys()
    assert max(abs(liked[uri] - expected[uri]) for uri in liked) <= 1e-5
    assert [item.uri for item in session.recommend(10)] == [item.uri for item in fresh.recommend(10)]
    assert session.input == fresh.input


def test_like_steps_from_the_saved_state(fitted, recommender, monkeypatch):
    # A thumbs-up advances the model by one step; reading the sequence again would call forward.
    name, _, loaded = fitted
    if not isinstance(loaded.scorer, NeuralScorer):
        pytest.skip(f"{name} is a count-based baseline with no recurrent state")
    session = recommender.start(LONG)
    model = loaded.scorer.model

    def read_again(*args, **kwargs):
        raise AssertionError("like read the whole sequence again")

    monkeypatch.setattr(model, "forward", read_again)
    steps = []
    step = model.step
    monkeypatch.setattr(model, "step", lambda tracks, state: steps.append(tracks.tolist()) or step(tracks, state))
    session.like("spotify:track:cycle0003")
    assert steps == [[track(recommender.dataset, 3)]]


def test_liked_track_changes_the_next_songs(fitted, recommender):
    name, _, _ = fitted
    if name == "pop":
        pytest.skip("popularity ignores the input")
    session = recommender.start(uris([20, 21, 22]))
    before = [item.uri for item in session.recommend(10)]
    assert "spotify:track:cycle0023" in before
    # A jump across the cycle never happens in training, so models need not predict track 42 next.
    session.like("spotify:track:cycle0041")
    after = [item.uri for item in session.recommend(10)]
    assert after != before
    assert "spotify:track:cycle0041" not in [item.uri for item in session.recommend(100)]


def test_disliked_track_never_comes_back(recommender):
    session = recommender.start(uris([20, 21, 22]))
    first = session.recommend(1)[0].uri
    assert session.dislike(first) is True
    for k in (1, 2, 5, 10, 57, 1000):
        assert first not in [item.uri for item in session.recommend(k)]

    # Nor after the input changes.
    session.like("spotify:track:cycle0050")
    assert first not in [item.uri for item in session.recommend(1000)]
    assert session.disliked == {track(recommender.dataset, int(first[-4:]))}


def test_every_other_track_is_recommended_once(recommender):
    session = recommender.start(uris([5, 6, 7, 6]))
    session.dislike("spotify:track:cycle0040")
    ranked = session.recommend(1000)
    recommended = [item.uri for item in ranked]
    # 60 tracks, minus 3 distinct inputs and 1 disliked.
    assert len(recommended) == len(set(recommended)) == 56
    assert not set(recommended) & set(uris([5, 6, 7, 40]))
    assert [item.score for item in ranked] == sorted((item.score for item in ranked), reverse=True)
    assert all(item.title.startswith("Song ") and item.artist.startswith("Artist ") for item in ranked)


def test_unknown_tracks_are_reported(recommender):
    session = recommender.start(["spotify:track:nope", *uris([1, 2]), "spotify:track:nope", "other:1"])
    assert session.unknown == ["spotify:track:nope", "other:1"]
    assert session.input == [track(recommender.dataset, 1), track(recommender.dataset, 2)]
    assert (session.playlist_length, session.playlist_known) == (5, 2)
    assert session.popularity_only is False

    assert session.like("spotify:track:gone") is False
    assert session.dislike("spotify:track:gone2") is False
    assert session.unknown == ["spotify:track:nope", "other:1", "spotify:track:gone", "spotify:track:gone2"]
    assert len(session.input) == 2


def test_no_known_track_gives_the_popularity_ranking(recommender):
    session = recommender.start(["spotify:track:nope"])
    assert session.popularity_only is True
    with recommender.dataset.catalog() as catalog:
        ranked = [row[0] for row in catalog.execute("SELECT uri FROM tracks ORDER BY train_count DESC, idx LIMIT 10")]
        top_count = catalog.execute("SELECT max(train_count) FROM tracks").fetchone()[0]
    recommendations = session.recommend(10)
    assert [item.uri for item in recommendations] == ranked
    assert recommendations[0].score == top_count

    assert session.like("spotify:track:cycle0010") is True
    assert session.popularity_only is False
    assert session.input == [track(recommender.dataset, 10)]


def test_catalog_indices_work_like_uris(recommender):
    by_index = recommender.start([track(recommender.dataset, n) for n in (7, 8)])
    by_uri = recommender.start(uris([7, 8]))
    assert by_index.recommend(5) == by_uri.recommend(5)
    with pytest.raises(ValueError, match="track index 999999 is not in the catalog"):
        recommender.start([999999])
    with pytest.raises(TypeError, match="got float"):
        recommender.start([1.5])


def test_sessions_do_not_share_dislikes(recommender):
    first = recommender.start(uris([30, 31]))
    second = recommender.start(uris([30, 31]))
    top = first.recommend(1)[0].uri
    first.dislike(top)
    assert top not in [item.uri for item in first.recommend(10)]
    assert second.recommend(1)[0].uri == top
    assert first.id != second.id


def test_session_is_restored_from_the_log(fitted, recommender, feedback_log):
    _, run, _ = fitted
    session = recommender.start(["spotify:track:nope", *uris([12, 13, 14])], playlist="mine")
    session.like("spotify:track:cycle0040")
    session.dislike(session.recommend(1)[0].uri)
    session.like("spotify:track:cycle0002")
    expected = session.recommend(10)

    with Recommender.load(run, feedback=feedback_log) as reopened:
        restored = reopened.restore(session.id)
        assert restored.recommend(10) == expected
        assert (restored.input, restored.disliked, restored.unknown) == (session.input, session.disliked, session.unknown)
        assert restored.playlist == "mine"
        # Restoring logs nothing again; new feedback joins the same session.
        restored.dislike("spotify:track:cycle0050")
    with sqlite3.connect(feedback_log) as connection:
        rows = connection.execute("SELECT session, playlist, track, value FROM feedback ORDER BY id").fetchall()
    assert [row[2:] for row in rows] == [
        ("spotify:track:cycle0040", LIKE), (expected_disliked(session), DISLIKE), ("spotify:track:cycle0002", LIKE),
        ("spotify:track:cycle0050", DISLIKE),
    ]
    assert {row[:2] for row in rows} == {(session.id, "mine")}


def expected_disliked(session) -> str:
    [index] = session.disliked
    return session.recommender.lookup.tracks([index])[index].uri


def test_feedback_survives_a_new_process(markov_run, feedback_log, cycle_dataset):
    run = markov_run
    # Another Python process starts a session, gives feedback and exits.
    script = f"""
from segue.recommending import Recommender
recommender = Recommender.load({str(run)!r}, feedback={str(feedback_log)!r})
session = recommender.start({uris([1, 2, 3])!r})
session.like("spotify:track:cycle0010")
session.dislike(session.recommend(1)[0].uri)
print(session.id, *[item.uri for item in session.recommend(5)])
"""
    printed = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout.split()
    session_id, before_exit = printed[0], printed[1:]

    with Recommender.load(run, feedback=feedback_log) as recommender:
        restored = recommender.restore(session_id)
        assert [item.uri for item in restored.recommend(5)] == before_exit
        assert restored.input[-1] == track(cycle_dataset, 10)
        assert len(restored.disliked) == 1


def test_restore_unknown_session(markov_run):
    with Recommender.load(markov_run) as recommender:
        with pytest.raises(UserError, match="session 'nope' not found in .*feedback.sqlite"):
            recommender.restore("nope")


def test_recommend_needs_positive_k(markov_run):
    with Recommender.load(markov_run) as recommender:
        with pytest.raises(ValueError, match="k must be at least 1"):
            recommender.start(uris([1])).recommend(0)


def test_feedback_value_is_checked(markov_run, feedback_log):
    with Recommender.load(markov_run, feedback=feedback_log) as recommender:
        session = recommender.start(uris([1]))
        with pytest.raises(ValueError, match="feedback must be 1 \\(like\\) or -1 \\(dislike\\), got 0"):
            session.apply("spotify:track:cycle0002", 0)
        assert session.input == [track(recommender.dataset, 1)]
    with sqlite3.connect(feedback_log) as connection:
        assert connection.execute("SELECT count(*) FROM feedback").fetchone()[0] == 0


def test_memory_only_sessions_are_not_logged(markov_run, tmp_path, monkeypatch):
    run = markov_run
    monkeypatch.setenv("SEGUE_FEEDBACK", str(tmp_path / "never.sqlite"))
    with Recommender.load(run, feedback=False) as recommender:
        session = recommender.start(uris([1, 2]))
        session.like("spotify:track:cycle0005")
        with pytest.raises(UserError, match="no feedback log"):
            recommender.restore(session.id)
    assert not (tmp_path / "never.sqlite").exists()


def test_feedback_export_csv(tmp_path):
    log = FeedbackLog(tmp_path / "log.sqlite")
    log.add_session("s1", "/runs/a", "mpd:1", ["spotify:track:x"])
    log.add("s1", "mpd:1", "spotify:track:y", LIKE, "/runs/a")
    log.add("s1", "mpd:1", "spotify:track:z", DISLIKE, "/runs/a")
    log.add_session("s2", "/runs/a", None, [])
    log.add("s2", None, "spotify:track:y", DISLIKE, "/runs/a")

    out = io.StringIO()
    assert log.export_csv(out) == 3
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["time", "session", "playlist", "track", "feedback", "run"]
    assert [row[1:] for row in rows[1:]] == [
        ["s1", "mpd:1", "spotify:track:y", "+1", "/runs/a"],
        ["s1", "mpd:1", "spotify:track:z", "-1", "/runs/a"],
        ["s2", "", "spotify:track:y", "-1", "/runs/a"],
    ]
    assert all(row[0].endswith("+00:00") and row[0][10] == "T" for row in rows[1:])

    only = io.StringIO()
    assert log.export_csv(only, session="s2") == 1
    with pytest.raises(ValueError, match="feedback must be 1 or -1"):
        log.add("s1", None, "spotify:track:y", 0, "/runs/a")


def test_feedback_log_rejects_other_files(tmp_path):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(UserError, match="other.sqlite: not a Segue feedback log"):
        FeedbackLog(other)

    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database, just text" * 100)
    with pytest.raises(UserError, match="garbage.sqlite: cannot open the feedback log"):
        FeedbackLog(garbage)


def test_scores_are_top_of_the_state(recommender):
    # The scores a session ranks are the scorer's own scores after the input.
    session = recommender.start(uris([3, 4, 5]))
    direct = recommender.scorer.scores_after([torch.tensor(session.input).numpy()])[0]
    top = session.recommend(3)
    for item in top:
        assert item.score == pytest.approx(float(direct[item.index]), abs=1e-5)


def test_sessions_in_parallel_threads(markov_run, feedback_log):
    # Four threads give feedback at once, each on its own session and on one shared session.
    with Recommender.load(markov_run, feedback=feedback_log) as recommender:
        shared = recommender.start(uris([0, 1]))
        own = [recommender.start(uris([10 * n, 10 * n + 1])) for n in range(4)]

        def give_feedback(n: int) -> None:
            for step in range(20):
                own[n].like(f"spotify:track:cycle{(10 * n + 2 + step) % 60:04d}")
                shared.dislike(f"spotify:track:cycle{(15 * n + step) % 60:04d}")
                own[n].recommend(5)

        threads = [threading.Thread(target=give_feedback, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        for n, session in enumerate(own):
            sequential = recommender.start(uris([10 * n, 10 * n + 1, *range(10 * n + 2, 10 * n + 22)]))
            assert session.recommend(10) == sequential.recommend(10)
        # Together the threads dislike every track of the cycle, inputs included.
        assert len(shared.disliked) == 60
        assert shared.recommend(10) == []

    with sqlite3.connect(feedback_log) as connection:
        assert connection.execute("SELECT count(*) FROM feedback").fetchone()[0] == 4 * 20 * 2


def test_spotify_links_are_read_as_uris(markov_run):
    with Recommender.load(markov_run, feedback=False) as recommender:
        session = recommender.start(["https://open.spotify.com/track/7KXjTSCq5nL1LoYtL7XAwS?si=x", "spotify:track:cycle0004"])
        assert session.unknown == ["spotify:track:7KXjTSCq5nL1LoYtL7XAwS"]
        assert session.input == [track(recommender.dataset, 4)]
        with pytest.raises(ValueError, match="is a Spotify album reference"):
            session.like("https://open.spotify.com/album/7KXjTSCq5nL1LoYtL7XAwS")
