"""The damage model and restoration training: effects are real, bounded, reproducible; restoration learns."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import OVERFIT_STEPS

from unet_resnet.cli.damage import main as damage_main
from unet_resnet.cli.train import main as train_main
from unet_resnet.config import load_config
from unet_resnet.data import damage as dmg
from unet_resnet.data.color import rgb_to_lab
from unet_resnet.data.dataset import LabDataset
from unet_resnet.data.imageio import read_rgb8
from unet_resnet.data.photos import read_list
from unet_resnet.models import checkpoint as ckpt_io


@pytest.fixture(scope="module")
def clean_L(sample_paths: list[Path]) -> np.ndarray:
    rgb = read_rgb8(sample_paths[3]).astype(np.float32) / 255.0
    return np.ascontiguousarray(rgb_to_lab(rgb)[:200, :300, 0] / 100.0)


@pytest.mark.parametrize("name", list(dmg.EFFECTS))
def test_each_effect_changes_the_image_keeps_size_and_range(name: str, clean_L: np.ndarray) -> None:
    out = dmg.EFFECTS[name](clean_L, np.random.default_rng(0), 0.7)
    assert out.shape == clean_L.shape and out.dtype == np.float32
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0
    changed = np.abs(out - clean_L)
    assert changed.max() > 0.02, f"{name} did not visibly change the image"


@pytest.mark.parametrize("name", list(dmg.EFFECTS))
def test_each_effect_is_reproducible_from_its_seed(name: str, clean_L: np.ndarray) -> None:
    a = dmg.EFFECTS[name](clean_L, np.random.default_rng(5), 0.5)
    b = dmg.EFFECTS[name](clean_L, np.random.default_rng(5), 0.5)
    assert np.array_equal(a, b)
    if name not in ("blur", "fade"):  # their randomness is a scalar that may round alike; the rest draw shapes
        c = dmg.EFFECTS[name](clean_L, np.random.default_rng(6), 0.5)
        assert not np.array_equal(a, c)


def test_damage_applies_effects_by_probability(clean_L: np.ndarray) -> None:
    none = dmg.DamageConfig(**{f"p_{k}": 0.0 for k in dmg.EFFECTS})
    assert np.array_equal(dmg.damage(clean_L, np.random.default_rng(0), none), clean_L)
    every = dmg.DamageConfig(**{f"p_{k}": 1.0 for k in dmg.EFFECTS})
    out = dmg.damage(clean_L, np.random.default_rng(0), every)
    assert out.shape == clean_L.shape and np.abs(out - clean_L).mean() > 0.02


def test_restoration_dataset_pairs(tiny_photos: Path) -> None:
    ds = LabDataset(read_list(tiny_photos), 64, damage=dmg.DamageConfig())
    plain = LabDataset(read_list(tiny_photos), 64)
    damaged, target = ds[(0, 0)]
    L, ab = plain[(0, 0)]
    assert damaged.shape == (1, 64, 64) and target.shape == (3, 64, 64)
    torch.testing.assert_close(target[0:1], L * 2 - 1)
    torch.testing.assert_close(target[1:], ab)
    assert torch.equal(ds[(0, 0)][0], damaged), "damage must be reproducible for a given seed, epoch and index"


def test_preview_writes_rows(tiny_photos: Path, tmp_path: Path) -> None:
    assert damage_main(["--in", str(tiny_photos), "--out", str(tmp_path / "prev"), "--count", "2", "--size", "64"]) == 0
    files = sorted((tmp_path / "prev").glob("*.png"))
    assert len(files) == 8
    import cv2

    assert cv2.imread(str(files[0])).shape == (64, 64 * 3, 3)


@pytest.mark.slow
def test_restoration_training_lowers_L_error_below_the_damaged_input(overfit_config: Callable[..., Path]) -> None:
    cfg_path = overfit_config(
        **{
            "restore.enabled": True,
            # Global damage (faded contrast, uneven exposure) is learnt within a few dozen steps; local defects
            # (scratches, dust, grain) need far longer training and are measured by the restoration benchmark.
            **{f"restore.p_{k}": 0.0 for k in ("scratches", "stripes", "dust", "grain", "blur", "jpeg", "tears")},
            "restore.p_fade": 1.0,
            "restore.s_fade": 1.0,
        }
    )
    assert train_main(["-c", str(cfg_path)]) == 0
    cfg = load_config(cfg_path)
    epochs = [json.loads(line) for line in (Path(cfg.log.dir) / "tiny" / "metrics.jsonl").read_text().splitlines()]
    assert [(m["epoch"], m["step"]) for m in epochs] == [(1, OVERFIT_STEPS)]  # sized by steps: one epoch's costs
    photos = Path(cfg.data.train)
    G, spec = ckpt_io.load_generator(Path(cfg.log.dir) / "tiny" / "last.pt")
    assert spec["out_channels"] == 3
    ds = LabDataset(read_list(photos), 64, damage=cfg.restore.damage_config(), seed=123)  # unseen damage
    damaged = torch.stack([ds[i][0] for i in range(4)])
    clean = torch.stack([(ds[i][1][:1] + 1) / 2 for i in range(4)])
    with torch.no_grad():
        restored = (G(damaged)[:, :1] + 1) / 2
    err_in, err_out = float((damaged - clean).abs().mean()), float((restored - clean).abs().mean())
    assert err_out < err_in, f"restored L error {err_out:.4f} is not below the damaged input's {err_in:.4f}"
