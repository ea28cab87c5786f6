"""Benchmark `segue prepare` against a naive json.load reader on MPD slice files.

What it measures, each contender in its own fresh Python process:

- throughput (playlists, track rows and MB of JSON per second) and peak memory of
  ``segue.data.prepare`` with 1 and with 2 worker processes, next to a naive reader that calls
  ``json.load`` on each file and numbers track URIs with a dict in plain Python loops;
- the throughput ratio of ``prepare`` to the naive reader;
- an estimate of the time ``prepare`` needs for the full Million Playlist Dataset, scaled once by
  track rows and once by bytes of JSON;
- peak memory of ``prepare`` on the first 25 %, 50 % and 100 % of the files, next to the number
  of distinct tracks, to show whether memory follows the vocabulary or the input size.

Peak memory is ``ru_maxrss`` from ``resource.getrusage``. RUSAGE_SELF covers the measuring
process itself. RUSAGE_CHILDREN reports only the largest finished worker, so the total for
``--workers N`` is given as an upper bound: main + N x largest worker.

Run it from the repository root:

    .venv/bin/python benchmarks/bench_prepare.py            # 3 runs per contender, about 1 minute
    .venv/bin/python benchmarks/bench_prepare.py --quick    # 1 run per contender, under 30 seconds

It prints Markdown tables to stdout and progress to stderr. Datasets are written to a temporary
folder that is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPOSITORY / ".." / "shared" / "data" / "mpd-sample"

# Size of the full Million Playlist Dataset, as published with the dataset: 1,000 slice files.
FULL_MPD_PLAYLISTS = 1_000_000
FULL_MPD_ROWS = 66_346_428
FULL_MPD_BYTES = 33_000_000_000  # about 33 GB of JSON; an approximate figure, not an exact count

TARGET_RATIO = 3.0  # prepare must reach at least this multiple of the naive reader's throughput
TARGET_FULL_MINUTES = 15.0

RESULT_PREFIX = "RESULT "  # marks the JSON line that a measuring process prints on stdout
SLICE_FILE = re.compile(r"^mpd\.slice\..+\.json$")


# Measuring process: one contender, one run, one JSON line on stdout.


def natural_key(path: Path) -> list:
    """Sort key that puts ``mpd.slice.1000-1999.json`` after ``mpd.slice.999-...``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def slice_files(data: Path) -> list[Path]:
    """Return the folder's MPD slice files in the order `segue prepare` reads them."""
    files = sorted((p for p in data.iterdir() if p.is_file() and SLICE_FILE.match(p.name)), key=natural_key)
    if not files:
        raise SystemExit(f"{data}: no mpd.slice.*.json files found; pass the MPD sample folder with --data")
    return files


def first_files(data: Path, fraction: float) -> list[Path]:
    """Return the first ``fraction`` of the slice files, at least one."""
    files = slice_files(data)
    count = max(1, round(len(files) * fraction))
    return files[:count]


def read_naive(files: list[Path]) -> dict:
    """Read every playlist with json.load and number its tracks the way a short research script would."""
    vocabulary: dict[str, int] = {}
    sequences: list[list[int]] = []
    for path in files:
        with open(path, encoding="utf-8") as file:
            document = json.load(file)
        for playlist in document["playlists"]:
            sequence = []
            for track in playlist["tracks"]:
                uri = track["track_uri"]
                index = vocabulary.get(uri)
                if index is None:
                    index = len(vocabulary)
                    vocabulary[uri] = index
                sequence.append(index)
            sequences.append(sequence)
    return {
        "playlists": len(sequences),
        "rows": sum(len(sequence) for sequence in sequences),
        "distinct_tracks": len(vocabulary),
    }


