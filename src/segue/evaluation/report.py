"""The comparison report: results.csv, results.md and two plots."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from segue.scorers.runs import BASELINES

K = 10
# Columns of results.csv, one row per run, and how each is read from a run's figures.
COLUMNS = {
    "model": lambda row: row["model"],
    "seed": lambda row: row["seed"],
    "train_seconds": lambda row: row["train_seconds"],
    "steps": lambda row: row["history"][-1]["step"] if row["history"] else 0,
    "stopped": lambda row: row["stopped"],
    "train_loss": lambda row: row["train"]["in_vocabulary"].get("loss", math.nan),
    "train_accuracy": lambda row: row["train"]["all"]["accuracy"],
    "test_loss": lambda row: row["test"]["in_vocabulary"].get("loss", math.nan),
    "test_accuracy": lambda row: row["test"]["all"]["accuracy"],
    f"hr@{K}": lambda row: row["test"]["all"][f"hr@{K}"],
    f"mrr@{K}": lambda row: row["test"]["all"][f"mrr@{K}"],
    f"ndcg@{K}": lambda row: row["test"]["all"][f"ndcg@{K}"],
    f"in_vocabulary_hr@{K}": lambda row: row["test"]["in_vocabulary"][f"hr@{K}"],
    f"coverage@{K}": lambda row: row["test"]["all"][f"coverage@{K}"],
    f"popularity_bias@{K}": lambda row: row["test"]["all"][f"popularity_bias@{K}"],
    "test_targets": lambda row: row["test"]["targets"],
}

# Columns of the Markdown table: (heading, column, scale, decimals); a scale of 100 shows a percentage.
TABLE = (
    ("train loss", "train_loss", 1, 3),
    ("train acc.", "train_accuracy", 100, 2),
    ("test loss", "test_loss", 1, 3),
    ("test acc.", "test_accuracy", 100, 2),
    (f"HR@{K}", f"hr@{K}", 100, 2),
    (f"MRR@{K}", f"mrr@{K}", 100, 2),
    (f"NDCG@{K}", f"ndcg@{K}", 100, 2),
    (f"coverage@{K}", f"coverage@{K}", 100, 2),
    ("pop. bias", f"popularity_bias@{K}", 1, 3),
    ("train time (s)", "train_seconds", 1, 1),
)


def write_report(out: Path, rows: list[dict], title: str) -> None:
    """Write results.csv, results.md, learning_curves.png and metrics.png into ``out``."""
    table = [{name: read(row) for name, read in COLUMNS.items()} for row in rows]
    _write_atomic(out / "results.csv", _csv(table))
    _write_atomic(out / "results.md", _markdown(table, rows, title))
    plot_learning_curves(rows, out / "learning_curves.png")
    plot_metrics(table, out / "metrics.png")


def summarise(table: list[dict]) -> dict[str, dict[str, tuple[float, float, int]]]:
    """Return (mean, standard deviation, runs) of every numeric column, by model, in first-seen order."""
    by_model: dict[str, list[dict]] = {}
    for row in table:
        by_model.setdefault(row["model"], []).append(row)
    summary = {}
    for model, runs in by_model.items():
        summary[model] = {}
        for _, column, _, _ in TABLE:
            values = np.array([run[column] for run in runs], dtype=np.float64)
            std = float(values.std(ddof=1)) if len(values) > 1 else math.nan
            summary[model][column] = (float(values.mean()), std, len(values))
    return summary


def _csv(table: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({key: _csv_value(value) for key, value in row.items()})
    return buffer.getvalue()


def _csv_value(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"  # a baseline has no loss, say
    return str(value)


def _markdown(table: list[dict], rows: list[dict], title: str) -> str:
    summary = summarise(table)
    evaluated = rows[0]["evaluated"] if rows else "test data"
    lines = [
        f"# {title}",
        "",
        f"Mean ± standard deviation over seeds (runs in brackets); figures on the {evaluated}, every "
        "target counted (OOV targets are misses), tracks already in the playlist excluded. Training "
        f"figures come from up to 500 training playlists. Loss is the mean negative log-likelihood of "
        "in-vocabulary targets; baselines have none.",
        "",
        "| model | " + " | ".join(heading for heading, _, _, _ in TABLE) + " |",
        "|---|" + "---:|" * len(TABLE),
    ]
    for model, columns in summary.items():
        runs = next(iter(columns.values()))[2]
        cells = [_cell(*columns[column][:2], scale, decimals) for _, column, scale, decimals in TABLE]
        lines.append(f"| {model} ({runs}) | " + " | ".join(cells) + " |")
    lines += ["", "![learning curves](learning_curves.png)", "", "![metrics](metrics.png)", ""]
    return "\n".join(lines)


def _cell(mean: float, std: float, scale: int, decimals: int) -> str:
    if math.isnan(mean):
        return "–"
    unit = "%" if scale == 100 else ""
    text = f"{mean * scale:.{decimals}f}{unit}"
    if not math.isnan(std):
        text += f" ± {std * scale:.{decimals}f}"
    return text


def plot_learning_curves(rows: list[dict], path: Path) -> None:
    """Training and validation loss, validation accuracy and HR@10 over steps; one colour per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # (history column, title, scale): accuracy and HR in % as in metrics.png.
    panels = (("train_loss", "training loss", 1), ("valid_loss", "validation loss", 1),
              ("valid_accuracy", "validation accuracy (%)", 100), ("valid_hr10", "validation HR@10 (%)", 100))
    figure, axes = plt.subplots(2, 2, figsize=(10, 7), dpi=80)
    colours = _colours([row["model"] for row in rows if row["model"] not in BASELINES])
    labelled = set()
    for row in rows:
        if row["model"] not in BASELINES and row["history"]:
            steps = [point["step"] for point in row["history"]]
            for axis, (key, _, scale) in zip(axes.flat, panels):
                label = row["model"] if row["model"] not in labelled else None
                values = [point[key] * scale for point in row["history"]]
                axis.plot(steps, values, marker=".", color=colours[row["model"]], label=label)
            labelled.add(row["model"])
    for axis, (_, name, _) in zip(axes.flat, panels):
        axis.set_title(name)
        axis.set_xlabel("step")
        axis.grid(alpha=0.3)
    if labelled:
        axes.flat[0].legend()
    else:
        figure.text(0.5, 0.5, "no neural model in this comparison: baselines have no learning curve", ha="center")
    figure.tight_layout()
    figure.savefig(_temporary(path), format="png")
    plt.close(figure)
    _temporary(path).replace(path)


