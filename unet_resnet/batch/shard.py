"""Deterministic shares of a list of photos among the processes of one run (torchrun ranks).

Every rank computes the same split from the same list and the same file sizes, so no rank has to tell the others
what to do: the shares are disjoint, their union is the whole list, and their total sizes are balanced.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Sequence
from pathlib import Path


def balanced_shares(weights: Sequence[int], world_size: int) -> list[list[int]]:
    """Indices of ``weights`` split into ``world_size`` disjoint shares of nearly equal total weight.

    Greedy "heaviest first": items in order of decreasing weight (ties: lower index first) each go to the share
    that holds the least weight so far (ties: fewer items, then lower rank). No share ends more than one item's
    weight above the lightest, and equal weights give counts that differ by at most one. Each share's indices are
    in increasing order (the input's order). Deterministic: the same weights always give the same shares.
    """
    if world_size < 1:
        raise ValueError(f"world_size must be at least 1, got {world_size}")
    negative = [i for i, w in enumerate(weights) if w < 0]
    if negative:
        raise ValueError(f"weights must not be negative; item {negative[0]} has {weights[negative[0]]}")
    shares: list[list[int]] = [[] for _ in range(world_size)]
    heap = [(0, 0, rank) for rank in range(world_size)]  # (weight so far, items so far, rank): already a heap
    for index in sorted(range(len(weights)), key=lambda i: (-weights[i], i)):
        load, count, rank = heapq.heappop(heap)
        shares[rank].append(index)
        heapq.heappush(heap, (load + weights[index], count + 1, rank))
    return [sorted(share) for share in shares]


def share_of(weights: Sequence[int], rank: int, world_size: int) -> list[int]:
    """The indices that ``rank`` (``0 <= rank < world_size``) takes: its share of :func:`balanced_shares`."""
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
    return balanced_shares(weights, world_size)[rank]


def file_weight(path: str | Path) -> int:
    """What a photo weighs in the split: its size in bytes (decoding and encoding grow with it), at least 1 so
    that every photo counts; a file that cannot be read weighs 1 (it fails at once)."""
    try:
        return max(1, os.stat(path).st_size)
    except OSError:
        return 1
