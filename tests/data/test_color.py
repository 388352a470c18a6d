"""The Lab pipeline: published CIE Lab values, round trips on real photos, normalisation ranges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from unet_resnet.data.color import (
    colorfulness,
    gray_rgb,
    lab_to_rgb,
    normalize_lab,
    rgb_to_lab,
    rgb_to_tensors,
    tensors_to_rgb,
)
from unet_resnet.data.imageio import read_rgb8

# sRGB (D65) -> CIE Lab, as published (e.g. by Bruce Lindbloom's calculator).
KNOWN = [
    ((255, 0, 0), (53.24, 80.09, 67.20)),
    ((0, 255, 0), (87.73, -86.18, 83.18)),
    ((0, 0, 255), (32.30, 79.19, -107.86)),
    ((255, 255, 255), (100.0, 0.0, 0.0)),
    ((0, 0, 0), (0.0, 0.0, 0.0)),
    ((128, 128, 128), (53.59, 0.0, 0.0)),
]


@pytest.mark.parametrize(("rgb", "lab"), KNOWN)
def test_known_colours_give_published_lab(rgb: tuple[int, int, int], lab: tuple[float, float, float]) -> None:
    pixel = np.array(rgb, np.float32).reshape(1, 1, 3) / 255.0
    got = rgb_to_lab(pixel)[0, 0]
    np.testing.assert_allclose(got, lab, atol=0.5)


def test_round_trip_on_real_photos_within_one_gray_level(sample_paths: list[Path]) -> None:
    for path in sample_paths[:6]:
        rgb8 = read_rgb8(path)
        back = lab_to_rgb(rgb_to_lab(rgb8.astype(np.float32) / 255.0))
        err = np.abs(np.round(back * 255.0) - rgb8.astype(np.float64))
        assert err.max() <= 1.0, f"{path.name}: round trip off by {err.max()} gray levels"


def test_normalised_ranges_and_shapes(sample_paths: list[Path]) -> None:
    rgb = read_rgb8(sample_paths[0]).astype(np.float32) / 255.0
    L, ab = rgb_to_tensors(rgb)
    h, w = rgb.shape[:2]
    assert L.shape == (1, h, w) and ab.shape == (2, h, w)
    assert L.dtype == torch.float32 and ab.dtype == torch.float32
    assert 0.0 <= float(L.min()) and float(L.max()) <= 1.0
    assert -1.0 <= float(ab.min()) and float(ab.max()) <= 1.0
    # a real colour photo uses a good part of the range
    assert float(L.max() - L.min()) > 0.5 and float(ab.abs().max()) > 0.2


def test_extreme_lab_is_clipped_into_range() -> None:
    lab = np.array([[[120.0, 200.0, -300.0]]], np.float32)
    L, ab = normalize_lab(lab)
    assert L.max() == 1.0 and ab.max() == 1.0 and ab.min() == -1.0


def test_tensors_to_rgb_inverts_rgb_to_tensors(sample_paths: list[Path]) -> None:
    rgb8 = read_rgb8(sample_paths[1])
    L, ab = rgb_to_tensors(rgb8.astype(np.float32) / 255.0)
    back = tensors_to_rgb(L, ab)
    assert back.dtype == np.uint8 and back.shape == rgb8.shape
    assert np.abs(back.astype(int) - rgb8.astype(int)).max() <= 1


def test_out_of_gamut_ab_is_clipped_to_valid_rgb() -> None:
    L = torch.full((1, 4, 4), 0.5)
    ab = torch.ones(2, 4, 4)  # extreme a and b: outside sRGB
    rgb = tensors_to_rgb(L, ab)
    assert rgb.dtype == np.uint8  # clipped, not wrapped around


def test_colorfulness_gray_is_zero_and_colour_is_high(sample_paths: list[Path]) -> None:
    rgb8 = read_rgb8(sample_paths[2])
    assert colorfulness(rgb8) > 10
    gray = (gray_rgb(rgb8.astype(np.float32) / 255.0) * 255 + 0.5).astype(np.uint8)
    assert colorfulness(gray) < 1.0
    assert colorfulness(np.full((8, 8, 3), 77, np.uint8)) == 0.0