def plot_metrics(table: list[dict], path: Path) -> None:
    """Bars of HR@10, MRR@10 and NDCG@10 per model, with the standard deviation over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarise(table)
    models = list(summary)
    metrics = (f"hr@{K}", f"mrr@{K}", f"ndcg@{K}")
    figure, axis = plt.subplots(figsize=(10, 4.5), dpi=80)
    width = 0.8 / len(metrics)
    for i, metric in enumerate(metrics):
        means = [summary[model][metric][0] * 100 for model in models]
        errors = [0 if math.isnan(summary[model][metric][1]) else summary[model][metric][1] * 100 for model in models]
        axis.bar(np.arange(len(models)) + (i - 1) * width, means, width, yerr=errors, capsize=3, label=metric.upper())
    axis.set_xticks(np.arange(len(models)), models)
    axis.set_ylabel("% of test targets")
    axis.grid(axis="y", alpha=0.3)
    axis.legend(loc="upper left", bbox_to_anchor=(1, 1))
    figure.tight_layout()
    figure.savefig(_temporary(path), format="png")
    plt.close(figure)
    _temporary(path).replace(path)


def _colours(models: list[str]) -> dict[str, tuple]:
    import matplotlib

    palette = matplotlib.colormaps["tab10"]
    distinct = list(dict.fromkeys(models))
    return {model: palette(i % 10) for i, model in enumerate(distinct)}


def _temporary(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def _write_atomic(path: Path, text: str) -> None:
    _temporary(path).write_text(text)
    _temporary(path).replace(path)
