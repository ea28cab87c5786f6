"""Per-epoch metrics: a CSV file for scripts and TensorBoard for plots."""

from __future__ import annotations

import csv
import io
from pathlib import Path

COLUMNS = (
    "epoch",
    "step",
    "seconds",
    "lr",
    "train_loss",
    "valid_loss",
    "valid_accuracy",
    "valid_hr10",
    "sequences_per_second",
)


class MetricsLog:
    """Write ``metrics.csv`` and TensorBoard events in a run folder.

    The CSV file is rewritten whole from the history at every epoch, so a resumed run never
    repeats the rows of epochs that ran after its last checkpoint.
    """

    def __init__(self, run: Path, tensorboard: bool = True) -> None:
        self.path = run / "metrics.csv"
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # imported late: loading TensorBoard is slow

            self.writer = SummaryWriter(log_dir=str(run / "tensorboard"))

    def write(self, history: list[dict]) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in history:
            writer.writerow({key: _format(row[key]) for key in COLUMNS})
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(buffer.getvalue())
        temporary.replace(self.path)

        if self.writer is not None and history:
            row = history[-1]
            for key in COLUMNS[3:]:
                self.writer.add_scalar(key.replace("_", "/", 1), row[key], row["step"])
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
