"""Precise BN: statistics recomputed from given batches, nothing else changed; a run validates and saves them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from unet_resnet.config import load_config
from unet_resnet.training import loop
from unet_resnet.training.bn_stats import (
    PreciseBN,
    batchnorms,
    bn_photo_indices,
    capped_photo_indices,
    recompute_bn_stats,
)
from unet_resnet.training.setup import setup
from unet_resnet.training.validation import validate


def test_statistics_are_the_average_over_the_batches() -> None:
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(3)
    bn.running_mean.fill_(5.0)  # stale statistics, far from the data's
    bn.running_var.fill_(9.0)
    batches = [torch.randn(4, 3, 8, 8) * torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1) + 1.5 for _ in range(5)]
    assert recompute_bn_stats(bn, batches) == 5
    means = torch.stack([b.mean(dim=(0, 2, 3)) for b in batches]).mean(0)
    variances = torch.stack([b.transpose(0, 1).reshape(3, -1).var(dim=1) for b in batches]).mean(0)
    torch.testing.assert_close(bn.running_mean, means)
    torch.testing.assert_close(bn.running_var, variances)
    assert bn.momentum == 0.1 and bn.training, "the layer's momentum and mode are restored"


def test_evaluation_mode_then_matches_training_mode_on_the_same_photos() -> None:
    torch.manual_seed(1)
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 3), nn.BatchNorm2d(4)
    )
    x = torch.rand(16, 1, 32, 32)
    for layer in batchnorms(net):  # what a fast-moving GAN stage leaves behind
        layer.running_mean.uniform_(-3, 3)
        layer.running_var.uniform_(5, 10)
    net.eval()
    with torch.no_grad():
        stale = net(x)
        net.train()
        wanted = net(x)  # normalised by the batch's own statistics
        net.eval()
        recompute_bn_stats(net, [x])
        assert not net.training
        fresh = net(x)
    assert (stale - wanted).abs().mean() > 0.5
    # equal up to the unbiased running variance against the biased one used in training mode
    torch.testing.assert_close(fresh, wanted, atol=2e-3, rtol=2e-3)


def test_no_batch_leaves_the_statistics_and_no_batchnorm_is_a_no_op() -> None:
    bn = nn.BatchNorm2d(2)
    bn.running_mean.fill_(0.7)
    assert recompute_bn_stats(bn, []) == 0
    assert torch.all(bn.running_mean == 0.7) and int(bn.num_batches_tracked) == 0
    assert recompute_bn_stats(nn.Conv2d(1, 1, 1), [torch.rand(1, 1, 4, 4)]) == 0


def test_photo_choice_is_seeded_and_bounded() -> None:
    a, b = bn_photo_indices(50, 10, seed=3), bn_photo_indices(50, 10, seed=3)
    assert a == b and len(a) == 10 and len({i for i, _ in a}) == 10 and all(0 <= i < 50 and d == 0 for i, d in a)
    assert a != bn_photo_indices(50, 10, seed=4)
    assert bn_photo_indices(6, 128, seed=0) == [(i, 0) for i in range(6)]


def test_precise_bn_costs_at_most_the_training_steps_and_uses_each_photo_once() -> None:
    """4 photos, 1 training step of 2 between validations: one forward pass of 2 photos, not 128 / 2 passes."""
    assert len(capped_photo_indices(4, 128, seed=0, batch_size=2, world_size=1, max_batches=1)) == 2
    every = capped_photo_indices(4, 128, seed=0, batch_size=2, world_size=1, max_batches=100)
    assert sorted(every) == [(i, 0) for i in range(4)], "each photo once, however many photos were asked for"
    big = capped_photo_indices(50, 10, seed=3, batch_size=2, world_size=1, max_batches=100)
    small = capped_photo_indices(50, 10, seed=3, batch_size=2, world_size=1, max_batches=2)
    assert len(big) == 10 and len(small) == 4 and set(small) < set(big)
    assert len(capped_photo_indices(7, 128, seed=0, batch_size=2, world_size=2, max_batches=100)) == 6


@pytest.mark.slow
def test_a_run_validates_and_saves_recomputed_statistics(tiny_config: Callable[..., Path]) -> None:
    run = setup(load_config(tiny_config(**{"train.precise_bn": 4})))
    assert run.precise_bn is not None and run.precise_bn.photos == 4
    bn_set = run.precise_bn.dataset
    assert bn_set.resize == "squash" and not bn_set.flip, "precise BN sees photos as inference does"
    loop.fit(run)
    saved = torch.load(run.run_dir / "last.pt", weights_only=True)["generator"]
    G = run.trainer.user_G()
    # recomputing again over the same photos changes nothing: the checkpoint holds the recomputed statistics
    assert run.refresh_bn_stats(max_batches=3) == 2  # 4 photos in batches of 2 (3 steps an epoch allow 3)
    for name, value in G.state_dict().items():
        if "running_" in name:
            torch.testing.assert_close(saved[name], value)
    logged = json.loads((run.run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    again = validate(G, run.val_set, run.info.device, run.trainer.autocast, batch_size=2)
    assert logged["val_ab_l1"] == pytest.approx(again["val_ab_l1"], rel=1e-9)


@pytest.mark.slow
def test_precise_bn_off_keeps_the_running_averages(tiny_config: Callable[..., Path]) -> None:
    run = setup(load_config(tiny_config(**{"train.precise_bn": 0})))
    assert run.precise_bn is None and run.refresh_bn_stats(max_batches=3) == 0
    loop.fit(run)
    saved = torch.load(run.run_dir / "last.pt", weights_only=True)["generator"]
    tracked = [int(v) for k, v in saved.items() if k.endswith("num_batches_tracked")]
    assert tracked and all(n == run.progress.step for n in tracked), "running averages over every training step"


def test_every_rank_runs_the_same_number_of_precise_bn_batches(tmp_path: Path) -> None:
    """With SyncBatchNorm every precise-BN forward pass is a collective: unequal shares would deadlock the ranks."""
    worker = Path(__file__).with_name("bn_ranks_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    init = f"file://{tmp_path / 'pg'}"
    procs = [
        subprocess.Popen(
            [sys.executable, str(worker), init, str(rank)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for rank in (0, 1)
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err.decode()[-2000:]
    counts = [out.decode().strip() for out, _ in outs]
    assert counts[0] == counts[1] == "batches=1", counts


def test_a_photo_listed_many_times_is_recomputed_once() -> None:
    """A small set repeated into one long epoch: precise BN sees each photo once, not each listing."""

    class Listed(torch.utils.data.Dataset):
        paths = [Path(f"p{i % 3}.png") for i in range(30)]  # 3 photos, each listed 10 times

        def __len__(self) -> int:
            return len(self.paths)

        def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
            seen.append(key[0])
            return torch.rand(1, 8, 8), torch.zeros(2, 8, 8)

    seen: list[int] = []
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    assert PreciseBN(Listed(), 128, 0, 2, False).refresh(net, 100, torch.device("cpu")) == 2
    assert sorted(str(Listed.paths[i]) for i in seen) == ["p0.png", "p1.png", "p2.png"]
