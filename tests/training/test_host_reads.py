"""The training steps never wait for the device: the losses are read once per logging interval."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from unet_resnet.config import load_config
from unet_resnet.training import loop
from unet_resnet.training.setup import setup

pytestmark = pytest.mark.slow

PACKAGE = str(Path(loop.__file__).resolve().parents[1])
DATA_PIPELINE = str(Path(PACKAGE) / "data")
"""On CPU the loader's batches become Lab with OpenCV on the host (``.numpy()`` of a batch that never was on a
device): nothing there waits for a device, so the data pipeline's reads are not counted."""
READS = ("item", "cpu", "tolist", "numpy", "__float__", "__int__", "__bool__")
"""Every way a tensor's value reaches the host (each waits for the device to finish what was queued)."""
NOT_STEPS = {"evaluate", "save_last", "refresh_bn_stats"}
"""Work done every validation or checkpoint interval, not every step."""


def in_the_steps() -> bool:
    """Called from the package's own code (reads inside torch, such as Adam's CPU step counter, wait for nothing),
    within the loop over steps and not in validation, precise BN or a checkpoint."""
    frame = sys._getframe(2)
    caller = frame.f_code.co_filename
    if not caller.startswith(PACKAGE) or caller.startswith(DATA_PIPELINE):
        return False
    names = set()
    while frame is not None:
        names.add(frame.f_code.co_name)
        frame = frame.f_back
    return "run_epoch" in names and not names & NOT_STEPS


def test_the_steps_read_the_device_once_per_logging_interval(
    tiny_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    overrides = {"log.every": 3, "train.pretrain_epochs": 2, "train.gan_epochs": 2, "train.ema_decay": 0.9}
    run = setup(load_config(tiny_config(**overrides)))
    reads: list[tuple[str, int]] = []
    for name in READS:
        real = getattr(torch.Tensor, name)

        def counting(self, *args, _real=real, _name=name, **kwargs):  # type: ignore[no-untyped-def]
            if in_the_steps():
                reads.append((_name, run.progress.step))
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counting)
    loop.fit(run)
    assert run.progress.step == 12, "3 steps an epoch, 4 epochs"
    assert reads == [("tolist", 3), ("tolist", 6), ("tolist", 9), ("tolist", 12)], reads
