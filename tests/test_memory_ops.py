"""Memory addressing and update rules checked against values worked out by hand.

Tensors follow the shapes of ``segue.models.memory``: weights are (B, H, N), memory is (B, N, M)
and keys are (B, H, M). Most cases use one sequence and one head, so the expected values are
written with two or three levels of brackets.
"""

from __future__ import annotations

import math

import torch
from torch.testing import assert_close

from segue.models import memory as ops
from segue.models.core import MEMORY_INIT
from segue.models.mann import MANNCore
from segue.models.ntm import NTMCore

ONE_HOT_FIRST = torch.tensor([[[1.0, 0.0, 0.0, 0.0, 0.0]]])

# Shift kernels over the offsets -1, 0 and +1.
SHIFT_BACK = torch.tensor([[[1.0, 0.0, 0.0]]])
SHIFT_NONE = torch.tensor([[[0.0, 1.0, 0.0]]])
SHIFT_FORWARD = torch.tensor([[[0.0, 0.0, 1.0]]])


# Shift


def test_shift_forward_one_slot():
    assert_close(ops.shift(ONE_HOT_FIRST, SHIFT_FORWARD), torch.tensor([[[0.0, 1.0, 0.0, 0.0, 0.0]]]))


def test_shift_back_wraps_to_end():
    assert_close(ops.shift(ONE_HOT_FIRST, SHIFT_BACK), torch.tensor([[[0.0, 0.0, 0.0, 0.0, 1.0]]]))


def test_shift_forward_wraps_to_start():
    last = torch.tensor([[[0.0, 0.0, 0.0, 0.0, 1.0]]])
    assert_close(ops.shift(last, SHIFT_FORWARD), torch.tensor([[[1.0, 0.0, 0.0, 0.0, 0.0]]]))


def test_shift_zero_keeps_weights():
    weights = torch.tensor([[[0.1, 0.2, 0.3, 0.4, 0.0]]])
    assert_close(ops.shift(weights, SHIFT_NONE), weights)


def test_shift_spread_kernel_blends():
    # Offsets -1, 0, +1 with 0.2, 0.5, 0.3: slot 0 keeps 0.5, sends 0.3 to slot 1 and 0.2 to slot 4.
    kernel = torch.tensor([[[0.2, 0.5, 0.3]]])
    assert_close(ops.shift(ONE_HOT_FIRST, kernel), torch.tensor([[[0.5, 0.3, 0.0, 0.0, 0.2]]]))


def test_shift_spread_weights_blend():
    # Slot i receives 0.2 * w[i + 1] + 0.5 * w[i] + 0.3 * w[i - 1], indices modulo 5.
    weights = torch.tensor([[[0.6, 0.4, 0.0, 0.0, 0.0]]])
    kernel = torch.tensor([[[0.2, 0.5, 0.3]]])
    assert_close(ops.shift(weights, kernel), torch.tensor([[[0.38, 0.38, 0.12, 0.0, 0.12]]]))


def test_shift_range_two_moves_two():
    kernel = torch.tensor([[[0.0, 0.0, 0.0, 0.0, 1.0]]])  # offsets -2 .. +2
    assert_close(ops.shift(ONE_HOT_FIRST, kernel), torch.tensor([[[0.0, 0.0, 1.0, 0.0, 0.0]]]))


