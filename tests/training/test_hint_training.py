"""A hint model learns to follow its hints: a few dozen steps move the colour at a hint towards it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from unet_resnet.cli.train import main
from unet_resnet.config import load_config
from unet_resnet.data.dataset import LabDataset
from unet_resnet.data.hints import paint, patches_from_truth
from unet_resnet.data.photos import read_list
from unet_resnet.models import checkpoint as ckpt_io

pytestmark = pytest.mark.slow


def same_gray_different_colours(folder: Path, sample: Path, count: int = 8, size: int = 32) -> None:
    """Photos that share one lightness and each have a random flat chroma: L says nothing about the colour, so
    only the hints can (an overfit model would otherwise know the colours and have no use for hints)."""
    folder.mkdir(parents=True)
    bgr = cv2.resize(cv2.imread(str(sample)), (size, size), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(bgr.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab)
    lab[..., 0] = 30.0 + 0.4 * lab[..., 0]  # mid-tones, where every chroma below stays in the sRGB gamut
    rng = np.random.default_rng(0)
    for i in range(count):
        lab[..., 1:] = rng.uniform(-30, 30, size=2)
        out = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2BGR), 0, 1)
        cv2.imwrite(str(folder / f"c{i}.png"), (out * 255 + 0.5).astype(np.uint8))


def test_a_few_dozen_steps_move_the_colour_towards_the_hint(
    overfit_config: Callable[..., Path], tmp_path: Path, sample_paths: list[Path]
) -> None:
    photos = tmp_path / "colours"
    same_gray_different_colours(photos, sample_paths[0])
    overrides = {"data.train": str(photos), "data.size": 32, "data.min_colorfulness": 0, "train.pretrain_epochs": 30}
    overrides |= {"model.hints": True, "hints.p": 0.05, "hints.patch_min": 16, "hints.patch_max": 32}
    # Epochs of one step cap precise BN at one batch of one hint draw per photo; the running averages of the last
    # steps cover many draws. What is tested here is that the hints are followed, not the BatchNorm statistics.
    overrides["train.precise_bn"] = 0
    cfg = overfit_config(**overrides)
    assert main(["-c", str(cfg)]) == 0
    G, spec = ckpt_io.load_generator(Path(load_config(cfg).log.dir) / "tiny" / "last.pt")
    assert spec["hints"] is True
    dataset = LabDataset(read_list(photos), 32)
    before, after = [], []
    for i in range(len(dataset)):
        L, ab = dataset[i]
        (patch,) = patches_from_truth(ab.numpy(), np.array([[16.0, 16.0]]), [3])  # the true colour, at the centre
        hint = torch.from_numpy(paint([patch], 32, 32))
        with torch.no_grad():
            outputs = G(torch.stack([torch.cat([L, torch.zeros_like(hint)]), torch.cat([L, hint])])).numpy()
        for out, dists in zip(outputs, (before, after), strict=True):
            mean = out[:, patch.y0 : patch.y0 + 3, patch.x0 : patch.x0 + 3].mean(axis=(1, 2))
            dists.append(float(np.hypot(mean[0] - patch.a, mean[1] - patch.b)) * 128)
    assert np.mean(after) < 0.6 * np.mean(before), f"ab distance at the hints: {before} -> {after}"
