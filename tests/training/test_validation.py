"""Validation on the device gives the scores the photo-by-photo CPU computation gives, with one host read."""

from __future__ import annotations

import contextlib
import math
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn
from torch.utils.data import Dataset

from unet_resnet.data.color import AB_SCALE, colorfulness, tensors_to_rgb
from unet_resnet.metrics import psnr
from unet_resnet.training import validation
from unet_resnet.training.validation import PSNR_CAP, validate


class Pairs(Dataset):
    """Random ``(L, ab)`` pairs: L in [0, 1] (some of it in the dark, linear branch of Lab), ab in [-1, 1]."""

    def __init__(self, n: int) -> None:
        g = torch.Generator().manual_seed(0)
        self.L = torch.rand(n, 1, 24, 20, generator=g)
        self.L[:, :, :3] *= 0.05
        self.ab = torch.rand(n, 2, 24, 20, generator=g) * 1.6 - 0.8

    def __len__(self) -> int:
        return len(self.L)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.L[i], self.ab[i]


class Shift(nn.Module):
    """A stand-in generator: ``tanh`` of a fixed function of L, so that predictions differ from the truth."""

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        return torch.tanh(torch.cat([L * 1.5 - 0.5, 0.4 - L], dim=1))


def photo_by_photo(G: nn.Module, data: Pairs) -> dict[str, float]:
    """The scores as the numpy metrics give them, one photo at a time."""
    ab_l1, psnrs, cf_pred, cf_true = [], [], [], []
    for i in range(len(data)):
        L, ab = data[i]
        pred = G(L[None])[0]
        rgb_pred, rgb_true = tensors_to_rgb(L, pred), tensors_to_rgb(L, ab)
        ab_l1.append(float((pred - ab).abs().mean()) * AB_SCALE)
        psnrs.append(min(psnr(rgb_pred, rgb_true), PSNR_CAP))
        cf_pred.append(colorfulness(rgb_pred))
        cf_true.append(colorfulness(rgb_true))
    return {
        "val_ab_l1": float(np.mean(ab_l1)),
        "val_psnr": float(np.mean(psnrs)),
        "val_cf_pred": float(np.mean(cf_pred)),
        "val_cf_truth": float(np.mean(cf_true)),
    }


def test_device_scores_equal_the_photo_by_photo_scores() -> None:
    data, G = Pairs(5), Shift()
    got = validate(G, data, torch.device("cpu"), contextlib.nullcontext, batch_size=2)
    want = photo_by_photo(G, data)
    assert got["val_images"] == 5
    assert got["val_ab_l1"] == pytest.approx(want["val_ab_l1"], abs=1e-4)
    # an 8-bit level may round the other way for a rare pixel (OpenCV's gamma is a spline table)
    assert got["val_psnr"] == pytest.approx(want["val_psnr"], abs=0.02)
    assert got["val_cf_pred"] == pytest.approx(want["val_cf_pred"], abs=0.02)
    assert got["val_cf_truth"] == pytest.approx(want["val_cf_truth"], abs=0.02)


def test_identical_photos_score_the_cap_not_infinity() -> None:
    same = torch.full((2, 3, 4, 4), 128.0)
    assert torch.equal(validation.batch_psnr(same, same), torch.full((2,), PSNR_CAP))
    assert math.isfinite(float(validation.batch_psnr(same, same + 1).max()))


def test_validation_reads_the_device_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sums stay where the model runs; validation's own code copies them to the host once, after the
    reduction, not once per photo (the DataLoader's own seed draw on the CPU is not counted)."""
    reads: list[str] = []

    def counting(name: str) -> object:
        real = getattr(torch.Tensor, name)

        def read(self: torch.Tensor, *args: object, **kwargs: object) -> object:
            if sys._getframe(1).f_code.co_filename == validation.__file__:
                reads.append(f"{name}{tuple(self.shape)}")
            return real(self, *args, **kwargs)

        return read

    for name in ("cpu", "item", "tolist", "__float__"):
        monkeypatch.setattr(torch.Tensor, name, counting(name))
    validate(Shift(), Pairs(6), torch.device("cpu"), contextlib.nullcontext, batch_size=2)
    assert reads == ["tolist(7,)"]
