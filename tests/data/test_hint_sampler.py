"""The hint sampler: seeded, geometric counts, patch values from the true colours, patches inside the image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from unet_resnet.config import HintConfig
from unet_resnet.data.dataset import LabDataset
from unet_resnet.data.photos import read_list
from unet_resnet.data.hints import paint, patch_mean, place, sample_count, sample_hints, scaled_side


def random_ab(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, size=(2, h, w)).astype(np.float32)


def test_same_seed_same_hints_other_seed_other_hints() -> None:
    ab = random_ab(64, 64)
    cfg = HintConfig(p=0.01)  # nearly always hints, so two seeds cannot agree by both drawing none
    first, _ = sample_hints(ab, np.random.default_rng([0, 3, 7, 2]), cfg)
    again, _ = sample_hints(ab, np.random.default_rng([0, 3, 7, 2]), cfg)
    other, _ = sample_hints(ab, np.random.default_rng([0, 4, 7, 2]), cfg)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_counts_are_geometric_with_p_one_eighth() -> None:
    rng = np.random.default_rng(0)
    counts = np.array([sample_count(rng, 0.125, 64) for _ in range(40000)])
    # P(0) = p = 0.125 and mean (1 - p) / p = 7; the tolerances are several standard errors wide
    assert abs((counts == 0).mean() - 0.125) < 0.008
    assert abs(counts.mean() - 7.0) < 0.2
    assert abs((counts == 1).mean() - 0.125 * 0.875) < 0.008
    assert counts.max() <= 64


def test_count_is_capped() -> None:
    rng = np.random.default_rng(1)
    assert max(sample_count(rng, 0.01, 5) for _ in range(200)) == 5


def test_each_patch_holds_the_mean_true_ab_over_it() -> None:
    ab = random_ab(48, 48, seed=2)
    cfg = HintConfig(p=0.05, patch_min=3, patch_max=17)  # sides 1 to 3 pixels at 48x48
    hint, patches = sample_hints(ab, np.random.default_rng(5), cfg)
    assert patches, "p = 0.05 drew no hint with this seed; pick another seed"
    for p in patches:
        a, b = patch_mean(ab, p.x0, p.y0, p.side)
        window = ab[:, p.y0 : p.y0 + p.side, p.x0 : p.x0 + p.side]
        assert (p.a, p.b) == pytest.approx((float(window[0].mean()), float(window[1].mean())), abs=1e-6)
        assert (a, b) == pytest.approx((p.a, p.b))
    last = patches[-1]  # painted last: its whole square carries its value, and the mask is 1 there
    square = hint[:, last.y0 : last.y0 + last.side, last.x0 : last.x0 + last.side]
    assert np.allclose(square[0], last.a) and np.allclose(square[1], last.b) and np.all(square[2] == 1)
    covered = np.zeros((48, 48), bool)
    for p in patches:
        covered[p.y0 : p.y0 + p.side, p.x0 : p.x0 + p.side] = True
    np.testing.assert_array_equal(hint[2] == 1, covered)
    assert np.all(hint[:2][:, ~covered] == 0)


@pytest.mark.parametrize("position", ["gaussian", "uniform"])
@pytest.mark.parametrize(("h", "w"), [(37, 53), (9, 9), (129, 31)])
def test_patches_stay_inside_odd_sized_images(position: str, h: int, w: int) -> None:
    cfg = HintConfig(p=0.05, patch_min=1, patch_max=64, position=position, sigma=0.6)
    rng = np.random.default_rng(3)
    seen = 0
    for _ in range(50):
        hint, patches = sample_hints(random_ab(h, w), rng, cfg)
        assert hint.shape == (3, h, w)
        for p in patches:
            seen += 1
            assert 0 <= p.x0 and p.x0 + p.side <= w and 0 <= p.y0 and p.y0 + p.side <= h
            assert p.side >= 1
    assert seen > 100


def test_patch_sides_scale_with_the_image() -> None:
    assert scaled_side(9, 256) == 9 and scaled_side(9, 512) == 18 and scaled_side(1, 64) == 1
    cfg = HintConfig(p=0.02, patch_min=1, patch_max=9)
    sides = {p.side for _ in range(30) for p in sample_hints(random_ab(128, 128), np.random.default_rng(_), cfg)[1]}
    assert min(sides) == 1 and max(sides) == scaled_side(9, 128)


def test_place_moves_a_patch_in_never_cuts_it() -> None:
    assert place(0, 0, 5, 20, 30) == (0, 0)
    assert place(29, 19, 5, 20, 30) == (25, 15)
    assert place(10, 10, 3, 20, 30) == (9, 9)  # centred
    hint = paint([], 4, 6)
    assert hint.shape == (3, 4, 6) and not hint.any()


def test_dataset_adds_hints_without_changing_the_augmentation(tiny_photos: Path) -> None:
    paths = read_list(tiny_photos)
    plain = LabDataset(paths, 64, "random_crop", flip=True, seed=4)
    hinted = LabDataset(paths, 64, "random_crop", flip=True, seed=4, hints=HintConfig(p=0.01))
    cond, ab = hinted[(2, 5)]
    L, ab_plain = plain[(2, 5)]
    assert cond.shape == (4, 64, 64)
    torch.testing.assert_close(cond[:1], L)
    torch.testing.assert_close(ab, ab_plain)
    assert cond[3].sum() > 0  # p = 0.01: hints nearly always
    torch.testing.assert_close(hinted[(2, 5)][0], cond)  # keyed: the same hints whichever worker loads it
    assert not torch.equal(hinted[(2, 6)][0][1:], cond[1:])
