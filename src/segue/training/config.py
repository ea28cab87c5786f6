"""Training settings, read from a TOML file with command-line overrides and saved with the run.

A settings file has two tables, ``[model]`` with the fields of ``ModelConfig`` and ``[train]``
with those of ``TrainConfig``; every key is optional. ``segue train --help`` lists them all.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from segue.data.holdout import HOLDOUTS
from segue.data.tables import parse_duration
from segue.errors import UserError
from segue.models import ModelConfig

DEVICES = ("auto", "cpu", "cuda")
SCHEDULES = ("cosine", "constant")


@dataclass
class TrainConfig:
    """Settings of the training loop. Each field's ``help`` is shown by ``segue train --help``."""

    epochs: int = field(default=10, metadata={"help": "passes over the training playlists"})
    max_steps: int = field(default=0, metadata={"help": "stop after this many optimiser steps in all; 0 for no limit"})
    batch_size: int = field(default=64, metadata={"help": "windows per optimiser step, over all processes together"})
    max_len: int = field(default=100, metadata={"help": "steps per window; longer playlists are cut into windows"})
    lr: float = field(default=1e-3, metadata={"help": "peak learning rate of AdamW"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    schedule: str = field(default="cosine", metadata={"help": "learning-rate schedule after warm-up: cosine (to lr/10) or constant"})
    warmup_steps: int = field(default=100, metadata={"help": "steps of linear warm-up from lr/100"})
    clip_norm: float = field(default=1.0, metadata={"help": "maximum gradient norm; 0 turns clipping off"})
    patience: int = field(default=3, metadata={"help": "epochs without a lower validation loss before stopping; 0 never stops early"})
    time_budget: str = field(default="", metadata={"help": "stop after this much training time, such as 90s, 5m or 2h; empty for no limit"})
    seed: int = field(default=0, metadata={"help": "seed for initial weights, window order and dropout"})
    device: str = field(default="auto", metadata={"help": "auto (cuda when available), cpu or cuda"})
    amp: bool = field(default=True, metadata={"help": "mixed precision (bfloat16) on CUDA; ignored on CPU"})
    checkpoint_every: int = field(default=0, metadata={"help": "also save the last checkpoint every this many steps; 0 saves once per epoch"})
    holdout: str = field(
        default="playlists",
        metadata={
            "help": "what is held out for validation and test: playlists (whole valid and test playlists) "
            "or last (each playlist's last two tracks, leave-one-out)"
        },
    )

    def time_budget_seconds(self) -> float | None:
        return parse_duration(self.time_budget) if self.time_budget else None

    def validate(self) -> list[str]:
        """Return one message per invalid field."""
        problems = []
        for name in ("epochs", "batch_size", "max_len"):
            if getattr(self, name) < 1:
                problems.append(f"{name}: must be at least 1, got {getattr(self, name)}")
        for name in ("max_steps", "warmup_steps", "patience", "checkpoint_every", "weight_decay", "clip_norm"):
            if getattr(self, name) < 0:
                problems.append(f"{name}: must be at least 0, got {getattr(self, name)}")
        if not self.lr > 0:
            problems.append(f"lr: must be positive, got {self.lr}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule: unknown schedule {self.schedule!r}; expected one of {', '.join(SCHEDULES)}")
        if self.device not in DEVICES:
            problems.append(f"device: unknown device {self.device!r}; expected one of {', '.join(DEVICES)}")
        if self.holdout not in HOLDOUTS:
            problems.append(f"holdout: unknown holdout {self.holdout!r}; expected one of {', '.join(HOLDOUTS)}")
        if self.time_budget:
            try:
                self.time_budget_seconds()
            except UserError as error:
                problems.append(f"time_budget: {error}")
        return problems


@dataclass
class Settings:
    """The model and training settings of one run."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return {"model": dataclasses.asdict(self.model), "train": dataclasses.asdict(self.train)}

    @classmethod
    def from_dict(cls, data: dict, source: str) -> "Settings":
        """Build settings from ``{"model": {...}, "train": {...}}``; ``source`` names it in errors."""
        unknown = set(data) - {"model", "train"}
        if unknown:
            raise UserError(f"{source}: unknown table [{sorted(unknown)[0]}]; expected [model] and [train]")
        model = _build(ModelConfig, data.get("model", {}), f"{source}: [model]")
        train = _build(TrainConfig, data.get("train", {}), f"{source}: [train]")
        settings = cls(model, train)
        settings.check(source)
        return settings

    def check(self, source: str) -> None:
        problems = [f"[model] {p}" for p in self.model.validate()] + [f"[train] {p}" for p in self.train.validate()]
        if self.model.model == "sasrec" and self.model.max_positions < self.train.max_len:
            # A training window has max_len input steps, and each needs its own position embedding.
            problems.append(
                f"[model] max_positions: {self.model.max_positions} must be at least [train] max_len "
                f"({self.train.max_len}) for sasrec; raise max_positions or lower max_len"
            )
        if problems:
            raise UserError(f"{source}: invalid settings: " + "; ".join(problems))

    def save(self, path: Path) -> None:
        """Write the settings as TOML, atomically."""
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(tomli_w.dumps(self.to_dict()).encode())
        temporary.replace(path)


def load_settings(path: str | Path) -> Settings:
    """Read settings from a TOML file; missing keys keep their defaults."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: settings file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: invalid TOML: {error}") from None
    return Settings.from_dict(data, str(path))


def _build(kind: type, values: dict, where: str):
    if not isinstance(values, dict):
        raise UserError(f"{where}: expected a table of settings")
    fields = {f.name: f for f in dataclasses.fields(kind)}
    for key, value in values.items():
        if key not in fields:
            raise UserError(f"{where}: unknown setting {key!r}; `segue train --help` lists the settings")
        expected = type(fields[key].default)
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise UserError(f"{where}: {key}: expected {expected.__name__}, got {value!r}")
    return kind(**{key: (float(v) if type(fields[key].default) is float else v) for key, v in values.items()})
