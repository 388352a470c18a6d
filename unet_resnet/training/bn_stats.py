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


def bn_photo_indices(count: int, photos: int, seed: int, repeat: bool = False) -> list[tuple[int, int]]:
    """A fixed, seeded choice of ``photos`` of ``count`` photos as dataset keys ``(index, draw)``.

    With fewer photos than asked, all of them; with ``repeat`` (their simulated hints or damage differ from draw to
    draw) the photos come round again with new draws until ``photos`` samples are reached."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(count, generator=g).tolist()
    total = photos if repeat else min(photos, count)
    keys = [(order[i % count], i // count) for i in range(total)]
    return sorted(keys)


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
    the dataset takes, ``(index, draw)`` for :class:`~unet_resnet.data.dataset.LabDataset`)."""
    keys: Any = list(indices)[rank::world_size]  # Subset passes each key to the dataset as it is
    shard = Subset(dataset, keys)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for cond, _target in DataLoader(shard, batch_size=batch_size, shuffle=False, num_workers=0):
        yield cond.to(device).contiguous(memory_format=fmt)
