"""The training loop behind `segue train`."""

from __future__ import annotations

import gc
import logging
import math
import os
import shutil
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import orjson
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from segue import __version__
from segue.data.dataset import Dataset
from segue.data.holdout import held_out_sequences, split_label, training_sequences
from segue.errors import UserError
from segue.models import NextTrackModel
from segue.training.checkpoint import BEST, LAST, load_checkpoint, save_checkpoint, vocabulary_fingerprint
from segue.training.config import Settings
from segue.training.distributed import start_process_group, stop_process_group
from segue.training.metrics import MetricsLog
from segue.training.validation import validate
from segue.training.windows import Windows

logger = logging.getLogger(__name__)

RUN_INFO = "run.json"
SETTINGS_FILE = "settings.toml"


class TrainingDiverged(UserError):
    """The loss became NaN or infinite."""


@dataclass
class TrainResult:
    run: Path
    stopped: str  # "completed", "early stopping", "time budget", "max steps" or "interrupted"
    step: int
    best_valid_loss: float
    history: list[dict] = field(default_factory=list)


class _LossStep(nn.Module):
    """Wrap the model's loss as ``forward``, because DistributedDataParallel hooks only ``forward``."""

    def __init__(self, model: NextTrackModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.loss(inputs, targets)


def resolve_device(name: str, process_local_rank: int = 0) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: CUDA is not available on this machine; use --device cpu or auto")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda", process_local_rank)


def learning_rate(settings: Settings, step: int, total_steps: int) -> float:
    """Linear warm-up from lr/100, then constant or cosine decay to lr/10 at the last step."""
    train = settings.train
    if step < train.warmup_steps:
        return train.lr * (0.01 + 0.99 * step / train.warmup_steps)
    if train.schedule == "constant":
        return train.lr
    progress = min(1.0, (step - train.warmup_steps) / max(1, total_steps - train.warmup_steps))
    return train.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def train(
    dataset_path: str | Path,
    run: str | Path,
    settings: Settings,
    *,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
    stop: threading.Event | None = None,
    on_step: Callable[[int], None] | None = None,
) -> TrainResult:
    """Train a model on a dataset folder and write the run folder.

    With ``resume``, continue from the run's last checkpoint, exactly where it stopped. Setting
    ``stop`` ends training after the current step with a checkpoint, so the run can resume.
    ``on_step`` is called with the global step after every optimiser step.
    """
    run = Path(run)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(settings.train.device, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)  # NCCL uses the current device of each process
    process = start_process_group(device.type)
    finished, trainer = False, None
    try:
        trainer = _Trainer(dataset_path, run, settings, device, process, resume, force, progress, stop, on_step)
        result = trainer.run()
        finished = True
        return result
    finally:
        # Free the DistributedDataParallel wrapper before its process group: gloo threads that
        # still hold its buffers when the interpreter shuts down make the process abort.
        trainer = None
        gc.collect()
        stop_process_group(finished)


