"""Memory addressing and update rules for the NTM and MANN families.

Pure tensor functions, vectorised over the batch and over heads. Shapes use ``B`` for the batch,
``H`` for heads, ``N`` for memory slots and ``M`` for the width of a slot.

Sources:

- Graves, Wayne and Danihelka (2014), "Neural Turing Machines", arXiv:1410.5401, section 3.
- Santoro et al. (2016), "Meta-Learning with Memory-Augmented Neural Networks", ICML, section 3.2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Keeps cosine similarity finite for an all-zero key or slot.
_EPS = 1e-8


def content_weights(memory: torch.Tensor, keys: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
    """Address memory by content: softmax over slots of ``strength`` times cosine similarity.

    Graves et al. 2014, section 3.3.1, equations (5) and (6); Santoro et al. 2016 read with the
    same rule at strength 1. ``memory`` is (B, N, M), ``keys`` (B, H, M), ``strength`` (B, H);
    returns (B, H, N).
    """
    dot = torch.einsum("bhm,bnm->bhn", keys, memory)
    # Norms from sums of squares: unlike norm(), their backward pass needs no masking of zeros.
    key_norms = (keys.square().sum(dim=-1, keepdim=True) + _EPS**2).sqrt()  # (B, H, 1)
    slot_norms = (memory.square().sum(dim=-1) + _EPS**2).sqrt().unsqueeze(1)  # (B, 1, N)
    similarity = dot / (key_norms * slot_norms + _EPS)
    return F.softmax(strength.unsqueeze(-1) * similarity, dim=-1)


def interpolate(content: torch.Tensor, previous: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """Blend content weights with the previous weights by the gate ``g`` in [0, 1].

    Graves et al. 2014, section 3.3.2, equation (7). ``gate`` is (B, H); weights are (B, H, N).
    """
    gate = gate.unsqueeze(-1)
    return gate * content + (1 - gate) * previous


def shift(weights: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Rotate weights by a circular convolution with a shift distribution.

    Graves et al. 2014, section 3.3.2, equation (8). ``kernel`` is (B, H, 2s + 1) and contains
    the probabilities of shifts ``-s .. s``. A shift past either end of memory wraps around.
    """
    reach = kernel.shape[-1] // 2
    shifted = torch.zeros_like(weights)
    for index, offset in enumerate(range(-reach, reach + 1)):
        # roll(w, o)[i] == w[i - o]: the weight on slot i - o moves to slot i.
        shifted = shifted + kernel[..., index : index + 1] * torch.roll(weights, shifts=offset, dims=-1)
    return shifted


def sharpen(weights: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """Raise weights to the power ``gamma`` >= 1 and renormalise them to sum to one.

    Graves et al. 2014, section 3.3.2, equation (9). ``gamma`` is (B, H).
    """
    # w**gamma / sum(w**gamma) is a softmax of gamma * log(w), which is one fused, stable call.
    return F.softmax(gamma.unsqueeze(-1) * torch.log(weights + _EPS), dim=-1)


def read(memory: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Read one vector per head as the weighted sum of slots.

    Graves et al. 2014, section 3.1, equation (2). Returns (B, H, M).
    """
    return torch.einsum("bhn,bnm->bhm", weights, memory)


def erase_and_add(memory: torch.Tensor, weights: torch.Tensor, erase: torch.Tensor, add: torch.Tensor) -> torch.Tensor:
    """Write to memory: erase, then add, for every write head at once.

    Graves et al. 2014, section 3.2, equations (3) and (4). With several heads the erase factors
    multiply and the add vectors sum, so the order of the heads does not matter. ``weights`` is
    (B, H, N); ``erase`` (values in [0, 1]) and ``add`` are (B, H, M).
    """
    keep = 1 - weights.unsqueeze(-1) * erase.unsqueeze(2)  # (B, H, N, M)
    # A product by multiplication in a loop: the backward pass of prod() costs far more, because it
    # has to handle factors of zero, and there are only a few heads.
    erased = memory
    for head in range(keep.shape[1]):
        erased = erased * keep[:, head]
    return erased + torch.einsum("bhn,bhm->bnm", weights, add)


def least_used(usage: torch.Tensor, count: int) -> torch.Tensor:
    """Mark the ``count`` least-used slots with 1 and the others with 0.

    Santoro et al. 2016, section 3.2: the least-used weights are 1 where usage is among the
    ``count`` smallest (``count`` is the number of reads) and 0 elsewhere. Ties go to the lower
    slot. ``usage`` is (B, N); returns (B, N).
    """
    # torch.topk leaves the order of equal values unspecified (on torch 2.13 CPU it marks slot 2 of
    # a fresh 4-slot memory), so a stable sort keeps ties on the lower slot, as clear_least_used does.
    slots = torch.sort(usage, dim=-1, stable=True).indices[..., :count]
    return torch.zeros_like(usage).scatter_(-1, slots, 1.0)


def lrua_write_weights(previous_read: torch.Tensor, previous_least_used: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """Write weights of least-recently-used access.

    Santoro et al. 2016, section 3.2: ``sigmoid(alpha) * previous read weights
    + (1 - sigmoid(alpha)) * previous least-used weights``, so a head either updates the slot it
    just read or writes to a fresh one. ``gate`` is sigmoid(alpha), (B, H); ``previous_read`` is
    (B, H, N) and ``previous_least_used`` (B, N). Returns (B, H, N).
    """
    gate = gate.unsqueeze(-1)
    return gate * previous_read + (1 - gate) * previous_least_used.unsqueeze(1)


def clear_least_used(memory: torch.Tensor, usage: torch.Tensor) -> torch.Tensor:
    """Set the single least-used slot to zero before a write (Santoro et al. 2016, section 3.2)."""
    slot = usage.argmin(dim=-1)  # (B,)
    keep = torch.ones_like(usage).scatter_(-1, slot.unsqueeze(-1), 0.0)
    return memory * keep.unsqueeze(-1)


def lrua_write(memory: torch.Tensor, usage: torch.Tensor, weights: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """Clear the least-used slot, then add each head's key with its write weights.

    Santoro et al. 2016, section 3.2: a MANN head writes the key it reads with. ``usage`` is the
    previous step's (B, N), ``weights`` (B, H, N) and ``keys`` (B, H, M).
    """
    cleared = clear_least_used(memory, usage)
    return cleared + torch.einsum("bhn,bhm->bnm", weights, keys)


def update_usage(usage: torch.Tensor, read_weights: torch.Tensor, write_weights: torch.Tensor, decay: float) -> torch.Tensor:
    """Decay usage by ``decay`` (gamma) and add this step's read and write weights.

    Santoro et al. 2016, section 3.2: ``usage = gamma * previous usage + read weights + write
    weights``, summed over heads. Returns (B, N).
    """
    return decay * usage + read_weights.sum(dim=1) + write_weights.sum(dim=1)
