"""How training wraps its networks for several processes: DDP inside torch.compile still skips the all-reduce on
accumulation micro-batches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP

from unet_resnet.training.steps import _sync


@pytest.fixture
def one_process_group(tmp_path: Path) -> Iterator[None]:
    """A gloo process group of one rank (DDP needs a group; one rank is enough to see what it synchronises)."""
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


@pytest.mark.usefixtures("one_process_group")
def test_compiled_ddp_module_skips_the_all_reduce_on_all_but_the_last_micro_batch() -> None:
    ddp = DDP(nn.Linear(3, 2))
    compiled = torch.compile(ddp)  # what setup.wrap makes with train.compile: OptimizedModule(DDP)
    assert not isinstance(compiled, DDP)
    with _sync(compiled, last=False):
        assert not ddp.require_backward_grad_sync, "no_sync was skipped: gradients would be all-reduced"
    assert ddp.require_backward_grad_sync
    with _sync(compiled, last=True):
        assert ddp.require_backward_grad_sync
    with _sync(ddp, last=False):
        assert not ddp.require_backward_grad_sync
