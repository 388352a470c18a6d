"""The training photo list: chosen once without decoding, the same on every rank whatever a rank can read."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import torchrun

from unet_resnet.data.dataset import KeyedSampler
from unet_resnet.data.imageio import list_images
from unet_resnet.data.photos import select_training_photos

ROOT = Path(__file__).resolve().parents[2]


def test_listed_colorfulness_is_trusted_and_nothing_is_decoded(tmp_path: Path) -> None:
    for name in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"):
        (tmp_path / name).write_bytes(b"not an image: choosing the list must not decode it")
    listing = tmp_path / "train.txt"
    listing.write_text("# prepared\na.jpg\t31.5\nb.jpg\t3.2\nc.jpg\nd.jpg\t12.0\n")
    chosen = select_training_photos(str(listing), "", 0.0, 0, min_colorfulness=10.0)
    assert [p.name for p in chosen.train] == ["a.jpg", "c.jpg", "d.jpg"]
    assert chosen.train_colorfulness == [31.5, None, 12.0] and chosen.grayscale == 1 and chosen.unmeasured == 1


@pytest.mark.slow
def test_a_photo_one_rank_cannot_read_changes_neither_the_list_nor_the_steps(
    tiny_config: Callable[..., Path], tiny_photos: Path, tmp_path: Path
) -> None:
    photos = list_images(tiny_photos)
    val = tmp_path / "val"
    val.mkdir()
    for p in photos[:2]:
        shutil.copy(p, val / p.name)
        p.unlink()
    # 8 training photos, 2 per batch on each of 2 ranks: 2 steps an epoch (7 photos would give 1)
    for i, p in enumerate(photos[2:4]):
        shutil.copy(p, tiny_photos / f"copy{i}{p.suffix}")
    assert len(list_images(tiny_photos)) == 8
    cfg = tiny_config(
        **{"data.val": str(val), "train.gan_epochs": 0, "train.threads": 1, "train.dist_timeout_min": 1.0}
    )
    out = tmp_path / "counts"
    out.mkdir()
    train = list_images(tiny_photos)
    rank1_first = next(iter(KeyedSampler(train, 2, 1, shuffle=True, seed=0)))[0]  # epoch 0 of pretraining
    broken = train[rank1_first].name  # a photo rank 1 loads, and rank 0 can read
    worker = ROOT / "tests" / "training" / "unreadable_rank_worker.py"
    proc = torchrun(str(worker), str(cfg), broken, str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert counts[0] == counts[1] == {"code": 0, "batches": 2}, counts
    assert "skipping unreadable training photo" in proc.stderr