def test_shift_heads_independent():
    weights = torch.tensor([[[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]])
    kernel = torch.tensor([[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]])
    expected = torch.tensor([[[0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]])
    assert_close(ops.shift(weights, kernel), expected)


# Sharpening


def test_sharpen_gamma_two():
    weights = torch.tensor([[[0.5, 0.3, 0.2]]])
    # Squares 0.25, 0.09 and 0.04 sum to 0.38.
    expected = torch.tensor([[[0.25, 0.09, 0.04]]]) / 0.38
    assert_close(ops.sharpen(weights, torch.tensor([[2.0]])), expected)


def test_sharpen_gamma_three_renormalises():
    weights = torch.tensor([[[0.1, 0.2, 0.3, 0.4]]])
    sharpened = ops.sharpen(weights, torch.tensor([[3.0]]))
    # Cubes 0.001, 0.008, 0.027 and 0.064 sum to 0.1.
    assert_close(sharpened, torch.tensor([[[0.01, 0.08, 0.27, 0.64]]]))
    assert_close(sharpened.sum(dim=-1), torch.tensor([[1.0]]))


def test_sharpen_gamma_one_unchanged():
    weights = torch.tensor([[[0.5, 0.3, 0.2]]])
    assert_close(ops.sharpen(weights, torch.tensor([[1.0]])), weights, rtol=0.0, atol=1e-7)


def test_sharpen_unnormalised_input_sums_one():
    weights = torch.tensor([[[2.0, 1.0, 1.0]]])
    assert_close(ops.sharpen(weights, torch.tensor([[1.0]])), torch.tensor([[[0.5, 0.25, 0.25]]]))


# Content addressing


def test_content_picks_cosine_not_dot():
    # Slot 1 has the largest dot product with the key (10), slot 2 the largest cosine (0.98).
    memory = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.6, 0.8, 0.0]]])
    keys = torch.tensor([[[0.5, 1.0, 0.0]]])
    weights = ops.content_weights(memory, keys, torch.tensor([[20.0]]))
    assert weights.argmax(dim=-1).item() == 2


def test_content_strong_key_one_hot():
    memory = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
    keys = torch.tensor([[[2.0, 0.0]]])
    weights = ops.content_weights(memory, keys, torch.tensor([[50.0]]))
    assert_close(weights, torch.tensor([[[1.0, 0.0, 0.0]]]), rtol=0.0, atol=1e-5)


def test_content_zero_strength_uniform():
    memory = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
    keys = torch.tensor([[[2.0, 0.0]]])
    weights = ops.content_weights(memory, keys, torch.tensor([[0.0]]))
    assert_close(weights, torch.full((1, 1, 3), 1 / 3))


def test_content_exact_softmax():
    # The cosines are 1, 0 and -1 whatever the norms. At strength ln 3 the softmax is
    # proportional to 3, 1 and 1/3, which sum to 13/3.
    memory = torch.tensor([[[2.0, 0.0], [0.0, 5.0], [-4.0, 0.0]]])
    keys = torch.tensor([[[3.0, 0.0]]])
    weights = ops.content_weights(memory, keys, torch.tensor([[math.log(3.0)]]))
    assert_close(weights, torch.tensor([[[9 / 13, 3 / 13, 1 / 13]]]))


def test_content_zero_slot_finite():
    memory = torch.tensor([[[0.0, 0.0], [0.0, 1.0]]])
    keys = torch.tensor([[[0.0, 1.0]]])
    weights = ops.content_weights(memory, keys, torch.tensor([[1.0]]))
    # The zero slot has cosine 0 and the other slot cosine 1, so the weights are 1 : e.
    assert_close(weights, torch.tensor([[[1 / (1 + math.e), math.e / (1 + math.e)]]]))


def test_content_heads_pick_own_slot():
    memory = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    keys = torch.tensor([[[0.0, 3.0], [3.0, 0.0]]])
    weights = ops.content_weights(memory, keys, torch.tensor([[50.0, 50.0]]))
    assert weights.argmax(dim=-1).tolist() == [[1, 0]]


# Interpolation

CONTENT = torch.tensor([[[0.7, 0.2, 0.1]]])
PREVIOUS = torch.tensor([[[0.1, 0.1, 0.8]]])


def test_interpolate_gate_one_content():
    assert_close(ops.interpolate(CONTENT, PREVIOUS, torch.tensor([[1.0]])), CONTENT)


def test_interpolate_gate_zero_previous():
    assert_close(ops.interpolate(CONTENT, PREVIOUS, torch.tensor([[0.0]])), PREVIOUS)


def test_interpolate_gate_half_averages():
    expected = torch.tensor([[[0.4, 0.15, 0.45]]])
    assert_close(ops.interpolate(CONTENT, PREVIOUS, torch.tensor([[0.5]])), expected)


