"""`segue export --format recbole`: exact atomic files and config, and rejected output folders."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from segue.cli import main
from segue.data import Dataset, PrepareOptions, prepare
from segue.data import export as export_module
from segue.data.export import export_recbole

# With seed 0 and a quarter each for validation and test, pids 1, 2 and 5 train, pid 3 validates
# and pid 0 tests. Pid 6 is a challenge playlist. "x" is only in a valid playlist, so it is OOV.
# "y" is only in the challenge playlist, so no exported row contains it.
PLAYLISTS = [
    (1, "abcde", False),  # row 0
    (3, "abcx", False),  # row 1
    (0, "cdea", False),  # row 2
    (2, "bcd", False),  # row 3
    (5, "ab", False),  # row 4: too short
    (6, "abcy", True),  # row 5: challenge
]
TITLES = {"a": "Tab\there\nand there", "b": 'Say "Hi"', "c": "  Spaced   out ", "d": "D", "e": "E", "x": "X", "y": "Y"}
ARTISTS = {"a": "Artist A", "b": "Artist\tB", "d": "Z", "e": "Z", "x": "Z", "y": "Z"}  # "c" has none


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Dataset:
    root = tmp_path_factory.mktemp("export")
    items = []
    for pid, letters, challenge in PLAYLISTS:
        tracks = []
        for pos, letter in enumerate(letters):
            track = {"pos": pos, "track_uri": f"spotify:track:{letter}", "track_name": TITLES[letter]}
            if letter in ARTISTS:
                track["artist_name"] = ARTISTS[letter]
            tracks.append(track)
        playlist = {"pid": pid, "name": f"playlist {pid}", "tracks": tracks}
        if challenge:
            playlist["num_holdouts"] = 0
        items.append(playlist)
    source = root / "source" / "mpd.slice.0-6.json"
    source.parent.mkdir()
    source.write_text(json.dumps({"info": {}, "playlists": items}))
    options = PrepareOptions(min_count=1, valid_frac=0.25, test_frac=0.25, seed=0)
    return prepare([str(source)], root / "tiny", options, progress=False)


@pytest.fixture(scope="module")
def exported(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "recbole"
    summary = export_recbole(tiny.path, out, max_len=20)
    return out, summary


def index_of(dataset: Dataset) -> dict[str, int]:
    with dataset.catalog() as catalog:
        return {row["uri"][-1]: row["idx"] for row in catalog.execute("SELECT uri, idx FROM tracks")}


def test_tiny_dataset_layout(tiny):
    index = index_of(tiny)
    assert tiny.splits.tolist() == [0, 1, 2, 0, 0, 3]
    assert tiny.vocabulary_size == 5
    assert index["x"] > tiny.vocabulary_size + 1
    assert tiny.sequence(1).tolist()[-1] == 1


def test_folder_layout(exported):
    out, _ = exported
    assert sorted(path.relative_to(out).as_posix() for path in out.rglob("*")) == [
        "export.json", "tiny", "tiny.yaml", "tiny/tiny.inter", "tiny/tiny.item",
    ]
    assert [path.name for path in out.parent.iterdir()] == ["recbole"]


def test_inter_file_rows(tiny, exported):
    out, _ = exported
    index = index_of(tiny)
    expected = ["session_id:token\titem_id:token\ttimestamp:float"]
    for row, (_, letters, _) in enumerate(PLAYLISTS[:4]):
        expected += [f"{row}\t{index[letter]}\t{position}" for position, letter in enumerate(letters)]

    assert (out / "tiny" / "tiny.inter").read_text() == "\n".join(expected) + "\n"


def test_inter_same_in_small_blocks(tiny, exported, tmp_path, monkeypatch):
    # Blocks of 3 track rows: no two exported playlists fit in one, so each block is one playlist.
    monkeypatch.setattr(export_module, "_BLOCK_ROWS", 3)
    export_recbole(tiny.path, tmp_path / "blocks", name="tiny", max_len=20)

    out, _ = exported
    assert (tmp_path / "blocks" / "tiny" / "tiny.inter").read_text() == (out / "tiny" / "tiny.inter").read_text()


def test_inter_keeps_oov_catalog_index(tiny, exported):
    out, _ = exported
    lines = (out / "tiny" / "tiny.inter").read_text().splitlines()
    # Row 1 ends with "x", which models read as OOV (1) but which keeps its catalog index here.
    assert lines[9] == f"1\t{index_of(tiny)['x']}\t3"
    assert int(tiny.tracks[8]) == 1
    assert int(tiny.tracks_full[8]) == index_of(tiny)["x"]


def test_item_file_contents(tiny, exported):
    out, _ = exported
    index = index_of(tiny)
    text = (out / "tiny" / "tiny.item").read_text()

    rows = {
        "a": f"{index['a']}\tTab here and there\tArtist A",
        "b": f'{index["b"]}\t"Say ""Hi"""\tArtist B',
        "c": f"{index['c']}\tSpaced out\t",
        "d": f"{index['d']}\tD\tZ",
        "e": f"{index['e']}\tE\tZ",
        "x": f"{index['x']}\tX\tZ",
    }
    ordered = [rows[letter] for letter in sorted(rows, key=index.get)]
    assert text == "item_id:token\ttitle:token_seq\tartist:token_seq\n" + "\n".join(ordered) + "\n"


