"""`segue train` and `segue recommend` as a user runs them."""

from __future__ import annotations

import dataclasses
import json

import pytest

from segue.cli import main
from segue.models import ModelConfig
from segue.training import load_settings
from segue.training.config import TrainConfig

SMALL = [
    "--embedding-dim", "16", "--hidden-size", "32", "--memory-slots", "16", "--memory-width", "8",
    "--read-heads", "2", "--batch-size", "16", "--max-len", "12", "--quiet",
]


def test_help_documents_every_setting(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for setting in dataclasses.fields(ModelConfig) + dataclasses.fields(TrainConfig):
        flag = "--" + setting.name.replace("_", "-")
        assert flag in text, flag
    assert "(default: 128)" in text
    assert "(default: cosine)" in text


def test_config_file_and_flags(cycle_dataset, tmp_path, capsys):
    config = tmp_path / "settings.toml"
    config.write_text('[model]\nmodel = "hybrid"\nshift_range = 2\n\n[train]\nlr = 0.02\nepochs = 5\n')

    status = main(["train", str(cycle_dataset.path), "--out", str(tmp_path / "run"), "--config", str(config),
                   "--epochs", "1", *SMALL])

    assert status == 0
    saved = load_settings(tmp_path / "run" / "settings.toml")
    assert saved.model.model == "hybrid"
    assert saved.model.shift_range == 2
    assert saved.train.lr == 0.02
    assert saved.train.epochs == 1
    assert saved.model.hidden_size == 32
    assert (tmp_path / "run" / "best.pt").is_file()


@pytest.mark.parametrize(
    "text, message",
    [
        ("[model]\nmodle = 'mann'\n", "[model]: unknown setting 'modle'"),
        ("[train]\nlr = 'fast'\n", "[train]: lr: expected float, got 'fast'"),
        ("[train]\nepochs = 0\n", "invalid settings: [train] epochs: must be at least 1, got 0"),
        ("[model]\nmodel = 'rnn'\n", "unknown model 'rnn'"),
        ("[optimizer]\nlr = 1\n", "unknown table [optimizer]"),
        ("[train\n", "invalid TOML"),
    ],
)
def test_bad_config_rejected(cycle_dataset, tmp_path, capsys, text, message):
    config = tmp_path / "bad.toml"
    config.write_text(text)

    status = main(["train", str(cycle_dataset.path), "--out", str(tmp_path / "run"), "--config", str(config)])

    error = capsys.readouterr().err
    assert status == 2
    assert str(config) in error
    assert message in error
    assert not (tmp_path / "run").exists()


def test_resume_rejects_changed_setting(cycle_dataset, tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", str(cycle_dataset.path), "--out", out, "--max-steps", "2", *SMALL]) == 0

    status = main(["train", str(cycle_dataset.path), "--out", out, "--resume", "--lr", "0.5"])

    assert status == 2
    assert "--lr cannot change when resuming: the run was trained with 0.001" in capsys.readouterr().err


def test_resume_keeps_holdout(cycle_dataset, tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", str(cycle_dataset.path), "--out", out, "--holdout", "last", "--max-steps", "2", *SMALL]) == 0
    assert load_settings(tmp_path / "run" / "settings.toml").train.holdout == "last"

    status = main(["train", str(cycle_dataset.path), "--out", out, "--resume", "--holdout", "playlists"])

    assert status == 2
    assert "--holdout cannot change when resuming: the run was trained with 'last'" in capsys.readouterr().err


def test_unknown_holdout_in_config(cycle_dataset, tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text("[train]\nholdout = 'first'\n")

    status = main(["train", str(cycle_dataset.path), "--out", str(tmp_path / "run"), "--config", str(config)])

    assert status == 2
    assert "[train] holdout: unknown holdout 'first'; expected one of playlists, last" in capsys.readouterr().err


def test_resume_without_run(cycle_dataset, tmp_path, capsys):
    status = main(["train", str(cycle_dataset.path), "--out", str(tmp_path / "none"), "--resume"])
    assert status == 2
    assert "no run to resume" in capsys.readouterr().err


def test_recommend_prints_songs(yes_small, tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", str(yes_small.path), "--out", out, "--model", "lstm", "--max-steps", "30", *SMALL]) == 0
    row = int(yes_small.playlists_in("test")[0])
    key = str(yes_small.keys[row])
    capsys.readouterr()

    assert main(["recommend", out, "--dataset-playlist", key, "-k", "5", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)["recommendations"]
    assert [item["rank"] for item in printed] == [1, 2, 3, 4, 5]

    with yes_small.catalog() as catalog:
        for item in printed:
            stored = catalog.execute("SELECT idx, name, artist FROM tracks WHERE uri = ?", (item["uri"],)).fetchone()
            assert (item["title"], item["artist"]) == (stored["name"], stored["artist"])
            assert stored["idx"] not in yes_small.sequence(row).tolist()
    assert [item["score"] for item in printed] == sorted((item["score"] for item in printed), reverse=True)

    assert main(["recommend", out, "--dataset-playlist", key, "-k", "5"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith(f"playlist {key}: ")
    assert "in the model's vocabulary; ends with" in table[0]
    assert table[1].startswith("session ")
    assert table[2].split() == ["rank", "title", "artist", "score"]
    assert printed[0]["title"][:20] in table[3]


def test_recommend_unknown_playlist(yes_small, tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", str(yes_small.path), "--out", out, "--model", "lstm", "--max-steps", "1", *SMALL]) == 0

    assert main(["recommend", out, "--dataset-playlist", "nope:1"]) == 2
    assert "playlist 'nope:1' not found" in capsys.readouterr().err
    assert main(["recommend", out, "--dataset-playlist", "yes:1"]) == 2
    assert "keys look like 'yes_small:" in capsys.readouterr().err
    assert main(["recommend", out, "--tracks", "spotify:track:0000000000000000000000"]) == 0
    assert "no track is in the model's vocabulary, so these are the most popular training tracks" in capsys.readouterr().out


def test_recommend_before_validation(yes_small, tmp_path, capsys):
    # A run stopped before its first validation has last.pt only; recommend falls back to it.
    out = str(tmp_path / "run")
    assert main(["train", str(yes_small.path), "--out", out, "--model", "lstm", "--max-steps", "1", *SMALL]) == 0
    (tmp_path / "run" / "best.pt").unlink()
    key = str(yes_small.keys[int(yes_small.playlists_in("test")[0])])
    capsys.readouterr()

    assert main(["recommend", out, "--dataset-playlist", key, "-k", "3", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["recommendations"]) == 3


def test_lstm_ignores_memory_settings(cycle_dataset, tmp_path):
    status = main(["train", str(cycle_dataset.path), "--out", str(tmp_path / "run"), "--model", "lstm",
                   "--memory-slots", "1", "--read-heads", "4", "--max-steps", "1", "--quiet"])
    assert status == 0


def test_bloom_width_saved(cycle_dataset, tmp_path):
    status = main(["train", str(cycle_dataset.path), "--out", str(tmp_path / "run"), "--model", "lstm",
                   "--output", "bloom", "--max-steps", "1", "--quiet"])
    assert status == 0
    assert load_settings(tmp_path / "run" / "settings.toml").model.bloom_dim == 62 // 4


def test_unknown_choice_rejected(cycle_dataset, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["train", str(cycle_dataset.path), "--out", str(tmp_path / "run"), "--model", "rnn"])
    assert stopped.value.code == 2
    assert "invalid choice: 'rnn'" in capsys.readouterr().err