def run_prepare(data: Path, files: list[Path], workers: int, whole_folder: bool) -> dict:
    """Prepare the files into a temporary folder and return the counts of the written dataset."""
    from segue.data import PrepareOptions, prepare

    # A named folder is what a user passes; a subset has to be named file by file.
    sources = [str(data)] if whole_folder else [str(path) for path in files]
    scratch = Path(tempfile.mkdtemp(prefix="bench-prepare-"))
    try:
        dataset = prepare(sources, scratch / "dataset", PrepareOptions(workers=workers), force=True, progress=False)
        return {
            "playlists": dataset.num_playlists,
            "rows": int(len(dataset.tracks)),
            "distinct_tracks": int(dataset.info["distinct_tracks"]),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def measure_once(contender: str, data: Path, workers: int, fraction: float, name_files: bool) -> None:
    """Run one contender once in this process and print its figures as a JSON line."""
    files = first_files(data, fraction)
    size = sum(path.stat().st_size for path in files)
    if contender == "prepare":
        import segue.data  # noqa: F401  (imported before the clock starts, like numpy for the naive reader)

    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if contender == "naive":
        counts = read_naive(files)
    else:
        counts = run_prepare(data, files, workers, whole_folder=not name_files)
    seconds = time.perf_counter() - started

    result = {
        "contender": contender,
        "workers": workers if contender == "prepare" else 0,
        "fraction": fraction,
        "files": len(files),
        "bytes": size,
        "seconds": seconds,
        "start_rss_kib": start_rss,
        "self_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "children_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        **counts,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# Driver: starts one fresh process per run, collects medians, prints Markdown.


def spawn(contender: str, data: Path, workers: int, fraction: float, name_files: bool) -> dict:
    """Run one measurement in a fresh interpreter and return its result with the process wall time."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--run",
        contender,
        "--data",
        str(data),
        "--workers",
        str(workers),
        "--fraction",
        str(fraction),
    ]
    if name_files:
        command.append("--name-files")
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"measurement failed: {' '.join(command)}\n{completed.stderr}")
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if len(lines) != 1:
        raise SystemExit(f"measurement printed no result: {' '.join(command)}\n{completed.stdout}\n{completed.stderr}")
    result = json.loads(lines[0][len(RESULT_PREFIX) :])
    result["process_seconds"] = wall
    return result


def measure(
    label: str, contender: str, data: Path, workers: int, fraction: float, repeats: int, name_files: bool = False
) -> dict:
    """Run a contender ``repeats`` times and return the median of each figure."""
    runs = []
    for number in range(repeats):
        result = spawn(contender, data, workers, fraction, name_files)
        print(f"  {label} run {number + 1}/{repeats}: {result['seconds']:.2f} s", file=sys.stderr, flush=True)
        runs.append(result)

    for key in ("playlists", "rows", "distinct_tracks", "files", "bytes"):
        if len({run[key] for run in runs}) != 1:
            raise SystemExit(f"{label}: runs disagree on {key}: {[run[key] for run in runs]}")

    summary = dict(runs[0])
    for key in ("seconds", "process_seconds", "start_rss_kib", "self_rss_kib", "children_rss_kib"):
        summary[key] = statistics.median(run[key] for run in runs)
    summary["seconds_min"] = min(run["seconds"] for run in runs)
    summary["seconds_max"] = max(run["seconds"] for run in runs)
    summary["label"] = label
    summary["repeats"] = repeats
    return summary


def mib(kib: float) -> float:
    return kib / 1024


def peak_total_mib(result: dict) -> float:
    """Return main + workers x largest worker peak RSS in MiB, an upper bound of the combined peak."""
    return mib(result["self_rss_kib"] + result["workers"] * result["children_rss_kib"])


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def cpu_model() -> str:
    """Return the CPU model name as lscpu prints it, or from /proc/cpuinfo when lscpu is missing."""
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in output.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_machine(data: Path) -> None:
    import numpy
    import orjson

    import segue

    print("## Machine\n")
    print(f"- CPU: {cpu_model()}, {len(os.sched_getaffinity(0))} cores usable (nproc)")
    print(f"- Python {platform.python_version()}, numpy {numpy.__version__}, orjson {orjson.__version__}, segue {segue.__version__}")
    print(f"- Data: `{os.path.relpath(data, REPOSITORY)}`\n")


def print_throughput(naive: dict, prepares: list[dict]) -> None:
    print("## Throughput and peak memory\n")
    print(
        f"Median of {naive['repeats']} runs, each in a fresh process; {naive['files']} files, "
        f"{naive['playlists']:,} playlists, {naive['rows']:,} track rows, {naive['bytes'] / 1e6:.1f} MB of JSON. "
        "Seconds cover the work only, not interpreter start and imports; the process column includes them.\n"
    )
    print(
        "| contender | seconds (min-max) | process s | playlists/s | track rows/s | MB/s "
        "| peak RSS main MiB | peak RSS largest worker MiB | peak RSS total MiB (upper bound) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for result in [naive, *prepares]:
        seconds = result["seconds"]
        worker = f"{mib(result['children_rss_kib']):.0f}" if result["workers"] > 1 else "-"
        print(
            f"| {result['label']} | {seconds:.2f} ({result['seconds_min']:.2f}-{result['seconds_max']:.2f}) "
            f"| {result['process_seconds']:.2f} | {result['playlists'] / seconds:,.0f} | {result['rows'] / seconds:,.0f} "
            f"| {result['bytes'] / 1e6 / seconds:.1f} | {mib(result['self_rss_kib']):.0f} | {worker} "
            f"| {peak_total_mib(result):.0f} |"
        )
    print()

    print("| contender | throughput / naive | target |")
    print("|---|---|---|")
    for result in prepares:
        ratio = naive["seconds"] / result["seconds"]
        verdict = "met" if ratio >= TARGET_RATIO else "missed"
        print(f"| {result['label']} | {ratio:.2f}x | at least {TARGET_RATIO:.0f}x: {verdict} |")
    print()


def print_extrapolation(prepares: list[dict]) -> None:
    sample = prepares[0]
    print("## Estimate for the full MPD\n")
    print(
        f"An estimate, not a measurement: the sample's throughput scaled to {FULL_MPD_PLAYLISTS:,} playlists, "
        f"{FULL_MPD_ROWS:,} track rows and about {FULL_MPD_BYTES / 1e9:.0f} GB of JSON. The sample has "
        f"{sample['bytes'] / sample['rows']:.0f} bytes per track row and the full files about "
        f"{FULL_MPD_BYTES / FULL_MPD_ROWS:.0f}, because fields were removed from the sample, so the two scalings "
        "disagree. The conservative estimate is the slower one.\n"
    )
    print("| contender | by track rows | by bytes | conservative estimate | target |")
    print("|---|---|---|---|---|")
    for result in prepares:
        by_rows = FULL_MPD_ROWS / (result["rows"] / result["seconds"])
        by_bytes = FULL_MPD_BYTES / (result["bytes"] / result["seconds"])
        slower = max(by_rows, by_bytes)
        verdict = "met" if slower < TARGET_FULL_MINUTES * 60 else "missed"
        print(
            f"| {result['label']} | {minutes(by_rows)} | {minutes(by_bytes)} | {minutes(slower)} "
            f"| under {TARGET_FULL_MINUTES:.0f} min: {verdict} |"
        )
    print()


def print_scaling(scaling: list[tuple[dict, dict]]) -> None:
    print("## Peak memory against the number of files\n")
    print(
        "`prepare --workers 1` on the first part of the files, named one by one; the naive reader on the same "
        "files for comparison. Start RSS is the process after imports, before reading.\n"
    )
    print(
        "| files | playlists | track rows | distinct tracks | prepare start RSS MiB | prepare peak RSS MiB "
        "| prepare growth MiB | naive peak RSS MiB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for result, naive in scaling:
        growth = mib(result["self_rss_kib"] - result["start_rss_kib"])
        print(
            f"| {result['files']} ({result['fraction']:.0%}) | {result['playlists']:,} | {result['rows']:,} "
            f"| {result['distinct_tracks']:,} | {mib(result['start_rss_kib']):.0f} | {mib(result['self_rss_kib']):.0f} "
            f"| {growth:.0f} | {mib(naive['self_rss_kib']):.0f} |"
        )
    first, last = scaling[0][0], scaling[-1][0]
    tracks = last["distinct_tracks"] - first["distinct_tracks"]
    rows = last["rows"] - first["rows"]
    growth_kib = last["self_rss_kib"] - first["self_rss_kib"]
    if tracks > 0 and rows > 0:
        print(
            f"\nFrom the smallest to the largest run, prepare's peak RSS grows by {mib(growth_kib):.0f} MiB: "
            f"{growth_kib * 1024 / tracks:.0f} bytes per added distinct track, "
            f"{growth_kib * 1024 / rows:.0f} bytes per added track row.\n"
        )


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of mpd.slice.*.json files (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per contender; the median is reported (default: 3)")
    parser.add_argument("--quick", action="store_true", help="one run per contender, for a check in under 30 seconds")
    parser.add_argument(
        "--run", choices=("naive", "prepare"), help="internal: measure one contender once in this process and print JSON"
    )
    parser.add_argument("--workers", type=int, default=1, help="internal, with --run: prepare worker processes")
    parser.add_argument("--fraction", type=float, default=1.0, help="internal, with --run: share of the files to read")
    parser.add_argument(
        "--name-files", action="store_true", help="internal, with --run: pass prepare each file instead of the folder"
    )
    arguments = parser.parse_args()
    if arguments.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {arguments.repeats}")
    if not 0 < arguments.fraction <= 1:
        parser.error(f"--fraction must be in (0, 1], got {arguments.fraction}")
    if not arguments.data.is_dir():
        parser.error(f"--data {arguments.data}: folder not found")
    return arguments


def main() -> None:
    arguments = parse_arguments()
    data = arguments.data.resolve()
    if arguments.run:
        measure_once(arguments.run, data, arguments.workers, arguments.fraction, arguments.name_files)
        return

    repeats = 1 if arguments.quick else arguments.repeats
    print(f"benchmarking prepare on {data}, {repeats} run(s) per contender", file=sys.stderr)
    naive = measure("naive json.load reader", "naive", data, 0, 1.0, repeats)
    prepares = [measure(f"prepare --workers {workers}", "prepare", data, workers, 1.0, repeats) for workers in (1, 2)]

    scaling = []
    for fraction in (0.25, 0.5, 1.0):
        scaled = measure(f"prepare {fraction:.0%} of files", "prepare", data, 1, fraction, repeats, name_files=True)
        scaled_naive = measure(f"naive {fraction:.0%} of files", "naive", data, 0, fraction, repeats)
        scaling.append((scaled, scaled_naive))

    print("# segue prepare benchmark\n")
    print_machine(data)
    print_throughput(naive, prepares)
    print_extrapolation(prepares)
    print_scaling(scaling)


if __name__ == "__main__":
    main()
