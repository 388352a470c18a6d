"""Which device each process takes, and what is set for it (logic only: no GPU needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from unet_resnet.config import ConfigError
from unet_resnet.runtime import distributed


@pytest.fixture
def two_gpu_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rank 1 of 2 under torchrun on a machine that reports CUDA."""
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


@pytest.mark.usefixtures("two_gpu_torchrun")
def test_a_numbered_gpu_under_torchrun_is_refused_before_any_process_group() -> None:
    with pytest.raises(ConfigError, match="CUDA_VISIBLE_DEVICES"):
        distributed.init_distributed("cuda:0")
    assert not torch.distributed.is_initialized()


@pytest.mark.usefixtures("two_gpu_torchrun")
def test_each_rank_takes_the_gpu_of_its_local_rank() -> None:
    assert distributed.pick_device("cuda", local_rank=1, world_size=2) == torch.device("cuda", 1)
    assert distributed.pick_device("auto", local_rank=1, world_size=2) == torch.device("cuda", 1)
    assert distributed.pick_device("cuda:1", local_rank=0, world_size=1) == torch.device("cuda", 1)  # one process


def test_cuda_runs_autotune_convolutions_and_cpu_runs_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from unet_resnet.runtime.backends import configure_backends

    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    configure_backends(torch.device("cpu"))
    assert torch.backends.cudnn.benchmark is False
    tf32 = torch.backends.cuda.matmul.allow_tf32
    try:
        configure_backends(torch.device("cuda", 0))  # only flags: no GPU is touched
        assert torch.backends.cudnn.benchmark is True and torch.backends.cuda.matmul.allow_tf32 is True
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32


def test_the_declared_torch_floor_has_the_gradient_scaler_training_uses() -> None:
    from unet_resnet.runtime.backends import MIN_TORCH

    setup_cfg = (Path(__file__).resolve().parents[2] / "setup.cfg").read_text()
    floor = re.search(r"^\s*torch>=([0-9.]+)\s*$", setup_cfg, re.M)
    assert floor, "setup.cfg names no torch floor"
    assert tuple(int(x) for x in floor.group(1).split(".")[:2]) >= MIN_TORCH >= (2, 3)