# Reading

MEMORY_3X2 = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])


def test_read_weighted_sum():
    weights = torch.tensor([[[0.5, 0.25, 0.25]]])
    # 0.5 * (1, 2) + 0.25 * (3, 4) + 0.25 * (5, 6)
    assert_close(ops.read(MEMORY_3X2, weights), torch.tensor([[[2.5, 3.5]]]))


def test_read_one_hot_per_head():
    weights = torch.tensor([[[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])
    assert_close(ops.read(MEMORY_3X2, weights), torch.tensor([[[3.0, 4.0], [5.0, 6.0]]]))


# Writing


def test_erase_add_one_head():
    memory = torch.tensor([[[1.0, 2.0], [4.0, 6.0], [5.0, 5.0]]])
    weights = torch.tensor([[[1.0, 0.5, 0.0]]])
    erase = torch.tensor([[[1.0, 0.5]]])
    add = torch.tensor([[[0.2, -0.4]]])
    # Slot 0 keeps (0, 0.5) of itself, slot 1 keeps (0.5, 0.75) and gains half the add vector.
    expected = torch.tensor([[[0.2, 0.6], [2.1, 4.3], [5.0, 5.0]]])
    assert_close(ops.erase_and_add(memory, weights, erase, add), expected)


TWO_HEAD_MEMORY = torch.tensor([[[4.0, 8.0], [2.0, 2.0]]])
TWO_HEAD_WEIGHTS = torch.tensor([[[1.0, 0.0], [0.5, 1.0]]])
TWO_HEAD_ERASE = torch.tensor([[[0.5, 0.25], [0.5, 1.0]]])
TWO_HEAD_ADD = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])


def test_erase_add_two_heads():
    # Slot 0 keeps (0.5, 0.75) * (0.75, 0.5) = (0.375, 0.375) and gains (1, 0) + 0.5 * (0, 2).
    # Slot 1 keeps (1, 1) * (0.5, 0) and gains (0, 2).
    expected = torch.tensor([[[2.5, 4.0], [1.0, 2.0]]])
    result = ops.erase_and_add(TWO_HEAD_MEMORY, TWO_HEAD_WEIGHTS, TWO_HEAD_ERASE, TWO_HEAD_ADD)
    assert_close(result, expected)


def test_erase_add_head_order_irrelevant():
    flip = [1, 0]
    swapped = ops.erase_and_add(
        TWO_HEAD_MEMORY, TWO_HEAD_WEIGHTS[:, flip], TWO_HEAD_ERASE[:, flip], TWO_HEAD_ADD[:, flip]
    )
    assert_close(swapped, torch.tensor([[[2.5, 4.0], [1.0, 2.0]]]))


# Least-recently-used access


def test_least_used_two_smallest():
    usage = torch.tensor([[0.5, 0.1, 0.9, 0.3]])
    assert_close(ops.least_used(usage, 2), torch.tensor([[0.0, 1.0, 0.0, 1.0]]))


def test_least_used_per_sequence():
    usage = torch.tensor([[0.5, 0.1, 0.9], [0.2, 0.7, 0.4]])
    assert_close(ops.least_used(usage, 1), torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))


def test_least_used_ties_lower_slot():
    usage = torch.tensor([[0.2, 0.1, 0.1, 0.1, 0.5]])
    assert_close(ops.least_used(usage, 2), torch.tensor([[0.0, 1.0, 1.0, 0.0, 0.0]]))


def test_least_used_fresh_memory_first_slots():
    # Every slot of a fresh memory has usage 0. The sizes cover the ones where torch.topk
    # breaks ties in other ways (slots 2, 6 and 84..87 on torch 2.13 CPU).
    for slots, count in [(4, 1), (8, 1), (128, 4)]:
        marked = ops.least_used(torch.zeros(1, slots), count)
        assert marked[0].nonzero().flatten().tolist() == list(range(count)), (slots, count)


