"""Validation during training: metrics reduced over ranks, and the sample grid (gray | predicted | truth)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, Subset

from unet_resnet.data.color import AB_SCALE, L_SCALE, colorfulness, tensors_to_rgb
from unet_resnet.data.imageio import write_rgb8
from unet_resnet.metrics import psnr
from unet_resnet.runtime.distributed import all_reduce_sum
from unet_resnet.runtime.precision import AutocastFactory

PSNR_CAP = 100.0  # identical images would give inf; the mean needs a finite value


def predict(G: nn.Module, cond: torch.Tensor, autocast: AutocastFactory) -> torch.Tensor:
    """The generator's output in fp32, no gradients."""
    with torch.no_grad(), autocast():
        out = G(cond)
    return out.float()


def as_lab(cond: torch.Tensor, colour: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(L in [0, 1], ab in [-1, 1])`` from a network output or target: ``(B, 2, H, W)`` ab with the input L, or
    ``(B, 3, H, W)`` restoration output whose first channel is ``2 L - 1``. A hint model's condition carries its
    hint map after L."""
    if colour.shape[1] == 3:
        return (colour[:, :1] + 1.0) * 0.5, colour[:, 1:]
    return cond[:, :1], colour


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

    Restoration models also get the L error (Lab units) of their output and of the damaged input, both against the
    clean L. Each rank scores ``dataset[rank::world_size]``; sums are all-reduced so every rank returns the same
    means.
    """
    n = len(dataset)  # type: ignore[arg-type]
    shard = Subset(dataset, list(range(rank, n, world_size)))
    loader = DataLoader(shard, batch_size=batch_size, shuffle=False, num_workers=workers)
    sums = torch.zeros(7, dtype=torch.float64)  # ab_l1, psnr, cf_pred, cf_truth, L_l1, L_l1_input, count
    restoring = False
    was_training = G.training
    G.eval()
    for cond, target in loader:
        cond, target = cond.to(device), target.to(device)
        L_pred, ab_pred = as_lab(cond, predict(G, cond, autocast))
        L_true, ab_true = as_lab(cond, target)
        restoring = target.shape[1] == 3
        sums[0] += (ab_pred - ab_true).abs().mean(dim=(1, 2, 3)).sum().item() * AB_SCALE
        sums[4] += (L_pred - L_true).abs().mean(dim=(1, 2, 3)).sum().item() * L_SCALE
        sums[5] += (cond[:, :1] - L_true).abs().mean(dim=(1, 2, 3)).sum().item() * L_SCALE
        for i in range(cond.shape[0]):
            rgb_pred = tensors_to_rgb(L_pred[i].cpu(), ab_pred[i].cpu())
            rgb_true = tensors_to_rgb(L_true[i].cpu(), ab_true[i].cpu())
            sums[1] += min(psnr(rgb_pred, rgb_true), PSNR_CAP)
            sums[2] += colorfulness(rgb_pred)
            sums[3] += colorfulness(rgb_true)
        sums[6] += cond.shape[0]
    G.train(was_training)
    sums = all_reduce_sum(sums.to(device)).cpu()
    count = max(float(sums[6]), 1.0)
    cf_pred, cf_true = float(sums[2]) / count, float(sums[3]) / count
    metrics = {
        "val_ab_l1": float(sums[0]) / count,
        "val_psnr": float(sums[1]) / count,
        "val_cf_pred": cf_pred,
        "val_cf_truth": cf_true,
        "val_delta_cf": abs(cf_pred - cf_true),
        "val_images": int(sums[6]),
    }
    if restoring:
        metrics |= {"val_L_l1": float(sums[4]) / count, "val_L_l1_damaged": float(sums[5]) / count}
    return metrics


def sample_grid(
    G: nn.Module, dataset: Dataset, count: int, device: torch.device, autocast: AutocastFactory
) -> np.ndarray:
    """uint8 RGB grid with one row per photo: gray input | prediction | truth."""
    rows = []
    was_training = G.training
    G.eval()
    for i in range(min(count, len(dataset))):  # type: ignore[arg-type]
        cond, target = dataset[i]
        cond = cond[None].to(device)
        L_pred, ab_pred = as_lab(cond, predict(G, cond, autocast))
        L_true, ab_true = as_lab(cond, target[None].to(device))
        gray = tensors_to_rgb(cond[0, :1].cpu(), torch.zeros_like(ab_true[0]).cpu())
        pred = tensors_to_rgb(L_pred[0].cpu(), ab_pred[0].cpu())
        rows.append(np.concatenate([gray, pred, tensors_to_rgb(L_true[0].cpu(), ab_true[0].cpu())], axis=1))
    G.train(was_training)
    return np.concatenate(rows, axis=0) if rows else np.zeros((1, 1, 3), np.uint8)


def write_sample_grid(path: Path, grid: np.ndarray) -> None:
    write_rgb8(path, grid)
