"""The `segue` command as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from conftest import shared_path


def run_segue(*arguments, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "segue", *map(str, arguments)], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_help_lists_subcommands():
    result = run_segue("--help")
    assert result.returncode == 0
    assert "prepare   read MPD slices" in result.stdout
    assert "stats     print counts" in result.stdout


def test_prepare_and_stats_on_yes_small(tmp_path):
    table = shared_path("yes-small/yes_small.tsv")
    out = tmp_path / "yes"
    result = run_segue(
        "prepare",
        table,
        "--out",
        out,
        "--track-col",
        "song_id",
        "--order-col",
        "pos",
        "--title-col",
        "title",
        "--artist-col",
        "artist",
        "--workers",
        "2",
    )
    assert result.returncode == 0, result.stderr
    assert "playlists        41,479" in result.stdout
    assert "track rows       175,881" in result.stdout
    assert "Moment 4 Life (w\\/ Drake) - Nicki Minaj" in result.stdout

    stats = run_segue("stats", out, "--json")
    assert stats.returncode == 0
    printed = json.loads(stats.stdout)
    assert (printed["playlists"], printed["track_rows"], printed["distinct_tracks"]) == (41_479, 175_881, 3042)
    assert printed["oov_rate"]["train"] == 0.0


def test_stats_on_missing_dataset(tmp_path):
    result = run_segue("stats", tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"segue stats: error: {tmp_path}: not a Segue dataset (dataset.json not found); create one with `segue prepare`"
    )
    assert result.stdout == ""


def test_quiet_prepare_prints_nothing(tmp_path):
    source = tmp_path / "mpd.slice.0-0.json"
    source.write_text(json.dumps({"playlists": [{"pid": 1, "tracks": [{"track_uri": "spotify:track:a"}]}]}))
    result = run_segue("prepare", source, "--out", tmp_path / "out", "--quiet", "--min-count", "1")
    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr == ""


def test_stats_rejects_top_zero(mpd_sample):
    result = run_segue("stats", mpd_sample.path, "--top", "0")
    assert result.returncode == 2
    assert result.stderr.strip() == "segue stats: error: --top must be at least 1, got 0"


def test_stats_into_closed_pipe(mpd_sample):
    command = f"{sys.executable} -m segue stats {mpd_sample.path} | head -1"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert result.stdout == "playlists        5,410\n"
    assert result.stderr == ""


def test_sigterm_leaves_no_partial_folder(tmp_path):
    source = shared_path("mpd-sample")
    process = subprocess.Popen(
        [sys.executable, "-m", "segue", "prepare", str(source), "--out", str(tmp_path / "out"), "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
    )
    # Wait until the build folder appears, so that the signal lands mid-run.
    deadline = time.monotonic() + 60
    while not any(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_workers_without_main_guard_fail_fast(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for pid in (1, 2):
        document = {"playlists": [{"pid": pid, "tracks": [{"track_uri": "spotify:track:a"}]}]}
        (data / f"mpd.slice.{pid}-{pid}.json").write_text(json.dumps(document))
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from segue.data import PrepareOptions, prepare\n"
        f"prepare([{str(data)!r}], {str(tmp_path / 'out')!r}, PrepareOptions(workers=2), progress=False)\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert 'must call prepare() under `if __name__ == "__main__":`' in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "unguarded.py"]


def test_interrupt_with_workers_cleans_up(tmp_path):
    source = shared_path("mpd-sample")
    process = subprocess.Popen(
        [sys.executable, "-m", "segue", "prepare", str(source), "--out", str(tmp_path / "out"), "--workers", "2"],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not any(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    # Ctrl-C in a terminal reaches the whole process group, workers included.
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=60) == 130
    assert process.stderr.read().strip().splitlines()[-1] == "segue prepare: interrupted"
    assert list(tmp_path.iterdir()) == []


def test_abandoned_partial_folder_removed(tmp_path):
    source = shared_path("mpd-all-fields")
    abandoned = tmp_path / ".out.partial-999999999"
    abandoned.mkdir()
    (abandoned / "rows.scratch").write_bytes(b"\0" * 16)
    result = run_segue("prepare", source, "--out", tmp_path / "out", "--min-count", "1")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
