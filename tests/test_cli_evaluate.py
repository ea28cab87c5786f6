"""`segue evaluate` and `segue compare` as a user runs them."""

import csv

import orjson
import pytest

from segue.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def markov_run(cycle_dataset, tmp_path_factory):
    run = tmp_path_factory.mktemp("markov") / "run"
    assert main(["train", str(cycle_dataset.path), "--model", "markov", "--out", str(run), "--quiet"]) == 0
    return run


def test_evaluate_prints_a_table(markov_run, capsys):
    assert main(["evaluate", str(markov_run), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "markov on the test playlists of" in out
    assert "hr@10" in out
    assert "100.00%" in out


def test_evaluate_json_has_every_figure(markov_run, capsys):
    assert main(["evaluate", str(markov_run), "--json", "--quiet", "-k", "5", "20"]) == 0
    result = orjson.loads(capsys.readouterr().out)
    assert result["protocol"] == "next"
    assert result["model"] == "markov"
    assert set(result["all"]) == {
        "accuracy", "hr@5", "mrr@5", "ndcg@5", "hr@20", "mrr@20", "ndcg@20",
        "coverage@5", "popularity_bias@5", "coverage@20", "popularity_bias@20",
    }
    assert result["all"]["accuracy"] == 1.0  # a first-order chain on a cycle is always right


def test_evaluate_continuation(markov_run, capsys):
    assert main(["evaluate", str(markov_run), "--protocol", "continuation", "--json", "--quiet"]) == 0
    seeds = orjson.loads(capsys.readouterr().out)["seeds"]
    # Cycle playlists have 5 to 29 tracks: only seeds of 1, 5 and 10 leave 5 or more to guess.
    assert [name for name, figures in seeds.items() if figures["playlists"]] == ["first 1", "first 5", "first 10", "overall"]
    # The chain puts the second track first; co-occurrence fills the rest with tracks near the
    # seed on either side of the cycle, so about 0.6 of the held-out tracks make the top |G|.
    assert seeds["first 1"]["clicks"] == 0
    assert 0.5 < seeds["first 1"]["r_precision"] < 1


def test_protocol_must_match_the_holdout(markov_run, capsys):
    assert main(["evaluate", str(markov_run), "--protocol", "last"]) == 2
    assert "needs a run trained with --holdout last" in capsys.readouterr().err


def test_evaluate_rejects_non_run_folder(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "not a Segue run folder" in capsys.readouterr().err


def test_compare_writes_every_file(cycle_dataset, tmp_path):
    out = tmp_path / "report"
    arguments = ["compare", str(cycle_dataset.path), "--out", str(out), "--models", "lstm,pop,markov",
                 "--seeds", "2", "--max-steps", "15", "--embedding-dim", "16", "--hidden-size", "16", "--quiet"]
    assert main(arguments) == 0

    with open(out / "results.csv") as file:
        rows = list(csv.DictReader(file))
    assert [(row["model"], row["seed"]) for row in rows] == [("lstm", "0"), ("lstm", "1"), ("pop", "0"), ("markov", "0")]
    assert list(rows[0]) == [
        "model", "seed", "train_seconds", "steps", "stopped", "train_loss", "train_accuracy", "test_loss",
        "test_accuracy", "hr@10", "mrr@10", "ndcg@10", "in_vocabulary_hr@10", "coverage@10", "popularity_bias@10",
        "test_targets",
    ]
    assert rows[0]["steps"] == "15"
    assert rows[0]["stopped"] == "max steps"
    assert float(rows[3]["hr@10"]) == 1.0
    assert rows[2]["train_loss"] == ""  # a baseline has no loss
    assert float(rows[0]["train_loss"]) > 0

    table = (out / "results.md").read_text()
    assert "| lstm (2) |" in table
    assert "| markov (1) |" in table
    for image in ("learning_curves.png", "metrics.png"):
        assert (out / image).read_bytes().startswith(PNG_SIGNATURE)

    # A second run reuses what was evaluated instead of training again.
    checkpoint = out / "runs" / "lstm-seed1" / "best.pt"
    written = checkpoint.stat().st_mtime_ns
    assert main(arguments) == 0
    assert checkpoint.stat().st_mtime_ns == written
    with open(out / "results.csv") as file:
        assert list(csv.DictReader(file)) == rows


def test_compare_rejects_changed_settings(cycle_dataset, tmp_path, capsys):
    out = tmp_path / "report"
    arguments = ["compare", str(cycle_dataset.path), "--out", str(out), "--models", "pop", "--quiet"]
    assert main(arguments) == 0
    capsys.readouterr()

    assert main([*arguments, "--lr", "0.5"]) == 2
    assert "contains a comparison with other settings (lr was 0.001, now 0.5)" in capsys.readouterr().err
    assert main([*arguments, "--lr", "0.5", "--force"]) == 0


def test_compare_rejects_a_folder_it_did_not_write(cycle_dataset, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("keep me")
    assert main(["compare", str(cycle_dataset.path), "--out", str(tmp_path), "--models", "pop", "--force"]) == 2
    assert "not a `segue compare` report folder" in capsys.readouterr().err
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]


def test_compare_rejects_a_bad_dataset_before_writing(tmp_path, capsys):
    assert main(["compare", str(tmp_path), "--out", str(tmp_path / "report"), "--models", "pop"]) == 2
    assert "not a Segue dataset" in capsys.readouterr().err
    assert not (tmp_path / "report").exists()


def test_compare_rejects_unknown_models(cycle_dataset, tmp_path, capsys):
    assert main(["compare", str(cycle_dataset.path), "--out", str(tmp_path / "r"), "--models", "lstm,rnn"]) == 2
    assert "unknown model 'rnn'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_evaluate_last_on_a_leave_one_out_run(cycle_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(cycle_dataset.path), "--model", "markov", "--holdout", "last", "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()

    assert main(["evaluate", str(run), "--protocol", "last", "--json", "--quiet"]) == 0
    result = orjson.loads(capsys.readouterr().out)
    assert result["evaluated"] == "last tracks"
    assert result["targets"] == cycle_dataset.num_playlists  # all 200 playlists have 5 tracks or more
    assert result["all"]["hr@10"] == 1.0

    assert main(["evaluate", str(run), "--protocol", "last", "--split", "valid", "--json", "--quiet"]) == 0
    assert orjson.loads(capsys.readouterr().out)["evaluated"] == "second-last tracks"

    assert main(["evaluate", str(run), "--protocol", "next"]) == 2
    assert "--protocol next needs a run trained with --holdout playlists" in capsys.readouterr().err

    # Without --protocol, a leave-one-out run gets the one protocol it allows.
    assert main(["evaluate", str(run), "--json", "--quiet"]) == 0
    assert orjson.loads(capsys.readouterr().out)["protocol"] == "last"
