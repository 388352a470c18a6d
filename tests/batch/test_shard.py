"""The deterministic shares of a run's photos among torchrun's processes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from unet_resnet.batch.shard import balanced_shares, file_weight, share_of


def test_shares_are_disjoint_and_cover_everything() -> None:
    weights = [random.Random(0).randint(1, 10_000) for _ in range(101)]
    for world in (1, 2, 3, 8):
        shares = balanced_shares(weights, world)
        flat = [i for share in shares for i in share]
        assert sorted(flat) == list(range(101)), world  # each photo in exactly one share
        assert all(share == sorted(share) for share in shares)  # a share keeps the input's order


def test_shares_are_balanced_by_weight() -> None:
    rng = random.Random(1)
    weights = [rng.choice([1_000, 50_000, 3_000_000]) for _ in range(200)]
    for world in (2, 5, 8):
        loads = [sum(weights[i] for i in share) for share in balanced_shares(weights, world)]
        assert max(loads) - min(loads) <= max(weights), (world, loads)
    # one huge photo: its rank gets it alone, the others share the rest
    shares = balanced_shares([100, 1, 1, 1, 1, 1, 1], 2)
    assert sorted(shares, key=len) == [[0], [1, 2, 3, 4, 5, 6]]


def test_equal_weights_give_equal_counts() -> None:
    shares = balanced_shares([7] * 10, 4)
    assert sorted(len(s) for s in shares) == [2, 2, 3, 3]
    assert [len(s) for s in balanced_shares([5] * 3, 8)].count(0) == 5  # more ranks than photos: some idle


def test_every_rank_computes_the_same_split() -> None:
    weights = [random.Random(2).randint(1, 99) for _ in range(50)]
    expected = balanced_shares(list(weights), 3)
    assert [share_of(weights, r, 3) for r in range(3)] == expected  # what each rank computes on its own
    assert balanced_shares(weights, 3) == expected


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="world_size"):
        balanced_shares([1], 0)
    with pytest.raises(ValueError, match="rank must be in"):
        share_of([1], 2, 2)
    with pytest.raises(ValueError, match="item 1"):
        balanced_shares([1, -3], 2)


def test_file_weight_is_the_size(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"x" * 1234)
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert file_weight(tmp_path / "a.jpg") == 1234
    assert file_weight(tmp_path / "empty.jpg") == 1  # every photo counts
    assert file_weight(tmp_path / "missing.jpg") == 1