class _Trainer:
    def __init__(self, dataset_path, run, settings, device, process, resume, force, progress, stop, on_step) -> None:
        self.run_dir, self.settings, self.device, self.process = run, settings, device, process
        self.progress, self.stop, self.on_step = progress, stop or threading.Event(), on_step
        config = settings.train

        self.dataset = Dataset.load(dataset_path)
        self.fingerprint = vocabulary_fingerprint(self.dataset)
        checkpoint = load_checkpoint(run / LAST, self.fingerprint) if resume else None
        if process.main and not resume:
            create_run_folder(run, force)
            write_run_info(run, self.dataset, self.fingerprint, process.world_size)
        if settings.model.output == "bloom" and not settings.model.bloom_dim:
            # Save the width in use, so the settings still hold if the vocabulary changes.
            settings.model.bloom_dim = settings.model.resolved_bloom_dim(self.dataset.num_indices)
        if process.main:
            settings.save(run / SETTINGS_FILE)

        holdout = config.holdout
        self.train_windows = Windows(training_sequences(self.dataset, holdout), config.max_len)
        self.valid_windows = Windows(
            held_out_sequences(self.dataset, holdout, "valid"), config.max_len, last_target_only=holdout == "last"
        )
        if len(self.train_windows) == 0:
            raise UserError(
                f"{dataset_path}: nothing to train on with --holdout {holdout}: "
                "no training sequence has an in-vocabulary next track"
            )
        if len(self.valid_windows) == 0:
            logger.warning(
                "no in-vocabulary validation targets (%s): no validation metrics and no early stopping",
                split_label(holdout, "valid"),
            )

        # Every process builds the same initial weights; dropout then draws from its own stream.
        torch.manual_seed(config.seed)
        self.model = NextTrackModel(settings.model, self.dataset.num_indices).to(device)
        if process.rank > 0:
            torch.manual_seed(config.seed + 7919 * process.rank)
        step_module = _LossStep(self.model)
        if process.distributed:
            device_ids = [device.index] if device.type == "cuda" else None
            step_module = DistributedDataParallel(step_module, device_ids=device_ids)
        self.step_module = step_module
        self.optimizer = _adamw(self.model, config.lr, config.weight_decay)
        self.amp = torch.autocast("cuda", dtype=torch.bfloat16) if config.amp and device.type == "cuda" else nullcontext()

        self.epoch, self.batch, self.step = 0, 0, 0
        self.best_valid_loss, self.bad_epochs = math.inf, 0
        self.train_loss_sum, self.train_count = 0.0, 0
        self.history: list[dict] = []
        self.elapsed = 0.0
        if checkpoint is not None:
            self._restore(checkpoint)

    def _restore(self, checkpoint: dict) -> None:
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        progress = checkpoint["progress"]
        self.epoch, self.batch, self.step = progress["epoch"], progress["batch"], progress["step"]
        self.best_valid_loss, self.bad_epochs = progress["best_valid_loss"], progress["bad_epochs"]
        self.train_loss_sum, self.train_count = progress["train_loss_sum"], progress["train_count"]
        self.elapsed = progress["elapsed"]
        self.history = list(checkpoint["history"])
        if self.process.main:
            torch.set_rng_state(checkpoint["rng"]["cpu"])
            if self.device.type == "cuda" and "cuda" in checkpoint["rng"]:
                torch.cuda.set_rng_state(checkpoint["rng"]["cuda"], self.device)
        else:
            # Limitation: only the main process's random state is saved, so dropout on the other
            # processes of a resumed distributed run draws a new, seeded stream.
            torch.manual_seed(self.settings.train.seed + 7919 * self.process.rank + self.step)
        logger.info("resuming %s at epoch %d, step %d", self.run_dir, self.epoch + 1, self.step)

    def run(self) -> TrainResult:
        config = self.settings.train
        metrics = MetricsLog(self.run_dir) if self.process.main else None
        budget = config.time_budget_seconds()
        started = time.monotonic()
        batches_per_epoch = self.train_windows.num_batches(config.batch_size)
        total_steps = config.epochs * batches_per_epoch
        if config.max_steps:
            total_steps = min(total_steps, config.max_steps)
        stopped = "completed"
        if self.process.main:
            logger.info(
                "training %s on %d windows (%d for validation), %d batches per epoch, %d parameters",
                self.settings.model.model, len(self.train_windows), len(self.valid_windows),
                batches_per_epoch, sum(p.numel() for p in self.model.parameters()),
            )

        try:
            while self.epoch < config.epochs:
                epoch_started = time.monotonic()
                windows_done, interruption = self._train_epoch(total_steps, batches_per_epoch, started, budget)
                seconds = time.monotonic() - epoch_started
                self.elapsed += seconds

                if interruption == "interrupted":
                    stopped = interruption
                    self._save(LAST)
                    break
                self._end_epoch(metrics, batches_per_epoch, windows_done / max(seconds, 1e-9))
                if self.batch >= batches_per_epoch:
                    self.epoch, self.batch = self.epoch + 1, 0
                    self.train_loss_sum, self.train_count = 0.0, 0
                self._save(LAST)

                if interruption in ("time budget", "max steps"):
                    stopped = interruption
                    break
                if config.patience and self.bad_epochs >= config.patience:
                    stopped = "early stopping"
                    break
        finally:
            if metrics is not None:
                metrics.close()

        if self.process.main:
            best = f"{self.best_valid_loss:.4f}" if math.isfinite(self.best_valid_loss) else "none yet"
            steps = f"{self.step} step" + ("" if self.step == 1 else "s")
            logger.info("%s after %s; best validation loss %s; run in %s", stopped, steps, best, self.run_dir)
        return TrainResult(self.run_dir, stopped, self.step, self.best_valid_loss, self.history)

    def _train_epoch(
        self, total_steps: int, batches_per_epoch: int, started: float, budget: float | None
    ) -> tuple[int, str | None]:
        """Train from the current batch to the end of the epoch, or until a stop or the time budget.

        Returns the number of windows trained on, and "interrupted", "time budget", "max steps"
        or None.
        """
        config, process = self.settings.train, self.process
        order = self.train_windows.order(config.seed, self.epoch, config.batch_size)
        bar = tqdm(
            total=batches_per_epoch, initial=self.batch, unit="batch", leave=False,
            desc=f"epoch {self.epoch + 1}/{config.epochs}", mininterval=0.5,
            # None turns the bar off when standard error is not a terminal, as in logs and CI.
            disable=None if self.progress and process.main else True,
        )
        windows_done, last_tick, interruption = 0, time.monotonic(), None
        self.model.train()
        for windows in self.train_windows.batches(order, config.batch_size, self.batch):
            mine = windows[process.rank :: process.world_size]
            if len(windows) < process.world_size:
                # Too small a last batch to give every process a window: skip it on all of them.
                self.batch += 1
                continue
            tokens = self.train_windows.batch(mine).to(self.device)
            lr = learning_rate(self.settings, self.step, total_steps)
            for group in self.optimizer.param_groups:
                group["lr"] = lr

            with self.amp:
                loss_sum, count = self.step_module(tokens[:, :-1], tokens[:, 1:])
            totals = process.all_sum(torch.stack([loss_sum.detach().double(), count.double()]))
            global_loss, global_count = totals.tolist()
            if not math.isfinite(global_loss):
                raise TrainingDiverged(
                    f"the training loss became {global_loss} at epoch {self.epoch + 1}, step {self.step + 1}; "
                    f"the last good checkpoint is {self.run_dir / LAST}. Lower --lr or --clip-norm and train again"
                )

            # DistributedDataParallel averages gradients over processes, so scaling by the world
            # size makes the gradient that of the global mean over all targets of the batch.
            loss = loss_sum * (process.world_size / max(global_count, 1.0))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.clip_norm > 0:
                nn.utils.clip_grad_norm_(self.model.parameters(), config.clip_norm)
            self.optimizer.step()

            self.step += 1
            self.batch += 1
            self.train_loss_sum += global_loss
            self.train_count += int(global_count)
            windows_done += len(windows)
            now = time.monotonic()
            bar.update(1)
            bar.set_postfix(loss=f"{global_loss / max(global_count, 1):.3f}", seq_s=f"{len(windows) / max(now - last_tick, 1e-9):.0f}")
            last_tick = now
            if self.on_step is not None:
                self.on_step(self.step)
            if config.checkpoint_every and self.step % config.checkpoint_every == 0:
                self._save(LAST)

            over_budget = budget is not None and now - started >= budget
            stop_requested, over_budget = process.any_of([self.stop.is_set(), over_budget], self.device)
            if stop_requested:
                interruption = "interrupted"
                break
            if over_budget:
                interruption = "time budget"
                break
            if config.max_steps and self.step >= config.max_steps:
                interruption = "max steps"
                break
        bar.close()
        return windows_done, interruption

    def _end_epoch(self, metrics: MetricsLog | None, batches_per_epoch: int, sequences_per_second: float) -> None:
        config = self.settings.train
        scores = validate(self.model, self.valid_windows, config.batch_size, self.device, self.process)
        row = {
            "epoch": round(self.epoch + self.batch / batches_per_epoch, 4),
            "step": self.step,
            "seconds": round(self.elapsed, 2),
            "lr": self.optimizer.param_groups[0]["lr"],
            "train_loss": self.train_loss_sum / max(self.train_count, 1),
            **scores,
            "sequences_per_second": round(sequences_per_second, 1),
        }
        self.history.append(row)

        valid_loss = scores["valid_loss"]
        improved = math.isnan(valid_loss) or valid_loss < self.best_valid_loss
        if improved:
            self.best_valid_loss = valid_loss if not math.isnan(valid_loss) else self.best_valid_loss
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        if self.process.main:
            metrics.write(self.history)
            logger.info(
                "epoch %g: train loss %.4f, valid loss %.4f, accuracy %.2f%%, HR@10 %.2f%%, %.0f seq/s",
                row["epoch"], row["train_loss"], valid_loss, 100 * scores["valid_accuracy"],
                100 * scores["valid_hr10"], sequences_per_second,
            )
            if improved:
                self._save(BEST)

    def _save(self, name: str) -> None:
        if not self.process.main:
            return
        rng = {"cpu": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        state = {
            "settings": self.settings.to_dict(),
            "num_indices": self.dataset.num_indices,
            "vocabulary": self.fingerprint,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "progress": {
                "epoch": self.epoch, "batch": self.batch, "step": self.step,
                "best_valid_loss": self.best_valid_loss, "bad_epochs": self.bad_epochs,
                "train_loss_sum": self.train_loss_sum, "train_count": self.train_count, "elapsed": self.elapsed,
            },
            "history": self.history,
            "rng": rng,
        }
        save_checkpoint(state, self.run_dir / name)


def _adamw(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    # Weight decay applies to matrices only; decaying biases and gains only hurts (as in nanoGPT).
    matrices = [p for p in model.parameters() if p.dim() >= 2]
    others = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": matrices, "weight_decay": weight_decay}, {"params": others, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr)


def create_run_folder(run: Path, force: bool, resumable: bool = True) -> None:
    """Create an empty run folder; ``force`` replaces an earlier run folder, and nothing else."""
    if run.exists() and not run.is_dir():
        raise UserError(f"{run}: exists and is not a folder; choose another --out")
    if run.is_dir() and any(run.iterdir()):
        if not force:
            advice = "pass --resume to continue it or --force to replace it" if resumable else "pass --force to replace it"
            raise UserError(f"{run}: already exists; {advice}")
        if not (run / RUN_INFO).is_file():
            raise UserError(f"{run}: not a Segue run folder ({RUN_INFO} not found), and --force replaces only those")
        shutil.rmtree(run)
    run.mkdir(parents=True, exist_ok=True)


def write_run_info(run: Path, dataset: Dataset, fingerprint: str, world_size: int, extra: dict | None = None) -> None:
    """Write ``run.json``: where the run's data came from and what it ran with."""
    info = {
        "format": 1,
        "dataset": str(dataset.path.resolve()),
        "vocabulary": fingerprint,
        "num_indices": dataset.num_indices,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "segue_version": __version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "processes": world_size,
        **(extra or {}),
    }
    temporary = run / (RUN_INFO + ".tmp")
    temporary.write_bytes(orjson.dumps(info, option=orjson.OPT_INDENT_2))
    temporary.replace(run / RUN_INFO)
