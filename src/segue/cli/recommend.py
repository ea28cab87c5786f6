"""`segue recommend`: the next songs for a playlist from a trained run."""

from __future__ import annotations

import argparse
import sys

import numpy as np
import orjson

from segue.errors import UserError
from segue.scorers.runs import load_scorer

HELP = "print the top next songs for a playlist from a trained run"


def add_parser(subcommands) -> None:
    parser = subcommands.add_parser("recommend", help=HELP, description=HELP[0].upper() + HELP[1:] + ".")
    parser.add_argument("run_dir", metavar="RUN", help="run folder written by `segue train`: a neural model or a baseline")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--tracks", nargs="+", metavar="URI", help="the playlist as track URIs, in order")
    source.add_argument("--dataset-playlist", metavar="KEY", help="a playlist of the run's dataset, by key (such as mpd:123)")
    parser.add_argument("-k", type=int, default=10, help="how many songs to recommend (default: 10)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--dataset", metavar="DIR", help="dataset folder, if not the one the run was trained on")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.k < 1:
        raise UserError(f"-k must be at least 1, got {args.k}")
    trained = load_scorer(args.run_dir, dataset=args.dataset)
    vocabulary_end = trained.dataset.num_indices

    with trained.dataset.catalog() as catalog:
        if args.dataset_playlist is not None:
            found = catalog.execute(
                "SELECT row, name FROM playlists WHERE key = ?", (args.dataset_playlist,)
            ).fetchone()
            if found is None:
                example = catalog.execute("SELECT key FROM playlists LIMIT 1").fetchone()
                hint = f"; keys look like {example['key']!r}" if example else ""
                raise UserError(f"playlist {args.dataset_playlist!r} not found in {trained.dataset.path}{hint}")
            sequence = trained.dataset.sequence(found["row"]).tolist()
            last = trained.dataset.sequence(found["row"], full=True)[-3:].tolist()
            title = f"playlist {args.dataset_playlist}" + (f" {found['name']!r}" if found["name"] else "")
            unknown: list[str] = []
        else:
            sequence, unknown = _indices_of(catalog, args.tracks, vocabulary_end)
            last, title = sequence[-3:], "the --tracks playlist"
        known = sum(index > 1 for index in sequence)
        if known == 0:
            raise UserError(f"none of the tracks of {title} is in the model's vocabulary, so there is nothing to continue")
        header = f"{title}: {len(sequence) + len(unknown)} tracks, {known} in the model's vocabulary; ends with " + "; ".join(
            f"{row['name']} - {row['artist']}" for row in _tracks(catalog, last).values()
        )

        indices, scores = trained.scorer.recommend(np.array(sequence), args.k)
        ranked = list(zip(indices.tolist(), scores.tolist()))
        rows = _tracks(catalog, [index for index, _ in ranked])

    results = [
        {"rank": rank, "uri": rows[index]["uri"], "title": rows[index]["name"], "artist": rows[index]["artist"], "score": score}
        for rank, (index, score) in enumerate(ranked, start=1)
    ]
    if args.json:
        sys.stdout.write(orjson.dumps({"recommendations": results, "unknown": unknown}, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0

    print(header)
    if unknown:
        print(f"skipped {len(unknown)} track(s) not in the model's vocabulary: {', '.join(unknown[:5])}" + (" ..." if len(unknown) > 5 else ""))
    print(f"{'rank':>4}  {'title':<40} {'artist':<28} {'score':>8}")
    for result in results:
        print(f"{result['rank']:>4}  {_clip(result['title'], 40):<40} {_clip(result['artist'], 28):<28} {result['score']:>8.3f}")
    return 0


def _indices_of(catalog, uris: list[str], vocabulary_end: int) -> tuple[list[int], list[str]]:
    """Map URIs to vocabulary indices; return the indices in order and the URIs left out."""
    found: dict[str, int] = {}
    for begin in range(0, len(uris), 500):
        chunk = uris[begin : begin + 500]
        marks = ",".join("?" * len(chunk))
        for row in catalog.execute(f"SELECT uri, idx FROM tracks WHERE uri IN ({marks})", chunk):
            found[row["uri"]] = row["idx"]
    sequence, unknown = [], []
    for uri in uris:
        index = found.get(uri)
        if index is not None and index < vocabulary_end:
            sequence.append(index)
        else:
            unknown.append(uri)
    return sequence, unknown


def _tracks(catalog, indices: list[int]) -> dict:
    """Return catalog rows by index, in the order of ``indices``."""
    marks = ",".join("?" * len(indices))
    query = f"SELECT idx, uri, name, artist FROM tracks WHERE idx IN ({marks})"
    found = {row["idx"]: row for row in catalog.execute(query, indices)}
    return {index: found[index] for index in indices if index in found}


def _clip(text: str | None, width: int) -> str:
    text = text or "?"
    return text if len(text) <= width else text[: width - 1] + "…"
