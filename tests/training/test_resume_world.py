"""Resuming with another number of processes: the epoch goes on from where it stopped, no photo skipped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from unet_resnet.config import load_config
from unet_resnet.data.dataset import KeyedSampler
from unet_resnet.training import loop
from unet_resnet.training.progress import Progress
from unet_resnet.training.setup import setup


class Photos(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 24


def epoch_order(world_size: int, rank: int, start: int = 0) -> list[int]:
    sampler = KeyedSampler(Photos(), world_size, rank, shuffle=True, seed=5)
    sampler.set_position(3, start)
    return [i for i, _ in sampler]


@pytest.mark.parametrize(("old", "new", "per_rank"), [(2, 1, 4), (1, 4, 8), (2, 3, 3), (4, 2, 1)])
def test_the_epoch_goes_on_where_it_stopped_with_another_world_size(old: int, new: int, per_rank: int) -> None:
    seen = [i for rank in range(old) for i in epoch_order(old, rank)[:per_rank]]
    progress = Progress("pretrain", epoch=3, samples_done=per_rank, world_size=old)
    again = progress.rescale(new)
    rest = [i for rank in range(new) for i in epoch_order(new, rank, progress.samples_done)]
    assert progress.world_size == new and again == 0
    assert not set(seen) & set(rest), "photos of the epoch given twice"
    assert sorted(seen + rest) == list(range(24)), "photos of the epoch skipped"


def test_a_position_the_new_world_size_cannot_split_repeats_fewer_photos_than_processes() -> None:
    progress = Progress("pretrain", samples_done=3, world_size=2)  # photo 6 of the epoch
    assert progress.rescale(4) == 2 and progress.samples_done == 1  # goes on from photo 4


@pytest.mark.slow
def test_a_checkpoint_of_two_processes_resumes_in_one(tiny_config: Callable[..., Path]) -> None:
    run = setup(load_config(tiny_config(**{"train.pretrain_epochs": 1, "train.gan_epochs": 0})))
    loop.fit(run)
    state = torch.load(run.run_dir / "last.pt", weights_only=True)
    state["progress"] |= {"epoch": 0, "samples_done": 2, "world_size": 2}  # stopped mid-epoch under torchrun
    tampered = run.run_dir / "two.pt"
    torch.save(state, tampered)
    resumed = setup(run.cfg, resume=str(tampered))
    assert (resumed.progress.samples_done, resumed.progress.world_size) == (4, 1)