def test_item_file_reads_back(tiny, exported):
    out, _ = exported
    index = index_of(tiny)
    with open(out / "tiny" / "tiny.item", newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle, delimiter="\t"))

    assert records[0] == ["item_id:token", "title:token_seq", "artist:token_seq"]
    assert all(len(record) == 3 for record in records)
    titles = {int(record[0]): record[1] for record in records[1:]}
    assert titles[index["b"]] == 'Say "Hi"'
    assert index["y"] not in titles


def read_config(path) -> dict:
    """Parse the config, whose lines are comments or ``key: <JSON value>``."""
    settings = {}
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        key, value = line.split(": ", 1)
        settings[key] = json.loads(value)
    return settings


def test_config_keys(exported):
    out, _ = exported
    assert read_config(out / "tiny.yaml") == {
        "data_path": str(out.resolve()),
        "USER_ID_FIELD": "session_id",
        "ITEM_ID_FIELD": "item_id",
        "TIME_FIELD": "timestamp",
        "field_separator": "\t",
        "seq_separator": " ",
        "load_col": {"inter": ["session_id", "item_id", "timestamp"]},
        "MAX_ITEM_LIST_LENGTH": 20,
        "eval_args": {"split": {"LS": "valid_and_test"}, "group_by": "user", "order": "TO", "mode": "full"},
        "metrics": ["Hit", "MRR", "NDCG"],
        "topk": [10],
        "valid_metric": "MRR@10",
        "train_neg_sample_args": None,
    }


def test_summary_and_export_info(tiny, exported):
    out, summary = exported
    info = json.loads((out / "export.json").read_text())

    assert (summary.playlists, summary.interactions, summary.oov_interactions, summary.items) == (4, 16, 1, 6)
    assert info["format"] == "recbole"
    assert info["dataset"] == str(tiny.path.resolve())
    assert info["name"] == "tiny"
    assert info["max_len"] == 20
    assert (info["playlists"], info["interactions"], info["oov_interactions"], info["items"]) == (4, 16, 1, 6)


def test_cli_name_and_force(tiny, tmp_path, capsys):
    out = tmp_path / "recbole"
    assert main(["export", str(tiny.path), "--format", "recbole", "--out", str(out), "--name", "mine"]) == 0
    assert (out / "mine" / "mine.inter").is_file()
    assert read_config(out / "mine.yaml")["MAX_ITEM_LIST_LENGTH"] == 100
    assert 'dataset="mine"' in capsys.readouterr().out

    # An earlier export is replaced with --force, and nothing of it is left.
    assert main(["export", str(tiny.path), "--format", "recbole", "--out", str(out), "--force", "--quiet"]) == 0
    assert sorted(path.name for path in out.iterdir()) == ["export.json", "tiny", "tiny.yaml"]
    assert capsys.readouterr().out == ""


def test_not_a_dataset(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    status = main(["export", str(tmp_path / "empty"), "--format", "recbole", "--out", str(tmp_path / "out")])

    assert status == 2
    error = capsys.readouterr().err
    assert error.startswith("segue export: error: ")
    assert "not a Segue dataset (dataset.json not found)" in error
    assert not (tmp_path / "out").exists()


def test_existing_out_needs_force(tiny, tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")

    status = main(["export", str(tiny.path), "--format", "recbole", "--out", str(out)])
    assert status == 2
    assert "already exists; pass --force to replace it" in capsys.readouterr().err

    status = main(["export", str(tiny.path), "--format", "recbole", "--out", str(out), "--force"])
    assert status == 2
    assert "not a `segue export` folder (export.json not found)" in capsys.readouterr().err

    assert sorted(path.name for path in out.iterdir()) == ["notes.txt"]
    assert [path.name for path in tmp_path.iterdir()] == ["taken"]


def test_out_containing_dataset_rejected(tiny, capsys):
    status = main(["export", str(tiny.path), "--format", "recbole", "--out", str(tiny.path.parent), "--force"])
    assert status == 2
    assert "contains the dataset" in capsys.readouterr().err
    assert (tiny.path / "dataset.json").is_file()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--name", "my data"], "invalid export name 'my data'"),
        (["--name", "../up"], "invalid export name '../up'"),
        (["--max-len", "0"], "--max-len must be at least 1, got 0"),
    ],
)
def test_bad_options_rejected(tiny, tmp_path, capsys, flags, message):
    status = main(["export", str(tiny.path), "--format", "recbole", "--out", str(tmp_path / "out"), *flags])
    assert status == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_unknown_format_rejected(tiny, tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        main(["export", str(tiny.path), "--format", "csv", "--out", str(tmp_path / "out")])
    assert raised.value.code == 2
    assert "invalid choice: 'csv'" in capsys.readouterr().err


def test_failure_leaves_nothing(tiny, tmp_path, monkeypatch):
    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(export_module, "_write_item", broken)
    with pytest.raises(OSError, match="disk full"):
        export_recbole(tiny.path, tmp_path / "deep" / "out")
    assert list(tmp_path.iterdir()) == []


def test_yes_small_row_count(yes_small, tmp_path):
    summary = export_recbole(yes_small.path, tmp_path / "out", name="yes")

    lengths = yes_small.lengths
    exported_playlists = (yes_small.splits != 3) & (lengths >= 3)
    expected = int(lengths[exported_playlists].sum())
    with open(tmp_path / "out" / "yes" / "yes.inter") as handle:
        rows = sum(1 for _ in handle) - 1
    assert rows == expected
    assert summary.interactions == expected
    assert summary.playlists == int(exported_playlists.sum())
    exported_rows = np.repeat(exported_playlists, lengths)
    assert summary.items == len(np.unique(yes_small.tracks_full[exported_rows]))
