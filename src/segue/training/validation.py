"""Validation during training: loss, top-1 accuracy and HR@10 on the validation windows."""

from __future__ import annotations

import math

import torch

from segue.data.dataset import OOV
from segue.models import NextTrackModel
from segue.training.distributed import Process
from segue.training.windows import Windows

# Score at most this many (positions x tracks) at once, which bounds memory to about 256 MB.
_SCORE_CELLS = 2**26


@torch.no_grad()
def validate(model: NextTrackModel, windows: Windows, batch_size: int, device: torch.device, process: Process) -> dict:
    """Return the mean loss, accuracy (top-1) and HR@10 over in-vocabulary targets.

    Every step of every window counts once, or only each window's final step when the windows
    are ``last_only``. OOV targets are left out, as in training. Rankings cover the whole
    vocabulary, tracks already in the playlist included.
    """
    was_training = model.training
    model.eval()
    totals = torch.zeros(4, dtype=torch.float64, device=device)  # loss, targets, top-1 hits, top-10 hits
    embedding = model.embedding.weight
    chunk = max(1, _SCORE_CELLS // model.num_indices)

    mine = torch.arange(len(windows))[process.rank :: process.world_size].numpy()
    for begin in range(0, len(mine), batch_size):
        batch = mine[begin : begin + batch_size]
        tokens = windows.batch(batch).to(device)
        features, _ = model(tokens[:, :-1])
        targets = tokens[:, 1:]
        keep = targets > OOV
        if windows.last_only:
            # The earlier steps of these windows are training data under the last holdout.
            final = torch.from_numpy(windows.ends[batch] - windows.starts[batch] - 2).to(device)
            keep &= torch.arange(targets.shape[1], device=device) == final[:, None]
        features, targets = features[keep], targets[keep]

        totals[0] += model.output.loss(features, targets, embedding).double()
        totals[1] += len(targets)
        for start in range(0, len(targets), chunk):
            scores = model.output.scores(features[start : start + chunk], embedding)
            top = scores.topk(min(10, scores.shape[1]), dim=1).indices
            expected = targets[start : start + chunk, None]
            totals[2] += (top[:, :1] == expected).sum()
            totals[3] += (top == expected).any(dim=1).sum()

    model.train(was_training)
    loss, count, correct, hits = process.all_sum(totals).tolist()
    if count == 0:
        return {"valid_loss": math.nan, "valid_accuracy": math.nan, "valid_hr10": math.nan}
    return {"valid_loss": loss / count, "valid_accuracy": correct / count, "valid_hr10": hits / count}
