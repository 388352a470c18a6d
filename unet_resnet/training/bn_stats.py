"""Precise BatchNorm statistics: the generator's running means and variances recomputed before it is judged or saved.

In training mode BatchNorm normalises each batch by its own statistics and only keeps a running average
(momentum 0.1, about the last ten steps) for evaluation. In the GAN stage the generator's weights move fast enough
that this average no longer describes the activations of the current weights, and the evaluation-mode model (what
validation scores, what checkpoints hand to users) colours far worse than its weights allow. How much worse, how
many photos are enough and what the recomputation costs were measured with the commands in docs/quality.md
("Precise BatchNorm statistics").

:func:`recompute_bn_stats` resets every BatchNorm of a module and averages its statistics over a fixed set of
training photos prepared as inference prepares photos (Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021, call
this "precise BN"). No gradient is taken and nothing is drawn from the global random generators (a hint or
restoration model's simulated hints and damage come from per-photo seeded streams), so training and resume are
unchanged.

Its cost is capped against training (:class:`PreciseBN`, :func:`capped_photo_indices`): at most as many forward
passes per rank as the training steps between two validations, each photo once. On a tiny set validated every
epoch (a test, a demo) that is a pass or two, where 128 repeated samples were dozens of passes per training step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, Subset

from unet_resnet.runtime.distributed import all_reduce_sum
from unet_resnet.runtime.precision import AutocastFactory


def batchnorms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


def bn_photo_indices(count: int, photos: int, seed: int) -> list[tuple[int, int]]:
    """A fixed, seeded choice of ``photos`` of ``count`` photos as dataset keys ``(index, 0)``, sorted (files read in
    list order). With fewer photos than asked, all of them. A smaller choice with the same seed is a subset of a
    larger one (both are the start of one seeded permutation)."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(count, generator=g).tolist()
    return sorted((i, 0) for i in order[: min(photos, count)])


def capped_photo_indices(
    count: int, photos: int, seed: int, batch_size: int, world_size: int, max_batches: int
) -> list[tuple[int, int]]:
    """:func:`bn_photo_indices`, capped by what precise BN may cost against training.

    Each rank runs at most ``max_batches`` forward passes of ``batch_size`` (the loop passes the steps between two
    refreshes: precise BN never costs more forward passes than the training it follows), and every rank gets the
    same number of photos (see :func:`bn_batches`). Each photo is used once: a photo repeated (with other simulated
    hints or damage) would cost a forward pass and add little that its first pass did not.
    """
    n = min(photos, count, max(max_batches, 0) * batch_size * world_size)
    return bn_photo_indices(count, n - n % world_size, seed)


@torch.no_grad()
def recompute_bn_stats(
    module: nn.Module,
    batches: Iterable[torch.Tensor],
    autocast: AutocastFactory | None = None,
    world_size: int = 1,
) -> int:
    """Replace the running statistics of every BatchNorm in ``module`` by their average over ``batches``
    (model inputs ``(B, C, H, W)``); returns the number of batches seen. With several processes each rank passes
    its own share and the statistics are averaged over ranks, so every rank ends with the same values.

    ``module``'s mode and the layers' momenta are restored; with no batch the statistics are left as they were.
    """
    layers = batchnorms(module)
    if not layers:
        return 0
    stats = [_buffers(m) for m in layers]
    saved = [[b.clone() for b in bufs] for bufs in stats]
    momenta = [m.momentum for m in layers]
    was_training = module.training
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches, each weighing the same
    module.train()
    seen = 0
    try:
        for x in batches:
            with autocast() if autocast is not None else contextlib.nullcontext():
                module(x)
            seen += 1
    finally:
        for m, momentum in zip(layers, momenta, strict=True):
            m.momentum = momentum
        module.train(was_training)
    count = torch.tensor([float(seen)], dtype=torch.float64, device=stats[0][0].device)
    total = float(all_reduce_sum(count).item()) if world_size > 1 else float(seen)
    if total == 0:
        for bufs, old in zip(stats, saved, strict=True):
            for buf, value in zip(bufs, old, strict=True):
                buf.copy_(value)
        return 0
    if world_size > 1:
        for mean, var, _n in stats:
            for buf in (mean, var):
                buf.copy_((all_reduce_sum(buf.double() * seen) / total).to(buf.dtype))
    return seen


def _buffers(m: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(running_mean, running_var, num_batches_tracked)`` of a layer that tracks them."""
    mean, var, n = m.running_mean, m.running_var, m.num_batches_tracked
    assert mean is not None and var is not None and n is not None
    return mean, var, n


def bn_batches(
    dataset: Dataset,
    indices: Sequence[int] | Sequence[tuple[int, int]],
    batch_size: int,
    device: torch.device,
    rank: int = 0,
    world_size: int = 1,
    channels_last: bool = False,
) -> Iterable[torch.Tensor]:
    """This rank's share of ``dataset[indices]`` as model inputs on ``device``, in batches (``indices``: whatever keys
    the dataset takes, ``(index, draw)`` for :class:`~unet_resnet.data.dataset.LabDataset`).

    Every rank gets the same number of photos, hence the same number and sizes of batches (the last
    ``len(indices) % world_size`` keys are left out): with SyncBatchNorm each forward pass is a collective, and a
    rank with one batch more would wait for the others forever.
    """
    usable = len(indices) - len(indices) % world_size
    keys: Any = list(indices)[:usable][rank::world_size]  # Subset passes each key to the dataset as it is
    shard = Subset(dataset, keys)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for cond, _target in DataLoader(shard, batch_size=batch_size, shuffle=False, num_workers=0):
        yield cond.to(device).contiguous(memory_format=fmt)


class PreciseBN:
    """Precise BN for a run: the training photos as inference prepares them (``dataset``), ``photos`` of them chosen
    with ``seed``, recomputed in batches of ``batch_size`` on each rank's share."""

    def __init__(self, dataset: Dataset, photos: int, seed: int, batch_size: int, channels_last: bool) -> None:
        self.dataset, self.photos, self.seed = dataset, photos, seed
        self.batch_size, self.channels_last = batch_size, channels_last
        # a list may name a photo many times (a small set repeated into one long epoch): each photo counts once
        paths = getattr(dataset, "paths", None)
        firsts = {p: i for i, p in reversed(list(enumerate(paths)))} if paths is not None else {}
        self.distinct = sorted(firsts.values()) if paths is not None else list(range(len(dataset)))  # type: ignore[arg-type]

    def refresh(
        self,
        module: nn.Module,
        max_batches: int,
        device: torch.device,
        autocast: AutocastFactory | None = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> int:
        """Recompute ``module``'s BatchNorm statistics with at most ``max_batches`` forward passes on this rank;
        returns the batches this rank ran (the same on every rank)."""
        chosen = capped_photo_indices(
            len(self.distinct), self.photos, self.seed, self.batch_size, world_size, max_batches
        )
        keys = [(self.distinct[i], draw) for i, draw in chosen]
        if not keys:
            return 0
        batches = bn_batches(self.dataset, keys, self.batch_size, device, rank, world_size, self.channels_last)
        return recompute_bn_stats(module, batches, autocast, world_size)
