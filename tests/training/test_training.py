"""Training end to end on tiny real photos: it learns, checkpoints round-trip, runs resume exactly, faults are safe."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from unet_resnet.cli.train import main
from unet_resnet.config import load_config
from unet_resnet.data.dataset import LabDataset
from unet_resnet.data.photos import read_list
from unet_resnet.models import checkpoint as ckpt_io
from unet_resnet.models.generator import UNetGenerator
from unet_resnet.training import loop
from unet_resnet.training.setup import setup
from unet_resnet.training.trainer import Pix2PixTrainer

pytestmark = pytest.mark.slow


def l1_on(G: torch.nn.Module, photos: Path, size: int = 64) -> float:
    ds = LabDataset(read_list(photos), size)
    L = torch.stack([ds[i][0] for i in range(len(ds))])
    ab = torch.stack([ds[i][1] for i in range(len(ds))])
    G.eval()
    with torch.no_grad():
        return float((G(L) - ab).abs().mean())


def run_dir_of(cfg_path: Path) -> Path:
    return Path(load_config(cfg_path).log.dir) / "tiny"


def test_a_few_dozen_steps_lower_l1_clearly(overfit_config: Callable[..., Path]) -> None:
    cfg = overfit_config()
    photos = Path(load_config(cfg).data.train)
    torch.manual_seed(0)
    initial = UNetGenerator("none", [32, 16, 16, 8, 8])
    assert main(["-c", str(cfg)]) == 0
    G, _ = ckpt_io.load_generator(run_dir_of(cfg) / "last.pt")
    before, after = l1_on(initial, photos), l1_on(G, photos)
    assert after < 0.7 * before, f"L1 went from {before:.4f} to {after:.4f} only"


def test_both_stages_write_every_promised_file(tiny_config: Callable[..., Path]) -> None:
    cfg = tiny_config()
    assert main(["-c", str(cfg)]) == 0
    run = run_dir_of(cfg)
    for name in ("last.pt", "best.pt", "config.yaml", "metrics.jsonl"):
        assert (run / name).is_file(), name
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(m["stage"], m["epoch"]) for m in lines] == [("pretrain", 1), ("gan", 1)]
    for m in lines:
        assert {"val_ab_l1", "val_psnr", "val_cf_pred", "val_cf_truth"} <= m.keys()
        assert m["val_ab_l1"] > 0 and 5 < m["val_psnr"] < 100
    grids = sorted((run / "samples").glob("*.png"))
    assert [g.name for g in grids] == ["gan_epoch001.png", "pretrain_epoch001.png"]
    state = torch.load(run / "last.pt", map_location="cpu", weights_only=True)
    assert state["kind"] == "training" and state["stage"] == "gan" and state["model"]["arch"] == "unet_resnet18"
    assert {"generator", "discriminator", "opt_G", "opt_D", "scaler_G", "scaler_D", "rng", "config"} <= state.keys()


def test_checkpoint_round_trip_reproduces_outputs(tiny_config: Callable[..., Path], tiny_photos: Path) -> None:
    cfg = load_config(tiny_config(**{"train.gan_epochs": 0}))
    run = setup(cfg)
    loop.fit(run)
    G, spec = ckpt_io.load_generator(run.run_dir / "last.pt")
    assert spec["size"] == 64
    x = torch.rand(2, 1, 64, 80)
    run.trainer.G.eval()
    with torch.no_grad():
        assert torch.equal(G(x), run.trainer.G(x))


def test_existing_run_folder_is_never_overwritten(tiny_config: Callable[..., Path]) -> None:
    cfg = tiny_config(**{"train.gan_epochs": 0})
    assert main(["-c", str(cfg)]) == 0
    first = (run_dir_of(cfg) / "last.pt").read_bytes()
    assert main(["-c", str(cfg)]) == 0
    assert (run_dir_of(cfg) / "last.pt").read_bytes() == first
    assert (run_dir_of(cfg).with_name("tiny-2") / "last.pt").is_file()


def final_weights(path: Path) -> dict[str, torch.Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {
        **{f"G.{k}": v for k, v in state["generator"].items()},
        **{f"D.{k}": v for k, v in state["discriminator"].items()},
    }


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs"


def test_resume_after_an_epoch_is_bit_exact(tiny_config: Callable[..., Path], tmp_path: Path) -> None:
    """2 epochs straight == 1 epoch, stop, resume, 1 more epoch (fp32, CPU, fixed seed)."""
    straight = tiny_config(**{"train.pretrain_epochs": 1, "train.gan_epochs": 1, "log.name": "straight"})
    assert main(["-c", str(straight)]) == 0
    split = tiny_config(**{"train.pretrain_epochs": 1, "train.gan_epochs": 0, "log.name": "split"})
    assert main(["-c", str(split)]) == 0
    last = tmp_path / "runs" / "split" / "last.pt"
    assert torch.load(last, weights_only=True)["progress"]["epoch"] == 1
    assert main(["--resume", str(last), "train.gan_epochs=1"]) == 0
    assert_same(final_weights(tmp_path / "runs" / "straight" / "last.pt"), final_weights(last))
    stages = [json.loads(x)["stage"] for x in last.with_name("metrics.jsonl").read_text().splitlines()]
    assert stages == ["pretrain", "gan"]


def test_ctrl_c_saves_and_resume_is_bit_exact(
    tiny_config: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in the middle of an epoch saves a checkpoint; resuming ends where the uninterrupted run ends."""
    straight = tiny_config(**{"train.pretrain_epochs": 2, "train.gan_epochs": 0, "log.name": "straight"})
    assert main(["-c", str(straight)]) == 0

    calls = {"n": 0}
    real_step = Pix2PixTrainer.pretrain_step

    def step_then_ctrl_c(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real_step(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 4:  # second step of the second epoch
            signal.raise_signal(signal.SIGINT)
        return out

    monkeypatch.setattr(Pix2PixTrainer, "pretrain_step", step_then_ctrl_c)
    interrupted = tiny_config(**{"train.pretrain_epochs": 2, "train.gan_epochs": 0, "log.name": "cut"})
    assert main(["-c", str(interrupted)]) == 130
    last = tmp_path / "runs" / "cut" / "last.pt"
    progress = torch.load(last, weights_only=True)["progress"]
    assert (progress["epoch"], progress["samples_done"], progress["step"]) == (1, 2, 4)
    monkeypatch.setattr(Pix2PixTrainer, "pretrain_step", real_step)
    assert main(["--resume", str(last)]) == 0
    assert_same(final_weights(tmp_path / "runs" / "straight" / "last.pt"), final_weights(last))


def test_nan_loss_stops_with_message_and_keeps_last_good_checkpoint(
    tiny_config: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = tiny_config(**{"train.pretrain_epochs": 1, "train.gan_epochs": 0})
    assert main(["-c", str(cfg)]) == 0
    last = run_dir_of(cfg) / "last.pt"
    good = last.read_bytes()

    real_batches = loop.micro_batches

    def nan_targets(*args, **kwargs):  # type: ignore[no-untyped-def]
        for group in real_batches(*args, **kwargs):
            yield [(L, ab * float("nan")) for L, ab in group]

    monkeypatch.setattr(loop, "micro_batches", nan_targets)
    assert main(["--resume", str(last), "train.pretrain_epochs=2"]) == 1
    assert "non-finite loss at step 4 (stage pretrain, epoch 2)" in caplog.text
    assert last.read_bytes() == good
    ckpt_io.load(last)


def test_bf16_autocast_on_cpu_trains_both_stages(tiny_config: Callable[..., Path]) -> None:
    cfg = tiny_config(**{"train.precision": "bf16"})
    assert main(["-c", str(cfg)]) == 0
    lines = [json.loads(x) for x in (run_dir_of(cfg) / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 2 and all(torch.isfinite(torch.tensor(m["val_ab_l1"])) for m in lines)


def test_gan_stage_starts_from_a_pretrained_generator(tiny_config: Callable[..., Path], tmp_path: Path) -> None:
    pre = tiny_config(**{"train.gan_epochs": 0, "log.name": "pre"})
    assert main(["-c", str(pre)]) == 0
    source = tmp_path / "runs" / "pre" / "last.pt"
    gan = tiny_config(**{"log.name": "gan", "train.init_generator": str(source)})
    cfg = load_config(gan)
    run = setup(cfg, stage="gan")
    G0, _ = ckpt_io.load_generator(source)
    for (k, a), b in zip(run.trainer.G.state_dict().items(), G0.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    assert run.stages == ["gan"]


def test_too_few_photos_for_the_batch_is_a_clear_error(
    tiny_config: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    cfg = tiny_config(**{"data.batch_size": 64})
    assert main(["-c", str(cfg)]) == 1
    assert "lower data.batch_size" in caplog.text


def test_unknown_key_fails_before_training(tiny_config: Callable[..., Path], caplog: pytest.LogCaptureFixture) -> None:
    assert main(["-c", str(tiny_config()), "train.lambda=5"]) == 1
    assert "train.lambda" in caplog.text


def test_tensorboard_without_the_extra_is_a_clear_error(
    tiny_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if TensorBoard were not installed
    assert main(["-c", str(tiny_config(**{"log.tensorboard": True}))]) == 1
    assert "pip install 'unet_resnet[tensorboard]'" in caplog.text


@pytest.mark.skipif(not torch.cuda.is_available(), reason="fp16 autocast with a gradient scaler needs CUDA")
def test_fp16_with_grad_scaler_on_gpu(tiny_config: Callable[..., Path]) -> None:
    cfg = tiny_config(**{"train.precision": "fp16", "train.device": "cuda"})
    assert main(["-c", str(cfg)]) == 0
    state = torch.load(run_dir_of(cfg) / "last.pt", weights_only=True)
    assert state["scaler_G"]["scale"] > 0


def test_fp16_on_cpu_is_refused_with_advice(tiny_config: Callable[..., Path], caplog: pytest.LogCaptureFixture) -> None:
    assert main(["-c", str(tiny_config(**{"train.precision": "fp16", "train.device": "cpu"}))]) == 1
    assert "use bf16 or fp32" in caplog.text
