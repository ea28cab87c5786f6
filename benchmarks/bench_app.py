"""Measure the web app's JSON API under concurrent load: latency, throughput and no lost feedback.

The dataset is the shared MPD sample prepared with the default options of `segue prepare`
(min_count 5). A neural model is trained for one step on the CPU, because latency does not depend
on the weights. A baseline is fitted on the training split. The app runs as `segue app` in its own
process on 127.0.0.1, so the clients here do not share its GIL, and logs feedback to a SQLite file
in a temporary folder. Each playlist's session is opened first by one unmeasured recommendations
request. Then the clients send a fixed number of requests, about 70% GET recommendations(k) and 30%
POST feedback (a thumbs-up or thumbs-down on one of the playlist's last recommendations).

After the load the app is stopped and its feedback log read: every feedback request that returned
a 2xx status must have its row, and no feedback response may recommend the track just rated. The
script exits with status 1 when a request failed, a row is missing, a rated track came back or
the requests did not all go out within --time-limit.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_app.py
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_app.py --model itemknn --requests 5000 --concurrency 32
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import numpy as np
import torch

from segue.data import PrepareOptions, prepare
from segue.models import MODEL_NAMES, ModelConfig
from segue.scorers.runs import train_or_fit
from segue.training import Settings
from segue.training.config import TrainConfig

SHARED_DATA = Path(os.environ.get("SEGUE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
HOST = "127.0.0.1"
FEEDBACK_SHARE = 0.3
# Maximum wait for one response in seconds. A request that takes longer counts as an error.
REQUEST_TIMEOUT_S = 30.0
# Seconds the app may take to exit after SIGINT, and then after SIGTERM, before it is sent SIGKILL.
STOP_TIMEOUT_S = 30.0
# Failed requests whose status and body are printed, so the first failures can be read.
SHOWN_FAILURES = 5


@dataclass
class Result:
    """One measured request: its kind, latency and outcome."""

    kind: str  # "recommendations" or "feedback"
    seconds: float
    status: int | None  # None when the request raised
    failure: str | None = None  # status and body, or the exception, of a failed request
    session: str | None = None
    track: str | None = None
    value: int | None = None  # +1 for like, -1 for dislike
    tracks: list[str] | None = None  # URIs recommended by a 2xx response
    rated_track_returned: bool = False


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now (another process may take it first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def prepare_run(model: str, folder: Path) -> tuple[Path, int]:
    """Prepare the MPD sample and train or fit ``model`` on it; return the run folder and the vocabulary size."""
    dataset = prepare([str(SHARED_DATA / "mpd-sample")], folder / "dataset", PrepareOptions(), progress=False)
    settings = Settings(ModelConfig(model=model), TrainConfig(max_steps=1, epochs=1, device="cpu"))
    result = train_or_fit(folder / "dataset", folder / "run", settings, progress=False)
    return result.run, dataset.vocabulary_size


def start_app(run: Path, port: int, feedback: Path, log: Path, timeout: float) -> subprocess.Popen:
    """Start `segue app` on 127.0.0.1:port and wait until GET /api/status returns 200."""
    command = [
        sys.executable, "-m", "segue", "app", "--run", str(run), "--host", HOST, "--port", str(port),
        "--feedback", str(feedback),
    ]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=environment)

    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the app exited with status {process.returncode} before it responded:\n{log.read_text()}"
                )
            try:
                if client.get("/api/status").status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    stop_app(process)
    raise RuntimeError(f"the app did not respond to GET /api/status within {timeout:.0f} s:\n{log.read_text()}")


def stop_app(process: subprocess.Popen) -> tuple[int, float]:
    """Stop the app as Ctrl-C does, escalating to SIGTERM and SIGKILL; return its exit status and the seconds taken."""
    started = time.monotonic()
    for send in (lambda: process.send_signal(signal.SIGINT), process.terminate, process.kill):
        if process.poll() is not None:
            break
        send()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            continue
    return process.wait(), time.monotonic() - started


def send_load(
    base_url: str, playlists: list[str], recommended: dict[str, list[str]], args: argparse.Namespace
) -> tuple[list[Result], float, int]:
    """Send ``args.requests`` requests from ``args.concurrency`` threads.

    Returns the results, the wall-clock seconds of the load and the number of requests not sent.

    Each thread has its own keep-alive connection. A feedback request rates a random track of the
    playlist's last recommendations, which every successful request of that playlist updates.
    """
    plan_random = random.Random(args.seed)
    plan = [
        ("feedback" if plan_random.random() < FEEDBACK_SHARE else "recommendations", plan_random.choice(playlists))
        for _ in range(args.requests)
    ]
    next_request = iter(range(len(plan)))
    shared_lock = threading.Lock()
    results: list[Result] = []
    deadline = time.monotonic() + args.time_limit

    def run_client(client_number: int) -> None:
        track_random = random.Random(args.seed * 1000 + client_number)
        with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S, trust_env=False) as client:
            while time.monotonic() < deadline:
                with shared_lock:
                    number = next(next_request, None)
                    if number is None:
                        return
                    kind, playlist = plan[number]
                    track = track_random.choice(recommended[playlist])
                value = track_random.choice((1, -1))
                result = send_one(client, kind, playlist, track, value, args.k)
                with shared_lock:
                    results.append(result)
                    if result.tracks:
                        recommended[playlist] = result.tracks

    threads = [threading.Thread(target=run_client, args=(number,), daemon=True) for number in range(args.concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        # A thread stops at the deadline, after at most one more request of REQUEST_TIMEOUT_S.
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT_S + 5)
    seconds = time.perf_counter() - started
    with shared_lock:
        done = list(results)
    return done, seconds, args.requests - len(done)


def send_one(client: httpx.Client, kind: str, playlist: str, track: str, value: int, k: int) -> Result:
    """Send one request and time it up to the last byte of the response; JSON decoding is not timed."""
    path = f"/api/playlists/{playlist}/{kind}"
    body = {"track": track, "feedback": "like" if value == 1 else "dislike", "k": k}
    began = time.perf_counter()
    try:
        if kind == "feedback":
            response = client.post(path, json=body)
        else:
            response = client.get(path, params={"k": k})
    except httpx.HTTPError as error:
        return Result(kind, time.perf_counter() - began, None, f"{type(error).__name__}: {error}")
    seconds = time.perf_counter() - began

    result = Result(kind, seconds, response.status_code)
    if not response.is_success:
        result.failure = f"{response.status_code} {response.text[:300]}"
        return result
    try:
        payload = response.json()
        result.tracks = [item["uri"] for item in payload["tracks"]]
        session = payload["session"]
    except (ValueError, KeyError, TypeError) as error:
        problem = f"{type(error).__name__}: {error}"
        result.failure = f"{response.status_code} with an invalid body ({problem}): {response.text[:300]}"
        return result
    if kind == "feedback":
        result.session, result.track, result.value = session, track, value
        result.rated_track_returned = track in result.tracks
    return result


def summarize(name: str, results: list[Result], seconds: float) -> str:
    """Return one markdown table row: count, errors, requests per second and latency percentiles."""
    if not results:
        return f"| {name} | 0 | 0 | 0.0 | - | - | - |"
    milliseconds = 1000 * np.array([result.seconds for result in results])
    p50, p99 = np.percentile(milliseconds, [50, 99])
    errors = sum(1 for result in results if result.failure is not None)
    return (
        f"| {name} | {len(results):,} | {errors} | {len(results) / seconds:.1f} | {p50:.1f} | {p99:.1f} | "
        f"{milliseconds.max():.1f} |"
    )


def logged_feedback(path: Path) -> collections.Counter:
    """Count the feedback log's rows by (session, track, value)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        rows = connection.execute("SELECT session, track, value FROM feedback").fetchall()
    return collections.Counter(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mann", choices=MODEL_NAMES, help="model of the served run (default: mann)")
    parser.add_argument("--requests", type=int, default=2000, help="measured requests in all (default: 2,000)")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads sending at once (default: 16)")
    parser.add_argument(
        "--playlists", type=int, default=50, help="test playlists the requests are spread over, at most 200 (default: 50)"
    )
    parser.add_argument("--k", type=int, default=10, help="recommendations per response (default: 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the request mix and the rated tracks (default: 0)")
    parser.add_argument(
        "--start-timeout", type=float, default=60, help="seconds to wait for the app to respond after it starts (default: 60)"
    )
    parser.add_argument(
        "--time-limit", type=float, default=300,
        help=f"seconds of load after which the clients send no new request, though each waits up to "
        f"{REQUEST_TIMEOUT_S:.0f} s for its last response (default: 300)",
    )
    args = parser.parse_args()
    if args.requests < 1 or args.concurrency < 1 or not 1 <= args.playlists <= 200 or not 1 <= args.k <= 100:
        parser.error("invalid option: --requests and --concurrency must be at least 1, --playlists between 1 and 200, "
                     "--k between 1 and 100")
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        run, vocabulary = prepare_run(args.model, folder)
        feedback_path, log_path = folder / "feedback.sqlite", folder / "app.log"
        port = free_port()
        base_url = f"http://{HOST}:{port}"
        process = start_app(run, port, feedback_path, log_path, args.start_timeout)
        try:
            with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S, trust_env=False) as client:
                response = client.get("/api/playlists", params={"limit": args.playlists})
                listed = response.raise_for_status().json()["items"]
                playlists = [item["id"] for item in listed if item["owner"] == "test split"]
                # The first request of a playlist reads it and starts its session, so it is not measured.
                recommended = {}
                for playlist in playlists:
                    response = client.get(f"/api/playlists/{playlist}/recommendations", params={"k": args.k})
                    recommended[playlist] = [item["uri"] for item in response.raise_for_status().json()["tracks"]]
                    if not recommended[playlist]:
                        raise RuntimeError(f"GET {response.url} returned no tracks to rate: {response.text}")
            results, seconds, not_sent = send_load(base_url, playlists, recommended, args)
        finally:
            exit_status, stop_seconds = stop_app(process)
        logged = logged_feedback(feedback_path)

    feedback = [result for result in results if result.kind == "feedback"]
    succeeded = collections.Counter((r.session, r.track, r.value) for r in feedback if r.failure is None)
    sent_ok, logged_rows = sum(succeeded.values()), sum(logged.values())
    lost = sent_ok - logged_rows
    unmatched = sum((succeeded - logged).values()) + sum((logged - succeeded).values())
    returned = sum(1 for result in feedback if result.rated_track_returned)
    failures = [result for result in results if result.failure is not None]

    print(
        f"segue app, {args.model}, MPD sample vocabulary {vocabulary:,}, {args.requests:,} requests over "
        f"{len(playlists)} test playlists from {args.concurrency} client threads, k={args.k}, "
        f"{os.cpu_count()} CPU cores shared by the app and the clients, OMP_NUM_THREADS=1"
    )
    print("| requests | count | errors | requests/s | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|---|")
    print(summarize("all", results, seconds))
    print(summarize("GET recommendations", [r for r in results if r.kind == "recommendations"], seconds))
    print(summarize("POST feedback", feedback, seconds))
    print(
        f"feedback log: {sent_ok:,} feedback requests returned 2xx, {logged_rows:,} rows logged, lost {lost}, "
        f"{unmatched} rows without a matching request or the reverse; {returned} feedback responses "
        f"recommended the rated track; the app exited with status {exit_status} {stop_seconds:.1f} s after SIGINT"
    )
    for result in failures[:SHOWN_FAILURES]:
        print(f"failed {result.kind} request: {result.failure}")

    problems = []
    if not_sent:
        problems.append(f"{not_sent:,} requests were not sent within --time-limit {args.time_limit:g} s")
    if failures:
        problems.append(f"{len(failures):,} requests failed (a non-2xx status or an exception)")
    if lost or unmatched:
        problems.append(f"the feedback log lost {lost} rows ({unmatched} rows do not match a request)")
    if returned:
        problems.append(f"{returned} feedback responses recommended the track just rated")
    if problems:
        print("FAILED: " + "; ".join(problems), file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
