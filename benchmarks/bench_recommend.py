"""Measure recommending latency of each model: starting a session, and a thumbs-up then the next 10 songs.

The dataset is the shared MPD sample prepared with a vocabulary of exactly 25,000 tracks. Neural
models have the default sizes of `segue train` and untrained weights, because latency does not
depend on the weights. Baselines are fitted on the training split. Sessions log to a feedback file in a
temporary folder, as `segue recommend` does, so the figures include the SQLite commit of each
thumbs-up. Everything runs on one CPU thread.

    .venv/bin/python benchmarks/bench_recommend.py                     # the figures in docs/benchmarks.md
    .venv/bin/python benchmarks/bench_recommend.py --models mann --likes 100
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from segue.data import Dataset, PrepareOptions, prepare
from segue.data.holdout import training_sequences
from segue.models import MODEL_NAMES, ModelConfig, NextTrackModel
from segue.recommending import FeedbackLog, Recommender
from segue.scorers.neural import NeuralScorer
from segue.scorers.runs import BASELINES, ScorerRun
from segue.training import Settings

SHARED_DATA = Path(os.environ.get("SEGUE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def build_scorer(name: str, dataset: Dataset, settings: Settings):
    if name in BASELINES:
        baseline = BASELINES[name](settings.model, dataset.num_indices)
        baseline.fit(dataset, training_sequences(dataset, settings.train.holdout), progress=False)
        return baseline
    torch.manual_seed(0)
    return NeuralScorer(NextTrackModel(settings.model, dataset.num_indices), settings.train.max_len)


def percentiles(seconds: list[float]) -> tuple[float, float]:
    """Return p50 and p99 in milliseconds."""
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return 1000 * statistics.median(seconds), 1000 * cuts[98]


def measure(name: str, dataset: Dataset, playlists: list[list[str]], args, folder: Path) -> dict:
    settings = Settings(ModelConfig(model=name))
    scorer = build_scorer(name, dataset, settings)
    loaded = ScorerRun(folder / name, scorer, settings, dataset, {})
    recommender = Recommender(loaded, FeedbackLog(folder / f"{name}.sqlite"))
    with dataset.catalog() as catalog:
        query = "SELECT uri FROM tracks WHERE idx >= 2 AND idx < ?"
        candidates = [uri for (uri,) in catalog.execute(query, (dataset.num_indices,))]
    rng = random.Random(0)

    starts, likes, recommends = [], [], []
    sessions = []
    for number in range(args.warmup + args.starts):
        playlist = playlists[number % len(playlists)]
        began = time.perf_counter()
        session = recommender.start(playlist, playlist=f"bench:{number}")
        if number >= args.warmup:
            starts.append(time.perf_counter() - began)
        sessions.append(session)

    for number in range(args.warmup + args.likes):
        session = sessions[number % len(sessions)]
        liked = rng.choice(candidates)
        began = time.perf_counter()
        session.like(liked)
        middle = time.perf_counter()
        session.recommend(10)
        ended = time.perf_counter()
        if number >= args.warmup:
            likes.append(ended - began)
            recommends.append(ended - middle)
    recommender.close()

    start_p50, start_p99 = percentiles(starts)
    like_p50, like_p99 = percentiles(likes)
    recommend_p50, recommend_p99 = percentiles(recommends)
    return {
        "model": name, "start_p50": start_p50, "start_p99": start_p99, "like_p50": like_p50,
        "like_p99": like_p99, "recommend_p50": recommend_p50, "recommend_p99": recommend_p99,
    }


def long_playlists(dataset: Dataset, length: int, count: int) -> list[list[str]]:
    """Cut the vocabulary tracks of the test playlists, in order, into playlists of ``length`` URIs."""
    rows = dataset.playlists_in("test")
    indices = np.concatenate([dataset.sequence(row) for row in rows])
    indices = indices[indices > 1][: length * count]
    with dataset.catalog() as catalog:
        uri_of = dict(catalog.execute("SELECT idx, uri FROM tracks WHERE idx < ?", (dataset.num_indices,)).fetchall())
    uris = [uri_of[int(index)] for index in indices]
    return [uris[start : start + length] for start in range(0, len(uris) - length + 1, length)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODEL_NAMES), help="comma-separated models (default: all)")
    parser.add_argument("--vocabulary", type=int, default=25_000, help="vocabulary tracks (default: 25,000)")
    parser.add_argument("--length", type=int, default=250, help="tracks of each started playlist (default: 250)")
    parser.add_argument("--starts", type=int, default=50, help="measured session starts per model (default: 50)")
    parser.add_argument("--likes", type=int, default=1000, help="measured thumbs-up + recommend(10) per model (default: 1,000)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured calls first (default: 5)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        options = PrepareOptions(min_count=1, max_vocab=args.vocabulary)
        dataset = prepare([str(SHARED_DATA / "mpd-sample")], folder / "dataset", options, progress=False)
        playlists = long_playlists(dataset, args.length, 20)
        print(
            f"MPD sample, vocabulary {dataset.vocabulary_size:,}, {len(playlists)} playlists of {args.length} tracks, "
            f"{args.starts} starts and {args.likes} thumbs-up per model, 1 thread"
        )
        print("| model | start p50 ms | start p99 ms | like + recommend(10) p50 ms | p99 ms | recommend(10) alone p50 ms |")
        print("|---|---|---|---|---|---|")
        for name in args.models.split(","):
            r = measure(name, dataset, playlists, args, folder)
            print(
                f"| {r['model']} | {r['start_p50']:.1f} | {r['start_p99']:.1f} | {r['like_p50']:.2f} | "
                f"{r['like_p99']:.2f} | {r['recommend_p50']:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
