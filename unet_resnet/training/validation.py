"""Validation during training: metrics reduced over ranks, and the sample grid (gray | predicted | truth).

The metrics are computed in batches on the training device (colour conversion, PSNR and colorfulness included)
and read back once, after the all-reduce: validation costs no host round trip per photo.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, Subset

from unet_resnet.data.color import AB_SCALE, L_SCALE, tensors_to_rgb
from unet_resnet.data.device_lab import lab_to_srgb
from unet_resnet.data.imageio import write_rgb8
from unet_resnet.data.loader import worker_init
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


def rgb8_levels(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` sRGB on the 0-255 scale, rounded to the 8-bit levels a written photo would have."""
    return torch.floor(lab_to_srgb(L, ab) * 255.0 + 0.5)


def batch_psnr(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of each photo of two ``(B, C, H, W)`` batches on the 0-255 scale, capped at ``PSNR_CAP``."""
    mse = (pred - truth).square().mean(dim=(1, 2, 3))
    return (10.0 * torch.log10(255.0**2 / mse)).clamp(max=PSNR_CAP)  # mse 0 gives inf, then the cap


def batch_colorfulness(rgb: torch.Tensor) -> torch.Tensor:
    """Hasler & Suesstrunk's colorfulness of each photo of a ``(B, 3, H, W)`` batch on the 0-255 scale, as
    :func:`unet_resnet.data.color.colorfulness` computes it for one photo."""
    r, g, b = rgb[:, 0].flatten(1), rgb[:, 1].flatten(1), rgb[:, 2].flatten(1)
    rg, yb = (r - g).abs(), (0.5 * (r + g) - b).abs()
    spread = torch.hypot(rg.std(dim=1, unbiased=False), yb.std(dim=1, unbiased=False))
    return spread + 0.3 * torch.hypot(rg.mean(dim=1), yb.mean(dim=1))


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
    extra: dict[str, Any] = {}
    if workers > 0:  # spawned, one OpenCV thread each, as the training loader's workers
        extra = {"worker_init_fn": worker_init, "multiprocessing_context": "spawn", "prefetch_factor": 2}
    loader = DataLoader(
        shard, batch_size=batch_size, shuffle=False, num_workers=workers, pin_memory=device.type == "cuda", **extra
    )
    # ab_l1, psnr, cf_pred, cf_truth, L_l1, L_l1_input, count: summed on the device, read once after the reduction
    sums = torch.zeros(7, dtype=torch.float64, device=device)
    restoring = False
    was_training = G.training
    G.eval()
    for cond, target in loader:
        cond, target = cond.to(device, non_blocking=True), target.to(device, non_blocking=True)
        L_pred, ab_pred = as_lab(cond, predict(G, cond, autocast))
        L_true, ab_true = as_lab(cond, target)
        restoring = target.shape[1] == 3
        rgb_pred, rgb_true = rgb8_levels(L_pred, ab_pred), rgb8_levels(L_true, ab_true)
        per_photo = torch.stack(
            [
                (ab_pred - ab_true).abs().mean(dim=(1, 2, 3)) * AB_SCALE,
                batch_psnr(rgb_pred, rgb_true),
                batch_colorfulness(rgb_pred),
                batch_colorfulness(rgb_true),
                (L_pred - L_true).abs().mean(dim=(1, 2, 3)) * L_SCALE,
                (cond[:, :1] - L_true).abs().mean(dim=(1, 2, 3)) * L_SCALE,
                torch.ones(cond.shape[0], device=device),
            ]
        )
        sums += per_photo.double().sum(dim=1)
    G.train(was_training)
    total: list[float] = all_reduce_sum(sums).tolist()  # the one host read
    count = max(total[6], 1.0)
    cf_pred, cf_true = total[2] / count, total[3] / count
    metrics = {
        "val_ab_l1": total[0] / count,
        "val_psnr": total[1] / count,
        "val_cf_pred": cf_pred,
        "val_cf_truth": cf_true,
        "val_delta_cf": abs(cf_pred - cf_true),
        "val_images": int(total[6]),
    }
    if restoring:
        metrics |= {"val_L_l1": total[4] / count, "val_L_l1_damaged": total[5] / count}
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
