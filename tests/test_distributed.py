"""Distributed training under torchrun: two CPU processes on 127.0.0.1 with the gloo backend."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import torch

SETTINGS = [
    "--model", "mann", "--embedding-dim", "16", "--hidden-size", "32", "--memory-slots", "16",
    "--memory-width", "8", "--read-heads", "2", "--dropout", "0", "--epochs", "1", "--batch-size", "16",
    "--max-len", "12", "--lr", "0.01", "--warmup-steps", "5",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_segue(prefix: list[str], *args: str) -> subprocess.CompletedProcess:
    # Without GLOO_SOCKET_IFNAME, gloo picks its network interface from the host name.
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    return subprocess.run(
        [*prefix, "-m", "segue", *args], capture_output=True, text=True, env=environment, timeout=300
    )


def test_two_processes_match_one(cycle_dataset, tmp_path):
    # A probed free port can be taken before torchrun binds it; only that failure is retried.
    for _ in range(3):
        torchrun = [
            sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
            "--master-addr", "127.0.0.1", "--master-port", str(free_port()),
        ]
        distributed = run_segue(torchrun, "train", str(cycle_dataset.path), "--out", str(tmp_path / "two"), "--force", *SETTINGS)
        if "address already in use" not in distributed.stderr.lower():
            break
    assert distributed.returncode == 0, distributed.stderr
    alone = run_segue([sys.executable], "train", str(cycle_dataset.path), "--out", str(tmp_path / "one"), *SETTINGS)
    assert alone.returncode == 0, alone.stderr

    single = torch.load(tmp_path / "one" / "last.pt", weights_only=True)
    double = torch.load(tmp_path / "two" / "last.pt", weights_only=True)
    assert double["progress"]["step"] == single["progress"]["step"] == 16
    for key, value in single["model"].items():
        torch.testing.assert_close(double["model"][key], value, rtol=1e-4, atol=1e-5)
    assert abs(double["history"][0]["valid_loss"] - single["history"][0]["valid_loss"]) < 1e-4
    assert '"processes": 2' in (tmp_path / "two" / "run.json").read_text()
    # Only the main process logs the summary line.
    assert distributed.stderr.count("completed after 16 steps") == 1
