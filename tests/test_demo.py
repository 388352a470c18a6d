"""The demo (``make demo``, configs/demo.yaml): it shows photos it never trained on, the model it shows is the one at
the end of training, and its checkpoints cost little disk."""

from __future__ import annotations

import re
from pathlib import Path

from unet_resnet.batch.photo_list import read_photo_list
from unet_resnet.config import load_config
from unet_resnet.data.photos import read_list

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "demo.yaml"
SHOWN = ROOT / "data" / "samples" / "demo_shown.txt"
MAX_CHECKPOINT_BYTES = 1_000_000_000


def demo_recipe() -> str:
    makefile = (ROOT / "Makefile").read_text()
    return re.split(r"\n(?=\S)", makefile.split("\ndemo:", 1)[1], maxsplit=1)[0]


def test_the_photos_shown_were_never_trained_on() -> None:
    cfg = load_config(CONFIG)
    trained = {p.resolve() for p in read_list(ROOT / cfg.data.train)}
    shown = {item.src.resolve() for item in read_photo_list(SHOWN) if not item.problem}
    assert len(shown) >= 5 and not trained & shown
    samples = {p.resolve() for p in (ROOT / "data" / "samples").iterdir() if p.suffix in (".png", ".jpg")}
    assert trained | shown == samples  # every bundled sample has its side
    assert cfg.data.val == "" and cfg.data.val_fraction == 0.0  # nothing held out of the list picks the model
    recipe = demo_recipe()
    assert "--in data/samples/demo_shown.txt" in recipe and "--ckpt runs/demo/best.pt" in recipe
    assert "--compare" in recipe and cfg.log.name == "demo" and cfg.log.dir == "runs"


def test_the_model_shown_is_the_last_one_trained() -> None:
    """Without validation photos ``best.pt`` is written after every epoch: it is the end of training."""
    cfg = load_config(CONFIG)
    assert cfg.data.val_fraction == 0.0 and not cfg.data.val and cfg.train.ema_decay == 0.0


def test_checkpoints_cost_at_most_a_gigabyte() -> None:
    """last.pt and best.pt (each: both networks and both optimizers' moments) are written after every epoch, so the
    demo trains few long epochs."""
    from unet_resnet.models.discriminator import PatchDiscriminator
    from unet_resnet.models.generator import UNetGenerator

    cfg = load_config(CONFIG)
    m = cfg.model
    G = UNetGenerator("none", m.decoder_channels, 2, hints=m.hints)
    D = PatchDiscriminator(in_channels=3, base=m.disc_channels)
    params = sum(p.numel() for net in (G, D) for p in net.parameters())
    per_checkpoint = params * 4 * 3  # fp32 weights and Adam's two moments
    epochs = cfg.train.pretrain_epochs + cfg.train.gan_epochs
    assert 2 * epochs * per_checkpoint <= MAX_CHECKPOINT_BYTES, f"{epochs} epochs write {2 * epochs} checkpoints"
    steps_per_epoch = len(read_list(ROOT / cfg.data.train)) // cfg.data.batch_size
    assert epochs * steps_per_epoch >= 240, "the demo trains at least as many steps as before"
