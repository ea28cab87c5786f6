"""`segue recommend` with playlist files, feedback and sessions, and `segue feedback export`, on the MPD sample."""

from __future__ import annotations

import csv
import io
import json

import pytest

from segue.cli import main
from segue.spotify.links import track_uri


@pytest.fixture(scope="module")
def itemknn_run(mpd_sample, tmp_path_factory):
    run = tmp_path_factory.mktemp("itemknn") / "run"
    assert main(["train", str(mpd_sample.path), "--model", "itemknn", "--out", str(run), "--quiet"]) == 0
    return str(run)


@pytest.fixture(scope="module")
def sample_playlist(mpd_sample):
    """The first test playlist with at least 20 vocabulary tracks: (key, catalog rows of its tracks)."""
    row = next(int(r) for r in mpd_sample.playlists_in("test") if (mpd_sample.sequence(r) > 1).sum() >= 20)
    with mpd_sample.catalog() as catalog:
        tracks = [
            catalog.execute("SELECT idx, uri, name, artist FROM tracks WHERE idx = ?", (index,)).fetchone()
            for index in mpd_sample.sequence(row, full=True).tolist()
        ]
    return str(mpd_sample.keys[row]), tracks


def recommend_json(capsys, *arguments) -> dict:
    capsys.readouterr()
    assert main(["recommend", *arguments, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def catalog_row(dataset, uri: str):
    with dataset.catalog() as catalog:
        return catalog.execute("SELECT idx, name, artist FROM tracks WHERE uri = ?", (uri,)).fetchone()


def test_dataset_playlist_reports_unknown_tracks(mpd_sample, itemknn_run, sample_playlist, capsys):
    key, tracks = sample_playlist
    vocabulary_end = mpd_sample.num_indices
    known = [row["uri"] for row in tracks if row["idx"] < vocabulary_end]
    unknown = list(dict.fromkeys(row["uri"] for row in tracks if row["idx"] >= vocabulary_end))

    printed = recommend_json(capsys, itemknn_run, "--dataset-playlist", key, "-k", "10")
    assert printed["input_tracks"] == len(known)
    assert printed["unknown"] == unknown
    assert printed["playlist"] == key
    assert printed["popularity_only"] is False
    assert not {item["uri"] for item in printed["recommendations"]} & {row["uri"] for row in tracks}
    for item in printed["recommendations"]:
        stored = catalog_row(mpd_sample, item["uri"])
        assert (item["title"], item["artist"]) == (stored["name"], stored["artist"])


def test_playlist_file_of_links_prints_real_songs(mpd_sample, itemknn_run, sample_playlist, tmp_path, capsys):
    _, tracks = sample_playlist
    lines = ["# my playlist, pasted from Spotify", ""]
    for number, row in enumerate(tracks[:30]):
        identifier = row["uri"].rsplit(":", 1)[1]
        # Links as the Spotify app shares them, and plain URIs.
        lines.append(f"https://open.spotify.com/track/{identifier}?si=abc{number}" if number % 2 else row["uri"])
    lines += ["spotify:local:Someone:Somewhere:A+Song:180", "spotify:track:0000000000000000000000"]
    playlist = tmp_path / "playlist.txt"
    playlist.write_text("\n".join(lines) + "\n")

    capsys.readouterr()
    assert main(["recommend", itemknn_run, "--playlist-file", str(playlist), "-k", "5"]) == 0
    out = capsys.readouterr().out.splitlines()
    known = sum(row["idx"] < mpd_sample.num_indices for row in tracks[:30])
    unknown = list(dict.fromkeys(row["uri"] for row in tracks[:30] if row["idx"] >= mpd_sample.num_indices))
    unknown += ["spotify:local:Someone:Somewhere:A+Song:180", "spotify:track:0000000000000000000000"]
    assert out[0].startswith(f"playlist file {playlist}: 32 tracks, {known} in the model's vocabulary; ends with ")
    assert out[1].startswith(f"skipped {len(unknown)} tracks the model does not know: {unknown[0]}, ")
    assert out[2].startswith("session ")
    assert out[3].split() == ["rank", "title", "artist", "score"]
    assert len(out) == 4 + 5

    printed = recommend_json(capsys, itemknn_run, "--playlist-file", str(playlist), "-k", "5")
    assert printed["unknown"] == unknown
    for line, item in zip(out[4:], printed["recommendations"]):
        assert item["title"][:20] in line
        assert item["artist"][:20] in line
        assert catalog_row(mpd_sample, item["uri"])["name"] == item["title"]


def test_bad_playlist_file_line(itemknn_run, tmp_path, capsys, feedback_log):
    playlist = tmp_path / "playlist.txt"
    playlist.write_text("spotify:track:7KXjTSCq5nL1LoYtL7XAwS\n\nspotify:album:7KXjTSCq5nL1LoYtL7XAwS\n")
    assert main(["recommend", itemknn_run, "--playlist-file", str(playlist)]) == 2
    error = capsys.readouterr().err
    assert f"{playlist}: line 3: 'spotify:album:7KXjTSCq5nL1LoYtL7XAwS' is a Spotify album reference" in error
    assert not feedback_log.exists()

    assert main(["recommend", itemknn_run, "--playlist-file", str(tmp_path / "missing.txt")]) == 2
    assert "missing.txt: playlist file not found" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    assert main(["recommend", itemknn_run, "--playlist-file", str(empty)]) == 2
    assert "empty.txt: the playlist file has no tracks" in capsys.readouterr().err


def test_bad_track_arguments(itemknn_run, capsys, feedback_log):
    assert main(["recommend", itemknn_run, "--tracks", "spotify:track:short"]) == 2
    assert capsys.readouterr().err == (
        "segue recommend: error: --tracks: 'spotify:track:short' is not a valid Spotify track: "
        "its ID must be 22 letters and digits\n"
    )
    album = "https://open.spotify.com/album/7KXjTSCq5nL1LoYtL7XAwS"
    assert main(["recommend", itemknn_run, "--tracks", "x", "--like", album]) == 2
    assert capsys.readouterr().err.startswith(f"segue recommend: error: --like: '{album}' is a Spotify album reference")
    assert main(["recommend", itemknn_run, "--tracks", "x", "--dislike", "https://example.com/t/1"]) == 2
    assert "--dislike: 'https://example.com/t/1' is not a Spotify track link" in capsys.readouterr().err
    assert main(["recommend", itemknn_run, "--tracks", "x", "-k", "0"]) == 2
    assert "-k must be at least 1, got 0" in capsys.readouterr().err
    assert not feedback_log.exists()


def test_one_track_playlist_header(itemknn_run, capsys):
    assert main(["recommend", itemknn_run, "--tracks", "spotify:track:7KXjTSCq5nL1LoYtL7XAwS", "-k", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "the --tracks playlist: 1 track, 1 in the model's vocabulary; ends with HUMBLE. - Kendrick Lamar"


def test_playlist_file_with_byte_order_mark(mpd_sample, itemknn_run, tmp_path, capsys):
    playlist = tmp_path / "windows.txt"
    playlist.write_bytes("\ufeffspotify:track:7KXjTSCq5nL1LoYtL7XAwS\r\nspotify:track:1xznGGDReH1oQq0xzbwXa3\r\n".encode())
    printed = recommend_json(capsys, itemknn_run, "--playlist-file", str(playlist))
    assert printed["input_tracks"] == 2
    assert printed["unknown"] == []


def test_feedback_then_session_then_export(mpd_sample, itemknn_run, sample_playlist, capsys, feedback_log):
    key, tracks = sample_playlist
    first = recommend_json(capsys, itemknn_run, "--dataset-playlist", key, "-k", "10")
    top, second = first["recommendations"][0]["uri"], first["recommendations"][1]["uri"]

    # Dislike the top song and like the second, in one call.
    changed = recommend_json(capsys, itemknn_run, "--dataset-playlist", key, "--dislike", top, "--like", second, "-k", "50")
    recommended = [item["uri"] for item in changed["recommendations"]]
    assert top not in recommended
    assert second not in recommended
    assert changed["input_tracks"] == first["input_tracks"] + 1
    assert recommended != [item["uri"] for item in first["recommendations"]][2:]

    # The session continues in a new process with more feedback; the earlier feedback still holds.
    session = changed["session"]
    third = recommended[0]
    continued = recommend_json(capsys, itemknn_run, "--session", session, "--dislike", third, "-k", "50")
    assert continued["session"] == session
    assert not {top, second, third} & {item["uri"] for item in continued["recommendations"]}
    assert [item["uri"] for item in continued["recommendations"]][:10] == recommended[1:11]

    capsys.readouterr()
    assert main(["feedback", "export"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(row["session"], row["track"], row["feedback"]) for row in rows] == [
        (session, top, "-1"), (session, second, "+1"), (session, third, "-1"),
    ]
    assert {row["playlist"] for row in rows} == {key}
    assert all(row["run"].endswith("run") for row in rows)

    out = feedback_log.parent / "export" / "feedback.csv"
    out.parent.mkdir()
    assert main(["feedback", "export", "--out", str(out), "--session", session]) == 0
    assert out.read_text().count("\n") == 4
    assert [path.name for path in out.parent.iterdir()] == ["feedback.csv"]

    assert main(["recommend", itemknn_run, "--session", "nope"]) == 2
    assert "session 'nope' not found" in capsys.readouterr().err


def test_feedback_export_bad_input(itemknn_run, tmp_path, capsys):
    assert main(["feedback", "export", "--feedback", str(tmp_path / "none.sqlite")]) == 2
    assert "none.sqlite: feedback log not found" in capsys.readouterr().err

    assert main(["recommend", itemknn_run, "--tracks", "x", "--like", "y"]) == 0
    assert main(["feedback", "export", "--out", str(tmp_path / "missing" / "x.csv")]) == 2
    assert f"folder {tmp_path / 'missing'} not found; create it first" in capsys.readouterr().err
    assert main(["feedback", "export", "--out", str(tmp_path)]) == 2
    assert "is a folder; name a CSV file" in capsys.readouterr().err
    assert main(["feedback", "export", "--session", "nope"]) == 2
    assert "session 'nope' not found in" in capsys.readouterr().err
    # No CSV, finished or half-written, is left anywhere.
    assert not list(tmp_path.rglob("*.csv*"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("spotify:track:7KXjTSCq5nL1LoYtL7XAwS", "spotify:track:7KXjTSCq5nL1LoYtL7XAwS"),
        ("https://open.spotify.com/track/7KXjTSCq5nL1LoYtL7XAwS?si=1f2e", "spotify:track:7KXjTSCq5nL1LoYtL7XAwS"),
        ("open.spotify.com/intl-de/track/7KXjTSCq5nL1LoYtL7XAwS", "spotify:track:7KXjTSCq5nL1LoYtL7XAwS"),
        ("  spotify:track:7KXjTSCq5nL1LoYtL7XAwS \n", "spotify:track:7KXjTSCq5nL1LoYtL7XAwS"),
        ("spotify:local:Artist:Album:Title:200", "spotify:local:Artist:Album:Title:200"),
        ("2839", "2839"),
    ],
)
def test_track_uri_accepts(text, expected):
    assert track_uri(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("spotify:album:7KXjTSCq5nL1LoYtL7XAwS", "is a Spotify album reference"),
        ("https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M", "is a Spotify playlist reference"),
        ("spotify:track:7KXjTSCq5nL1LoYtL7XAw", "its ID must be 22 letters and digits"),
        ("spotify:track:7KXjTSCq5nL1LoYtL7XAwS:extra", "its ID must be 22 letters and digits"),
        ("https://open.spotify.com/", "is not a Spotify track reference"),
        ("https://example.com/track/7KXjTSCq5nL1LoYtL7XAwS", "is not a Spotify track link"),
        ("two words", "is not a track URI"),
        ("", "is not a track URI"),
    ],
)
def test_track_uri_rejects(text, message):
    with pytest.raises(ValueError, match=message):
        track_uri(text)
