"""Distributed data parallel training under ``torchrun``.

``torchrun --nproc_per_node N -m segue train ...`` starts N processes and sets ``RANK``,
``LOCAL_RANK`` and ``WORLD_SIZE``. Each process takes every N-th window of the global batch,
and DistributedDataParallel averages the gradients.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class Process:
    """This process's place in the job: rank 0 of 1 when not distributed."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        """Whether this process writes files and logs progress."""
        return self.rank == 0

    def all_sum(self, values: torch.Tensor) -> torch.Tensor:
        """Sum a tensor over all processes, in place; a no-op in a single process."""
        if self.distributed:
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values

    def any_of(self, flags: list[bool], device: torch.device) -> list[bool]:
        """Return, for each flag, whether it is True on any process, so that all of them agree."""
        if not self.distributed:
            return flags
        values = torch.tensor([float(flag) for flag in flags], device=device)
        dist.all_reduce(values, op=dist.ReduceOp.MAX)
        return [bool(value) for value in values.tolist()]


def start_process_group(device_kind: str) -> Process:
    """Join the process group when started by torchrun; otherwise return a single process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Process()
    backend = "nccl" if device_kind == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return Process(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def stop_process_group(finished: bool) -> None:
    """Leave the process group; after a normal finish, first wait for every process to finish.

    Without the barrier a process that finishes early can tear down its connections while the
    main process still writes checkpoints, and gloo then aborts the job.
    """
    if not dist.is_initialized():
        return
    if finished:
        dist.barrier()
    dist.destroy_process_group()
