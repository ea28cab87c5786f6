"""Exact counts and metadata on the real playlist data."""

import json

import numpy as np

from segue.cli import main
from segue.data import OOV, Dataset, dataset_statistics
from segue.data.split import SPLIT_NAMES


def test_mpd_sample_counts(mpd_sample):
    statistics = mpd_sample.info["statistics"]
    assert statistics["playlists"] == 5410
    assert statistics["track_rows"] == 530_429
    assert statistics["distinct_tracks"] == 165_327
    assert mpd_sample.num_playlists == 5410
    assert len(mpd_sample.tracks) == 530_429
    assert mpd_sample.offsets[-1] == 530_429


def test_mpd_sample_splits_cover_every_playlist(mpd_sample):
    splits = mpd_sample.info["statistics"]["splits"]
    assert sum(splits.values()) == 5410
    assert set(splits) == {"train", "valid", "test"}
    # 10% each by default; a hash split lands near, not on, the share.
    assert 400 < splits["valid"] < 680
    assert 400 < splits["test"] < 680


def test_vocabulary_comes_from_training_split(mpd_sample):
    with mpd_sample.catalog() as catalog:
        vocabulary_rows = catalog.execute(
            "SELECT MIN(train_count), COUNT(*) FROM tracks WHERE idx < ?", (mpd_sample.num_indices,)
        ).fetchone()
        pruned_max = catalog.execute(
            "SELECT MAX(train_count) FROM tracks WHERE idx >= ?", (mpd_sample.num_indices,)
        ).fetchone()[0]
        total = catalog.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
    assert vocabulary_rows[0] >= 5
    assert vocabulary_rows[1] == mpd_sample.vocabulary_size
    assert pruned_max < 5
    assert total == 165_327

    train_rows = np.repeat(mpd_sample.splits == SPLIT_NAMES.index("train"), mpd_sample.lengths)
    train_tracks = mpd_sample.tracks[train_rows]
    counts = np.bincount(train_tracks[train_tracks != OOV], minlength=mpd_sample.num_indices)
    assert counts[2:].min() >= 5


def test_oov_positions_are_kept(mpd_sample):
    full = np.asarray(mpd_sample.tracks_full)
    pruned = np.asarray(mpd_sample.tracks)
    assert len(full) == len(pruned)
    assert np.array_equal(pruned == OOV, full >= mpd_sample.num_indices)
    assert np.array_equal(pruned[pruned != OOV], full[pruned != OOV])
    rate = mpd_sample.info["statistics"]["oov_rate"]["test"]
    test_rows = np.repeat(mpd_sample.splits == SPLIT_NAMES.index("test"), mpd_sample.lengths)
    assert rate == round(float(np.mean(pruned[test_rows] == OOV)), 6)
    assert 0 < rate < 1


def test_first_mpd_sample_playlist_reads_in_order(mpd_sample):
    # mpd.slice.0-999.json opens with pid 2365 "classics": Bennie And The Jets, then Wild World.
    row = int(np.flatnonzero(mpd_sample.keys == "mpd:2365")[0])
    assert row == 0
    first_two = mpd_sample.sequence(0, full=True)[:2].tolist()
    with mpd_sample.catalog() as catalog:
        names = [catalog.execute("SELECT name FROM tracks WHERE idx = ?", (i,)).fetchone()[0] for i in first_two]
        playlist = catalog.execute("SELECT name, length, source FROM playlists WHERE row = 0").fetchone()
    assert names == ["Bennie And The Jets - Remastered 2014", "Wild World"]
    assert playlist["name"] == "classics"
    assert playlist["length"] == 120
    assert playlist["source"].endswith("mpd.slice.0-999.json")


def test_yes_small_counts(yes_small):
    statistics = yes_small.info["statistics"]
    assert statistics["playlists"] == 41_479
    assert statistics["track_rows"] == 175_881
    assert statistics["distinct_tracks"] == 3042
    assert yes_small.keys[0] == "yes_small:0"


def test_yes_small_keeps_titles_and_order(yes_small):
    # Playlist 0 of yes_small.tsv starts with songs 0, 1, 2 in positions 0, 1, 2.
    with yes_small.catalog() as catalog:
        uris = [
            catalog.execute("SELECT uri, name, artist FROM tracks WHERE idx = ?", (i,)).fetchone()
            for i in yes_small.sequence(0, full=True)[:3].tolist()
        ]
    assert [row["uri"] for row in uris] == ["0", "1", "2"]
    assert uris[2]["name"] == "Get Back Up (w\\/ Chris Brown)"
    assert uris[2]["artist"] == "T.I."


def test_all_fields_keep_album_and_duration(mpd_all_fields):
    assert mpd_all_fields.num_playlists == 29
    assert mpd_all_fields.info["statistics"]["distinct_tracks"] == 1397
    with mpd_all_fields.catalog() as catalog:
        missing = catalog.execute(
            "SELECT COUNT(*) FROM tracks WHERE album IS NULL OR duration_ms IS NULL OR album_uri IS NULL"
        ).fetchone()[0]
        track = catalog.execute(
            "SELECT name, artist, album, duration_ms, artist_uri FROM tracks WHERE uri = ?",
            ("spotify:track:0UaMYEvWZi0ZqiDOoHU3YI",),
        ).fetchone()
        playlist = catalog.execute("SELECT name, extra FROM playlists WHERE key = 'mpd:0'").fetchone()
    assert missing == 0
    assert tuple(track) == (
        "Lose Control (feat. Ciara & Fat Man Scoop)",
        "Missy Elliott",
        "The Cookbook",
        226863,
        "spotify:artist:2wIVse2owClT7go1WT98tk",
    )
    assert playlist["name"] == "Throwbacks"
    assert json.loads(playlist["extra"])["num_followers"] == 1


def test_stats_json_on_shared_data(mpd_sample, capsys):
    assert main(["stats", str(mpd_sample.path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["playlists"] == 5410
    assert printed["track_rows"] == 530_429
    assert printed["distinct_tracks"] == 165_327
    assert printed["vocabulary"] == mpd_sample.vocabulary_size
    assert sum(printed["splits"].values()) == 5410
    assert set(printed["oov_rate"]) == {"train", "valid", "test"}
    assert printed["top_tracks"][0]["name"] == "HUMBLE."
    assert printed["top_tracks"][0]["count"] == 277
    assert printed["top_artists"][0]["artist"] == "Drake"
    assert printed == dataset_statistics(Dataset.load(mpd_sample.path))


def test_stats_table_on_shared_data(mpd_sample, capsys):
    assert main(["stats", str(mpd_sample.path)]) == 0
    printed = capsys.readouterr().out
    assert "playlists        5,410" in printed
    assert "HUMBLE. - Kendrick Lamar" in printed
