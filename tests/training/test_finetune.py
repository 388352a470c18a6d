"""Fine-tuning from a model folder, and what a run records for model cards (data size, encoder initialisation)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from conftest import write_tiny_generator

from unet_resnet.cli.train import main
from unet_resnet.config import load_config
from unet_resnet.inference.colorizer import Colorizer
from unet_resnet.models import checkpoint as ckpt_io
from unet_resnet.training.setup import setup

pytestmark = pytest.mark.slow


def test_fine_tuning_from_a_folder_changes_the_weights_and_keeps_the_spec(
    tiny_config: Callable[..., Path], tmp_path: Path
) -> None:
    base = Colorizer.load(write_tiny_generator(tmp_path / "base.pt", seed=3), "cpu")
    folder = base.save_pretrained(tmp_path / "base-model")
    # the config asks for other decoder widths: the starting model's architecture is kept
    cfg = tiny_config(**{"train.init_generator": str(folder), "model.decoder_channels": [64, 32, 16, 16, 8]})
    assert main(["-c", str(cfg), "train.gan_epochs=0"]) == 0
    best = tmp_path / "runs" / "tiny" / "best.pt"
    tuned, spec, provenance = ckpt_io.load_model(best)
    assert spec == base.spec
    changed = [k for k, v in tuned.state_dict().items() if not torch.equal(v, base.G.state_dict()[k])]
    assert "head.weight" in changed and any(k.startswith("encoder.") for k in changed)
    assert provenance.record["encoder_weights"] == f"the generator of {folder} (fine-tuned)"
    assert provenance.record["train_photos"] == 6 and provenance.record["val_photos"] == 2  # 8 photos, 1/4 held out
    assert load_config(tmp_path / "runs" / "tiny" / "config.yaml").model.decoder_channels == spec["decoder_channels"]


def test_a_hint_model_cannot_silently_start_a_plain_run(tiny_config: Callable[..., Path], tmp_path: Path) -> None:
    folder = Colorizer.load(write_tiny_generator(tmp_path / "h.pt", seed=0, hints=True), "cpu").save_pretrained(
        tmp_path / "hint-model"
    )
    with pytest.raises(ValueError, match="set model.hints to true"):
        setup(load_config(tiny_config(**{"train.init_generator": str(folder)})))


def test_auto_encoder_weights_offline_are_recorded_as_random(tiny_config: Callable[..., Path]) -> None:
    run = setup(load_config(tiny_config(**{"model.encoder_weights": "auto"})))
    record = run.checkpoint()["record"]
    assert record["encoder_weights"].startswith("random weights (auto: ImageNet weights unavailable: HF_HUB_OFFLINE")
    assert record["train_photos"] == 6 and record["hardware"]


def test_a_list_naming_photos_many_times_records_the_photos_not_the_listings(
    tiny_config: Callable[..., Path], tiny_photos: Path, tmp_path: Path
) -> None:
    """The demo lists each of its photos many times (one long epoch): the model card must not claim 1440 photos."""
    photos = sorted(p for p in tiny_photos.iterdir() if p.suffix == ".png")[:3]
    listing = tmp_path / "repeated.txt"
    listing.write_text("".join(f"{p}\n" for p in photos) * 5)
    cfg = load_config(tiny_config(**{"data.train": str(listing), "data.val_fraction": 0.0}))
    run = setup(cfg)
    assert len(run.train_set) == 15 and run.record["train_photos"] == 3
