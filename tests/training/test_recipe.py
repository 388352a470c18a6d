"""The recipe options in a real (tiny) run: validation and checkpoints use the EMA, resume stays exact."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from unet_resnet.cli.train import main
from unet_resnet.config import load_config
from unet_resnet.models import checkpoint as ckpt_io
from unet_resnet.training import loop
from unet_resnet.training import trainer as trainer_module
from unet_resnet.training.setup import setup
from unet_resnet.training.trainer import Pix2PixTrainer
from unet_resnet.training.validation import validate

pytestmark = pytest.mark.slow
RECIPE = {"train.ema_decay": 0.9, "train.lr_schedule": "linear", "train.rec_loss": "huber", "train.lr_d_scale": 2.0}


def test_validation_best_and_checkpoints_use_the_ema(tiny_config: Callable[..., Path]) -> None:
    run = setup(load_config(tiny_config(**RECIPE)))
    loop.fit(run)
    assert run.trainer.ema is not None and run.trainer.user_G() is run.trainer.ema.module
    state = torch.load(run.run_dir / "last.pt", weights_only=True)
    assert state["ema_updates"] == run.progress.step
    differs = [k for k in state["generator"] if not torch.equal(state["generator"][k], state["generator_train"][k])]
    assert differs, "the EMA equals the last weights: the test would not tell them apart"
    logged = json.loads((run.run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    on_ema = validate(run.trainer.ema.module, run.val_set, run.info.device, run.trainer.autocast, batch_size=2)
    on_last = validate(run.trainer.G, run.val_set, run.info.device, run.trainer.autocast, batch_size=2)
    assert logged["val_ab_l1"] == pytest.approx(on_ema["val_ab_l1"], rel=1e-9)
    assert on_ema["val_ab_l1"] != on_last["val_ab_l1"]
    x = torch.rand(1, 1, 64, 64)
    for name in ("last.pt", "best.pt"):
        G, _ = ckpt_io.load_generator(run.run_dir / name)
        with torch.no_grad():  # one epoch per stage: best.pt is the GAN stage's only epoch, as last.pt
            torch.testing.assert_close(G(x), run.trainer.ema.module(x))


def test_resume_mid_schedule_gives_identical_learning_rates_and_weights(
    tiny_config: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in the middle of a decaying stage, then resume: the same learning rates step by step, the same
    training weights, EMA and discriminator as the run that was never stopped."""
    lrs: list[float] = []
    real_apply = trainer_module.apply_schedule

    def recording(opt_G, opt_D, train, t):  # type: ignore[no-untyped-def]
        factor = real_apply(opt_G, opt_D, train, t)
        lrs.append(opt_G.param_groups[0]["lr"])
        return factor

    monkeypatch.setattr(trainer_module, "apply_schedule", recording)
    stages = {"train.pretrain_epochs": 2, "train.gan_epochs": 1}
    assert main(["-c", str(tiny_config(**RECIPE, **stages, **{"log.name": "straight"}))]) == 0
    straight = list(lrs)
    assert len(straight) == 9 and len(set(straight[:6])) > 2, straight  # the pretrain stage decays

    lrs.clear()
    calls = {"n": 0}
    real_step = Pix2PixTrainer.pretrain_step

    def step_then_ctrl_c(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real_step(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 5:  # second step of the second epoch, inside the decaying half
            signal.raise_signal(signal.SIGINT)
        return out

    monkeypatch.setattr(Pix2PixTrainer, "pretrain_step", step_then_ctrl_c)
    assert main(["-c", str(tiny_config(**RECIPE, **stages, **{"log.name": "cut"}))]) == 130
    monkeypatch.setattr(Pix2PixTrainer, "pretrain_step", real_step)
    last = tmp_path / "runs" / "cut" / "last.pt"
    assert main(["--resume", str(last)]) == 0
    assert lrs == straight

    a = torch.load(tmp_path / "runs" / "straight" / "last.pt", weights_only=True)
    b = torch.load(last, weights_only=True)
    assert a["ema_updates"] == b["ema_updates"] == 9
    for key in ("generator", "generator_train", "discriminator"):
        for k in a[key]:
            assert torch.equal(a[key][k], b[key][k]), f"{key}.{k} differs"
