"""Validation during training: metrics reduced over ranks, and the sample grid (gray | predicted | truth)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, Subset

from .color import AB_SCALE, colorfulness, tensors_to_rgb
from .distributed import all_reduce_sum
from .engine import AutocastFactory
from .imageio import write_rgb8
from .metrics import psnr

PSNR_CAP = 100.0  # identical images would give inf; the mean needs a finite value


def predict_colour(G: nn.Module, L: torch.Tensor, autocast: AutocastFactory) -> torch.Tensor:
    """The ab part of the generator's output, fp32 (a restoration generator also predicts L first)."""
    with torch.no_grad(), autocast():
        out = G(L)
    return out[:, -2:].float()


def validate(
    G: nn.Module,
    dataset: Dataset,
    device: torch.device,
    autocast: AutocastFactory,
    rank: int = 0,
    world_size: int = 1,
    batch_size: int = 8,
    workers: int = 0,
) -> dict[str, float]:
    """Mean ab L1 (Lab units), RGB PSNR and colorfulness of predictions and truth over ``dataset``.

    Each rank scores ``dataset[rank::world_size]``; sums are all-reduced so every rank returns the same means.
    """
    n = len(dataset)  # type: ignore[arg-type]
    shard = Subset(dataset, list(range(rank, n, world_size)))
    loader = DataLoader(shard, batch_size=batch_size, shuffle=False, num_workers=workers)
    sums = torch.zeros(5, dtype=torch.float64)  # ab_l1, psnr, cf_pred, cf_truth, count
    was_training = G.training
    G.eval()
    for L, ab in loader:
        L, ab = L.to(device), ab.to(device)
        pred = predict_colour(G, L, autocast)
        sums[0] += (pred - ab).abs().mean(dim=(1, 2, 3)).sum().item() * AB_SCALE
        for i in range(L.shape[0]):
            rgb_pred = tensors_to_rgb(L[i].cpu(), pred[i].cpu())
            rgb_true = tensors_to_rgb(L[i].cpu(), ab[i].cpu())
            sums[1] += min(psnr(rgb_pred, rgb_true), PSNR_CAP)
            sums[2] += colorfulness(rgb_pred)
            sums[3] += colorfulness(rgb_true)
        sums[4] += L.shape[0]
    G.train(was_training)
    sums = all_reduce_sum(sums.to(device)).cpu()
    count = max(float(sums[4]), 1.0)
    cf_pred, cf_true = float(sums[2]) / count, float(sums[3]) / count
    return {
        "val_ab_l1": float(sums[0]) / count,
        "val_psnr": float(sums[1]) / count,
        "val_cf_pred": cf_pred,
        "val_cf_truth": cf_true,
        "val_delta_cf": abs(cf_pred - cf_true),
        "val_images": int(sums[4]),
    }


def sample_grid(
    G: nn.Module, dataset: Dataset, count: int, device: torch.device, autocast: AutocastFactory
) -> np.ndarray:
    """uint8 RGB grid with one row per photo: gray input | prediction | truth."""
    rows = []
    was_training = G.training
    G.eval()
    for i in range(min(count, len(dataset))):  # type: ignore[arg-type]
        L, ab = dataset[i]
        pred = predict_colour(G, L[None].to(device), autocast)[0].cpu()
        gray = tensors_to_rgb(L, torch.zeros_like(ab))
        rows.append(np.concatenate([gray, tensors_to_rgb(L, pred), tensors_to_rgb(L, ab)], axis=1))
    G.train(was_training)
    return np.concatenate(rows, axis=0) if rows else np.zeros((1, 1, 3), np.uint8)


def write_sample_grid(path: Path, grid: np.ndarray) -> None:
    write_rgb8(path, grid)
