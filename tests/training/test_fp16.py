"""fp16: a step whose gradients overflow is skipped by the gradient scaler; the run goes on (CPU fp16 autocast)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from unet_resnet.cli.train import main
from unet_resnet.config import Config, load_config
from unet_resnet.models.discriminator import PatchDiscriminator
from unet_resnet.models.generator import UNetGenerator
from unet_resnet.runtime.distributed import DistInfo
from unet_resnet.training import loop
from unet_resnet.training import setup as training_setup
from unet_resnet.training.trainer import Pix2PixTrainer

pytestmark = pytest.mark.skipif(
    not torch.amp.is_autocast_available("cpu"), reason="this torch has no CPU autocast for fp16"
)


def fp16_trainer() -> Pix2PixTrainer:
    cfg = Config()
    cfg.model.decoder_channels = [32, 16, 16, 8, 8]
    torch.manual_seed(0)
    G, D = UNetGenerator("none", cfg.model.decoder_channels), PatchDiscriminator(base=8)
    return Pix2PixTrainer(G, D, cfg, DistInfo(0, 0, 1, torch.device("cpu")), torch.float16)


def test_an_overflowing_step_is_skipped_and_the_scale_lowered() -> None:
    trainer = fp16_trainer()
    L = torch.rand(2, 1, 64, 64)
    before = [p.detach().clone() for p in trainer.G.parameters()]
    scale = trainer.opt_G.scaler.get_scale()
    losses = trainer.pretrain_step([(L * 1e6, torch.zeros(2, 2, 64, 64))])  # beyond fp16's range: inf, then NaN
    assert not torch.isfinite(losses["l1"])
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.G.parameters(), strict=True)), "weights moved"
    assert trainer.opt_G.scaler.get_scale() == scale / 2
    trainer.pretrain_step([(L, torch.zeros(2, 2, 64, 64))])
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.G.parameters(), strict=True))


@pytest.mark.slow
def test_a_fp16_run_goes_on_after_an_overflow(
    tiny_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(training_setup, "resolve_precision", lambda name, device: torch.float16)
    real_batches = loop.micro_batches
    seen = {"n": 0}

    def one_overflow(*args, **kwargs):  # type: ignore[no-untyped-def]
        for group in real_batches(*args, **kwargs):
            seen["n"] += 1
            yield [(L * 1e6, ab) for L, ab in group] if seen["n"] == 2 else group  # overflows in fp16

    monkeypatch.setattr(loop, "micro_batches", one_overflow)
    cfg = tiny_config(**{"train.pretrain_epochs": 1, "train.gan_epochs": 1})
    assert main(["-c", str(cfg)]) == 0, caplog.text[-2000:]
    assert "1 of 1 steps at step 2 (stage pretrain, epoch 1) skipped by the gradient scaler" in caplog.text
    state = torch.load(Path(load_config(cfg).log.dir) / "tiny" / "last.pt", weights_only=True)
    assert all(torch.isfinite(v).all() for v in state["generator"].values() if v.is_floating_point())
    assert state["scaler_G"]["scale"] < 65536.0
