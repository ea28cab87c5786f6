"""Statistics on a tiny dataset whose figures are worked out by hand."""

from __future__ import annotations

import json

from segue.data import PrepareOptions, dataset_statistics, prepare


def test_statistics_by_hand(tmp_path):
    # Four training playlists (no valid or test share): lengths 0 (only a local file), 1, 3, 6.
    playlists = [
        {"pid": 1, "tracks": [{"track_uri": "spotify:local:x:y:z:1"}]},
        {"pid": 2, "tracks": [{"track_uri": "spotify:track:a", "track_name": "A", "artist_name": "Ann"}]},
        {"pid": 3, "tracks": [{"track_uri": f"spotify:track:{t}", "artist_name": "Ann"} for t in "aab"]},
        {"pid": 4, "tracks": [{"track_uri": f"spotify:track:{t}", "artist_name": "Bo"} for t in "cdefgc"]},
    ]
    source = tmp_path / "mpd.slice.0-3.json"
    source.write_text(json.dumps({"playlists": playlists}))
    options = PrepareOptions(min_count=2, valid_frac=0, test_frac=0)
    dataset = prepare([str(source)], tmp_path / "out", options, progress=False)

    statistics = dataset_statistics(dataset, top=2)
    assert statistics["playlists"] == 4
    assert statistics["track_rows"] == 10
    assert statistics["distinct_tracks"] == 7  # a b c d e f g
    assert statistics["vocabulary"] == 2  # a (3 rows), c (2 rows)
    assert statistics["splits"] == {"train": 4, "valid": 0, "test": 0}
    assert statistics["split_rows"] == {"train": 10, "valid": 0, "test": 0}
    assert statistics["oov_rate"] == {"train": 0.5, "valid": 0.0, "test": 0.0}  # b d e f g of 10 rows
    assert statistics["lengths"]["min"] == 0
    assert statistics["lengths"]["max"] == 6
    assert statistics["lengths"]["mean"] == 2.5
    assert statistics["lengths"]["percentiles"]["p50"] == 2.0
    assert statistics["lengths"]["histogram"] == {
        "0": 1,
        "1": 1,
        "2-4": 1,
        "5-9": 1,
        "10-24": 0,
        "25-49": 0,
        "50-99": 0,
        "100-249": 0,
        "250+": 0,
    }
    assert [(t["uri"], t["count"], t["name"]) for t in statistics["top_tracks"]] == [
        ("spotify:track:a", 3, "A"),
        ("spotify:track:c", 2, None),
    ]
    assert statistics["top_artists"] == [
        {"artist": "Bo", "count": 6, "tracks": 5},
        {"artist": "Ann", "count": 4, "tracks": 2},
    ]
    assert statistics["dropped"] == {"local_file": 1}