def test_lrua_gate_zero_least_used():
    previous_read = torch.tensor([[[0.1, 0.7, 0.2, 0.0]]])
    least = torch.tensor([[0.0, 0.0, 0.0, 1.0]])
    weights = ops.lrua_write_weights(previous_read, least, torch.tensor([[0.0]]))
    assert_close(weights, torch.tensor([[[0.0, 0.0, 0.0, 1.0]]]))


def test_lrua_gate_one_previous_read():
    previous_read = torch.tensor([[[0.1, 0.7, 0.2, 0.0]]])
    least = torch.tensor([[0.0, 0.0, 0.0, 1.0]])
    weights = ops.lrua_write_weights(previous_read, least, torch.tensor([[1.0]]))
    assert_close(weights, torch.tensor([[[0.1, 0.7, 0.2, 0.0]]]))


def test_lrua_gate_quarter_blends():
    previous_read = torch.tensor([[[0.1, 0.7, 0.2, 0.0]]])
    least = torch.tensor([[0.0, 0.0, 0.0, 1.0]])
    weights = ops.lrua_write_weights(previous_read, least, torch.tensor([[0.25]]))
    assert_close(weights, torch.tensor([[[0.025, 0.175, 0.05, 0.75]]]))


def test_lrua_heads_share_least_used():
    previous_read = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    least = torch.tensor([[0.0, 0.0, 1.0]])
    weights = ops.lrua_write_weights(previous_read, least, torch.tensor([[0.0, 1.0]]))
    assert_close(weights, torch.tensor([[[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]]))


def test_clear_least_used_one_slot():
    usage = torch.tensor([[0.7, 0.2, 0.4]])
    expected = torch.tensor([[[1.0, 2.0], [0.0, 0.0], [5.0, 6.0]]])
    assert_close(ops.clear_least_used(MEMORY_3X2, usage), expected)


def test_clear_least_used_per_sequence():
    memory = torch.cat([MEMORY_3X2, MEMORY_3X2])
    usage = torch.tensor([[0.7, 0.2, 0.4], [0.1, 0.2, 0.4]])
    expected = torch.tensor([[[1.0, 2.0], [0.0, 0.0], [5.0, 6.0]], [[0.0, 0.0], [3.0, 4.0], [5.0, 6.0]]])
    assert_close(ops.clear_least_used(memory, usage), expected)


def test_clear_matches_least_used_ties():
    # The slot cleared before a write must be the slot that least_used sends the write to.
    for usage in [torch.zeros(1, 4), torch.zeros(1, 8), torch.tensor([[0.3, 0.1, 0.1, 0.1]])]:
        cleared = ops.clear_least_used(torch.ones(1, usage.shape[1], 1), usage)[0, :, 0]
        assert_close(1 - cleared, ops.least_used(usage, 1)[0])


def test_update_usage_one_head():
    usage = torch.tensor([[0.4, 1.0, 0.0]])
    read_weights = torch.tensor([[[0.5, 0.5, 0.0]]])
    write_weights = torch.tensor([[[0.0, 0.0, 1.0]]])
    # 0.5 * (0.4, 1, 0) + (0.5, 0.5, 0) + (0, 0, 1)
    expected = torch.tensor([[0.7, 1.0, 1.0]])
    assert_close(ops.update_usage(usage, read_weights, write_weights, 0.5), expected)


def test_update_usage_sums_heads():
    usage = torch.tensor([[1.0, 0.0, 0.0]])
    read_weights = torch.tensor([[[0.5, 0.5, 0.0], [0.0, 0.25, 0.75]]])
    write_weights = torch.tensor([[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]])
    # 0.9 * (1, 0, 0) + (0.5, 0.75, 0.75) + (1, 0, 1)
    expected = torch.tensor([[2.4, 0.75, 1.75]])
    assert_close(ops.update_usage(usage, read_weights, write_weights, 0.9), expected)


# One step of a core with hand-set weights


def set_linear(layer: torch.nn.Linear, bias: list[float]) -> None:
    """Zero the weights so that the layer outputs ``bias`` whatever the controller's output."""
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.copy_(torch.tensor(bias))


# atanh of 0.5 and -0.25, so that tanh gives a key or add vector of (0.5, -0.25).
KEY_LOGITS = [math.atanh(0.5), math.atanh(-0.25)]


def mann_step_result() -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Run one MANN step whose key is (0.5, -0.25), with write gate and key strength near 0."""
    core = MANNCore(input_size=2, hidden_size=3, slots=4, width=2, heads=1, decay=0.5)
    set_linear(core.keys.project, KEY_LOGITS + [-30.0, -30.0])

    h, c, _, _, _, _, reads = core.initial_state(1, torch.device("cpu"))
    memory = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [9.0, 9.0]]])
    read_weights = torch.tensor([[[1.0, 0.0, 0.0, 0.0]]])
    usage = torch.tensor([[1.0, 0.8, 0.6, 0.1]])
    least_used = torch.tensor([[0.0, 0.0, 0.0, 1.0]])
    state = (h, c, memory, read_weights, usage, least_used, reads)
    with torch.no_grad():
        return core.step(torch.tensor([[0.3, -0.7]]), state)


def test_mann_step_writes_least_used():
    _, state = mann_step_result()
    # Slot 3 is cleared and then receives the key. The others gain only about 1e-13 times the key.
    expected = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, -0.25]]])
    assert_close(state[2], expected)


def test_mann_step_reads_slot_mean():
    features, _ = mann_step_result()
    # Strength near 0 reads every slot with weight 1/4: the mean of the updated memory.
    assert_close(features[0, -2:], torch.tensor([0.625, 0.4375]))


def test_mann_step_updates_usage():
    _, state = mann_step_result()
    # 0.5 * (1, 0.8, 0.6, 0.1) + reads of 1/4 each + the write to slot 3.
    assert_close(state[4], torch.tensor([[0.75, 0.65, 0.55, 1.3]]))


def test_mann_step_next_least_used():
    _, state = mann_step_result()
    assert_close(state[5], torch.tensor([[0.0, 0.0, 1.0, 0.0]]))


def test_mann_fills_fresh_slots_in_order():
    core = MANNCore(input_size=2, hidden_size=3, slots=5, width=2, heads=1, decay=0.95)
    set_linear(core.keys.project, KEY_LOGITS + [0.0, -30.0])

    state = core.initial_state(1, torch.device("cpu"))
    written = []
    with torch.no_grad():
        for _ in range(3):
            before = state[2]
            _, state = core.step(torch.zeros(1, 2), state)
            written.append((state[2] - before).abs().sum(dim=-1).argmax().item())
    assert written == [0, 1, 2]


def test_ntm_first_write_slot_zero():
    core = NTMCore(input_size=2, hidden_size=3, slots=4, width=2, read_heads=1, write_heads=1, shift_range=1)
    # The bias lists the write head's key, strength, gate, shifts -1..+1 and sharpening. A gate
    # near 0 keeps the initial weights, and the kernel puts all its mass on shift 0.
    set_linear(core.write_addressing.project, [0.0, 0.0, 0.0, -30.0, -30.0, 30.0, -30.0, 0.0])
    # Erase everything (sigmoid(30) is 1) and add (0.5, -0.25).
    set_linear(core.write_vectors.project, [30.0, 30.0] + KEY_LOGITS)

    with torch.no_grad():
        _, state = core.step(torch.tensor([[0.3, -0.7]]), core.initial_state(1, torch.device("cpu")))
    fresh = [MEMORY_INIT, MEMORY_INIT]
    expected = torch.tensor([[[0.5, -0.25], fresh, fresh, fresh]])
    assert_close(state[2], expected)


def test_ntm_slots_diverge():
    # A memory whose slots all stay equal is a single vector, whatever its number of slots.
    torch.manual_seed(0)
    core = NTMCore(input_size=4, hidden_size=8, slots=6, width=5, read_heads=1, write_heads=1, shift_range=1)
    with torch.no_grad():
        _, state = core(torch.randn(2, 5, 4))
    memory = state[2]
    assert (memory - memory[:, :1]).abs().amax().item() > 1e-3
